// ActiveConnection: a profile applied to a device (docs/api.md,
// Connection.Active), with NetworkManager's state values, and the record of
// what its activation changed so that deactivation can take exactly that
// back.
import { quotePath } from '../errors.js';
import type { UndoStep } from './undo.js';
import type { Dhcp4Session } from './dhcp4-session.js';
import type { Dhcp6Session } from './dhcp6-session.js';
import type { RaDns } from '../dns/ra-dns.js';
import type { CommittedBy, LinkApplied } from './active-store.js';
import type { Address, KernelRoute } from '../platform/platform.js';
import type { Settings } from '../settings/value.js';

/** NMActiveConnectionState */
export const ACTIVE_STATE = {
  unknown: 0,
  activating: 1,
  activated: 2,
  deactivating: 3,
  deactivated: 4,
} as const;

export type ActiveState = (typeof ACTIVE_STATE)[keyof typeof ACTIVE_STATE];

/** NMActiveConnectionStateReason, the values this daemon gives */
export const STATE_REASON = {
  unknown: 0,
  none: 1,
  userDisconnected: 2,
  deviceDisconnected: 3,
  ipConfigInvalid: 5,
  connectionRemoved: 11,
  dependencyFailed: 12,
  deviceRealizeFailed: 13,
  deviceRemoved: 14,
} as const;

export type StateReason = (typeof STATE_REASON)[keyof typeof STATE_REASON];

export class ActiveConnection {
  private stateValue: ActiveState = ACTIVE_STATE.activating;
  /** set while its changes are being taken back: the links it deletes then are its own doing */
  takingBack = false;
  /** what activation changed, in order; deactivation runs it backwards */
  readonly undo: UndoStep[] = [];
  /** the inverse of the kernel change under way, until the kernel answered */
  pending: UndoStep | null = null;
  /** the link settings the activation set */
  applied: LinkApplied = {};
  /** the record that committed the activation (or adoption), known before that record is made */
  committedBy: CommittedBy | null = null;
  /** the name of its state file in run-dir (active-store.ts), fixed when the activation is intended */
  key: string | null = null;
  /** the record of the deactivation under way, known before that record is made */
  ending: CommittedBy | null = null;
  /** the link's addresses and routes once activated (docs/active-state.md) */
  seen: { addresses: readonly Address[]; routes: readonly KernelRoute[] } | undefined;
  /**
   * The settings it was activated with, or last reapplied, without secrets
   * (Device.GetAppliedConnection), and their version id: a new one from the
   * daemon's counter at activation and at each Reapply that changed them, as
   * NetworkManager numbers them, so that a caller can tell its read is still
   * current (docs/reapply.md).
   */
  appliedSettings: Settings = new Map();
  versionId = 0n;
  /** ipv4.method auto: the DHCPv4 client and what its lease gave (dhcp4-session.ts) */
  dhcp4: Dhcp4Session | null = null;
  /** ipv6.method dhcp, or auto when router advertisements ask for it: the DHCPv6 client and its lease (dhcp6-session.ts) */
  dhcp6: Dhcp6Session | null = null;
  /** ipv6.method auto: the DNS that router advertisements gave the link, while it lasts (ra-dns-watch.ts) */
  raDns: RaDns | null = null;
  /** set by a caller's deactivation: the lease is given back to the server (RELEASE) */
  releaseLease = false;

  constructor(
    /** /org/netaudit1/ActiveConnection/N: never reused in the daemon's lifetime */
    readonly number: number,
    /** the profile's object number (/org/netaudit1/Settings/N) */
    readonly connection: number,
    readonly uuid: string,
    readonly id: string,
    /** the device, once known (a software link is known once created) */
    public ifindex: number | null,
    /** the interface name it runs on */
    public iface: string,
    /** for a bridge port: the bridge's active connection */
    readonly master: ActiveConnection | null,
    /** true when the profile sets a default route (Manager State "global") */
    readonly hasGateway = false,
  ) {}

  get state(): ActiveState {
    return this.stateValue;
  }

  /** Sets the state; false when it was that already. */
  setState(state: ActiveState): boolean {
    if (this.stateValue === state) return false;
    this.stateValue = state;
    return true;
  }

  get devices(): number[] {
    return this.ifindex === null ? [] : [this.ifindex];
  }

  /** How the log names it: "id" (uuid) on "iface". */
  describe(): string {
    return `${quotePath(this.id)} (${this.uuid}) on ${quotePath(this.iface)}`;
  }
}
