// Activations: the active connections (Connection.Active) and the audited
// operations that make and end them — ActivateConnection,
// AddAndActivateConnection, DeactivateConnection and Device.Disconnect (ops
// connection-activate, connection-add-activate, connection-deactivate,
// device-disconnect). Each runs in the daemon's order: authorization → the
// profile and the device (target.ts) → the state (networking on, what runs
// there already) → the change, committed by its record first (docs/commit.md)
// (CommitOptions.kernelChange: a kernel refusal afterwards is a `fail`
// record overturning it, and what was done is taken back). Changes the
// daemon makes on its own — autoconnect, a teardown because a link vanished,
// a profile was deleted, a bridge went down, networking was turned off or
// the daemon slept, what gives way to a new activation — are records of
// their own with origin=daemon, carrying the tx of the caller's call that
// led to them (docs/record-format.md). Each active connection's state is
// kept in run-dir, so that the next daemon adopts it after a restart
// (docs/active-state.md). One activation or deactivation runs at a time.
import { EventEmitter } from 'node:events';
import type { DomainLogger } from '../../log/logger.js';
import type { AuditManager, AuditTransaction } from '../audit/audit-manager.js';
import type { AuditCause } from '../audit/record.js';
import type { Authorizer } from '../auth/authorizer.js';
import type { CallerRef } from '../caller.js';
import { DEVICE_STATE, type Device } from '../devices/device.js';
import type { DeviceList } from '../devices/device-list.js';
import { NetauditError, quote } from '../errors.js';
import { authorize, OPERATIONS } from '../operations.js';
import type { KernelChange, Platform } from '../platform/platform.js';
import type { SettingsConnection } from '../settings/connection.js';
import type { SettingsService } from '../settings/settings.js';
import type { Settings, SettingsInput } from '../settings/value.js';
import { ACTIVE_STATE, ActiveConnection, STATE_REASON, type ActiveState, type StateReason } from './active-connection.js';
import { kernelError, LinkConfigurator, takeBack } from './apply.js';
import { activeKey, type ActiveStore, type CommittedBy } from './active-store.js';
import { appliedValues } from './applied-values.js';
import { countedAddress, countedRoute } from './leftover.js';
import { adoptLeftovers } from './adoption.js';
import type { SavedActive } from './active-store.js';
import { Reapplier } from './reapply.js';
import { appliedToKeyfile } from './applied-settings.js';
import { withoutSecrets } from '../settings/secrets.js';
import { linkSpec, planActivation, type ActivationPlan, type DhcpPlan, type IpPlan, type RaPlan } from './plan.js';
import { resolveTarget, type Target } from './target.js';
import { autoconnectCandidates } from './autoconnect.js';
import { Dhcp4Session, leaseSearches, type Dhcp4SessionContext } from './dhcp4-session.js';
import { Dhcp6Session, type Dhcp6SessionContext } from './dhcp6-session.js';
import type { Dhcp6Mode } from '../dhcp/dhcp6-client.js';
import type { Link } from '../platform/platform.js';
import { ipConfigView, type IpConfigView } from './ip-config.js';
import { SlaacWatch } from './slaac-watch.js';
import { changeIfindex, followExternalChange } from './external-drift.js';
import { RaDnsWatch } from './ra-dns-watch.js';
import { getProp, getString } from '../settings/value.js';
import type { DnsManager } from '../dns/dns-manager.js';
import { activeDnsPrefix, setStaticDns, staticDnsOf } from './static-dns.js';

type DhcpIpPlan = IpPlan & { dhcp: DhcpPlan };

export interface ActivationsEvents {
  added: [ActiveConnection];
  removed: [ActiveConnection];
  state: [ActiveConnection, ActiveState, StateReason];
}

export interface ActivationsOptions {
  readonly audit: AuditManager;
  readonly auth: () => Authorizer;
  readonly settings: SettingsService;
  readonly devices: DeviceList;
  readonly platform: Platform;
  readonly log: DomainLogger;
  /** null while activation is allowed; else why not (networking off, asleep) */
  readonly blocked: () => NetauditError | null;
  /** where the per-interface IPv6 sysctls are; /proc/sys/net/ipv6/conf by default */
  readonly ipv6ConfDir?: string;
  /** the stable_secret of a profile's links, for ipv6.addr-gen-mode stable-privacy (from the host's secret) */
  readonly stableSecret?: (uuid: string) => Promise<string>;
  /** where each active connection's state is kept for the next daemon */
  readonly store: ActiveStore;
  /** DHCPv4 for ipv4.method auto; without it such a profile is NotSupported at activation */
  readonly dhcp?: DhcpServices;
  /** DHCPv6 for ipv6.method dhcp, and auto when router advertisements ask; without it method dhcp is NotSupported */
  readonly dhcp6?: Dhcp6Services;
  /** where the active connections' DNS goes (docs/dns.md); none: DNS is not applied */
  readonly dns?: DnsManager;
}

/** What the DHCPv4 sessions of active connections need of the daemon (dhcp4-session.ts). */
export type DhcpServices = Pick<Dhcp4SessionContext, 'leases' | 'setDns' | 'startClient' | 'now'> & {
  /** the host name to send when the profile names none */
  readonly hostname: () => string | null;
};

/** What the DHCPv6 sessions of active connections need of the daemon (dhcp6-session.ts). */
export type Dhcp6Services = Pick<Dhcp6SessionContext, 'leases' | 'setDns' | 'startClient' | 'now'>;

/** An activation resolved and ready: what it applies where, and what gives way to it. */
interface Prepared {
  readonly active: ActiveConnection;
  readonly target: Target;
  readonly giveWay: readonly ActiveConnection[];
}


export class Activations extends EventEmitter<ActivationsEvents> {
  private readonly actives = new Map<number, ActiveConnection>();
  private readonly slaac: SlaacWatch;
  private readonly raDns: RaDnsWatch;
  private lastNumber = 0;
  /** the last version id given to an applied connection (docs/reapply.md) */
  private lastVersionId = 0n;
  /** the highest ifindex seen or given, so a created link never takes a number seen before in this run */
  private highestIfindex = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly onDeviceRemoved = (device: Device): void => this.deviceRemoved(device);
  private readonly onDeviceAdded = (device: Device): void => {
    this.highestIfindex = Math.max(this.highestIfindex, device.ifindex);
    this.autoconnectOn(device);
  };
  private readonly onConnectionRemoved = (conn: SettingsConnection, tx?: number): void => this.connectionRemoved(conn, tx);
  /** A router advertisement's M or O flag came: DHCPv6 for ipv6.method auto (docs/dhcp6.md). */
  private readonly onLinkChanged = (link: Link): void => {
    const active = this.list().find((a) => a.ifindex === link.ifindex && a.master === null && !a.takingBack);
    if (active && (active.state === ACTIVE_STATE.activated || active.state === ACTIVE_STATE.activating)) this.dhcp6ForAdvertisement(active, link);
  };
  /** A new profile comes up on its own when its link is there, as NetworkManager does. */
  private readonly onConnectionAdded = (conn: SettingsConnection): void => {
    void this.autoconnectWhere(() => true, conn.uuid);
  };
  private readonly reapplier: Reapplier;

  constructor(private readonly options: ActivationsOptions) {
    super();
    for (const d of options.devices.list()) this.highestIfindex = Math.max(this.highestIfindex, d.ifindex);
    options.devices.on('removed', this.onDeviceRemoved);
    options.devices.on('added', this.onDeviceAdded);
    options.settings.on('removed', this.onConnectionRemoved);
    options.settings.on('added', this.onConnectionAdded);
    options.platform.on('link-changed', this.onLinkChanged);
    const autoOn = (ifindex: number): ActiveConnection | undefined =>
      this.list().find((a) => a.ifindex === ifindex && a.master === null && (getString(a.appliedSettings, 'ipv6', 'method') ?? 'auto') === 'auto');
    options.platform.on('kernel-change', this.onKernelChange);
    this.slaac = new SlaacWatch({ platform: options.platform, audit: options.audit, log: options.log, autoOn, saved: (active) => this.persist(active) });
    this.raDns = new RaDnsWatch({
      platform: options.platform,
      audit: options.audit,
      log: options.log,
      ...(options.dns ? { dns: options.dns } : {}),
      autoOn,
      saved: (active) => this.persist(active),
      now: () => Date.now(),
    });
    this.reapplier = new Reapplier({
      ...options,
      serialized: (run) => this.serialized(run),
      activeOn: (ifindex) => this.list().find((a) => a.ifindex === ifindex),
      persist: (active) => this.persist(active),
      seenOn: (ifindex) => this.seenOn(ifindex),
      nextVersionId: () => this.nextVersionId(),
      raDnsChanged: async (active) => {
        await this.raDns.refresh(active);
        await active.dhcp6?.refreshDns();
      },
    });
  }

  private nextVersionId(): bigint {
    return ++this.lastVersionId;
  }

  /** Device.Reapply (op device-reapply): see reapply.ts. */
  reapply(ref: CallerRef, ifindex: number, input: SettingsInput, versionId: bigint, flags: number): Promise<void> {
    return this.reapplier.reapply(ref, ifindex, input, versionId, flags);
  }

  /** Device.GetAppliedConnection: the settings the connection on `ifindex` runs with, and their version id. */
  appliedConnection(ifindex: number, flags: number): { settings: Settings; versionId: bigint } {
    return this.reapplier.appliedConnection(ifindex, flags);
  }

  /**
   * Stops starting anything new and waits, at most `timeoutMs`, for the
   * activation or deactivation under way: a stopping daemon leaves no
   * change half done when it can help it (one it cannot finish in time is
   * finished by the next start, docs/active-state.md).
   */
  async settle(timeoutMs: number): Promise<void> {
    this.close();
    this.started = false;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.queue, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    // What each link carries as the daemon leaves it: the next daemon records what differs as changed
    // while it was stopped (docs/active-state.md). After a crash the last one kept serves.
    for (const active of this.list()) {
      if (active.state !== ACTIVE_STATE.activated || active.ifindex === null) continue;
      try {
        active.seen = await this.seenOn(active.ifindex);
        this.persist(active);
      } catch (e) {
        this.options.log.warn(`could not list what ${active.describe()} carries: ${(e as Error).message}`);
      }
    }
  }

  close(): void {
    this.options.devices.off('removed', this.onDeviceRemoved);
    this.options.devices.off('added', this.onDeviceAdded);
    this.options.settings.off('removed', this.onConnectionRemoved);
    this.options.settings.off('added', this.onConnectionAdded);
    this.options.platform.off('link-changed', this.onLinkChanged);
    this.slaac.close();
    this.options.platform.off('kernel-change', this.onKernelChange);
    this.raDns.close();
  }

  list(): ActiveConnection[] {
    return [...this.actives.values()].sort((a, b) => a.number - b.number);
  }

  byNumber(number: number): ActiveConnection | undefined {
    return this.actives.get(number);
  }

  /** The IP4Config (4) or IP6Config (6) view of what runs on link `ifindex`; null when nothing does or the family is off. */
  ipConfig(ifindex: number, family: 4 | 6): IpConfigView | null {
    const active = this.list().find((a) => a.ifindex === ifindex && !a.takingBack);
    if (!active) return null;
    let plan: ActivationPlan;
    try {
      plan = planActivation(active.appliedSettings);
    } catch {
      return null;
    }
    const ip = family === 4 ? plan.ipv4 : plan.ipv6;
    const lease = family === 4 ? active.dhcp4?.lease : null;
    const ignore6 = getProp(active.appliedSettings, 'ipv6', 'ignore-auto-dns')?.value === true;
    const ra = family === 6 && active.raDns && !ignore6 ? active.raDns : null;
    const lease6 = family === 6 && !ignore6 ? active.dhcp6?.lease : null;
    const auto =
      lease && !ip?.dhcp?.ignoreAutoDns
        ? { servers: lease.dns, searches: leaseSearches(lease) }
        : { servers: [...(ra?.servers ?? []), ...(lease6?.dns ?? [])], searches: [...(ra?.searches ?? []), ...(lease6?.domains ?? [])] };
    const own = staticDnsOf(plan.settings, family === 4 ? 'ipv4' : 'ipv6');
    // What the resolver gets for the link, once a DNS manager runs; else the profile's and the lease's or the advertisements'.
    const dns = this.options.dns?.forLink(ifindex) ?? { servers: [...own.servers, ...auto.servers], searches: [...own.searches, ...auto.searches] };
    return ipConfigView(active, ip, this.options.platform.addressesOf(ifindex), dns);
  }

  /** The DHCP4Config (4) or DHCP6Config (6) options of the lease on link `ifindex` (NetworkManager's names); null without a lease. */
  dhcpOptions(ifindex: number, family: 4 | 6): Readonly<Record<string, string>> | null {
    const active = this.list().find((a) => a.ifindex === ifindex && !a.takingBack);
    return (family === 4 ? active?.dhcp4?.lease?.options : active?.dhcp6?.lease?.options) ?? null;
  }

  /**
   * One activation or deactivation at a time, in arrival order. `run` may let the next one go
   * before it is done (`release`): an activation waiting for a DHCP lease holds nobody up.
   */
  private serialized<T>(run: (release: () => void) => Promise<T>): Promise<T> {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const go = (): Promise<T> => run(release);
    const next = this.queue.then(go, go);
    this.queue = Promise.race([next.then(() => undefined, () => undefined), released]);
    return next;
  }

  /**
   * ActivateConnection: applies profile `connection` to device `ifindex`
   * (null: the device its connection.interface-name names, or the software
   * link it creates). Replies once the connection is activated, or with the
   * error that stopped it (the active connection then goes to deactivated).
   */
  activate(ref: CallerRef, connection: number, ifindex: number | null): Promise<ActiveConnection> {
    const conn = this.options.settings.byObjectNumber(connection);
    const device = ifindex === null ? undefined : this.options.devices.byIfindex(ifindex);
    const context = {
      op: OPERATIONS['Manager.ActivateConnection'].op,
      ...(conn ? { uuid: conn.uuid, name: conn.id } : {}),
      // A device path that names nothing reaches here as -1: the record names no device then.
      ...(ifindex !== null && ifindex > 0 ? { ifindex } : {}),
      ...(device ? { iface: device.name } : {}),
    };
    return this.options.audit.audited(ref, context, async (tx) => {
      await authorize(this.options.auth(), tx, OPERATIONS['Manager.ActivateConnection']);
      return this.serialized(async (release) => {
        const current = this.options.settings.byObjectNumber(connection);
        if (!current) {
          throw new NetauditError('UnknownConnection', `The connection object ${connection} does not exist (it may have been deleted); ListConnections lists them.`);
        }
        return this.activateLocked(tx, current, ifindex, release);
      });
    });
  }

  /** The activation proper, inside the queue: the target resolved, what must give way ended, then committed and applied. */
  private async activateLocked(tx: AuditTransaction, conn: SettingsConnection, ifindex: number | null, release: () => void): Promise<ActiveConnection> {
    const prepared = this.prepare(tx, conn, ifindex);
    return this.withIntent(prepared.active, () => tx.settled, () => tx.commit(() => this.bringUp(prepared, release), { kernelChange: true }));
  }

  /**
   * Keeps `active`'s state file as an intent before its record is made
   * (docs/active-state.md): a daemon that dies between the record and the
   * first kernel request leaves the next one an activation to overturn. If
   * the record is never made (`recorded()` false), the file goes again.
   */
  private async withIntent<T>(active: ActiveConnection, recorded: () => boolean, run: () => Promise<T>): Promise<T> {
    active.key = activeKey(active.committedBy!);
    this.persist(active, true);
    try {
      return await run();
    } catch (e) {
      if (!recorded()) this.options.store.remove(active.key);
      throw e;
    }
  }

  /**
   * AddAndActivateConnection: adds the profile (saved) and activates it as
   * one attempt with one record (op connection-add-activate); if the
   * activation fails, the profile is removed again.
   */
  addAndActivate(ref: CallerRef, input: SettingsInput, ifindex: number | null): Promise<{ conn: SettingsConnection; active: ActiveConnection }> {
    const { settings } = this.options;
    return settings.addThen<{ conn: SettingsConnection; active: ActiveConnection }>(
      ref,
      input,
      OPERATIONS['Manager.AddAndActivateConnection'],
      (tx, conn, commit) =>
        this.serialized(async (release) => {
          const prepared = this.prepare(tx, conn, ifindex);
          return this.withIntent(prepared.active, () => tx.settled, () => commit(async (inserted) => ({ conn: inserted, active: await this.bringUp(prepared, release) })));
        }),
    );
  }

  /**
   * Checks that activation may go ahead and resolves where. What must give
   * way (this profile where it runs now, whatever runs on the device) is
   * only named here: it ends in bringUp, once the activation's record is
   * durable, each with a daemon record of its own (docs/commit.md).
   */
  private prepare(tx: AuditTransaction, conn: SettingsConnection, ifindex: number | null): Prepared {
    const blocked = this.options.blocked();
    if (blocked) throw blocked;
    const target = this.resolve(conn, ifindex);
    tx.describe({ uuid: conn.uuid, name: conn.id, ifindex: target.ifindex, iface: target.iface, after: appliedValues(target.plan, target.iface) });
    const giveWay = this.list().filter((other) => other.uuid === conn.uuid || (target.device !== null && other.ifindex === target.device.ifindex));
    const active = this.newActive(conn, target);
    active.committedBy = { op: tx.op, tx: tx.commitId(), boot: this.options.audit.boot };
    return { active, target, giveWay };
  }

  private newActive(conn: SettingsConnection, target: Target): ActiveConnection {
    const active = new ActiveConnection(
      ++this.lastNumber,
      conn.number,
      conn.uuid,
      conn.id,
      target.device?.ifindex ?? null,
      target.iface,
      target.master,
      Boolean(target.plan.ipv4?.gateway || target.plan.ipv6?.gateway),
    );
    active.appliedSettings = withoutSecrets(conn.settings);
    active.versionId = this.nextVersionId();
    return active;
  }

  /**
   * Ends what gives way, then creates the link if need be and applies the profile; the record
   * is made already. With ipv4.method auto it then starts DHCP, lets the queue go on
   * (`release`), and waits for the first lease.
   */
  private async bringUp({ active, target, giveWay }: Prepared, release: () => void): Promise<ActiveConnection> {
    const { devices, platform, log } = this.options;
    // A link that what gives way created, and that this activation runs on, is handed over rather
    // than deleted under it: it is deleted when this one ends (a bridge activated again, say).
    const handedOver = target.device !== null && this.takeOverLink(active, giveWay, target.device.ifindex);
    for (const other of giveWay) {
      log.info(`deactivating ${other.describe()}: ${quote(active.id)} is being activated in its place`);
      await this.daemonTeardown(other, 'new-activation', active.committedBy!.tx, STATE_REASON.userDisconnected);
    }
    // Its state file says "activating" since the intent was written (withIntent).
    this.actives.set(active.number, active);
    this.emit('added', active);
    // Born activating: announced as such, as NetworkManager does.
    this.emit('state', active, ACTIVE_STATE.activating, STATE_REASON.none);
    try {
      if (!target.device) {
        const spec = { ...linkSpec(target.plan, target.iface, target.parent), ifindex: target.ifindex };
        active.pending = { kind: 'delete-link', ifindex: target.ifindex, name: target.iface };
        this.persist(active);
        const link = await platform.createLink(spec).catch((e: unknown) => {
          active.pending = null;
          throw kernelError(e, `create the ${spec.kind} link ${quote(target.iface)}`, target.iface);
        });
        // Kept with the next step's write: a pending link deletion that was done is ours all the same.
        active.pending = null;
        active.ifindex = link.ifindex;
        active.undo.push({ kind: 'delete-link', ifindex: link.ifindex, name: target.iface });
      }
      const ifindex = active.ifindex!;
      this.setDeviceState(active, DEVICE_STATE.prepare);
      const { plan } = target;
      await new LinkConfigurator(
        {
          platform,
          link: (i) => devices.byIfindex(i)?.link,
          saved: () => this.persist(active),
          ...(this.options.ipv6ConfDir ? { ipv6ConfDir: this.options.ipv6ConfDir } : {}),
          ...(this.options.stableSecret ? { stableSecret: this.options.stableSecret } : {}),
        },
        active,
      ).apply(ifindex, {
        mtu: plan.mtu,
        clonedMac: plan.clonedMac,
        master: target.masterIfindex,
        bridge: plan.bridge,
        port: plan.port,
        created: !target.device || handedOver,
        ipv4: plan.ipv4,
        ipv6: plan.ipv6,
      });
      if (!this.actives.has(active.number)) {
        throw new NetauditError('UnknownDevice', `The link ${quote(active.iface)} disappeared while it was being activated.`, 'device-removed');
      }
      if (this.options.dns) await setStaticDns(this.options.dns, active.number, plan, ifindex, active.iface);
      if (plan.ipv4?.dhcp || plan.ipv6?.method === 'dhcp') await this.startDhcp(active, plan, release);
      // ipv6.method auto: DHCPv6 if the link's advertisements ask for it already (later ones: onLinkChanged).
      if (plan.ipv6?.method === 'auto') this.dhcp6ForAdvertisement(active);
      if (plan.ipv6?.ra && !plan.ipv6.ra.mayFail) await this.waitForSlaac(active, plan.ipv6.ra, release);
      this.setState(active, ACTIVE_STATE.activated, STATE_REASON.none);
      this.persist(active);
      log.info(`activated ${active.describe()}`);
      return active;
    } catch (e) {
      log.info(`activation of ${active.describe()} failed: ${(e as Error).message}; taking back what it changed`);
      await this.finish(active, STATE_REASON.deviceRealizeFailed);
      throw e;
    }
  }

  /**
   * Moves the deletion of link `ifindex` from the actives that give way to `active`, which is kept
   * first (it is not one of the actives yet), so that at no moment does no state file own the link.
   */
  private takeOverLink(active: ActiveConnection, giveWay: readonly ActiveConnection[], ifindex: number): boolean {
    let taken = false;
    for (const other of giveWay) {
      const steps = other.undo.filter((u) => u.kind === 'delete-link' && u.ifindex === ifindex);
      if (steps.length === 0) continue;
      if (!taken) active.undo.push(steps[0]!);
      taken = true;
      this.persist(active, true);
      for (const step of steps) other.undo.splice(other.undo.indexOf(step), 1);
      this.persist(other);
    }
    return taken;
  }

  /**
   * Starts DHCPv4 (ipv4.method auto) and DHCPv6 (ipv6.method dhcp) on the activated link and
   * waits, without holding the queue, for their first leases. A family without one within its
   * dhcp-timeout fails the activation, unless its may-fail allows it and the other family is
   * configured and did not fail too: its client then goes on asking.
   */
  private async startDhcp(active: ActiveConnection, plan: ActivationPlan, release: () => void): Promise<void> {
    const waits: Array<{ family: 'ipv4' | 'ipv6'; mayFail: boolean; wait: Promise<void> }> = [];
    this.setDeviceState(active, DEVICE_STATE.ipConfig);
    if (plan.ipv4?.dhcp) {
      const dhcp = this.options.dhcp;
      if (!dhcp) throw new NetauditError('NotSupported', 'ipv4.method "auto" needs DHCP, which this daemon was started without.');
      const session = this.newDhcpSession(active, plan);
      await session.start(dhcp.hostname());
      waits.push({ family: 'ipv4', mayFail: (plan.ipv4 as DhcpIpPlan).dhcp.mayFail, wait: session.waitForLease() });
    }
    if (plan.ipv6?.method === 'dhcp') {
      const session = this.newDhcp6Session(active, plan, 'stateful');
      session.start();
      waits.push({ family: 'ipv6', mayFail: plan.ipv6.dhcp6!.mayFail, wait: session.waitForLease() });
    }
    release();
    const results = await Promise.allSettled(waits.map((w) => w.wait));
    const failed = waits.filter((_, i) => results[i]!.status === 'rejected');
    for (const [i, w] of waits.entries()) {
      const result = results[i]!;
      if (result.status === 'fulfilled') continue;
      const e: unknown = result.reason;
      const other = w.family === 'ipv4' ? plan.ipv6 : plan.ipv4;
      const otherConfigured = other !== null && other.method !== 'ignore' && other.method !== 'disabled' && !failed.some((f) => f !== w);
      if (!(e instanceof NetauditError && e.reason === 'dhcp-timeout' && w.mayFail && otherConfigured)) throw e;
      this.options.log.info(`${active.describe()}: ${e.message} ${w.family} may fail (${w.family}.may-fail) and ${w.family === 'ipv4' ? 'IPv6' : 'IPv4'} is configured: activated without a lease, still asking for one`);
    }
    if (!this.actives.has(active.number) || active.takingBack) {
      throw new NetauditError('Failed', `${active.describe()} was deactivated before it finished activating.`, 'deactivated');
    }
  }

  /** A change others made on the link of a running connection: its view follows (external-drift.ts), logged, never re-applied. */
  private readonly onKernelChange = (c: KernelChange): void => {
    if (c.sender.kind !== 'portid' && c.sender.kind !== 'unknown' && c.sender.kind !== 'relist') return;
    const ifindex = changeIfindex(c);
    if (ifindex === null) return;
    for (const active of this.list()) {
      if (active.ifindex !== ifindex || active.takingBack) continue;
      const drift = followExternalChange(active, c);
      if (drift === null) continue;
      this.options.log.warn(`connection-external-change: ${active.describe()}: ${drift}; nothing is re-applied (a Reapply or a new activation applies the profile again)`);
      this.persist(active);
    }
  };

  /**
   * ipv6.method auto: DHCPv6 when the link's last router advertisement asks for it (docs/dhcp6.md),
   * stateful for the M flag, stateless (DNS only) for O alone. A stateless session gives way to a
   * stateful one when M comes; flags that go away leave the session running, as RFC 4861 lets a
   * host keep what it has.
   */
  private dhcp6ForAdvertisement(active: ActiveConnection, link?: Link): void {
    if (!this.options.dhcp6 || active.ifindex === null) return;
    const seen = link ?? this.options.devices.byIfindex(active.ifindex)?.link;
    if (!seen || !(seen.raManaged || seen.raOtherConf)) return;
    let plan: ActivationPlan;
    try {
      plan = planActivation(active.appliedSettings);
    } catch {
      return;
    }
    if (plan.ipv6?.method !== 'auto') return;
    const mode: Dhcp6Mode = seen.raManaged ? 'stateful' : 'stateless';
    // Stateless DHCPv6 gives DNS alone, which ipv6.ignore-auto-dns would not take.
    if (mode === 'stateless' && getProp(active.appliedSettings, 'ipv6', 'ignore-auto-dns')?.value === true) return;
    const running = active.dhcp6;
    if (running && (running.mode === mode || running.mode === 'stateful')) return;
    this.options.log.info(`${active.describe()}: the router advertisement asks for DHCPv6 (${seen.raManaged ? 'M flag: addresses' : 'O flag: DNS only'})`);
    void (async () => {
      // What the stateless session gave is where the stateful one starts from: its first lease is a change of it.
      await running?.stop(false, undefined);
      if (active.takingBack || !this.actives.has(active.number)) return;
      const session = this.newDhcp6Session(active, plan, mode);
      if (running) session.resume(running.lease);
      session.start();
    })().catch((e: Error) => this.options.log.warn(`${active.describe()}: DHCPv6 could not start: ${e.message}`));
  }

  private newDhcp6Session(active: ActiveConnection, plan: ActivationPlan, mode: Dhcp6Mode): Dhcp6Session {
    const dhcp6 = this.options.dhcp6;
    if (!dhcp6) throw new NetauditError('NotSupported', 'ipv6.method "dhcp" needs DHCPv6, which this daemon was started without.');
    const session = new Dhcp6Session(
      {
        audit: this.options.audit,
        platform: this.options.platform,
        log: this.options.log,
        link: (i) => this.options.devices.byIfindex(i)?.link,
        saved: () => this.persist(active),
        leases: dhcp6.leases,
        setDns: dhcp6.setDns,
        startClient: dhcp6.startClient,
        now: dhcp6.now,
      },
      active,
      plan.ipv6!.dhcp6!,
      mode,
      active.committedBy!.tx,
    );
    active.dhcp6 = session;
    return session;
  }

  /**
   * ipv6.may-fail false: waits, without holding the queue, until a router advertisement gives
   * the link an address; without one within ipv6.ra-timeout the activation fails.
   */
  private async waitForSlaac(active: ActiveConnection, ra: RaPlan, release: () => void): Promise<void> {
    this.setDeviceState(active, DEVICE_STATE.ipConfig);
    release();
    await this.slaac.waitForAddress(active, ra.timeoutMs);
    if (!this.actives.has(active.number) || active.takingBack) {
      throw new NetauditError('Failed', `${active.describe()} was deactivated before it finished activating.`, 'deactivated');
    }
  }

  private newDhcpSession(active: ActiveConnection, plan: ActivationPlan): Dhcp4Session {
    const dhcp = this.options.dhcp!;
    const session = new Dhcp4Session(
      {
        audit: this.options.audit,
        platform: this.options.platform,
        log: this.options.log,
        link: (i) => this.options.devices.byIfindex(i)?.link,
        saved: () => this.persist(active),
        leases: dhcp.leases,
        setDns: dhcp.setDns,
        startClient: dhcp.startClient,
        now: dhcp.now,
      },
      active,
      plan.ipv4 as DhcpIpPlan,
      active.committedBy!.tx,
      plan.mtu !== null,
    );
    active.dhcp4 = session;
    return session;
  }

  /** The link's addresses and routes now, those that count as somebody's change. */
  private async seenOn(ifindex: number): Promise<ActiveConnection['seen']> {
    const { platform } = this.options;
    const [addresses, routes] = await Promise.all([platform.addresses(), platform.routes()]);
    return {
      addresses: addresses.filter((a) => a.ifindex === ifindex && countedAddress(a)),
      routes: routes.filter((r) => r.ifindex === ifindex && countedRoute(r)),
    };
  }

  /** The applied settings as keyfile text, made once per settings object: persist() runs at every kernel step. */
  private readonly appliedTexts = new WeakMap<object, string | undefined>();

  private appliedText(active: ActiveConnection): string | undefined {
    const settings = active.appliedSettings;
    if (!settings) return undefined;
    if (!this.appliedTexts.has(settings)) this.appliedTexts.set(settings, appliedToKeyfile(settings));
    return this.appliedTexts.get(settings);
  }

  /** Keeps `active`'s state in run-dir for the next daemon (docs/active-state.md); `intent`: before it is one of the actives. */
  private persist(active: ActiveConnection, intent = false): void {
    if (!active.committedBy || !active.key || (!intent && !this.actives.has(active.number))) return;
    const applied = this.appliedText(active);
    const state = active.state === ACTIVE_STATE.activated ? 'activated' : active.state === ACTIVE_STATE.deactivating ? 'deactivating' : 'activating';
    this.options.store.save(active.key, {
      uuid: active.uuid,
      id: active.id,
      iface: active.iface,
      ifindex: active.ifindex,
      master: active.master?.uuid ?? null,
      hasGateway: active.hasGateway,
      state,
      committedBy: active.committedBy,
      ...(active.ending ? { ending: active.ending } : {}),
      undo: active.undo,
      pending: active.pending,
      applied: active.applied,
      ...(active.seen ? { seen: active.seen } : {}),
      ...(applied !== undefined ? { appliedProfile: applied } : {}),
      ...(active.raDns ? { raDns: active.raDns.toSaved() } : {}),
    });
  }

  /** Where `conn` goes: the named device, or the one interface-name names, or the link it creates. */
  private resolve(conn: SettingsConnection, ifindex: number | null): Target {
    return resolveTarget(conn, ifindex, { settings: this.options.settings, devices: this.options.devices, actives: () => this.list(), newIfindex: () => ++this.highestIfindex });
  }

  /** DeactivateConnection: ends active connection `number`, taking back what its activation changed. */
  deactivate(ref: CallerRef, number: number): Promise<void> {
    const known = this.actives.get(number);
    const context = { op: OPERATIONS['Manager.DeactivateConnection'].op, ...(known ? this.fieldsOf(known) : {}) };
    return this.options.audit.audited(ref, context, async (tx) => {
      await authorize(this.options.auth(), tx, OPERATIONS['Manager.DeactivateConnection']);
      return this.serialized(async () => {
        const active = this.actives.get(number);
        // An activation waiting for its DHCP lease may be deactivated too.
        if (!active || (active.state !== ACTIVE_STATE.activated && !(active.state === ACTIVE_STATE.activating && (active.dhcp4 || active.dhcp6)))) {
          throw new NetauditError('ConnectionNotActive', `The active connection ${number} is not active (it may have been deactivated); the ActiveConnections property lists those that are.`);
        }
        tx.describe(this.fieldsOf(active));
        active.releaseLease = true;
        await this.withEnding(active, { op: tx.op, tx: tx.commitId(), boot: this.options.audit.boot }, () => tx.settled, () =>
          tx.commit(() => this.teardown(active, STATE_REASON.userDisconnected), { kernelChange: true }),
        );
      });
    });
  }

  /** Device.Disconnect: deactivates what runs on the device (op device-disconnect). */
  disconnect(ref: CallerRef, ifindex: number): Promise<void> {
    const device = this.options.devices.byIfindex(ifindex);
    const running = this.list().find((a) => a.ifindex === ifindex);
    const context = { op: OPERATIONS['Device.Disconnect'].op, ifindex, ...(device ? { iface: device.name } : {}), ...(running ? { uuid: running.uuid, name: running.id } : {}) };
    return this.options.audit.audited(ref, context, async (tx) => {
      await authorize(this.options.auth(), tx, OPERATIONS['Device.Disconnect']);
      return this.serialized(async () => {
        const current = this.options.devices.byIfindex(ifindex);
        if (!current) throw new NetauditError('UnknownDevice', `No device has ifindex ${ifindex} (it may have been removed); GetDevices lists them.`);
        const active = this.list().find((a) => a.ifindex === ifindex && a.state === ACTIVE_STATE.activated);
        if (!active) throw new NetauditError('ConnectionNotActive', `Nothing is active on ${quote(current.name)}: there is nothing to disconnect.`);
        tx.describe({ uuid: active.uuid, name: active.id, iface: current.name });
        active.releaseLease = true;
        await this.withEnding(active, { op: tx.op, tx: tx.commitId(), boot: this.options.audit.boot }, () => tx.settled, () =>
          tx.commit(() => this.teardown(active, STATE_REASON.userDisconnected), { kernelChange: true }),
        );
      });
    });
  }

  /**
   * Ends every active connection because networking was switched off or
   * the daemon went to sleep: one daemon record each, with `cause` and the
   * tx of the caller's call.
   */
  deactivateAll(cause: 'networking-off' | 'sleep', tx: number): Promise<void> {
    return this.serialized(async () => {
      // Ports before their bridge: newest first.
      for (const active of this.list().reverse()) {
        if (!this.actives.has(active.number)) continue;
        this.options.log.info(`deactivating ${active.describe()}: ${cause === 'sleep' ? 'the daemon went to sleep' : 'networking was disabled'}`);
        await this.daemonTeardown(active, cause, tx, STATE_REASON.deviceDisconnected).catch((e: Error) => {
          this.options.log.warn(`${active.describe()} stays active: ${e.message}`);
        });
      }
    });
  }

  private fieldsOf(active: ActiveConnection): { uuid: string; name: string; ifindex?: number; iface: string } {
    return { uuid: active.uuid, name: active.id, ...(active.ifindex !== null ? { ifindex: active.ifindex } : {}), iface: active.iface };
  }

  /**
   * A teardown the daemon does on its own: recorded first (origin=daemon,
   * `cause`, the tx of the call that led to it, if any), then done. A trail
   * that refuses the record refuses the teardown: it rejects and nothing changes.
   */
  private daemonTeardown(active: ActiveConnection, cause: AuditCause, tx: number | undefined, reason: StateReason): Promise<void> {
    const { audit } = this.options;
    const txId = tx ?? audit.nextTx();
    let recorded = false;
    return this.withEnding(active, { op: 'connection-deactivate', tx: txId, boot: audit.boot }, () => recorded, () =>
      audit.daemonChange({ op: 'connection-deactivate', cause, tx: txId, ...this.fieldsOf(active) }, () => {
        recorded = true;
        return this.teardown(active, reason);
      }),
    );
  }

  /**
   * Keeps the deactivation's record in `active`'s state file before that
   * record is made (docs/active-state.md): a daemon that dies between the
   * record and the teardown leaves the next one a deactivation to finish,
   * not a connection to adopt. If the record is never made, it goes again.
   */
  private async withEnding<T>(active: ActiveConnection, ending: CommittedBy, recorded: () => boolean, run: () => Promise<T>): Promise<T> {
    active.ending = ending;
    this.persist(active);
    try {
      return await run();
    } catch (e) {
      if (!recorded()) {
        active.ending = null;
        this.persist(active);
      }
      throw e;
    }
  }

  /** deactivating → (ports first, each a daemon record) take back → deactivated, removed. Its `ending` is set. */
  private async teardown(active: ActiveConnection, reason: StateReason): Promise<void> {
    if (!this.actives.has(active.number)) return;
    for (const port of this.list()) {
      if (port.master === active) {
        this.options.log.info(`deactivating the port ${port.describe()}: its bridge is being deactivated`);
        await this.daemonTeardown(port, 'master-deactivated', active.ending?.tx, STATE_REASON.dependencyFailed);
      }
    }
    // Not written again: the state file names the deactivation's record (`ending`) already.
    this.setState(active, ACTIVE_STATE.deactivating, reason);
    this.setDeviceState(active, DEVICE_STATE.deactivating);
    await this.finish(active, reason);
    this.options.log.info(`deactivated ${active.describe()}`);
  }

  /** Takes back what `active` changed, then deactivated and removed. */
  private async finish(active: ActiveConnection, reason: StateReason): Promise<void> {
    active.takingBack = true;
    // A caller's deactivation gives the lease back (RELEASE); the daemon's own teardowns keep
    // it, so that the address can be asked for again (docs/dhcp.md).
    this.slaac.cancelWait(active);
    await active.dhcp4?.stop(active.releaseLease, active.ending?.tx).catch((e: Error) => this.options.log.warn(`${active.describe()}: ${e.message}`));
    await active.dhcp6?.stop(active.releaseLease, active.ending?.tx).catch((e: Error) => this.options.log.warn(`${active.describe()}: ${e.message}`));
    await this.options.dns?.removeAll(activeDnsPrefix(active.number));
    // Written once, before: every undo step can run twice (a restart finishes a deactivation by running
    // what is left, and a step already done is "gone" or sets the value it has).
    await takeBack(active, this.options.platform, (m) => this.options.log.warn(m));
    this.release(active, reason);
  }

  private release(active: ActiveConnection, reason: StateReason): void {
    if (!this.actives.has(active.number)) return;
    this.actives.delete(active.number);
    this.raDns.forget(active);
    // finish() removed it already, unless the connection ended without a teardown (its link vanished).
    void this.options.dns?.removeAll(activeDnsPrefix(active.number));
    if (active.key) this.options.store.remove(active.key);
    const device = active.ifindex === null ? undefined : this.options.devices.byIfindex(active.ifindex);
    if (device && device.activeConnection === active.number) this.options.devices.setActivation(device, null);
    this.setState(active, ACTIVE_STATE.deactivated, reason);
    this.emit('removed', active);
  }

  private setState(active: ActiveConnection, state: ActiveState, reason: StateReason): void {
    if (!active.setState(state)) return;
    if (state === ACTIVE_STATE.activated) this.setDeviceState(active, DEVICE_STATE.activated);
    this.emit('state', active, state, reason);
  }

  private setDeviceState(active: ActiveConnection, state: number): void {
    const device = active.ifindex === null ? undefined : this.options.devices.byIfindex(active.ifindex);
    if (device) this.options.devices.setActivation(device, { active: active.number, state });
  }

  /**
   * The link under an active connection is gone: the connection ends. The
   * daemon cannot refuse this, so it is recorded (origin=daemon,
   * cause=device-removed) and done whatever the trail says.
   */
  private deviceRemoved(device: Device): void {
    for (const active of this.list()) {
      if (active.ifindex !== device.ifindex || active.takingBack) continue;
      this.options.log.info(`the link ${quote(device.name)} (ifindex ${device.ifindex}) disappeared under ${active.describe()}: it is deactivated`);
      // Nothing to take back on a link that is gone; what the activation did elsewhere (its ports) still is.
      active.undo.length = 0;
      if (active.state === ACTIVE_STATE.activating) {
        // An activation under way learns it at its next step, and its fail record overturns it; the object goes now.
        this.release(active, STATE_REASON.deviceRemoved);
        continue;
      }
      const tx = this.options.audit.nextTx();
      active.ending = { op: 'connection-deactivate', tx, boot: this.options.audit.boot };
      this.persist(active);
      void this.options.audit.recordUnattended('daemon', { op: 'connection-deactivate', cause: 'device-removed', tx, ...this.fieldsOf(active) });
      void this.serialized(() => this.teardown(active, STATE_REASON.deviceRemoved));
    }
  }

  /** A profile deleted while active: its connection ends, a daemon record carrying the delete's tx. */
  private connectionRemoved(conn: SettingsConnection, tx?: number): void {
    for (const active of this.list()) {
      if (active.connection !== conn.number) continue;
      this.options.log.info(`the profile of ${active.describe()} was deleted: it is deactivated`);
      void this.serialized(() =>
        this.daemonTeardown(active, 'connection-removed', tx, STATE_REASON.connectionRemoved).catch((e: Error) => {
          this.options.log.warn(`${active.describe()} stays active: ${e.message}`);
        }),
      );
    }
  }

  // ---- adoption: what the last daemon left running (docs/active-state.md) ----

  /** Takes up the active connections the last daemon left (adoption.ts), before anything else runs. */
  async adopt(saved: readonly SavedActive[], committed: (changes: readonly CommittedBy[]) => Promise<ReadonlySet<string>>): Promise<void> {
    await adoptLeftovers(saved, {
      ...this.options,
      committed,
      actives: () => this.list(),
      seenOn: (ifindex) => this.seenOn(ifindex),
      newActive: (conn, s, master) => {
        const active = new ActiveConnection(++this.lastNumber, conn.number, s.uuid, s.id, s.ifindex, s.iface, master, s.hasGateway);
        active.versionId = this.nextVersionId();
        return active;
      },
      register: (active) => {
        active.setState(ACTIVE_STATE.activated);
        active.key = activeKey(active.committedBy!);
        this.actives.set(active.number, active);
        this.persist(active);
        this.emit('added', active);
        this.setDeviceState(active, DEVICE_STATE.activated);
        this.emit('state', active, ACTIVE_STATE.activated, STATE_REASON.none);
        void this.adoptDns(active);
        void this.raDns.resume(active);
      },
    });
    // DHCP goes on where the last daemon left it: the kept lease is asked for again (INIT-REBOOT),
    // and only a lease that changed is a record.
    for (const active of this.list()) {
      let plan: ActivationPlan;
      try {
        plan = planActivation(active.appliedSettings);
      } catch {
        continue;
      }
      await this.resumeDhcp6(active, plan);
      if (!plan.ipv4?.dhcp || !this.options.dhcp) continue;
      const session = this.newDhcpSession(active, plan);
      const kept = await this.options.dhcp.leases.load(active.iface, active.uuid, this.options.dhcp.now());
      session.resume(kept);
      await session.start(this.options.dhcp.hostname()).catch((e: Error) => this.options.log.warn(`${active.describe()}: DHCP could not start again: ${e.message}`));
    }
  }

  /**
   * DHCPv6 goes on where the last daemon left it: a kept stateful lease is renewed (Renew), and
   * only a lease that changed is a record. With ipv6.method auto it runs when the link's flags ask.
   */
  private async resumeDhcp6(active: ActiveConnection, plan: ActivationPlan): Promise<void> {
    const dhcp6 = this.options.dhcp6;
    if (!dhcp6 || !plan.ipv6?.dhcp6 || active.ifindex === null) return;
    const link = this.options.devices.byIfindex(active.ifindex)?.link;
    const mode: Dhcp6Mode | null = plan.ipv6.method === 'dhcp' || link?.raManaged ? 'stateful' : link?.raOtherConf ? 'stateless' : null;
    if (mode === null) return;
    const session = this.newDhcp6Session(active, plan, mode);
    session.resume(await dhcp6.leases.load(active.iface, active.uuid, dhcp6.now()));
    session.start();
  }

  /** An adopted connection's static DNS, set again from the settings it runs with (docs/dns.md). */
  private async adoptDns(active: ActiveConnection): Promise<void> {
    const { dns, log } = this.options;
    if (!dns || active.ifindex === null) return;
    try {
      await setStaticDns(dns, active.number, planActivation(active.appliedSettings), active.ifindex, active.iface);
    } catch (e) {
      log.warn(`restart: the DNS of ${active.describe()} is not applied: ${(e as Error).message}`);
    }
  }

  // ---- autoconnect: the daemon's own activations, each a daemon record ----

  /**
   * Activates every profile with connection.autoconnect (true unless set
   * false) that names its interface and is not active: bridges first, then
   * the rest, ports last, higher autoconnect-priority first within each.
   * Called at start and when networking comes back.
   */
  autoconnectAll(): Promise<void> {
    this.started = true;
    return this.autoconnectWhere(() => true);
  }

  /** false until the daemon's first autoconnectAll: before it, what was left running is still being adopted */
  private started = false;

  private autoconnectOn(device: Device): void {
    void this.autoconnectWhere((plan) => plan.ifname === device.name && plan.softwareKind === null);
  }

  private async autoconnectWhere(match: (plan: ActivationPlan) => boolean, uuid?: string): Promise<void> {
    if (this.options.blocked() || !this.started) return;
    // One profile's change looks at that profile alone: a scan of them all would cost each add more the more there are.
    const candidates = autoconnectCandidates(this.options.settings.list(uuid), this.options.devices, this.list(), match);
    for (const { conn, plan } of candidates) {
      await this.serialized(async (release) => {
        if (this.options.blocked() || this.list().some((a) => a.uuid === conn.uuid)) return;
        // A candidate of higher priority took the link meanwhile: the others give way to it, not it to them.
        const taken = this.options.devices.byName(plan.ifname!);
        if (taken && this.list().some((a) => a.ifindex === taken.ifindex)) return;
        let target: Target;
        try {
          target = this.resolve(conn, null);
        } catch (e) {
          this.options.log.warn(`autoconnect: ${quote(conn.id)} (${conn.uuid}) was not activated: ${(e as Error).message}`);
          return;
        }
        if (target.device && target.device.activeConnection !== null) return;
        this.options.log.info(`autoconnect: activating ${quote(conn.id)} (${conn.uuid})`);
        const { audit } = this.options;
        const tx = audit.nextTx();
        const context = {
          op: 'connection-activate' as const,
          cause: 'autoconnect' as const,
          tx,
          uuid: conn.uuid,
          name: conn.id,
          ifindex: target.ifindex,
          iface: target.iface,
          after: appliedValues(target.plan, target.iface),
        };
        const active = this.newActive(conn, target);
        active.committedBy = { op: 'connection-activate', tx, boot: audit.boot };
        let recorded = false;
        await this.withIntent(active, () => recorded, () =>
          audit.daemonChange(context, () => {
            recorded = true;
            return this.bringUp({ active, target, giveWay: [] }, release);
          }),
        ).catch((e: Error) => this.options.log.warn(`autoconnect: ${quote(conn.id)} (${conn.uuid}) was not activated: ${e.message}`));
      });
    }
  }
}
