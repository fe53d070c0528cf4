// AuditManager: the one path through which every attempted change is
// recorded (docs/record-format.md). `audited()` wraps an operation so that it produces
// exactly one record once its outcome is known, success or failure, and so
// that a change is applied only after its record is durable in the trail.
// A change that can still fail after its record (a kernel request) gets a
// second, `fail` record naming the first; see CommitOptions.kernelChange.
import { randomBytes } from 'node:crypto';
import type { Caller, CallerRef } from '../caller.js';
import { NetauditError, type Reason } from '../errors.js';
import type { DomainLogger } from '../../log/logger.js';
import {
  MAX_VALUE_LENGTH,
  type AuditActor,
  type AuditBackend,
  type AuditCause,
  type AuditOp,
  type AuditRecord,
  type AuditValues,
  type BackendName,
  type CallerField,
} from './record.js';

export interface AuditFields {
  uuid?: string;
  name?: string;
  ifindex?: number;
  iface?: string;
  args?: string;
  changed?: readonly string[];
  before?: AuditValues;
  after?: AuditValues;
  tx?: number;
}

/** The process an external change was attributed to (docs/record-format.md). */
export interface ActingProcess {
  readonly pid: number;
  readonly uid: number;
}

/** A change the daemon makes on its own, or one it found made by others: always with its cause when it has one. */
export interface UnattendedContext extends AuditFields {
  readonly op: AuditOp;
  readonly cause?: AuditCause;
}

export interface AuditContext extends AuditFields {
  readonly op: AuditOp;
}

export interface CommitOptions {
  /**
   * Record after applying instead of before. Only for switching auditing on:
   * a record made before the switch would not be made at all (docs/record-format.md).
   */
  readonly recordAfterApply?: boolean;
  /**
   * The change is a request to the kernel, which can refuse it only once it
   * is made (EBUSY, the link gone meanwhile…). The success record still
   * comes first, durable, so that no change is ever made without its record
   * and a trail that cannot be written refuses the change (docs/record-format.md). If
   * `apply` then fails, the attempt is overturned by a `fail` record with
   * its reason, carrying the same fields and the same `tx` as the success
   * it overturns (a tx is given to the attempt for this), and the caller
   * gets that error: an attempt that failed never ends with only a success
   * record. (`tx` is a trail field; the other backends show the fail
   * record with the next seq, the same op, device and caller.) Recording
   * only after the kernel answered was rejected: when the trail then
   * refused the record, a change would stand with no record of it, and
   * could not be taken back. What remains: a daemon that dies between the
   * record and the kernel's answer leaves the success alone.
   */
  readonly kernelChange?: boolean;
  /**
   * Work made durable side by side with the success record, in the same
   * round of syncs (a profile change's write-ahead line, docs/commit.md).
   * `refused`: the record was refused, whatever came of `run`. `failed`:
   * `run` failed once the record was made; a `fail` record with the same
   * tx then overturns it, and `overturned` says whether that record was
   * made. Either way `apply` never runs and the caller gets the error.
   */
  readonly alongside?: {
    run(): Promise<void>;
    refused(): void;
    failed(overturned: boolean): void;
  };
}

/** The record under construction for one operation; see AuditManager.audited. */
export class AuditTransaction {
  private fields: AuditFields;
  private state: 'open' | 'committing' | 'committed' | 'overturned' = 'open';
  private authorization: 'uid0' | 'polkit' | undefined;

  constructor(
    private readonly manager: AuditManager,
    readonly op: AuditOp,
    initial: AuditFields,
    readonly caller: Caller,
  ) {
    this.fields = { ...initial };
  }

  /** True once the success record is durable: from then on the change stands. */
  get committed(): boolean {
    return this.state === 'committed';
  }

  /** True once the attempt's outcome is on record: committed, or overturned after its commit. */
  get settled(): boolean {
    return this.state === 'committed' || this.state === 'overturned';
  }

  /** Adds or corrects fields once they are known (a generated uuid, the changed keys). */
  describe(fields: AuditFields): void {
    this.fields = { ...this.fields, ...fields };
  }

  snapshot(): AuditFields {
    return this.fields;
  }

  /** Notes how the attempt was allowed; the record's actor says so. */
  authorizedBy(how: 'uid0' | 'polkit'): void {
    this.authorization = how;
  }

  get authorizedAs(): 'uid0' | 'polkit' | undefined {
    return this.authorization;
  }

  /**
   * The attempt's commit id (trail field `tx`), given now if it has none:
   * what is written before the record (a profile intent, a state file) is
   * named by it, and so is every record that follows from the attempt.
   */
  commitId(): number {
    if (this.fields.tx === undefined) this.describe({ tx: this.manager.openTx() });
    return this.fields.tx!;
  }

  /**
   * The commit point: records success durably, then applies the change. If
   * the trail cannot take the record the change is refused and `apply`
   * never runs.
   */
  async commit<T>(apply: () => T | Promise<T>, options: CommitOptions = {}): Promise<T> {
    if (this.state !== 'open') throw new Error(`audit transaction for ${this.op} committed twice`);
    this.state = 'committing';
    if (options.recordAfterApply) {
      const result = await apply();
      await this.manager.recordOutcome(this, 'success');
      this.state = 'committed';
      return result;
    }
    if (options.kernelChange || options.alongside) this.commitId();
    if (options.alongside) await this.recordAlongside(options.alongside);
    else await this.manager.recordOutcome(this, 'success');
    this.state = 'committed';
    if (!options.kernelChange) return apply();
    try {
      return await apply();
    } catch (e) {
      const error = this.manager.publicError(e, this.op);
      this.state = 'overturned';
      await this.manager.recordOutcome(this, 'fail', error.reason).catch(() => undefined);
      throw error;
    }
  }

  private async recordAlongside(alongside: NonNullable<CommitOptions['alongside']>): Promise<void> {
    const [record, side] = await Promise.allSettled([this.manager.recordOutcome(this, 'success'), alongside.run()]);
    if (record.status === 'rejected') {
      alongside.refused();
      throw record.reason;
    }
    if (side.status === 'rejected') {
      const error = this.manager.publicError(side.reason, this.op);
      this.state = 'overturned';
      const overturned = await this.manager.recordOutcome(this, 'fail', error.reason).then(() => true, () => false);
      alongside.failed(overturned);
      throw error;
    }
  }

  /** True when commit() was called, whatever came of it. */
  get started(): boolean {
    return this.state !== 'open';
  }
}

const CALLER_FIELDS: readonly CallerField[] = ['uuid', 'name', 'iface', 'args'];

/** Cuts caller values to MAX_VALUE_LENGTH characters and names the fields cut. */
function capValues<T extends Partial<Record<CallerField, string>>>(fields: T): T & { cut?: readonly CallerField[] } {
  const cut = CALLER_FIELDS.filter((f) => (fields[f]?.length ?? 0) > MAX_VALUE_LENGTH);
  if (cut.length === 0) return fields;
  const out: Record<string, unknown> = { ...fields, cut };
  for (const f of cut) {
    const head = fields[f]!.slice(0, MAX_VALUE_LENGTH);
    // Never end on half a surrogate pair.
    out[f] = /[\uD800-\uDBFF]$/.test(head) ? head.slice(0, -1) : head;
  }
  return out as T & { cut: readonly CallerField[] };
}

/**
 * An absent field is left out of every backend (docs/record-format.md): an
 * update that changed nothing has no `changed`, not an empty one, and empty
 * before/after values are no values.
 */
function withoutEmpty<T extends { changed?: readonly string[]; before?: AuditValues; after?: AuditValues }>(fields: T): T {
  const empty = (v: AuditValues | undefined): boolean => v !== undefined && Object.keys(v).length === 0;
  if (fields.changed?.length !== 0 && !empty(fields.before) && !empty(fields.after)) return fields;
  const out = { ...fields };
  if (out.changed?.length === 0) delete out.changed;
  if (empty(out.before)) delete out.before;
  if (empty(out.after)) delete out.after;
  return out;
}

export interface BackendStatus {
  readonly name: BackendName;
  readonly failing: boolean;
  readonly failed: number;
  readonly dropped: number;
  readonly queued: number;
}

export interface AuditManagerOptions {
  readonly log: DomainLogger;
  readonly backends: readonly AuditBackend[];
  readonly enabled: boolean;
  readonly now?: () => number;
  readonly boot?: string;
}

export class AuditManager {
  readonly boot: string;
  private seq = 0;
  private txCounter = 0;
  /** commit ids given to attempts whose audited() has not returned yet */
  private readonly unsettled = new Set<number>();
  private enabled: boolean;
  private backends: readonly AuditBackend[];
  private readonly failing = new Set<AuditBackend>();
  /** failed writes per backend since start */
  private readonly failures = new Map<AuditBackend, number>();
  private readonly log: DomainLogger;
  private readonly now: () => number;

  constructor(options: AuditManagerOptions) {
    this.boot = options.boot ?? randomBytes(16).toString('hex');
    this.log = options.log;
    this.now = options.now ?? Date.now;
    this.enabled = options.enabled;
    this.backends = options.backends;
    this.probe(options.backends);
  }

  get isEnabled(): boolean {
    return this.enabled;
  }

  /** True when a change is committed by a durable trail record (docs/record-format.md). */
  get hasCommitBackend(): boolean {
    return this.enabled && this.backends.some((b) => b.commits);
  }

  get backendNames(): string[] {
    return this.backends.map((b) => b.name);
  }

  get activeBackends(): readonly AuditBackend[] {
    return this.backends;
  }

  setEnabled(enabled: boolean): void {
    this.enabled = enabled;
  }

  setBackends(backends: readonly AuditBackend[]): void {
    const added = backends.filter((b) => !this.backends.includes(b));
    this.backends = backends;
    for (const b of [...this.failing]) if (!backends.includes(b)) this.failing.delete(b);
    this.probe(added);
  }

  /** Each active backend: whether it fails now, and what it failed or dropped since start. */
  status(): BackendStatus[] {
    return this.backends.map((b) => {
      const stats = b.stats?.();
      return {
        name: b.name,
        failing: this.failing.has(b),
        failed: this.failures.get(b) ?? 0,
        dropped: stats?.dropped ?? 0,
        queued: stats?.queued ?? 0,
      };
    });
  }

  /** A new commit id for a profile change or a kernel change (trail field `tx`). */
  nextTx(): number {
    return ++this.txCounter;
  }

  /** A new commit id for an attempt under way: counted as open until audited() is done with it. */
  openTx(): number {
    const tx = this.nextTx();
    this.unsettled.add(tx);
    return tx;
  }

  /** The lowest commit id of an attempt still under way, or the next one to be given (docs/commit.md). */
  lowestOpenTx(): number {
    let lowest = this.txCounter + 1;
    for (const tx of this.unsettled) if (tx < lowest) lowest = tx;
    return lowest;
  }

  /**
   * Runs one attempted change. The caller is resolved first (a failed lookup
   * is a refusal); `fn` authorizes, validates, checks the state and calls
   * `tx.commit(apply)` exactly once on success. A NetauditError thrown by
   * `fn` becomes a `result=fail` record with its reason; anything else is an
   * internal error, logged here with its stack and shown to the caller as a
   * plain `Failed`.
   */
  async audited<T>(
    ref: CallerRef,
    context: AuditContext,
    fn: (tx: AuditTransaction) => Promise<T>,
  ): Promise<T> {
    let caller: Caller;
    try {
      caller = await ref.resolve();
    } catch (e) {
      const reason = e instanceof NetauditError ? e.message : String(e);
      const refused = new NetauditError(
        'PermissionDenied',
        `Refused: the caller ${ref.busName} could not be identified by the bus (${reason}).`,
        'caller-unknown',
      );
      await this.recordUnidentified(ref.busName, context, refused.reason);
      throw refused;
    }
    const { op, ...initial } = context;
    const tx = new AuditTransaction(this, op, initial, caller);
    try {
      const result = await fn(tx);
      if (!tx.started) await tx.commit(() => undefined);
      return result;
    } catch (e) {
      const error = this.publicError(e, op);
      if (!tx.settled) await this.recordOutcome(tx, 'fail', error.reason).catch(() => undefined);
      throw error;
    } finally {
      const id = tx.snapshot().tx;
      if (id !== undefined) this.unsettled.delete(id);
    }
  }

  /** Records an attempt refused before it reached its operation (a malformed call) and rethrows. */
  async rejected(ref: CallerRef, context: AuditContext, error: Error): Promise<never> {
    const refusal = error instanceof NetauditError ? error : new NetauditError('InvalidArgument', error.message);
    return this.audited(ref, context, async () => {
      throw refusal;
    }).then(
      () => {
        throw error;
      },
      (e: unknown) => {
        throw e === refusal ? error : e;
      },
    );
  }

  /** Writes the record of `tx` to every backend; rejects when a committing backend fails. */
  async recordOutcome(tx: AuditTransaction, result: 'success' | 'fail', reason?: Reason): Promise<void> {
    const { caller } = tx;
    const actor: { busName: string; exe?: string; auth?: 'uid0' | 'polkit' } = { busName: caller.busName };
    if (caller.exe !== undefined) actor.exe = caller.exe;
    if (tx.authorizedAs !== undefined) actor.auth = tx.authorizedAs;
    await this.emit({
      ...tx.snapshot(),
      op: tx.op,
      origin: 'caller',
      pid: caller.pid,
      uid: caller.uid,
      result,
      ...(reason !== undefined ? { reason } : {}),
      actor,
    });
  }

  /** A change the daemon was asked for with no caller on the bus (e.g. SIGHUP). */
  async recordUnattributed<T>(context: AuditContext, fn: () => Promise<{ commit: () => T | Promise<T>; recordAfterApply?: boolean }>): Promise<T> {
    const { op, ...fields } = context;
    let plan: { commit: () => T | Promise<T>; recordAfterApply?: boolean };
    try {
      plan = await fn();
    } catch (e) {
      const error = this.publicError(e, op);
      await this.emit({ ...fields, op, origin: 'caller', result: 'fail', reason: error.reason }).catch(() => undefined);
      throw error;
    }
    if (plan.recordAfterApply) {
      let result: T;
      try {
        result = await plan.commit();
      } catch (e) {
        const error = this.publicError(e, op);
        await this.emit({ ...fields, op, origin: 'caller', result: 'fail', reason: error.reason }).catch(() => undefined);
        throw error;
      }
      await this.emit({ ...fields, op, origin: 'caller', result: 'success' });
      return result;
    }
    await this.emit({ ...fields, op, origin: 'caller', result: 'success' });
    try {
      return await plan.commit();
    } catch (e) {
      // Overturns the success (same tx when the context has one), as CommitOptions.kernelChange does.
      const error = this.publicError(e, op);
      await this.emit({ ...fields, op, origin: 'caller', result: 'fail', reason: error.reason }).catch(() => undefined);
      throw error;
    }
  }

  /**
   * A change the daemon makes on its own (origin=daemon: autoconnect,
   * adoption, a teardown). Recorded before it is made, as a caller's change
   * is (docs/commit.md): a trail that refuses the record refuses the change,
   * and `apply` never runs. If `apply` then fails, a `fail` record with the
   * same tx overturns the success. A context without a tx gets one.
   */
  async daemonChange<T>(context: UnattendedContext, apply: () => Promise<T>): Promise<T> {
    const { op, ...fields } = context;
    const record = { ...fields, tx: fields.tx ?? this.nextTx(), op, origin: 'daemon' as const };
    await this.emit({ ...record, result: 'success' });
    try {
      return await apply();
    } catch (e) {
      const error = this.publicError(e, op);
      await this.emit({ ...record, result: 'fail', reason: error.reason }).catch(() => undefined);
      throw error;
    }
  }

  /**
   * A record of something the daemon cannot refuse or already did (a link
   * vanished, a difference found at start, an overturn after a crash):
   * written as soon as it can be; a trail that refuses it is reported and
   * the record is lost to the trail only.
   */
  async recordUnattended(
    origin: 'daemon' | 'external',
    context: UnattendedContext,
    result: 'success' | 'fail' = 'success',
    extra: { reason?: Reason; actor?: AuditActor } = {},
  ): Promise<void> {
    const { op, ...fields } = context;
    await this.emit({ ...fields, op, origin, result, ...extra }).catch((e: Error) => {
      this.log.warn(`the record of ${origin} change ${op} could not be made durable: ${e.message}`);
    });
  }

  /**
   * A change found made by others that the daemon's view takes up only once
   * it is on record (a profile file edited on disk, seen at a reload): a
   * trail that refuses the record rejects, and the view stays as it was.
   */
  async recordFound(origin: 'daemon' | 'external', context: UnattendedContext, actor?: AuditActor, process?: ActingProcess): Promise<void> {
    const { op, ...fields } = context;
    await this.emit({ ...fields, op, origin, result: 'success', ...(process ?? {}), ...(actor !== undefined ? { actor } : {}) });
  }

  private async recordUnidentified(busName: string, context: AuditContext, reason: Reason): Promise<void> {
    const { op, ...fields } = context;
    await this.emit({ ...fields, op, origin: 'caller', result: 'fail', reason, actor: { busName } }).catch(() => undefined);
  }

  /** The error a caller sees for `e`: a NetauditError as it is; anything else logged here and shown as a plain Failed. */
  publicError(e: unknown, op: AuditOp): NetauditError {
    if (e instanceof NetauditError) return e;
    this.log.err(`internal error during ${op}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return new NetauditError('Failed', `The operation ${op} failed because of an internal error; the daemon log has the details.`, 'failed');
  }

  /**
   * The committing backend (the trail) takes the record first; the others
   * get it only once it is durable there, so no backend shows a success
   * that the trail then refused (the refusal follows as its own record).
   */
  private async emit(fields: Omit<AuditRecord, 'ts' | 'boot' | 'seq'>): Promise<void> {
    if (!this.enabled) return;
    const record: AuditRecord = { ts: this.now(), boot: this.boot, seq: ++this.seq, ...capValues(withoutEmpty(fields)) };
    const committing = this.backends.filter((b) => b.commits);
    const results = await Promise.allSettled(committing.map((b) => b.write(record)));
    let refused = false;
    results.forEach((r, i) => {
      const backend = committing[i]!;
      if (r.status === 'fulfilled') this.recovered(backend);
      else {
        this.failed(backend, r.reason);
        refused = true;
      }
    });
    if (refused && record.result === 'success') throw this.trailError();
    for (const backend of this.backends) {
      if (backend.commits) continue;
      backend.write(record).then(
        () => this.recovered(backend),
        (e: unknown) => this.failed(backend, e),
      );
    }
    if (refused) throw this.trailError();
  }

  private trailError(): NetauditError {
    return new NetauditError(
      'Failed',
      'Refused: the audit trail cannot be written, so the change could not be committed. Check the audit directory (space, permissions) and the daemon log.',
      'audit-trail-unavailable',
    );
  }

  /**
   * Asks each backend that can tell whether its records would be lost
   * (libaudit without the audit socket or CAP_AUDIT_WRITE); one that says so
   * is failing from now on, with one warning, and counts no failed record
   * until one fails. A later write that works clears it, as for any failure.
   */
  private probe(backends: readonly AuditBackend[]): void {
    for (const backend of backends) {
      if (!backend.probe || this.failing.has(backend)) continue;
      let reason: string | null;
      try {
        reason = backend.probe();
      } catch (e) {
        reason = `its check failed: ${e instanceof Error ? e.message : String(e)}`;
      }
      if (reason === null) continue;
      this.failing.add(backend);
      this.log.warn(`audit backend ${backend.name} cannot write its records: ${reason}; the other backends go on`);
    }
  }

  private recovered(backend: AuditBackend): void {
    if (this.failing.delete(backend)) this.log.info(`audit backend ${backend.name} works again`);
  }

  private failed(backend: AuditBackend, e: unknown): void {
    this.failures.set(backend, (this.failures.get(backend) ?? 0) + 1);
    if (!this.failing.has(backend)) {
      this.failing.add(backend);
      this.log.warn(`audit backend ${backend.name} failed: ${e instanceof Error ? e.message : String(e)}; the other backends go on`);
    }
  }
}
