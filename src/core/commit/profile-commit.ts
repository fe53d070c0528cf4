// ProfileCommit: how a profile change becomes durable (docs/commit.md).
//
//   stage:  the change's whole new file is appended to the write-ahead log,
//           fdatasynced, side by side with its trail record (one round of
//           syncs, shared by every change that arrives meanwhile);
//   apply:  once both are durable, the file is written under a temp name
//           and renamed into place, nothing synced: the log has it;
//   checkpoint: in the background, the files and the directory are synced
//           and the log segment that covered them is removed.
//
// Recovery at start replays the segments left: a line whose record is in
// the trail (not overturned) is put on disk, one without is dropped, and a
// recorded change whose line never became durable is overturned.
import { NetauditError } from '../errors.js';
import { holdsProfile, type ProfileDisk } from './profile-disk.js';
import { planRecovery, type Overturn, type TrailFact } from './recovery-plan.js';
import { formatEntry, formatHeader, parseSegment, WAL_VERSION, type ParsedSegment, type ProfileChange, type WalHeader } from './wal-format.js';

export type { ProfileChange } from './wal-format.js';

interface Segment {
  readonly name: string;
  readonly header: WalHeader;
  /** lines staged in it */
  lines: number;
  /** staged changes not yet settled (applied, aborted or superseded): the segment stays until none is left */
  open: number;
  readonly touched: Set<string>;
  waiters: Array<() => void>;
}

/** A change with its place in the log; apply() or release() settles it. */
export interface Staged {
  readonly change: ProfileChange;
  readonly recorded: boolean;
  /** @internal */
  readonly segment: Segment;
}

/** A committed change not on disk yet: retried until it lands or a newer one of its profile supersedes it. */
interface Unapplied {
  readonly staged: Staged;
  timer: NodeJS.Timeout | null;
  readonly attempts: number;
  /** the files it takes away: its own remove, and those of the changes it superseded */
  readonly removes: readonly string[];
  /** older changes of the profile it replaced, settled once it lands */
  readonly superseded: readonly Staged[];
}

export interface CommitLog {
  info(text: string): void;
  warn(text: string): void;
  err(text: string): void;
}

export interface ProfileCommitOptions {
  readonly disk: ProfileDisk;
  readonly log: CommitLog;
  readonly boot: string;
  /** the lowest tx given and not yet settled, or the next to be given */
  readonly lowestOpenTx: () => number;
  /** how long after a segment's first line it is checkpointed; default 1 s */
  readonly checkpointMs?: number;
  /** a segment with this many lines is checkpointed at once; default 1000 */
  readonly checkpointLines?: number;
}

const SEGMENT = /^\.netauditd-wal-([0-9A-Za-z]+)-(\d+)$/;
/** Delays between attempts to apply a committed change whose install failed. */
const RETRY_MS = [1000, 2000, 5000, 10_000, 30_000, 60_000];

function segmentName(boot: string, n: number): string {
  return `.netauditd-wal-${boot}-${n}`;
}

export class ProfileCommit {
  private readonly disk: ProfileDisk;
  private readonly log: CommitLog;
  private current: Segment | null = null;
  /** segments replaced by a newer one, waiting to be checkpointed, oldest first */
  private readonly retired: Segment[] = [];
  private nextN = 1;
  /** txs begun that may still be at or above the next segment's `from` (see newSegment) */
  private readonly stagedTxs = new Set<number>();
  private queue: Array<{ segment: Segment; text: string; resolve: () => void; reject: (e: Error) => void }> = [];
  private appending: Promise<void> | null = null;
  private checkpointing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** committed changes not on disk yet, by profile uuid */
  private readonly unapplied = new Map<string, Unapplied>();
  private stopping = false;
  /** segments whose creation failed, which may exist all the same */
  private readonly orphans: string[] = [];

  constructor(private readonly options: ProfileCommitOptions) {
    this.disk = options.disk;
    this.log = options.log;
  }

  get dir(): string {
    return this.disk.dir;
  }

  /**
   * Finishes what earlier runs left in the log. `trail(boots, since)` gives
   * the trail's records of those starts (and the overturns naming them), in
   * trail order, none older than `since` (ms) but for a clock stepped back; `overturn` writes the `fail` record of a recorded change
   * whose line never became durable. Each segment is removed only once
   * its files are durable, so a crash here repeats it, to the same end.
   */
  async recover(trail: (boots: readonly string[], since: number) => Promise<TrailFact[]>, overturn: (o: Overturn) => Promise<void>): Promise<void> {
    const found: Array<{ name: string; parsed: ParsedSegment | null }> = [];
    for (const name of (await this.disk.list()).filter((n) => SEGMENT.test(n)).sort()) {
      found.push({ name, parsed: parseSegment((await this.disk.read(name)) ?? '') });
    }
    if (found.length === 0) return;
    const segments = found.flatMap((f) => (f.parsed === null ? [] : [f.parsed]));
    const boots = [...new Set(segments.map((s) => s.header.boot))];
    const since = Math.min(...segments.map((s) => s.header.created));
    const records = boots.length > 0 ? await trail(boots, since) : [];
    const texts = new Map<string, string | null>();
    for (const s of segments) {
      for (const e of s.entries) {
        if (e.remove !== undefined && !texts.has(e.remove)) texts.set(e.remove, await this.disk.read(e.remove));
      }
    }
    const plan = planRecovery(segments, records, (file, uuid) => {
      const text = texts.get(file);
      return text !== undefined && text !== null && holdsProfile(text, uuid);
    });
    for (const o of plan.overturns) {
      this.log.warn(`overturning change ${o.boot}-${o.tx} (${o.op}${o.name !== undefined ? ` ${o.name}` : ''}): its record was written but the change never reached the write-ahead log before the daemon stopped, and no caller was told it succeeded`);
      await overturn(o);
    }
    for (const [file, content] of plan.files) {
      if (content === null) await this.disk.remove([file]);
      else await this.disk.writeDurably(file, content);
    }
    if (plan.replayed > 0 || plan.dropped > 0) {
      this.log.warn(`write-ahead log: ${plan.replayed} committed change(s) put on disk again, ${plan.dropped} never committed passed over`);
    }
    for (const f of found) {
      if (f.parsed === null) this.log.warn(`removing write-ahead segment ${f.name}: its header never became durable, so nothing was logged in it`);
    }
    await this.disk.remove(found.map((f) => f.name));
  }

  /** Begins this run's first segment; changes can be staged once it resolves. */
  async start(): Promise<void> {
    this.current = await this.newSegment();
  }

  /**
   * A segment covers every change whose tx is at least the lowest tx not
   * yet settled, except those begun in an earlier segment, which its header
   * names (`done`): a recorded change of that range found in no segment
   * left was never logged. A change begun in a segment whose line failed
   * holds that segment until it is settled, so recovery still sees it.
   */
  private async newSegment(): Promise<Segment> {
    const from = this.options.lowestOpenTx();
    const done = [...this.stagedTxs].filter((t) => t >= from).sort((a, b) => a - b);
    for (const t of this.stagedTxs) if (t < from) this.stagedTxs.delete(t);
    const header: WalHeader = { wal: WAL_VERSION, boot: this.options.boot, from, done, n: this.nextN, created: Date.now() };
    const name = segmentName(this.options.boot, this.nextN++);
    try {
      await this.disk.create(name, formatHeader(header));
    } catch (e) {
      // A half-made segment would claim to cover changes logged in the current one: it must go
      // before any older segment does (see runCheckpoint).
      this.orphans.push(name);
      await this.removeOrphans().catch(() => undefined);
      throw e;
    }
    return { name, header, lines: 0, open: 0, touched: new Set(), waiters: [] };
  }

  /**
   * Takes a place in the current segment for `change`; write() then logs
   * it, and apply() or release() settles it. With `recorded`, the change's
   * trail record (made side by side with the line) is its commit point;
   * without, the line is. The segment stays until the change is settled.
   */
  begin(change: ProfileChange, recorded: boolean): Staged {
    const segment = this.current;
    if (segment === null || this.stopping) {
      throw new NetauditError('Failed', 'The daemon is stopping: the profile change was not made.', 'failed');
    }
    segment.open++;
    segment.lines++;
    this.stagedTxs.add(change.tx);
    if (change.write !== undefined) segment.touched.add(change.write);
    if (change.remove !== undefined) segment.touched.add(change.remove);
    return { change, recorded, segment };
  }

  /**
   * Writes the change's line durably, in one append with every line queued
   * meanwhile (group commit). Rejects with Failed/io-error when it could not
   * be made durable; the change is then still held: release() it once its
   * record is overturned, or leave it held so that the next start finds the
   * record without its line and overturns it.
   */
  async write(staged: Staged): Promise<void> {
    const text = formatEntry({ ...staged.change, recorded: staged.recorded });
    try {
      await new Promise<void>((resolve, reject) => {
        this.queue.push({ segment: staged.segment, text, resolve, reject });
        this.appending ??= this.drain();
      });
    } catch (e) {
      throw new NetauditError('Failed', `The profile change could not be logged in ${this.disk.dir}: ${(e as Error).message}.`, 'io-error');
    }
  }

  /** One append per segment for everything queued meanwhile: group commit. */
  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0);
      for (let start = 0; start < batch.length; ) {
        let end = start;
        while (end < batch.length && batch[end]!.segment === batch[start]!.segment) end++;
        const group = batch.slice(start, end);
        try {
          await this.disk.append(group[0]!.segment.name, group.map((g) => g.text).join(''));
          for (const g of group) g.resolve();
        } catch (e) {
          for (const g of group) g.reject(e as Error);
        }
        start = end;
      }
    }
    this.appending = null;
  }

  /**
   * Makes a committed change visible. A failure is reported and retried in
   * the background until it lands or a newer change of the same profile
   * supersedes it: the change stands, its line is kept.
   */
  async apply(staged: Staged): Promise<void> {
    const { change } = staged;
    const older = change.uuid === '' ? undefined : this.unapplied.get(change.uuid);
    // A newer change that supersedes one not on disk yet also takes away what the older was to
    // remove (a rename), and settles it only once it has landed: until then the older's line,
    // with its remove, stays in the log for recovery.
    const removes = [
      ...(change.remove !== undefined && change.remove !== change.write ? [change.remove] : []),
      ...(older?.removes.filter((r) => r !== change.write && r !== change.remove) ?? []),
    ];
    const superseded = older ? [...older.superseded, older.staged] : [];
    if (older) {
      if (older.timer) clearTimeout(older.timer);
      this.unapplied.delete(change.uuid);
    }
    try {
      await this.install(change, removes);
    } catch (e) {
      if (change.uuid !== '') this.retryLater({ staged, timer: null, attempts: 0, removes, superseded });
      else for (const s of superseded) this.settle(s.segment);
      throw e;
    }
    this.settle(staged.segment);
    for (const s of superseded) this.settle(s.segment);
  }

  /**
   * Settles a change that will not be applied: its record was refused (its
   * line, if written, is never replayed: no record commits it), or its line
   * failed and its record was overturned.
   */
  release(staged: Staged): void {
    this.settle(staged.segment);
  }

  private install(change: ProfileChange, removes: readonly string[]): Promise<void> {
    const files = change.write !== undefined && change.content !== undefined ? [{ name: change.write, content: change.content }] : [];
    return this.disk.install(files, removes.map((name) => ({ name, uuid: change.uuid })));
  }

  private retryLater(entry: Unapplied): void {
    const delay = RETRY_MS[Math.min(entry.attempts, RETRY_MS.length - 1)]!;
    entry.timer = setTimeout(() => void this.retry(entry.staged.change.uuid), delay);
    entry.timer.unref();
    this.unapplied.set(entry.staged.change.uuid, entry);
  }

  private async retry(uuid: string): Promise<void> {
    const entry = this.unapplied.get(uuid);
    if (!entry) return;
    entry.timer = null;
    const { change } = entry.staged;
    const what = `committed change ${change.boot}-${change.tx} (${change.write ?? change.remove ?? ''})`;
    try {
      await this.install(change, entry.removes);
    } catch (e) {
      if (this.unapplied.get(uuid) !== entry) return;
      this.log.warn(`${what} still cannot be applied on disk (${(e as Error).message}); trying again`);
      this.retryLater({ ...entry, attempts: entry.attempts + 1 });
      return;
    }
    if (this.unapplied.get(uuid) !== entry) return;
    this.unapplied.delete(uuid);
    this.log.info(`${what} is now on disk`);
    this.settle(entry.staged.segment);
    for (const s of entry.superseded) this.settle(s.segment);
  }

  /** True while a committed change of the profile `uuid` waits to land on disk. */
  isUnapplied(uuid: string): boolean {
    return this.unapplied.has(uuid);
  }

  private settle(segment: Segment): void {
    segment.open--;
    if (segment.open === 0) for (const w of segment.waiters.splice(0)) w();
    this.schedule();
  }

  private schedule(): void {
    const current = this.current;
    if (current === null || current.lines === 0 || this.stopping) return;
    if (current.lines >= (this.options.checkpointLines ?? 1000)) {
      void this.checkpoint();
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.checkpoint();
    }, this.options.checkpointMs ?? 1000);
    this.timer.unref();
  }

  /**
   * Begins a new segment, then makes the older ones' files durable and
   * removes them, oldest first, each once its changes have settled. A
   * failure leaves them for the next checkpoint (and recovery).
   */
  checkpoint(mode: 'wait' | 'settled' = 'wait'): Promise<void> {
    this.checkpointing ??= this.runCheckpoint(mode).finally(() => {
      this.checkpointing = null;
    });
    return this.checkpointing;
  }

  /**
   * `wait`: a segment with changes under way is waited for; `settled`: the
   * checkpoint stops at it (a change that cannot land holds nobody up);
   * `final`: at stop, no new segment is begun.
   */
  private async runCheckpoint(mode: 'wait' | 'settled' | 'final'): Promise<void> {
    const final = mode === 'final';
    const current = this.current;
    if (current !== null && (current.lines > 0 || final)) {
      try {
        this.current = final ? null : await this.newSegment();
        this.retired.push(current);
      } catch (e) {
        this.log.warn(`could not begin a new write-ahead segment in ${this.disk.dir} (${(e as Error).message}); the current one goes on`);
      }
    }
    try {
      await this.removeOrphans();
    } catch (e) {
      this.log.warn(`could not remove the half-made write-ahead segment ${this.orphans[0]} (${(e as Error).message}); the older segments are kept until it is gone`);
      this.schedule();
      return;
    }
    while (this.retired.length > 0) {
      const oldest = this.retired[0]!;
      if (oldest.open > 0) {
        // A committed change not on disk yet: its line stays for later (or for the next start).
        if (mode !== 'wait' || this.stopping) break;
        await new Promise<void>((resolve) => oldest.waiters.push(resolve));
        continue;
      }
      try {
        await this.disk.sync([...oldest.touched]);
        await this.disk.remove([oldest.name]);
      } catch (e) {
        this.log.warn(`write-ahead segment ${oldest.name}: its files could not be made durable (${(e as Error).message}); it is kept, and the next checkpoint tries again`);
        this.schedule();
        return;
      }
      this.retired.shift();
    }
  }

  private async removeOrphans(): Promise<void> {
    if (this.orphans.length === 0) return;
    await this.disk.remove(this.orphans);
    this.orphans.length = 0;
  }

  /**
   * Makes every settled change durable in the profile files themselves and
   * removes their segments, so that no recovery ever replays them over what
   * a reload reads next. Changes still under way keep theirs.
   */
  async flush(): Promise<void> {
    while (this.checkpointing) await this.checkpointing;
    await this.checkpoint('settled');
  }

  /**
   * At stop: waits for the changes under way, makes them durable in their
   * files and removes the log; a committed change not on disk yet keeps its
   * segment, and the next start puts it in place.
   */
  async close(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    // A checkpoint waiting for a change that will not land now gives up, leaving its segment.
    for (const segment of this.retired) for (const w of segment.waiters.splice(0)) w();
    for (const entry of this.unapplied.values()) if (entry.timer) clearTimeout(entry.timer);
    while (this.appending) await this.appending;
    while (this.checkpointing) await this.checkpointing;
    // A committed change not on disk yet leaves its segment open: the next start puts it in place.
    await this.runCheckpoint('final');
  }
}
