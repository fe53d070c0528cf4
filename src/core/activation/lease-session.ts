// LeaseSession: what the DHCPv4 and DHCPv6 sides of an active connection
// share (dhcp4-session.ts, dhcp6-session.ts). A lease that changes what the
// network sees is one record (op dhcp4-lease or dhcp6-lease, origin daemon,
// cause lease, the activation's tx), made durable before the kernel is asked
// (docs/commit.md); a renewal that changes nothing is a DEBUG line; the lease
// is kept in state-dir for the next daemon; the activation waits for the
// first lease, at most the family's dhcp-timeout. docs/dhcp.md.
import type { AuditManager } from '../audit/audit-manager.js';
import type { AuditValues } from '../audit/record.js';
import { NetauditError, quote } from '../errors.js';
import type { DomainLogger } from '../../log/logger.js';
import type { LeaseStore } from '../dhcp/lease-store.js';
import type { ActiveConnection } from './active-connection.js';

export interface LeaseSessionBase<L> {
  readonly audit: AuditManager;
  readonly log: DomainLogger;
  readonly leases: LeaseStore<L>;
  readonly op: 'dhcp4-lease' | 'dhcp6-lease';
  /** 'ipv4' or 'ipv6': the setting whose dhcp-timeout and method the messages name */
  readonly setting: 'ipv4' | 'ipv6';
  readonly timeoutMs: number;
  /** the commit id of the activation that started DHCP: every lease record carries it */
  readonly tx: number;
}

export abstract class LeaseSession<L> {
  protected current: L | null = null;
  protected stopped = false;
  private first: { resolve: () => void; reject: (e: Error) => void } | null = null;
  private readonly firstLease: Promise<void>;
  /** lease changes are applied one at a time, in order */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    protected readonly base: LeaseSessionBase<L>,
    protected readonly active: ActiveConnection,
  ) {
    this.firstLease = new Promise((resolve, reject) => (this.first = { resolve, reject }));
    // A caller that gave up waiting must not leave an unhandled rejection behind.
    this.firstLease.catch(() => undefined);
  }

  get lease(): L | null {
    return this.current;
  }

  /** An adopted connection's lease, on the link already: renewed, and a record only if it changes. */
  resume(lease: L | null): void {
    this.current = lease;
  }

  /** Whether applying `b` in place of `a` changes what the network sees. */
  protected abstract changed(a: L | null, b: L | null): boolean;
  /** Moves the link from what the current lease gave to what `after` gives (none: nothing). */
  protected abstract apply(after: L | null): Promise<void>;
  /** Gives the link's address of `lease` its new lifetime: a renewal that changes nothing else. */
  protected abstract refresh(lease: L): Promise<void>;
  /** The record's values of a lease: what the network got from it, and who gave it. */
  protected abstract values(lease: L | null): AuditValues | undefined;
  /** The lease in a log line: its address and who gave it. */
  protected abstract describe(lease: L): string;
  /** Stops the client (with `release`, it gives the lease back first). */
  protected abstract stopClient(release: boolean): Promise<void>;

  /** Resolves at the first lease applied; rejects when none comes within dhcp-timeout, or the session stops. */
  waitForLease(): Promise<void> {
    const { timeoutMs, setting } = this.base;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new NetauditError(
              'Failed',
              `No ${setting === 'ipv4' ? 'DHCP' : 'DHCPv6'} server gave ${quote(this.active.iface)} a lease within ${timeoutMs / 1000} s (${setting}.dhcp-timeout): check the network, or set ${setting}.method to "manual".`,
              'dhcp-timeout',
            ),
          ),
        timeoutMs,
      );
    });
    return Promise.race([this.firstLease, timeout]).finally(() => clearTimeout(timer));
  }

  /** The session cannot go on (its client could not start): an activation waiting for it fails with `e`. */
  protected failed(e: Error): void {
    this.first?.reject(e);
    this.first = null;
  }

  /**
   * Stops the client. With `release` a bound lease is given back to the server and recorded as
   * released; what it gave goes with the connection's undo list.
   */
  async stop(release: boolean, tx: number | undefined): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.first?.reject(new NetauditError('Failed', `${this.active.describe()} was deactivated before a DHCP server gave it a lease.`, 'deactivated'));
    await this.queue;
    const lease = this.current;
    await this.stopClient(release && lease !== null);
    if (release && lease) {
      await this.base.audit.recordUnattended('daemon', this.record(tx ?? this.base.tx, 'released', lease, null));
      await this.base.leases.remove(this.active.iface, this.active.uuid).catch(() => undefined);
    }
  }

  protected serialized(run: () => Promise<void>): Promise<void> {
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  protected record(tx: number, args: string, before: L | null, after: L | null) {
    const before_ = this.values(before);
    const after_ = this.values(after);
    return {
      op: this.base.op,
      cause: 'lease' as const,
      args,
      uuid: this.active.uuid,
      name: this.active.id,
      ifindex: this.active.ifindex!,
      iface: this.active.iface,
      tx,
      ...(before_ ? { before: before_ } : {}),
      ...(after_ ? { after: after_ } : {}),
    };
  }

  /**
   * What both clients tell alike: 'renewed', 'bound' and 'changed' with the lease the link should
   * have. Null for any other kind, which is the family's own; nothing once the session stopped.
   */
  protected leaseEvent(kind: string, lease: L | null): Promise<void> | null {
    if (this.stopped) return Promise.resolve();
    if (kind === 'renewed') return this.renewed(lease!);
    if (kind === 'bound' || kind === 'changed') return this.bound(lease!);
    return null;
  }

  /**
   * A renewal: what the daemon applied decides, not the client's word. A lease it did not apply
   * (the kernel refused it) is applied now, with its record; otherwise a DEBUG line, the address's
   * new lifetime and the kept lease.
   */
  protected async renewed(lease: L): Promise<void> {
    if (this.current === null || this.changed(this.current, lease)) return this.bound(lease);
    this.base.log.debug(`${this.active.describe()}: ${this.describe(lease)} renewed`);
    this.current = lease;
    await this.refresh(lease).catch((err: Error) => this.base.log.warn(`${this.active.describe()}: ${err.message}`));
    await this.keep(lease);
  }

  /** A new or changed lease: its record, then the link changed, then kept. The same lease as now is a renewal. */
  protected async bound(lease: L): Promise<void> {
    const previous = this.current;
    if (previous && !this.changed(previous, lease)) {
      // The address kept (an adopted connection's, or asked for again): the same as a renewal.
      await this.renewed(lease);
      this.leaseCame();
      return;
    }
    await this.base.audit.daemonChange(this.record(this.base.tx, previous === null ? 'bound' : 'changed', previous, lease), () => this.applyOrRestore(lease, previous));
    this.current = lease;
    await this.keep(lease);
    this.base.log.info(`${this.active.describe()}: ${this.describe(lease)}`);
    this.leaseCame();
  }

  /** The lease is gone (expired, refused): the link loses what it gave, with `args` as the record's. */
  protected async lost(args: string, previous: L | null, why: string): Promise<void> {
    this.current = null;
    await this.base.leases.remove(this.active.iface, this.active.uuid).catch(() => undefined);
    if (previous === null) return;
    this.base.log.info(`${this.active.describe()}: ${this.describe(previous)} ${why}; taking back what it gave`);
    await this.base.audit.daemonChange(this.record(this.base.tx, args, previous, null), () => this.apply(null));
  }

  private async keep(lease: L): Promise<void> {
    await this.base.leases.save(this.active.iface, this.active.uuid, lease).catch((err: Error) => this.base.log.warn(`the DHCP lease of ${this.active.describe()} could not be kept: ${err.message}`));
  }

  /** The first lease is applied: the activation waiting for it goes on. */
  private leaseCame(): void {
    this.first?.resolve();
    this.first = null;
  }

  /**
   * Applies `lease`; if the kernel refuses part of it, puts the link back to what `previous`
   * gave before passing the refusal on, so that the fail record that overturns the change
   * (docs/commit.md) says what the link has.
   */
  private async applyOrRestore(lease: L, previous: L | null): Promise<void> {
    try {
      await this.apply(lease);
    } catch (e) {
      await this.apply(previous).catch((err: Error) => this.base.log.warn(`${this.active.describe()}: the link could not be put back as the last lease left it: ${err.message}`));
      throw e;
    }
  }
}
