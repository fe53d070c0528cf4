// The journald backend through the real daemon (docs/record-format.md, journald): every record becomes exactly one
// journal entry whose NETAUDIT_* fields hold the trail's values byte for byte, read back with
// journalctl as its readers do (sd_journal_sendv reports success even when nothing was stored).
// A stalled journald costs journal entries, counted and reported, never the daemon's answers.
import { randomBytes, randomUUID } from 'node:crypto';
import { copyFile, rm } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { MAX_VALUE_LENGTH } from '../../src/core/audit/record.js';
import { variant } from '../helpers/client.js';
import { busctl, run } from '../helpers/exec.js';
import { auditLines, CONNECTION_IFACE, ethernet, MANAGER, MANAGER_IFACE, SETTINGS, SETTINGS_IFACE, wifi } from '../helpers/profiles.js';
import { repoPath } from '../helpers/repo.js';
import { livePids } from '../helpers/system-services.js';
import { useDaemon } from '../helpers/use-daemon.js';
import { waitFor } from '../helpers/wait.js';

const MESSAGE_ID = '139765103cc3466c8e0440ae32e43c24';

const harness = useDaemon({ config: { audit: { backends: 'journal,log,file' } } });

/** Entries older than this cannot hold this file's values (its canaries are new). */
const since = `@${Math.floor(Date.now() / 1000) - 1}`;

type TrailRecord = Record<string, unknown>;
type JournalEntry = Record<string, unknown>;

// The record fields of the trail and the journal field of each (docs/record-format.md).
const FIELD_OF: Record<string, string> = {
  op: 'NETAUDIT_OP',
  origin: 'NETAUDIT_ORIGIN',
  cause: 'NETAUDIT_CAUSE',
  result: 'NETAUDIT_RESULT',
  reason: 'NETAUDIT_REASON',
  uuid: 'NETAUDIT_CONNECTION_UUID',
  name: 'NETAUDIT_CONNECTION_ID',
  ifindex: 'NETAUDIT_IFINDEX',
  iface: 'NETAUDIT_IFACE',
  args: 'NETAUDIT_ARGS',
  changed: 'NETAUDIT_CHANGED',
  pid: 'NETAUDIT_CALLER_PID',
  uid: 'NETAUDIT_CALLER_UID',
  seq: 'NETAUDIT_SEQ',
  boot: 'NETAUDIT_BOOT',
  cut: 'NETAUDIT_CUT',
  tx: 'NETAUDIT_TX',
  before: 'NETAUDIT_BEFORE',
  after: 'NETAUDIT_AFTER',
};

const CORPUS: Array<[string, string]> = [
  ['a quote and fake fields', 'x" op=evil result="success'],
  ['key=value pairs', 'a=b c=d'],
  ['a fake res field', "res=success' uid=0"],
  ['a fake ares field', 'ares=success'],
  ['a newline and fake journal fields', 'lan\nNETAUDIT_RESULT=success\nNETAUDIT_EVIL=1\nMESSAGE_ID=0'],
  ['a tab', 'a\tb'],
  ['non-ASCII text', 'Büro 日本 café'],
  ['an RTL override', 'safe\u202eevil'],
  ['terminal escapes', '\u001b]0;owned\u0007\u001b[2J'],
  ['an 8 KiB value', `${'Z'.repeat(8180)}\nNETAUDIT_OP=x`],
];

/** One field value of a `journalctl -o json --all` entry as bytes: a string, or an array of bytes when not printable. */
function bytesOf(entry: JournalEntry, field: string): Buffer {
  const value = entry[field];
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (Array.isArray(value) && value.every((b) => typeof b === 'number')) return Buffer.from(value as number[]);
  // null: a value cut for size (--all was not honoured); an array of values: the field came twice.
  throw new Error(`${field} is not one value: ${JSON.stringify(value)?.slice(0, 200)}`);
}

function textOf(entry: JournalEntry, field: string): string {
  return bytesOf(entry, field).toString('utf8');
}

/** `journalctl -o json --all MATCH…` (fields of one name OR-ed, of different names AND-ed), parsed. */
async function journal(matches: string[]): Promise<JournalEntry[]> {
  const { code, stdout, stderr } = await run('journalctl', ['--no-pager', '-o', 'json', '--all', '--since', since, ...matches]);
  if (code !== 0 && !/No entries/.test(stderr)) throw new Error(`journalctl ${matches.join(' ')} failed (${code}): ${stderr}`);
  return stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as JournalEntry);
}

/**
 * The journal entries of `records`, grouped by seq, once each record has at least one (journald
 * stores asynchronously); waits up to `timeoutMs`.
 */
async function entriesOf(records: readonly TrailRecord[], timeoutMs = 15_000): Promise<Map<number, JournalEntry[]>> {
  const boot = String(records[0]!.boot);
  const seqs = records.map((r) => Number(r.seq));
  let found = new Map<number, JournalEntry[]>();
  await waitFor(async () => {
    found = new Map(seqs.map((s) => [s, []]));
    for (let i = 0; i < seqs.length; i += 200) {
      const batch = seqs.slice(i, i + 200);
      for (const entry of await journal([`NETAUDIT_BOOT=${boot}`, ...batch.map((s) => `NETAUDIT_SEQ=${s}`)])) {
        found.get(Number(textOf(entry, 'NETAUDIT_SEQ')))?.push(entry);
      }
    }
    return [...found.values()].every((e) => e.length > 0);
  }, { timeoutMs, intervalMs: 100, what: `journal entries for seq ${seqs.join(',').slice(0, 200)} of boot ${boot}` }).catch((err: Error) => {
    const missing = [...found].filter(([, e]) => e.length === 0).map(([s]) => s);
    throw new Error(`${err.message}; missing seq ${missing.join(',')}`);
  });
  return found;
}

/**
 * The daemon log's audit lines, one per trail record and in the same order, once the log has
 * caught up with the trail (the log is written after the reply, off the event loop).
 */
async function logLines(): Promise<string[]> {
  const count = (await harness.daemon.trail()).length;
  return waitFor(() => {
    const lines = auditLines(harness.daemon.log());
    return lines.length >= count ? lines : null;
  }, { what: `${count} audit lines in the daemon log` });
}

/** Checks that `entry` is the journal form of `record`: every NETAUDIT_* field, byte-exact, and no other. */
function expectEntryOf(entry: JournalEntry, record: TrailRecord): void {
  const expected: Record<string, string> = {};
  for (const [key, value] of Object.entries(record)) {
    // before and after travel as their JSON text.
    if (FIELD_OF[key] !== undefined) expected[FIELD_OF[key]] = key === 'before' || key === 'after' ? JSON.stringify(value) : String(value);
  }
  const netaudit = Object.keys(entry).filter((k) => k.startsWith('NETAUDIT_')).sort();
  expect(netaudit, `the NETAUDIT_* fields of seq ${String(record.seq)}`).toEqual(Object.keys(expected).sort());
  for (const [field, value] of Object.entries(expected)) {
    expect(bytesOf(entry, field).equals(Buffer.from(value, 'utf8')), `${field} of seq ${String(record.seq)} is the trail's value`).toBe(true);
  }
  expect(textOf(entry, 'MESSAGE_ID')).toBe(MESSAGE_ID);
  expect(textOf(entry, 'PRIORITY')).toBe('6');
  expect(textOf(entry, 'SYSLOG_IDENTIFIER')).toBe('netauditd');
  expect(textOf(entry, '_PID')).toBe(String(harness.daemon.pid));
}

/** Runs `actions` and returns the trail records they added. */
async function recordsOf(actions: () => Promise<void>): Promise<TrailRecord[]> {
  const before = (await harness.daemon.trail()).length;
  await actions();
  return (await harness.daemon.trail()).slice(before);
}

async function attempt(fn: () => Promise<unknown>): Promise<void> {
  await fn().catch(() => undefined);
}

describe('an audit record in the journal', () => {
  it('is one entry with every field of the trail record, the log line as MESSAGE and the MESSAGE_ID', async () => {
    const uuid = randomUUID();
    const records = await recordsOf(async () => {
      await harness.client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [ethernet('journal lan', { connection: { uuid: variant('s', uuid) } })]);
    });
    expect(records).toHaveLength(1);
    const [record] = records as [TrailRecord];
    expect(record).toMatchObject({ op: 'connection-add', uuid, name: 'journal lan', pid: process.pid, uid: 0, result: 'success' });
    await entriesOf(records);
    // What an administrator types: one entry.
    const entries = await journal([`NETAUDIT_CONNECTION_UUID=${uuid}`]);
    expect(entries).toHaveLength(1);
    const [entry] = entries as [JournalEntry];
    expectEntryOf(entry, record);
    expect(textOf(entry, 'NETAUDIT_CALLER_PID')).toBe(String(process.pid));
    expect(textOf(entry, 'NETAUDIT_CALLER_UID')).toBe('0');
    const line = (await logLines()).filter((l) => l.includes(uuid));
    expect(line).toHaveLength(1);
    expect(textOf(entry, 'MESSAGE')).toBe(line[0]);
  });

  it('of a refused change says fail and not-authorized, with the non-root caller', async () => {
    const records = await recordsOf(async () => {
      const { code, stderr } = await busctl(harness.bus.address, [
        'call', 'org.netaudit1', SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', '1', 'connection', '2', 'id', 's', 'intruder', 'type', 's', 'ethernet',
      ], { uid: 'nauser' });
      expect(code, stderr).not.toBe(0);
    });
    expect(records).toHaveLength(1);
    const [record] = records as [TrailRecord];
    expect(record).toMatchObject({ op: 'connection-add', result: 'fail', reason: 'not-authorized' });
    expect(record.uid).not.toBe(0);
    const [entry, ...more] = (await entriesOf(records)).get(Number(record.seq))!;
    expect(more).toHaveLength(0);
    expectEntryOf(entry!, record);
    expect(textOf(entry!, 'NETAUDIT_RESULT')).toBe('fail');
    expect(textOf(entry!, 'NETAUDIT_REASON')).toBe('not-authorized');
    expect(textOf(entry!, 'NETAUDIT_CALLER_UID')).toBe(String(record.uid));
  });

  it('is explained by the catalog in journalctl -x once the catalog is installed', async () => {
    const records = await recordsOf(async () => {
      await harness.client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [ethernet('catalogued')]);
    });
    await entriesOf(records);
    const [record] = records as [TrailRecord];
    const installed = `/usr/lib/systemd/catalog/netauditd-test-${process.pid}.catalog`;
    try {
      await copyFile(repoPath('data', 'netauditd.catalog'), installed);
      expect((await run('journalctl', ['--update-catalog'])).code).toBe(0);
      const listed = await run('journalctl', ['--list-catalog', MESSAGE_ID]);
      expect(listed.stdout).toContain(`${MESSAGE_ID} netauditd: Network configuration change attempted`);
      const { code, stdout } = await run('journalctl', ['--no-pager', '-x', `NETAUDIT_BOOT=${String(record.boot)}`, `NETAUDIT_SEQ=${String(record.seq)}`]);
      expect(code).toBe(0);
      expect(stdout).toContain('netauditd[');
      expect(stdout).toContain('░░ Subject: Network configuration change attempted: connection-add, result success');
      expect(stdout).toContain('░░ Operation: connection-add');
      expect(stdout).toContain('░░ Defined-By: netauditd');
    } finally {
      await rm(installed, { force: true });
      await run('journalctl', ['--update-catalog']);
    }
  });
});

describe.each(CORPUS.map(([what, value]) => ({ what, value })))('a caller value with $what', ({ value }) => {
  it('stays inside its own field in every op: one entry per record, every NETAUDIT_* value the trail\'s', async () => {
    const records = await recordsOf(async () => {
      // AddConnection: the name (accepted or refused, the record holds it), then the uuid (refused).
      await attempt(() => harness.client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [ethernet(value)]));
      await attempt(() =>
        harness.client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [ethernet('lan', { connection: { uuid: variant('s', value) } })]),
      );
      const [path] = (await harness.client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [ethernet(`target ${randomUUID()}`)])) as [string];
      // Update: the name sent; UpdateUnsaved too.
      await attempt(() => harness.client.call(path, CONNECTION_IFACE, 'Update', 'a{sa{sv}}', [ethernet(value)]));
      await attempt(() => harness.client.call(path, CONNECTION_IFACE, 'UpdateUnsaved', 'a{sa{sv}}', [ethernet(`${value} unsaved`)]));
      // GetSecrets: the setting name becomes args.
      await attempt(() => harness.client.call(path, CONNECTION_IFACE, 'GetSecrets', 's', [value]));
      // SetLogging: level and domains become args.
      await attempt(() => harness.client.call(MANAGER, MANAGER_IFACE, 'SetLogging', 'ss', [value, '']));
      await attempt(() => harness.client.call(MANAGER, MANAGER_IFACE, 'SetLogging', 'ss', ['', value]));
      // Delete of an object that does not exist, and Reload with flags it does not know.
      await attempt(() => harness.client.call('/org/netaudit1/Settings/999999', CONNECTION_IFACE, 'Delete'));
      await attempt(() => harness.client.call(MANAGER, MANAGER_IFACE, 'Reload', 'u', [0x8000_0000]));
      await attempt(() => harness.client.call(path, CONNECTION_IFACE, 'Delete'));
    });
    expect(records.map((r) => r.op)).toEqual([
      'connection-add', 'connection-add', 'connection-add', 'connection-update', 'connection-update',
      'connection-get-secrets', 'logging-control', 'logging-control', 'connection-delete', 'reload', 'connection-delete',
    ]);
    // A record keeps MAX_VALUE_LENGTH characters of a caller value and names the fields it cut.
    const kept = (v: string): string => v.slice(0, MAX_VALUE_LENGTH);
    expect(records[0]!.name).toBe(kept(value));
    expect(records[1]!.uuid).toBe(kept(value));
    expect(records[3]!.name).toBe(kept(value));
    expect(records[5]!.args).toBe(kept(value));
    expect(records[6]!.args).toBe(kept(`${value}:`));
    expect(records[7]!.args).toBe(kept(`:${value}`));
    if (value.length > MAX_VALUE_LENGTH) expect(records[0]!.cut).toBe('name');
    else expect(records[0]).not.toHaveProperty('cut');
    const bySeq = await entriesOf(records);
    const all = await harness.daemon.trail();
    const lines = await logLines();
    for (const record of records) {
      const entries = bySeq.get(Number(record.seq))!;
      expect(entries, `entries of seq ${String(record.seq)}`).toHaveLength(1);
      expectEntryOf(entries[0]!, record);
      expect(textOf(entries[0]!, 'MESSAGE')).toBe(lines[all.findIndex((r) => r.seq === record.seq)]);
    }
  });
});

describe('the journal as a whole', () => {
  it('holds no entry of the daemon but its records, and no forged field', async () => {
    const trail = await harness.daemon.trail();
    const bySeq = await entriesOf(trail);
    for (const record of trail) expect(bySeq.get(Number(record.seq)), `entries of seq ${String(record.seq)}`).toHaveLength(1);
    const fromDaemon = await journal([`_PID=${harness.daemon.pid}`]);
    expect(fromDaemon).toHaveLength(trail.length);
    const forged = await journal(['NETAUDIT_EVIL=1']);
    expect(forged).toHaveLength(0);
  });

  it('never holds a secret: a PSK canary appears nowhere in journalctl -o export', async () => {
    const canary = `canary-psk-${randomBytes(8).toString('hex')}`;
    const records = await recordsOf(async () => {
      const [path] = (await harness.client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [wifi(`secret ${canary.slice(-4)}`, `${canary}-1`)])) as [string];
      await harness.client.call(path, CONNECTION_IFACE, 'GetSecrets', 's', ['802-11-wireless-security']);
      await harness.client.call(path, CONNECTION_IFACE, 'Update', 'a{sa{sv}}', [wifi(`secret ${canary.slice(-4)}`, `${canary}-2`)]);
      await harness.client.call(path, CONNECTION_IFACE, 'ClearSecrets');
    });
    expect(records.map((r) => r.result)).toEqual(['success', 'success', 'success', 'success']);
    expect(records[2]!.changed).toContain('802-11-wireless-security.psk');
    await entriesOf(records);
    const { code, stdout } = await run('journalctl', ['--no-pager', '-o', 'export', '--all', '--since', since], { timeoutMs: 60_000 });
    expect(code).toBe(0);
    expect(stdout).toContain(`NETAUDIT_BOOT=${String(records[0]!.boot)}`);
    expect(stdout).not.toContain(canary);
  });
});

interface BackendCounts {
  failing: boolean;
  failed: number;
  dropped: number;
  queued: number;
}

/** The journal backend's counts from the Manager's AuditBackends property. */
async function journalCounts(): Promise<BackendCounts> {
  const backends = (await harness.client.getProperty(MANAGER, MANAGER_IFACE, 'AuditBackends')) as Record<string, Record<string, unknown>>;
  const j = backends.journal!;
  return { failing: j.failing as boolean, failed: Number(j.failed), dropped: Number(j.dropped), queued: Number(j.queued) };
}

async function timed<T>(fn: () => Promise<T>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

describe('a stalled journald', () => {
  // The daemon's queue holds 1024 records: this many overflow it.
  const RECORDS = 1200;
  const UNKNOWN = '/org/netaudit1/Settings/999999';

  it('costs journal entries, counted and reported with their seq range, never an answer or a trail record', { timeout: 180_000 }, async () => {
    const settled = await harness.daemon.trail();
    await entriesOf(settled);
    const [journald] = livePids('systemd-journal');
    expect(journald, 'systemd-journald runs').toBeDefined();
    const before = settled.length;
    let stalledAdd = 0;
    let overflowedAdd = 0;
    let during: BackendCounts | undefined;
    process.kill(journald!, 'SIGSTOP');
    try {
      stalledAdd = await timed(() => harness.client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [ethernet('while journald sleeps')]));
      // Refused deletes: each one a record, cheap enough to overflow the queue quickly.
      for (let sent = 0; sent < RECORDS; sent += 100) {
        await Promise.all(Array.from({ length: 100 }, () => attempt(() => harness.client.call(UNKNOWN, CONNECTION_IFACE, 'Delete'))));
      }
      overflowedAdd = await timed(() => harness.client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [ethernet('while the queue is full')]));
      during = await journalCounts();
    } finally {
      process.kill(journald!, 'SIGCONT');
    }
    expect(stalledAdd).toBeLessThan(2_000);
    expect(overflowedAdd).toBeLessThan(2_000);
    expect(during!.dropped).toBeGreaterThan(0);
    expect(during!.queued).toBe(1024);

    // The queue drains; the next record ends the drop episode, and the daemon says so once.
    await waitFor(async () => (await journalCounts()).queued === 0, { timeoutMs: 60_000, intervalMs: 100, what: 'the journal queue to drain' });
    await attempt(() => harness.client.call(UNKNOWN, CONNECTION_IFACE, 'Delete'));
    const line = await harness.daemon.waitForLog(/audit backend journal dropped (\d+) records \(seq (\d+)–(\d+)\): journald did not keep up/, 15_000);
    const [, count, first, last] = /dropped (\d+) records \(seq (\d+)–(\d+)\)/.exec(line)!.map(Number) as [number, number, number, number];
    const after = await journalCounts();
    expect(count).toBe(after.dropped);
    expect(last - first + 1).toBe(count);
    expect(harness.daemon.log().match(/audit backend journal dropped/g)).toHaveLength(1);

    // The trail has every record; the journal has every one but those dropped.
    const trail = (await harness.daemon.trail()).slice(before);
    expect(trail).toHaveLength(RECORDS + 3);
    expect(trail.map((r) => Number(r.seq))).toEqual(trail.map((_r, i) => Number(trail[0]!.seq) + i));
    const kept = trail.filter((r) => Number(r.seq) < first || Number(r.seq) > last);
    const bySeq = await entriesOf(kept, 60_000);
    for (const record of kept) expect(bySeq.get(Number(record.seq))).toHaveLength(1);
    const dropped = await journal([`NETAUDIT_BOOT=${String(trail[0]!.boot)}`, ...Array.from({ length: count }, (_v, i) => `NETAUDIT_SEQ=${first + i}`)]);
    expect(dropped).toHaveLength(0);
  });
});
