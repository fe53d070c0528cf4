// Who asked for a change the kernel announced (docs/external-changes.md): the daemon, another
// process (by the port id the kernel names), the kernel on its own account, or nobody known.
// The platform calls it for every link, address, route and rule event; the daemon's own
// requests register here first what they make the kernel announce (own-requests.ts).
import { OwnRequests } from './own-requests.js';
import { RTPROT_KERNEL, RTPROT_RA, type Address, type ChangeSender, type KernelChange, type Link, type LinkChange } from './platform.js';

/** A change as the platform sees it, before it is known who asked for it. */
export type UnsentChange = KernelChange extends infer C ? (C extends KernelChange ? Omit<C, 'sender'> : never) : never;

/** IFA_PROTO's values (linux/if_addr.h) */
const IFAPROT_KERNEL_RA = 2;
const IFAPROT_KERNEL_LL = 3;

/** How late the kernel may remove an address or route after the lifetime it gave ended (its timers are coarse). */
const EXPIRY_SLACK_MS = 2000;

/**
 * The link fields whose change is somebody's, a bridge's and a port's options included: carrier
 * and operational state (a port's STP state among them) are nobody's.
 */
const LINK_FIELDS = ['name', 'mtu', 'hwAddress', 'up', 'master', 'bridge', 'port'] as const;
export type LinkField = (typeof LINK_FIELDS)[number];

/** The fields of `before` that `after` changes; [] when nothing that counts changed. */
export function changedLinkFields(before: Link, after: Link): LinkField[] {
  return LINK_FIELDS.filter((f) => before[f] !== after[f] && JSON.stringify(before[f]) !== JSON.stringify(after[f]));
}

/** True when every option given in `asked` has that value in `options`. */
function holds(options: object | undefined, asked: object): boolean {
  return options !== undefined && Object.entries(asked).every(([k, v]) => v === undefined || (options as Record<string, unknown>)[k] === v);
}

const onLink = (c: UnsentChange): number | null => {
  switch (c.object) {
    case 'link':
      return (c.after ?? c.before)!.ifindex;
    case 'address':
      return c.address.ifindex;
    case 'route':
      return c.route.ifindex;
    case 'rule':
      return null;
  }
};

const objectKey = (a: Address): string => `${a.ifindex}/${a.address}/${a.prefix}`;

export class ChangeSenders {
  private readonly own: OwnRequests<UnsentChange>;
  /** when each dynamic address or expiring route ends, as the kernel last announced it */
  private readonly ends = new Map<string, number>();

  constructor(
    /** the port id of the daemon's request socket */
    private readonly portid: number,
    private readonly now: () => number = Date.now,
  ) {
    this.own = new OwnRequests(now);
  }

  /** Who asked for `change`: `pid`/`seq` as the event's netlink header has them, null for a difference a re-list found. */
  senderOf(change: UnsentChange, header: { pid: number; seq: number } | null): ChangeSender {
    if (header && header.pid !== 0) return header.pid === this.portid ? { kind: 'own' } : { kind: 'portid', portid: header.pid, seq: header.seq };
    if (this.own.expects(change)) return { kind: 'own' };
    const why = this.kernelReason(change);
    if (why) return { kind: 'kernel', why };
    return header ? { kind: 'unknown' } : { kind: 'relist' };
  }

  /** Keeps when an address or route the kernel announced ends, so that its removal then is known for an expiry. */
  noteLifetime(change: UnsentChange): void {
    if (change.object === 'address' && change.action === 'add') {
      const key = `a/${objectKey(change.address)}`;
      if (change.address.dynamic && change.address.validLft !== undefined && change.address.validLft !== 0xffffffff) this.ends.set(key, this.now() + change.address.validLft * 1000);
      else this.ends.delete(key);
    }
  }

  private kernelReason(c: UnsentChange): Extract<ChangeSender, { kind: 'kernel' }>['why'] | null {
    if (c.object === 'address') {
      const a = c.address;
      if (a.family === 6 && (a.proto === IFAPROT_KERNEL_LL || /^fe[89ab][0-9a-f]:/i.test(a.address))) return 'link-local';
      // A privacy address is the kernel's, made beside one formed from an advertisement.
      if (a.proto === IFAPROT_KERNEL_RA || a.temporary) return 'router-advertisement';
      const key = `a/${objectKey(a)}`;
      const end = this.ends.get(key);
      if (c.action === 'delete') this.ends.delete(key);
      if (c.action === 'delete' && a.dynamic && end !== undefined && this.now() + EXPIRY_SLACK_MS >= end) return 'expired';
      return null;
    }
    if (c.object === 'route') {
      if (c.route.protocol === RTPROT_KERNEL) return 'side-effect';
      if (c.route.protocol === RTPROT_RA) return 'router-advertisement';
    }
    return null;
  }

  // ---- what the daemon's own requests make the kernel announce ----

  /** Runs a request whose announcements are those `expects` accepts. */
  around<T>(expects: (c: UnsentChange) => boolean, request: () => Promise<T>): Promise<T> {
    return this.own.around(expects, request);
  }

  /** Creating the links named (a veth's two ends): their appearance and first changes. */
  creating(names: readonly string[]): (c: UnsentChange) => boolean {
    return (c) => c.object === 'link' && names.includes((c.after ?? c.before)!.name);
  }

  /**
   * Deleting `link`: its removal, that of the links that go with it (a veth's peer, the macvlans
   * on it), their addresses and routes, and its ports set free.
   */
  deleting(link: Link | undefined, ifindex: number, known: (i: number) => Link | undefined): (c: UnsentChange) => boolean {
    const gone = (i: number): boolean => i === ifindex || i === link?.parent || known(i)?.parent === ifindex;
    return (c) => {
      if (c.object === 'link' && c.action === 'change' && c.before?.master === ifindex) return changedLinkFields(c.before, c.after!).every((f) => f === 'master' || f === 'up' || f === 'port');
      const on = onLink(c);
      return on !== null && gone(on) && c.action !== 'add';
    };
  }

  /**
   * Setting `change` on link `ifindex`: that change, and what the kernel does because of it —
   * addresses and routes flushed when the link goes down or added when it comes up, and a
   * bridge's MTU or address following its ports.
   */
  setting(ifindex: number, change: LinkChange, known: (i: number) => Link | undefined): (c: UnsentChange) => boolean {
    // The state asked for, field by field: an event that gives a field another value is someone else's.
    const asked = (f: LinkField, after: Link): boolean => {
      if (f === 'master') return change.master !== undefined && after.master === (change.master === 0 ? null : change.master);
      // A port's options come and go with its bridge.
      if (f === 'port') return change.master !== undefined;
      if (f === 'name' || f === 'bridge') return false;
      return change[f] !== undefined && after[f] === change[f];
    };
    const masters = new Set<number>([known(ifindex)?.master ?? 0, change.master ?? 0].filter((m) => m > 0));
    return (c) => {
      if (c.object === 'link') {
        const link = (c.after ?? c.before)!;
        if (c.action !== 'change') return false;
        const changed = changedLinkFields(c.before!, c.after!);
        if (link.ifindex === ifindex) return changed.every((f) => asked(f, c.after!));
        return masters.has(link.ifindex) && changed.every((f) => f === 'mtu' || f === 'hwAddress');
      }
      return change.up !== undefined && onLink(c) === ifindex;
    };
  }

  /** Setting a bridge's (`which` bridge) or a port's options on link `ifindex` to `asked`: that change alone. */
  options(ifindex: number, which: 'bridge' | 'port', asked: object): (c: UnsentChange) => boolean {
    return (c) =>
      c.object === 'link' &&
      c.action === 'change' &&
      c.after!.ifindex === ifindex &&
      changedLinkFields(c.before!, c.after!).every((f) => f === which) &&
      holds(c.after![which], asked);
  }

  /** Adding, replacing or removing `address` (IPv6 events carry no port id). */
  addressing(address: Address, action: 'add' | 'delete'): (c: UnsentChange) => boolean {
    const key = objectKey(address);
    return (c) => c.object === 'address' && c.action === action && objectKey(c.address) === key;
  }

  /** A change made outside rtnetlink to link `ifindex` (a sysctl): the addresses and routes the kernel adds or removes there. */
  outside(ifindex: number): (c: UnsentChange) => boolean {
    return (c) => c.object !== 'link' && c.object !== 'rule' && onLink(c) === ifindex;
  }
}
