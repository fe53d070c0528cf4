// ExternalWatch: the kernel changes nobody asked the daemon for, recorded as they happen with
// origin external (docs/external-changes.md). The platform says who asked for each change; the
// daemon's own and the kernel's own are passed over here. The rest is grouped into bursts
// (change-groups.ts), attributed to the process that sent the request when the kernel names its
// socket and the process still holds it (netlink-sender.ts), and written as records. A flood is
// coalesced into records that give the counts (flood-gate.ts). Nothing waits on it: a record
// the trail refuses is logged, and the change it tells of has happened all the same.
import type { ActingProcess, AuditManager } from '../audit/audit-manager.js';
import type { AuditActor } from '../audit/record.js';
import type { DomainLogger } from '../../log/logger.js';
import type { Clock } from '../dhcp/clock.js';
import type { KernelChange, Link, Platform } from '../platform/platform.js';
import type { ProcessView } from '../process-view.js';
import { QuietWindow } from '../quiet-window.js';
import { groupKey, groupRecords, pairRoot, type ChangeRecord } from './change-groups.js';
import { FloodGate, type FloodSummary } from './flood-gate.js';

/** What `[audit] watch` can name for kernel objects. */
export type KernelWatchTarget = 'links' | 'addresses' | 'routes' | 'rules';

/** How long a burst must be quiet before it is written, and how long at most it is held. */
export const BURST_QUIET_MS = 150;
export const BURST_MAX_MS = 1000;

export interface ExternalWatchOptions {
  readonly platform: Platform;
  readonly audit: AuditManager;
  readonly log: DomainLogger;
  readonly clock: Clock;
  /** what `[audit] watch` names now */
  readonly watched: () => ReadonlySet<string>;
  /** the process holding the rtnetlink socket of a port id, read at once; null when gone */
  readonly sender: (portid: number) => Promise<ProcessView | null>;
  /** individual records per second before a flood is coalesced */
  readonly floodLimit?: number;
}

interface Group {
  readonly changes: KernelChange[];
  /** the sender, read when its first change came; undefined for a change the kernel names no sender of */
  readonly process?: Promise<ProcessView | null>;
  readonly portid?: number;
}

const TARGET: Record<KernelChange['object'], KernelWatchTarget> = { link: 'links', address: 'addresses', route: 'routes', rule: 'rules' };

export class ExternalWatch {
  private readonly groups = new Map<string, Group>();
  private readonly window: QuietWindow<string>;
  private readonly flood: FloodGate;
  /** links as last seen, for the group of an address or route on a veth's end */
  private readonly links = new Map<number, Link>();
  private writing: Promise<void> = Promise.resolve();
  private readonly onChange = (c: KernelChange): void => this.take(c);

  constructor(private readonly options: ExternalWatchOptions) {
    this.window = new QuietWindow({ clock: options.clock, quietMs: BURST_QUIET_MS, maxMs: BURST_MAX_MS, ready: (key) => this.ready(key) });
    this.flood = new FloodGate({ clock: options.clock, limit: options.floodLimit ?? 50, summary: (s) => this.writeSummary(s) });
    options.platform.on('kernel-change', this.onChange);
  }

  /** Learns the links there are now (for grouping by veth pair). */
  async start(): Promise<void> {
    for (const link of await this.options.platform.links()) this.links.set(link.ifindex, link);
  }

  /**
   * Stops following the kernel and writes every burst not yet written, at once (a daemon that
   * stops must not lose the record of a change it saw); resolves once they are written.
   */
  async stop(): Promise<void> {
    this.options.platform.off('kernel-change', this.onChange);
    this.window.close();
    for (const key of [...this.groups.keys()]) this.ready(key);
    await this.writing;
    await this.flood.close();
  }

  private take(c: KernelChange): void {
    if (c.object === 'link') {
      if (c.after) this.links.set(c.after.ifindex, c.after);
    }
    const counted = c.sender.kind === 'portid' || c.sender.kind === 'unknown' || c.sender.kind === 'relist';
    if (counted && this.options.watched().has(TARGET[c.object])) {
      const key = groupKey(c, (i) => {
        const link = this.links.get(i);
        return link ? pairRoot(link) : i;
      });
      let group = this.groups.get(key);
      if (!group) {
        group =
          c.sender.kind === 'portid'
            ? { changes: [], portid: c.sender.portid, process: this.options.sender(c.sender.portid).catch(() => null) }
            : { changes: [] };
        this.groups.set(key, group);
      }
      group.changes.push(c);
      this.window.touch(key);
    }
    if (c.object === 'link' && c.action === 'delete') {
      // Kept until the burst it ends is written: its addresses' group is found through it.
      const ifindex = c.before!.ifindex;
      this.options.clock.setTimeout(() => this.links.delete(ifindex), BURST_MAX_MS * 2);
    }
  }

  private ready(key: string): void {
    const group = this.groups.get(key);
    if (!group) return;
    this.groups.delete(key);
    this.writing = this.writing.then(() => this.write(group)).catch((e: Error) => this.options.log.err(`recording a change made by others failed: ${e.stack ?? e.message}`));
  }

  private async write(group: Group): Promise<void> {
    const name = (i: number): string | undefined => this.links.get(i)?.name;
    const records = groupRecords(group.changes, name);
    if (records.length === 0) return;
    const process = (await group.process) ?? null;
    const { actor, acting } = attribution(group, process);
    const relisted = group.changes.every((c) => c.sender.kind === 'relist');
    for (const record of records) {
      if (!this.flood.admit(record, acting?.pid ?? null)) continue;
      await this.record(record, actor, acting, relisted);
    }
  }

  private async record(r: ChangeRecord, actor: AuditActor, acting: ActingProcess | null, relisted: boolean): Promise<void> {
    const who = acting ? `pid ${acting.pid} (uid ${acting.uid}${actor.comm !== undefined ? `, ${actor.comm}` : ''})` : actor.portid !== undefined ? `port id ${actor.portid}, process gone` : 'an unknown sender';
    this.options.log.info(`${r.op} on ${r.iface ?? 'the rule table'} by ${who}, made without netauditd${relisted ? ' (found by listing again after the kernel dropped events)' : ''}`);
    const { op, ...fields } = r;
    await this.options.audit.recordFound('external', { op, ...fields }, actor, acting ?? undefined).catch((e: Error) => {
      this.options.log.warn(`the record of external change ${op} could not be made durable: ${e.message}`);
    });
  }

  private async writeSummary(s: FloodSummary): Promise<void> {
    this.options.log.warn(`${s.count} ${s.op} changes made without netauditd in ${s.seconds} s: recorded as one record with their count`);
    await this.options.audit
      .recordFound('external', { op: s.op, args: 'coalesced', after: { count: s.count, first: s.first, last: s.last, ...(s.pids.length > 0 ? { pids: s.pids } : {}) } }, { attribution: 'coalesced' })
      .catch((e: Error) => this.options.log.warn(`the record of ${s.count} external ${s.op} changes could not be made durable: ${e.message}`));
  }
}

/** How a group's records say who acted: the process when it was read, else the port id, else nobody known. */
function attribution(group: Group, process: ProcessView | null): { actor: AuditActor; acting: ActingProcess | null } {
  if (group.portid === undefined) return { actor: { attribution: 'none' }, acting: null };
  if (!process) return { actor: { attribution: 'netlink-portid-gone', portid: group.portid }, acting: null };
  return {
    actor: {
      attribution: 'netlink-portid',
      portid: group.portid,
      ...(process.exe !== undefined ? { exe: process.exe } : {}),
      ...(process.comm !== undefined ? { comm: process.comm } : {}),
      ...(process.auid !== undefined ? { auid: process.auid } : {}),
      ...(process.ses !== undefined ? { ses: process.ses } : {}),
    },
    acting: { pid: process.pid, uid: process.uid },
  };
}
