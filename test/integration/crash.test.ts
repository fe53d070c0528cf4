// SIGKILL in the middle of a stream of changes (docs/commit.md: the trail record is
// the commit point). Four clients add, rename and delete their own profiles
// as fast as they can while the daemon is killed, several times, at different
// moments. After each restart: no profile is torn, every change a caller was
// told succeeded has its record, the profiles are exactly what the records
// say, and the hash chain is whole and goes on with a new boot.
import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseKeyfile } from '../../src/config/ini.js';
import { fromKeyfile } from '../../src/core/settings/keyfile-reader.js';
import { validateSettings } from '../../src/core/settings/validate.js';
import { startBus, type TestBus } from '../helpers/bus.js';
import { connect, unwrap, variant, type TestClient } from '../helpers/client.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { CONNECTION_IFACE, ethernet, SETTINGS, SETTINGS_IFACE } from '../helpers/profiles.js';
import { dayFiles, verifiedChain, type TrailEntry } from '../helpers/trail.js';
import { waitFor } from '../helpers/wait.js';

type ChangeOp = 'connection-add' | 'connection-update' | 'connection-delete';

/** One call a client made, and what came of it. */
interface Attempt {
  op: ChangeOp;
  uuid: string;
  /** the id the change leaves (for a delete, the id deleted) */
  name: string;
  /** the reply: the object path for an add, [] otherwise; undefined when the call failed */
  reply?: unknown[];
  error?: { type: string; text: string };
  /** the client had not been told to stop when the call failed */
  failedWhileRunning?: boolean;
}

const CLIENTS = 4;
const PROFILE_OPS: ReadonlySet<string> = new Set<ChangeOp>(['connection-add', 'connection-update', 'connection-delete']);

// When each kill comes: after some records of the round, and in some rounds only while a
// change is between its intent and its apply (an intent file is in the profiles dir).
const KILLS = [
  { records: 6, midChange: false },
  { records: 40, midChange: true },
  { records: 90, midChange: false },
  { records: 25, midChange: true },
];

let bus: TestBus;
let daemon: TestDaemon;
const clients: TestClient[] = [];

beforeAll(async () => {
  bus = await startBus();
  // A short trail dir keeps the day file's name whole in the daemon's log.
  daemon = await startDaemon(bus, { shortAuditDir: true });
  for (let i = 0; i < CLIENTS; i++) clients.push(await connect(bus.address));
});

afterAll(async () => {
  for (const c of clients) c.close();
  await bus?.stop();
});

/** Complete lines in the trail now, while the daemon may be writing. */
async function trailLineCount(): Promise<number> {
  let n = 0;
  for (const name of await dayFiles(daemon.auditDir)) {
    const bytes = await readFile(join(daemon.auditDir, name));
    for (let i = bytes.indexOf(0x0a); i !== -1; i = bytes.indexOf(0x0a, i + 1)) n++;
  }
  return n;
}

/** Bytes after the last newline of the newest day file: a line a crash tore. */
async function tornBytes(): Promise<{ file: string; bytes: number }> {
  const name = (await dayFiles(daemon.auditDir)).at(-1)!;
  const data = await readFile(join(daemon.auditDir, name));
  return { file: join(daemon.auditDir, name), bytes: data.length - (data.lastIndexOf(0x0a) + 1) };
}

function profile(id: string, uuid: string, n: number): Record<string, Record<string, unknown>> {
  return ethernet(id, {
    connection: { uuid: variant('s', uuid) },
    ipv4: {
      'address-data': variant('aa{sv}', [{ address: variant('s', `192.0.2.${n % 250 + 1}`), prefix: variant('u', 24) }]),
    },
    // The last group of the file: a torn file would lose it.
    ipv6: { method: variant('s', 'auto'), 'dns-search': variant('as', [`c${n}.example`]) },
  });
}

/**
 * One client's stream of changes: add a profile, rename it with Update,
 * delete it; again, until told to stop. A failed call ends the stream (the
 * daemon is gone).
 */
async function stream(client: TestClient, prefix: string, attempts: Attempt[], stopping: () => boolean): Promise<void> {
  const attempt = async (a: Omit<Attempt, 'reply'>, call: () => Promise<unknown[]>): Promise<boolean> => {
    const record: Attempt = { ...a };
    attempts.push(record);
    try {
      record.reply = await call();
      return true;
    } catch (e) {
      const { type, text } = e as { type?: string; text?: string };
      record.error = { type: type ?? 'none', text: text ?? String(e) };
      record.failedWhileRunning = !stopping();
      return false;
    }
  };
  for (let i = 1; !stopping(); i++) {
    const uuid = randomUUID();
    const id = `${prefix}-p${i}`;
    let path = '';
    const added = await attempt({ op: 'connection-add', uuid, name: id }, async () => {
      const reply = await client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [profile(id, uuid, i)]);
      path = reply[0] as string;
      return reply;
    });
    if (!added || stopping()) return;
    if (!(await attempt({ op: 'connection-update', uuid, name: `${id}-v2` }, () =>
      client.call(path, CONNECTION_IFACE, 'Update', 'a{sa{sv}}', [profile(`${id}-v2`, uuid, i + 1)])))) return;
    if (stopping()) return;
    if (!(await attempt({ op: 'connection-delete', uuid, name: `${id}-v2` }, () => client.call(path, CONNECTION_IFACE, 'Delete')))) return;
  }
}

/**
 * uuid → id of every profile file, each parsed and validated as the daemon
 * reads it. Before recovery a uuid may be in two files: a rename whose old
 * file is not removed yet.
 */
async function profilesOnDisk(recovered: boolean): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of (await readdir(daemon.profilesDir)).filter((n) => n.endsWith('.nmconnection')).sort()) {
    const path = join(daemon.profilesDir, name);
    const text = await readFile(path, 'utf8');
    expect(text.endsWith('\n'), `${path} ends with a newline`).toBe(true);
    const settings = validateSettings(fromKeyfile(parseKeyfile(text, path)).settings, {
      generateUuid: () => {
        throw new Error(`${path} has no uuid`);
      },
    });
    const uuid = settings.get('connection')!.get('uuid')!.value as string;
    if (recovered) expect(out.has(uuid), `${path}: its uuid is in no other file`).toBe(false);
    expect(settings.get('ipv6')?.get('dns-search')?.value, `${path} is whole`).toHaveLength(1);
    out.set(uuid, settings.get('connection')!.get('id')!.value as string);
  }
  return out;
}

/** uuid → id of every connection the running daemon lists. */
async function profilesListed(client: TestClient): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const [paths] = (await client.call(SETTINGS, SETTINGS_IFACE, 'ListConnections')) as [string[]];
  for (const path of paths) {
    const s = unwrap((await client.call(path, CONNECTION_IFACE, 'GetSettings'))[0]) as { connection: { uuid: string; id: string } };
    out.set(s.connection.uuid, s.connection.id);
  }
  return out;
}

/**
 * What the trail says the profiles are: for each uuid, the outcome of its last successful change
 * that no later `fail` overturned (one written at a restart names the run it overturns in args).
 */
function profilesRecorded(chain: readonly TrailEntry[]): Map<string, string> {
  const overturned = new Set(chain.filter((e) => e.result === 'fail' && e.tx !== undefined).map((e) => `${e.cause === 'restart' ? e.args : e.boot}:${e.tx}`));
  const out = new Map<string, string>();
  for (const e of chain) {
    if (e.result !== 'success' || !PROFILE_OPS.has(e.op) || overturned.has(`${e.boot}:${e.tx}`)) continue;
    if (e.op === 'connection-delete') out.delete(e.uuid as string);
    else out.set(e.uuid as string, e.name as string);
  }
  return out;
}

function sorted(map: Map<string, string>): Array<[string, string]> {
  return [...map].sort(([a], [b]) => a.localeCompare(b));
}

describe('SIGKILL while four clients change profiles', () => {
  it('loses no change a caller was told of, tears no profile, and leaves a whole chain that the next run continues', async () => {
    const startLine = /netauditd \S+ started: boot ([0-9a-f]{32}),/;
    let running = startLine.exec(daemon.log())![1]!;
    const boots = new Set([running]);
    let startRecords = 0;
    for (const [round, kill] of KILLS.entries()) {
      const before = await verifiedChain(daemon.auditDir);
      const attempts: Attempt[] = [];
      let stop = false;
      let ended = 0;
      const streams = clients.map((c, i) => stream(c, `r${round}-c${i}`, attempts, () => stop).finally(() => ended++));

      try {
        await waitFor(async () => {
          if (ended > 0) return 'a client stopped before the kill';
          if ((await trailLineCount()) < before.length + kill.records) return false;
          return true;
          // Polled every 2 ms, the kill comes while changes are between their record and their reply.
        }, { timeoutMs: 60_000, intervalMs: kill.midChange ? 2 : 25, what: `${kill.records} new trail records` });
      } finally {
        stop = true;
        await daemon.kill('SIGKILL');
        await Promise.all(streams);
      }
      expect(daemon.process.signalCode).toBe('SIGKILL');

      // Calls fail only because the daemon was killed under them.
      expect(attempts.filter((a) => a.failedWhileRunning)).toEqual([]);
      const succeeded = attempts.filter((a) => a.reply !== undefined);
      expect(succeeded.length).toBeGreaterThan(0);

      // Renames are atomic: even before recovery every profile file is whole.
      await profilesOnDisk(false);
      const torn = await tornBytes();

      const logFrom = daemon.log().length;
      await daemon.start();
      const log = () => daemon.log().slice(logFrom);
      const boot = startLine.exec(log())?.[1];
      expect(boot, 'the start line names the new boot').toBeDefined();
      expect(boots.has(boot!), 'the new boot is one never seen before').toBe(false);
      boots.add(boot!);

      // A torn last line is cut and reported; a whole trail is left alone.
      if (torn.bytes > 0) {
        expect(log()).toContain(`audit trail file "${torn.file}": cut ${torn.bytes} bytes at byte`);
      } else {
        expect(log()).not.toMatch(/ cut \d+ bytes at byte /);
      }
      // The killed run's write-ahead segments were replayed and removed: only the new run's own is left.
      const left = (await readdir(daemon.profilesDir)).filter((n) => n.startsWith('.netauditd-'));
      expect(left.filter((n) => !n.startsWith(`.netauditd-wal-${boot}-`))).toEqual([]);

      // The restarted daemon reads every file (a ReloadConnections too), and skips none.
      expect(await clients[0]!.call(SETTINGS, SETTINGS_IFACE, 'ReloadConnections')).toEqual([true]);
      expect(log()).not.toMatch(/skipping profile|ignoring .*\.nmconnection/);

      const chain = await verifiedChain(daemon.auditDir);
      const killed = chain.slice(before.length);
      expect(chain.slice(0, before.length)).toEqual(before);

      // Every change a caller was told of is in the trail, as it was told.
      for (const a of succeeded) {
        expect(killed.some((e) => e.op === a.op && e.uuid === a.uuid && e.name === a.name && e.result === 'success'), `record of ${a.op} ${a.name}`).toBe(true);
      }

      // The records of the killed run: every one a success, seq without a gap, then the new run.
      const newRun = killed.findIndex((e) => e.boot === boot);
      expect(newRun).toBeGreaterThan(0);
      const killedRun = killed.slice(0, newRun);
      // The killed run's records start here, except for the first run: after the records its start
      // wrote in the round before (overturns, then one ReloadConnections).
      const firstSeq = round === 0 ? 1 : startRecords + 1;
      expect(killedRun.map((e) => [e.boot, e.seq, e.result])).toEqual(killedRun.map((_, i) => [running, i + firstSeq, 'success']));
      expect(killedRun.length).toBeGreaterThanOrEqual(kill.records);

      // The new run goes on from the last record on disk, with a boot never seen before. Its first
      // records may overturn changes of the killed run that were recorded but never reached the
      // write-ahead log (docs/commit.md): none of them was acknowledged to a caller.
      const newRecords = killed.slice(newRun);
      expect(newRecords[0]).toMatchObject({ seq: 1, prev: killed[newRun - 1]!.hash });
      const overturns = newRecords.slice(0, -1);
      for (const o of overturns) {
        expect(o).toMatchObject({ origin: 'daemon', cause: 'restart', result: 'fail', reason: 'interrupted', args: running });
        const overturned = killedRun.find((e) => e.tx === o.tx);
        expect(overturned, `the record overturned by tx ${o.tx}`).toMatchObject({ op: o.op, result: 'success' });
        expect(succeeded.some((a) => a.op === overturned!.op && a.uuid === overturned!.uuid && a.name === overturned!.name), 'an acknowledged change is never overturned').toBe(false);
      }
      expect(newRecords.at(-1)).toMatchObject({ op: 'reload', args: 'connections', result: 'success' });
      startRecords = newRecords.length;
      running = boot!;

      // The profiles are exactly what the trail records: nothing recorded is lost, nothing unrecorded appears.
      const recorded = sorted(profilesRecorded(chain));
      expect(sorted(await profilesListed(clients[0]!))).toEqual(recorded);
      expect(sorted(await profilesOnDisk(true))).toEqual(recorded);
    }
  }, 240_000);
});
