// The commit protocol (docs/commit.md) over a model file system that loses what was not synced,
// with the real AuditManager and a trail that shares the model's fate: a scenario of concurrent
// profile changes is run with a crash at every step, then with a failure (EIO) at every step, and
// each time recovery (itself crashed at every step, then run again) must leave exactly what the
// trail says: no acknowledged change lost or reverted, nothing unrecorded on disk.
import { describe, expect, it } from 'vitest';
import { AuditManager } from '../../../../src/core/audit/audit-manager.js';
import type { AuditBackend, AuditRecord } from '../../../../src/core/audit/record.js';
import type { CallerRef } from '../../../../src/core/caller.js';
import { commitProfileChange } from '../../../../src/core/commit/commit-change.js';
import { ProfileCommit, type ProfileChange } from '../../../../src/core/commit/profile-commit.js';
import { Crashed, FakeDisk, Machine, type Fault } from './fake-disk.js';

const quiet = { info: () => undefined, warn: () => undefined, err: () => undefined };
const root: CallerRef = { busName: ':1.1', resolve: async () => ({ busName: ':1.1', pid: 1, uid: 0 }) };

/** The trail: a record is durable once write() resolves; it stops with the machine. */
class Trail implements AuditBackend {
  readonly name = 'file' as const;
  readonly commits = true;
  constructor(
    readonly machine: Machine,
    readonly records: AuditRecord[] = [],
  ) {}
  async write(record: AuditRecord): Promise<void> {
    this.machine.step('trail');
    this.records.push(record);
  }
  async close(): Promise<void> {}
}

type Change = Omit<ProfileChange, 'boot' | 'tx'> & { op: 'connection-add' | 'connection-update' | 'connection-delete' };

const keyfile = (uuid: string, v: string): string => `[connection]\nid=${v}\nuuid=${uuid}\n`;
const A = 'aaaaaaaa-0000-4000-8000-000000000001';
const B = 'bbbbbbbb-0000-4000-8000-000000000002';
const C = 'cccccccc-0000-4000-8000-000000000003';

/** Rounds of changes; the changes of one round run side by side. */
const SCENARIO: Change[][] = [
  [
    { op: 'connection-add', uuid: A, write: 'a.nmconnection', content: keyfile(A, 'a1') },
    { op: 'connection-add', uuid: B, write: 'b.nmconnection', content: keyfile(B, 'b1') },
  ],
  [{ op: 'connection-update', uuid: A, write: 'a.nmconnection', content: keyfile(A, 'a2') }],
  [
    { op: 'connection-update', uuid: A, write: 'a2.nmconnection', content: keyfile(A, 'a3'), remove: 'a.nmconnection' },
    { op: 'connection-add', uuid: C, write: 'c.nmconnection', content: keyfile(C, 'c1') },
  ],
  [{ op: 'connection-delete', uuid: B, remove: 'b.nmconnection' }],
  [
    { op: 'connection-update', uuid: C, write: 'c.nmconnection', content: keyfile(C, 'c2') },
    { op: 'connection-update', uuid: A, write: 'a2.nmconnection', content: keyfile(A, 'a4') },
  ],
];

interface Run {
  disk: FakeDisk;
  trail: Trail;
  /** the changes by their start and tx, to replay what the trail committed */
  changes: Map<string, Change>;
  /** the changes whose callers were told they succeeded */
  acknowledged: Array<{ boot: string; tx: number }>;
}

/** Starts a daemon's commit path on `disk` and `trail`: recovery, then a first segment. */
async function open(disk: FakeDisk, trail: Trail, boot: string): Promise<{ audit: AuditManager; commit: ProfileCommit }> {
  const audit = new AuditManager({ log: quiet, backends: [trail], enabled: true, boot });
  const commit = new ProfileCommit({ disk, log: quiet, boot, lowestOpenTx: () => audit.lowestOpenTx(), checkpointMs: 1, checkpointLines: 2 });
  await commit.recover(
    async (boots) => trail.records.filter((r) => boots.includes(r.boot) || (r.cause === 'restart' && boots.includes(r.args ?? ''))),
    (o) => audit.recordUnattended('daemon', { op: o.op as 'connection-add', tx: o.tx, args: o.boot, cause: 'restart', ...(o.uuid !== undefined ? { uuid: o.uuid } : {}) }, 'fail', { reason: 'interrupted' }),
  );
  await commit.start();
  return { audit, commit };
}

/** Runs the scenario as one daemon would, until it ends or the machine stops; `close` is a graceful stop. */
async function runScenario(plan: (n: number, step: string) => Fault | undefined, close: boolean): Promise<Run> {
  const machine = new Machine(plan);
  const disk = new FakeDisk(machine);
  const trail = new Trail(machine);
  const run: Run = { disk, trail, changes: new Map(), acknowledged: [] };
  let opened: { audit: AuditManager; commit: ProfileCommit };
  try {
    opened = await open(disk, trail, 'b1');
  } catch {
    // The daemon does not start (a crash, or no first segment): nothing was acknowledged.
    return run;
  }
  const { audit, commit } = opened;
  const context = { audit, commit, log: quiet };
  for (const round of SCENARIO) {
    await Promise.all(
      round.map(async (change) => {
        const { op, ...rest } = change;
        try {
          await audit.audited(root, { op, uuid: change.uuid }, async (tx) => {
            run.changes.set(`b1:${tx.commitId()}`, change);
            await commitProfileChange(context, tx, rest, () => undefined);
            run.acknowledged.push({ boot: 'b1', tx: tx.commitId() });
          });
        } catch {
          // refused, or the machine stopped under it: the caller was not told it succeeded
        }
      }),
    );
    // let background checkpoints run between rounds
    await new Promise((r) => setTimeout(r, 2));
  }
  if (close && !machine.stopped) await commit.close().catch(() => undefined);
  return run;
}

/** What the trail says the profile files are: its committed changes, not overturned, replayed in order. */
function expected(run: Run, records: readonly AuditRecord[]): Map<string, string> {
  const overturned = new Set(records.filter((r) => r.result === 'fail' && r.tx !== undefined).map((r) => `${r.cause === 'restart' ? r.args : r.boot}:${r.tx}`));
  const files = new Map<string, { uuid: string; content: string }>();
  for (const r of records) {
    const key = `${r.boot}:${r.tx}`;
    if (r.result !== 'success' || overturned.has(key)) continue;
    const change = run.changes.get(key);
    if (!change) continue;
    if (change.remove !== undefined && change.remove !== change.write && files.get(change.remove)?.uuid === change.uuid) files.delete(change.remove);
    if (change.write !== undefined) files.set(change.write, { uuid: change.uuid, content: change.content! });
  }
  return new Map([...files].map(([n, f]) => [n, f.content]));
}

/**
 * After `run`, crashes the machine, then starts again, crashing recovery at each of its steps
 * before a start that completes: the files must then be what the trail says, every acknowledged
 * change must stand, and no segment of the crashed runs may be left.
 */
async function checkRecovery(run: Run): Promise<void> {
  let disk = run.disk.crashed(new Machine());
  let records = [...run.trail.records];
  for (let crashAt = 1; ; crashAt++) {
    const machine = new Machine((n) => (n === crashAt ? 'crash' : undefined));
    const trail = new Trail(machine, [...records]);
    const attempt = disk.crashed(machine);
    let done = false;
    try {
      const { commit } = await open(attempt, trail, `r${crashAt}`);
      await commit.close();
      // close() reports what it could not do and goes on: only a run the machine finished counts.
      done = !machine.stopped;
    } catch (e) {
      if (!(e instanceof Crashed)) throw e;
    }
    disk = attempt.crashed(new Machine());
    records = [...trail.records];
    if (done) break;
  }
  expect(Object.fromEntries(disk.profiles())).toEqual(Object.fromEntries(expected(run, records)));
  expect(disk.segments()).toEqual([]);
  const overturned = new Set(records.filter((r) => r.result === 'fail' && r.tx !== undefined).map((r) => `${r.cause === 'restart' ? r.args : r.boot}:${r.tx}`));
  for (const a of run.acknowledged) {
    expect(records.some((r) => r.boot === a.boot && r.tx === a.tx && r.result === 'success'), `the record of acknowledged change ${a.tx}`).toBe(true);
    expect(overturned.has(`${a.boot}:${a.tx}`), `acknowledged change ${a.tx} overturned`).toBe(false);
  }
  // Each overturn is written once, however often recovery was cut short.
  const restarts = records.filter((r) => r.cause === 'restart').map((r) => `${r.args}:${r.tx}`);
  expect(new Set(restarts).size).toBe(restarts.length);
}

describe('the commit protocol over a file system that loses what was not synced', () => {
  it('without faults: every change is acknowledged, and a graceful stop leaves the files and no log', async () => {
    const run = await runScenario(() => undefined, true);
    expect(run.acknowledged).toHaveLength(SCENARIO.flat().length);
    expect(Object.fromEntries(run.disk.profiles())).toEqual({ 'a2.nmconnection': keyfile(A, 'a4'), 'c.nmconnection': keyfile(C, 'c2') });
    expect(run.disk.segments()).toEqual([]);
    await checkRecovery(run);
  });

  it('a crash at any step loses no acknowledged change and leaves exactly what the trail says', async () => {
    const steps = new Machine();
    const counted = await runScenario((n) => ((steps.steps = n), undefined), false);
    expect(counted.acknowledged.length).toBe(SCENARIO.flat().length);
    expect(steps.steps).toBeGreaterThan(30);
    for (let at = 1; at <= steps.steps; at++) {
      const run = await runScenario((n) => (n === at ? 'crash' : undefined), false);
      await checkRecovery(run);
    }
  });

  it('a failure (EIO) at any step, rename, fsync or append, then a crash or a stop: nothing acknowledged is lost or reverted', async () => {
    const steps = new Machine();
    await runScenario((n) => ((steps.steps = n), undefined), true);
    for (let at = 1; at <= steps.steps; at++) {
      for (const close of [false, true]) {
        let failedStep = '';
        const run = await runScenario((n, step) => (n === at ? ((failedStep = step), 'fail') : undefined), close);
        if (process.env.DBG) console.log(at, close, failedStep, run.trail.records.map((r) => `${r.op}:${r.tx}:${r.result}`).join(' '));
        await checkRecovery(run);
      }
    }
  });

  it('a change whose trail record was refused is never replayed, and its caller was told so', async () => {
    const run = await runScenario((_, step) => (step === 'trail' ? 'fail' : undefined), true);
    expect(run.acknowledged).toEqual([]);
    await checkRecovery(run);
    expect(run.disk.crashed(new Machine()).profiles().size).toBe(0);
  });
});
