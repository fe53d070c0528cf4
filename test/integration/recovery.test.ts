// Recovery at start (docs/commit.md): the files a crash leaves behind, written by
// hand while the daemon is stopped. A change whose success record is in the
// trail is rolled forward, any other is rolled back; a recorded change whose
// write-ahead line never became durable is overturned; a torn last trail line
// is cut; a last record that does not match its hash stops the daemon.
import { randomBytes, randomUUID } from 'node:crypto';
import { appendFile, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { unwrap, variant } from '../helpers/client.js';
import { runDaemonOnce } from '../helpers/daemon.js';
import { CONNECTION_IFACE, ethernet, SETTINGS, SETTINGS_IFACE } from '../helpers/profiles.js';
import { dayFiles, sha256, TRAIL_KEYS, verifiedChain, ZERO_HASH } from '../helpers/trail.js';
import { useDaemon } from '../helpers/use-daemon.js';
import { formatEntry, formatHeader, WAL_VERSION, type WalEntry } from '../../src/core/commit/wal-format.js';

// A short trail dir keeps the day file's name whole in the messages checked here.
const harness = useDaemon({ shortAuditDir: true });

/** A trail line as docs/record-format.md fixes it: keys in trail order, `hash` over the text without it, then "\n". */
function trailLine(fields: Record<string, unknown>, prev: string): { line: string; hash: string } {
  const all: Record<string, unknown> = { ts: new Date().toISOString(), pid: 4242, uid: 0, actor: { bus_name: ':1.4242' }, ...fields };
  const text = JSON.stringify({ ...Object.fromEntries(TRAIL_KEYS.filter((k) => k in all).map((k) => [k, all[k]])), prev });
  const hash = sha256(text);
  return { line: `${text.slice(0, -1)},"hash":"${hash}"}\n`, hash };
}

/** The newest day file, where the trail is appended to (today's, if the daemon wrote none yet today). */
async function newestDayFile(): Promise<string> {
  const today = `audit-${new Date().toISOString().slice(0, 10)}.jsonl`;
  const newest = (await dayFiles(harness.daemon.auditDir)).at(-1);
  return join(harness.daemon.auditDir, newest !== undefined && newest > today ? newest : today);
}

/** Appends a well-formed, chained record of a run that crashed; returns its line. */
async function appendRecord(fields: Record<string, unknown>): Promise<string> {
  const last = (await verifiedChain(harness.daemon.auditDir)).at(-1);
  const { line } = trailLine(fields, last?.hash ?? ZERO_HASH);
  await appendFile(await newestDayFile(), line);
  return line;
}

/** A run that crashed: its boot id and its change ids. */
function crashedRun(): { boot: string; tx: () => number } {
  let tx = 0;
  return { boot: randomBytes(16).toString('hex'), tx: () => ++tx };
}

function keyfile(id: string, uuid: string): string {
  return `[connection]\nid=${id}\nuuid=${uuid}\ntype=ethernet\ninterface-name=eth1\n\n[ipv4]\nmethod=disabled\n\n[ipv6]\nmethod=ignore\n`;
}

/** Leaves what prepare() leaves: the temp file (if any) and the intent, both 0600. */
async function leaveIntent(intent: { boot: string; tx: number; uuid: string; write?: string; remove?: string }, content?: string): Promise<void> {
  const base = join(harness.daemon.profilesDir, `.netauditd-${intent.boot}-${intent.tx}`);
  if (content !== undefined) await writeFile(`${base}.tmp`, content, { mode: 0o600 });
  await writeFile(`${base}.intent`, `${JSON.stringify(intent)}\n`, { mode: 0o600 });
}

/** What a crash may leave in the profiles directory, but the running daemon's own write-ahead segment. */
async function leftovers(): Promise<string[]> {
  return (await readdir(harness.daemon.profilesDir)).filter((n) => n.startsWith('.netauditd-') && !n.startsWith('.netauditd-wal-'));
}

/** Starts the stopped daemon; returns a reader of what this start wrote to the log. */
async function start(): Promise<() => string> {
  const from = harness.daemon.log().length;
  await harness.daemon.start();
  return () => harness.daemon.log().slice(from);
}

/** Stops the daemon with SIGTERM (a clean stop) unless an earlier failure left it stopped. */
async function stop(): Promise<void> {
  const running = harness.daemon.process.exitCode === null && harness.daemon.process.signalCode === null;
  if (running) expect(await harness.daemon.stop()).toBe(0);
}

async function add(id: string, uuid: string): Promise<string> {
  const [path] = await harness.client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [
    ethernet(id, { connection: { uuid: variant('s', uuid) } }),
  ]);
  return path as string;
}

/** The id the running daemon has for `uuid`, or null when it has no such connection. */
async function idOf(uuid: string): Promise<string | null> {
  let path: string;
  try {
    [path] = (await harness.client.call(SETTINGS, SETTINGS_IFACE, 'GetConnectionByUuid', 's', [uuid])) as [string];
  } catch (e) {
    expect(e).toMatchObject({ type: 'org.netaudit1.Error.UnknownConnection' });
    return null;
  }
  const settings = unwrap((await harness.client.call(path, CONNECTION_IFACE, 'GetSettings'))[0]) as { connection: { id: string } };
  return settings.connection.id;
}

describe('a change left half done by a crash', () => {
  it('is rolled forward when its success record is in the trail: the temp file becomes the profile', async () => {
    await stop();
    const run = crashedRun();
    const tx = run.tx();
    const uuid = randomUUID();
    const content = keyfile('rolled-forward', uuid);
    await leaveIntent({ boot: run.boot, tx, uuid, write: 'rolled-forward.nmconnection' }, content);
    await appendRecord({ boot: run.boot, seq: 1, op: 'connection-add', uuid, name: 'rolled-forward', result: 'success', tx });

    const log = await start();
    const file = join(harness.daemon.profilesDir, 'rolled-forward.nmconnection');
    expect(await readFile(file, 'utf8')).toBe(content);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await leftovers()).toEqual([]);
    expect(log()).toContain(
      `rolling forward change ${run.boot}-${tx} (rolled-forward.nmconnection): its audit record was committed before the daemon stopped`,
    );
    expect(await idOf(uuid)).toBe('rolled-forward');
  });

  it('of two committed changes of one profile left behind, only the newer is applied; the older never overwrites it', async () => {
    await stop();
    const run = crashedRun();
    const uuid = randomUUID();
    const [older, newer] = [run.tx(), run.tx()];
    await leaveIntent({ boot: run.boot, tx: older, uuid, write: 'two-changes.nmconnection' }, keyfile('two-changes-old', uuid));
    await leaveIntent({ boot: run.boot, tx: newer, uuid, write: 'two-changes.nmconnection' }, keyfile('two-changes-new', uuid));
    await appendRecord({ boot: run.boot, seq: 1, op: 'connection-add', uuid, name: 'two-changes-old', result: 'success', tx: older });
    await appendRecord({ boot: run.boot, seq: 2, op: 'connection-update', uuid, name: 'two-changes-new', result: 'success', tx: newer });

    const log = await start();
    expect(await readFile(join(harness.daemon.profilesDir, 'two-changes.nmconnection'), 'utf8')).toBe(keyfile('two-changes-new', uuid));
    expect(await leftovers()).toEqual([]);
    expect(log()).toContain(`dropping change ${run.boot}-${older} (two-changes.nmconnection): a newer committed change of the same profile replaces it`);
    expect(await idOf(uuid)).toBe('two-changes-new');
  });

  it('is rolled forward as a rename: the new file is in place and the old one is gone', async () => {
    const uuid = randomUUID();
    await add('before-rename', uuid);
    await stop();
    const run = crashedRun();
    const tx = run.tx();
    const content = keyfile('after-rename', uuid);
    await leaveIntent({ boot: run.boot, tx, uuid, write: 'after-rename.nmconnection', remove: 'before-rename.nmconnection' }, content);
    await appendRecord({
      boot: run.boot, seq: 1, op: 'connection-update', uuid, name: 'after-rename', changed: 'connection.id', result: 'success', tx,
    });

    const log = await start();
    const files = await readdir(harness.daemon.profilesDir);
    expect(files).toContain('after-rename.nmconnection');
    expect(files).not.toContain('before-rename.nmconnection');
    expect(await readFile(join(harness.daemon.profilesDir, 'after-rename.nmconnection'), 'utf8')).toBe(content);
    expect(await leftovers()).toEqual([]);
    expect(log()).toContain(`rolling forward change ${run.boot}-${tx} (after-rename.nmconnection)`);
    expect(await idOf(uuid)).toBe('after-rename');
  });

  it('is rolled back when the trail has no record of it: temp and intent go, the old profile stays as it was', async () => {
    const uuid = randomUUID();
    await add('steady', uuid);
    const file = join(harness.daemon.profilesDir, 'steady.nmconnection');
    const before = await readFile(file, 'utf8');
    await stop();
    const run = crashedRun();
    const tx = run.tx();
    // An Update that renames: had it been committed, steady.nmconnection would be gone.
    await leaveIntent({ boot: run.boot, tx, uuid, write: 'unsteady.nmconnection', remove: 'steady.nmconnection' }, keyfile('unsteady', uuid));
    const trailBefore = await verifiedChain(harness.daemon.auditDir);

    const log = await start();
    expect(await readFile(file, 'utf8')).toBe(before);
    expect(await readdir(harness.daemon.profilesDir)).not.toContain('unsteady.nmconnection');
    expect(await leftovers()).toEqual([]);
    expect(log()).toContain(`rolling back change ${run.boot}-${tx}: it has no audit record, so no caller was told it succeeded`);
    expect(log()).not.toContain('rolling forward');
    expect(await idOf(uuid)).toBe('steady');
    expect(await verifiedChain(harness.daemon.auditDir)).toEqual(trailBefore);
  });

  it('is rolled back when its only record says it failed', async () => {
    const uuid = randomUUID();
    await stop();
    const run = crashedRun();
    const tx = run.tx();
    await leaveIntent({ boot: run.boot, tx, uuid, write: 'refused.nmconnection' }, keyfile('refused', uuid));
    await appendRecord({
      boot: run.boot, seq: 1, op: 'connection-add', uuid, name: 'refused', result: 'fail', reason: 'audit-trail-unavailable', tx,
    });

    const log = await start();
    expect(await readdir(harness.daemon.profilesDir)).not.toContain('refused.nmconnection');
    expect(await leftovers()).toEqual([]);
    expect(log()).toContain(`rolling back change ${run.boot}-${tx}:`);
    expect(await idOf(uuid)).toBeNull();
  });

  it('is dropped with its temp file when the intent itself was torn: the change never reached the trail', async () => {
    await stop();
    const run = crashedRun();
    const tx = run.tx();
    const uuid = randomUUID();
    const base = join(harness.daemon.profilesDir, `.netauditd-${run.boot}-${tx}`);
    await writeFile(`${base}.tmp`, keyfile('half-written', uuid), { mode: 0o600 });
    await writeFile(`${base}.intent`, `{"boot":"${run.boot}","tx":`, { mode: 0o600 });

    const log = await start();
    expect(await readdir(harness.daemon.profilesDir)).not.toContain('half-written.nmconnection');
    expect(await leftovers()).toEqual([]);
    expect(log()).toContain(`removing unreadable intent file ${base}.intent, whose change was never committed`);
    expect(await idOf(uuid)).toBeNull();
  });

  it('is rolled forward as a delete: the profile file is removed', async () => {
    const uuid = randomUUID();
    await add('doomed', uuid);
    await stop();
    const run = crashedRun();
    const tx = run.tx();
    await leaveIntent({ boot: run.boot, tx, uuid, remove: 'doomed.nmconnection' });
    await appendRecord({ boot: run.boot, seq: 1, op: 'connection-delete', uuid, name: 'doomed', result: 'success', tx });

    const log = await start();
    expect(await readdir(harness.daemon.profilesDir)).not.toContain('doomed.nmconnection');
    expect(await leftovers()).toEqual([]);
    expect(log()).toContain(`rolling forward change ${run.boot}-${tx} (doomed.nmconnection)`);
    expect(await idOf(uuid)).toBeNull();
  });

  it('never removes a file that a later change gave to another connection, whatever an old intent says', async () => {
    // An applied change's intent is cleared lazily; if the daemon died first, the intent
    // outlives the change, and the name it removed may belong to a new profile by now.
    const uuid = randomUUID();
    const other = randomUUID();
    await add('reused-name', other);
    await stop();
    const run = crashedRun();
    const tx = run.tx();
    await leaveIntent({ boot: run.boot, tx, uuid, remove: 'reused-name.nmconnection' });
    await appendRecord({ boot: run.boot, seq: 1, op: 'connection-delete', uuid, name: 'reused-name', result: 'success', tx });

    await start();
    expect(await readdir(harness.daemon.profilesDir)).toContain('reused-name.nmconnection');
    expect(await leftovers()).toEqual([]);
    expect(await idOf(other)).toBe('reused-name');
  });
});

describe('the trail at start', () => {
  it('cuts a torn last line, says so with the file, rolls back the change it would have committed, and continues the chain', async () => {
    await stop();
    const last = (await verifiedChain(harness.daemon.auditDir)).at(-1)!;
    const run = crashedRun();
    const tx = run.tx();
    const uuid = randomUUID();
    await leaveIntent({ boot: run.boot, tx, uuid, write: 'torn.nmconnection' }, keyfile('torn', uuid));
    // The whole record but its "\n": the crash came before the line was complete, so it commits nothing.
    const { line } = trailLine({ boot: run.boot, seq: 1, op: 'connection-add', uuid, name: 'torn', result: 'success', tx }, last.hash);
    const torn = line.slice(0, -1);
    const file = await newestDayFile();
    const goodSize = (await stat(file)).size;
    await appendFile(file, torn);

    const log = await start();
    expect(log()).toContain(
      `audit trail file ${JSON.stringify(file)}: cut ${Buffer.byteLength(torn)} bytes at byte ${goodSize}, a line torn by a crash; no caller was told of it`,
    );
    expect((await stat(file)).size).toBe(goodSize);
    expect(log()).toContain(`rolling back change ${run.boot}-${tx}:`);
    expect(await readdir(harness.daemon.profilesDir)).not.toContain('torn.nmconnection');
    expect(await leftovers()).toEqual([]);
    expect(await idOf(uuid)).toBeNull();

    const next = randomUUID();
    await add('after-the-cut', next);
    const chain = await verifiedChain(harness.daemon.auditDir);
    const first = chain.findIndex((e) => e.hash === last.hash) + 1;
    expect(first).toBeGreaterThan(0);
    expect(chain.slice(first)).toHaveLength(1);
    expect(chain[first]).toMatchObject({ op: 'connection-add', uuid: next, result: 'success', seq: 1, prev: last.hash });
    expect(chain[first]!.boot).not.toBe(last.boot);
    expect(chain.some((e) => e.boot === run.boot)).toBe(false);
  });

  it('refuses to start, changing nothing, when the last record does not match its hash', async () => {
    await add('tampered', randomUUID());
    await stop();
    const file = await newestDayFile();
    const original = await readFile(file, 'utf8');
    const lines = original.split('\n');
    const lastLine = lines.at(-2)!;
    expect(lastLine).toContain('"name":"tampered"');
    // Still a well-formed record, but not the one that was hashed.
    const forged = lastLine.replace('"name":"tampered"', '"name":"tempered"');
    await writeFile(file, [...lines.slice(0, -2), forged, ''].join('\n'));
    const forgedBytes = await readFile(file, 'utf8');

    const args = ['--config', harness.daemon.configFile, '--bus-address', harness.bus.address, '--log-file', harness.daemon.logFile];
    const { code, stdout, stderr } = await runDaemonOnce(args);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    const offset = Buffer.byteLength(original) - Buffer.byteLength(lastLine) - 1;
    expect(stderr).toBe(
      `netauditd: cannot start: audit trail file ${JSON.stringify(file)} byte ${offset}: the last record does not match its hash; ` +
        'the trail is left as it is: check it with netauditctl audit verify\n',
    );
    expect(await readFile(file, 'utf8')).toBe(forgedBytes);

    // Once the record is put back, the daemon starts and the chain verifies.
    await writeFile(file, original);
    await start();
    expect((await verifiedChain(harness.daemon.auditDir)).at(-1)).toMatchObject({ name: 'tampered', result: 'success' });
  });
});

describe('the write-ahead log a crash leaves (docs/commit.md)', () => {
  /** Leaves a crashed run's segment: its header, then each line whole (or the last one torn). */
  async function leaveSegment(boot: string, entries: readonly WalEntry[], torn = false): Promise<string> {
    const name = `.netauditd-wal-${boot}-1`;
    let text = formatHeader({ wal: WAL_VERSION, boot, from: 1, done: [], n: 1, created: Date.now() });
    for (const e of entries) text += formatEntry(e);
    if (torn) text = text.slice(0, -7);
    await writeFile(join(harness.daemon.profilesDir, name), text, { mode: 0o600 });
    return name;
  }

  it('replays a logged change whose record is in the trail, passes over one without, and removes the segment', async () => {
    await stop();
    const run = crashedRun();
    const [kept, unrecorded] = [randomUUID(), randomUUID()];
    const [tx1, tx2] = [run.tx(), run.tx()];
    const segment = await leaveSegment(run.boot, [
      { boot: run.boot, tx: tx1, uuid: kept, write: 'logged.nmconnection', content: keyfile('logged', kept), recorded: true },
      { boot: run.boot, tx: tx2, uuid: unrecorded, write: 'never-recorded.nmconnection', content: keyfile('never-recorded', unrecorded), recorded: true },
    ]);
    await appendRecord({ boot: run.boot, seq: 1, op: 'connection-add', origin: 'caller', uuid: kept, name: 'logged', result: 'success', tx: tx1 });

    const log = await start();
    expect(await readFile(join(harness.daemon.profilesDir, 'logged.nmconnection'), 'utf8')).toBe(keyfile('logged', kept));
    expect((await stat(join(harness.daemon.profilesDir, 'logged.nmconnection'))).mode & 0o777).toBe(0o600);
    await expect(stat(join(harness.daemon.profilesDir, 'never-recorded.nmconnection'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readdir(harness.daemon.profilesDir)).not.toContain(segment);
    expect(log()).toContain('write-ahead log: 1 committed change(s) put on disk again, 1 never committed passed over');
    expect(await idOf(kept)).toBe('logged');
    expect(await idOf(unrecorded)).toBeNull();
  });

  it('overturns a recorded change whose line never became durable: a fail record, cause=restart, reason interrupted, once', async () => {
    await stop();
    const run = crashedRun();
    const uuid = randomUUID();
    const [tx1, tx2] = [run.tx(), run.tx()];
    await leaveSegment(run.boot, [
      { boot: run.boot, tx: tx1, uuid, write: 'torn-line.nmconnection', content: keyfile('torn-line', uuid), recorded: true },
    ], true);
    await appendRecord({ boot: run.boot, seq: 1, op: 'connection-add', origin: 'caller', uuid, name: 'torn-line', result: 'success', tx: tx1 });
    // A second change whose line is in no segment at all.
    await appendRecord({ boot: run.boot, seq: 2, op: 'connection-delete', origin: 'caller', uuid, name: 'torn-line', result: 'success', tx: tx2 });

    const log = await start();
    const chain = await verifiedChain(harness.daemon.auditDir);
    const overturns = chain.filter((e) => e.cause === 'restart' && e.args === run.boot);
    expect(overturns.map((e) => [e.op, e.tx, e.result, e.reason, e.origin])).toEqual([
      ['connection-add', tx1, 'fail', 'interrupted', 'daemon'],
      ['connection-delete', tx2, 'fail', 'interrupted', 'daemon'],
    ]);
    expect(log()).toContain(`overturning change ${run.boot}-${tx1} (connection-add torn-line)`);
    await expect(stat(join(harness.daemon.profilesDir, 'torn-line.nmconnection'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await idOf(uuid)).toBeNull();
    // The next start finds nothing left to do.
    await stop();
    await start();
    expect((await verifiedChain(harness.daemon.auditDir)).filter((e) => e.cause === 'restart' && e.args === run.boot)).toHaveLength(2);
  });
});
