// netauditctl audit list, export, follow and stats, the built CLI, on a trail
// spread over several days: day files written here for the past days, with
// the real daemon's records of today chained after them. Every filter, goldens
// in --terse and --json, CSV parsed back, a byte-exact JSON-lines export,
// follow seeing a change made after it started, read access as nauser, and a
// hostile connection name escaped in every format.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, chmod, chown, cp, mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/core/audit/record.js';
import { formatTrailLine, ZERO_HASH } from '../../src/core/audit/trail/trail-line.js';
import { startBus, type TestBus } from '../helpers/bus.js';
import { connect, type TestClient } from '../helpers/client.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { busctl, run, type RunResult } from '../helpers/exec.js';
import { ethernet, SETTINGS, SETTINGS_IFACE } from '../helpers/profiles.js';
import { repoPath } from '../helpers/repo.js';
import { dayFiles, verifiedChain, type TrailEntry } from '../helpers/trail.js';
import { waitFor } from '../helpers/wait.js';

const cliMain = repoPath('dist', 'cli', 'main.js');
const DAY = 24 * 3600 * 1000;
const HOUR = 3600 * 1000;
const HOSTILE = 'a:b\u001b[2J\nfake';
const UUID = '37a958f1-4eb9-418a-bbe2-ec101af4bad7';

let bus: TestBus;
let daemon: TestDaemon;
let client: TestClient;
let trail: string;
let nauserUid: number;
/** Midnight UTC of the day the test runs. */
let today: number;
/** Every record of the trail once set up, oldest first. */
let entries: TrailEntry[];

function netauditctl(args: string[], options: { uid?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return run(process.execPath, [cliMain, ...args], { ...options, env: { TZ: 'UTC', ...options.env } });
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** The records of the past days, written as the daemon would have written them. */
function pastRecords(): AuditRecord[] {
  const base = { boot: 'b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0', result: 'success' as const };
  return [
    { ...base, seq: 1, ts: today - 3 * DAY + 10 * HOUR, op: 'connection-add', uuid: UUID, name: 'office lan', pid: 100, uid: 0, actor: { busName: ':1.4', exe: '/usr/bin/busctl' }, tx: 1 },
    { ...base, seq: 2, ts: today - 2 * DAY + 10 * HOUR, op: 'connection-update', uuid: UUID, name: 'office lan', changed: ['ipv4.address-data', 'connection.id'], pid: 101, uid: 0, tx: 2 },
    { ...base, seq: 3, ts: today - 2 * DAY + 11 * HOUR, op: 'connection-delete', name: '=1+2', pid: 102, uid: 0 },
    { ...base, seq: 4, ts: today - DAY + 1 * HOUR, op: 'connection-add', name: HOSTILE, pid: 103, uid: nauserUid, result: 'fail', reason: 'not-authorized' },
    { ...base, seq: 5, ts: today - DAY + 23 * HOUR, op: 'device-autoconnect', ifindex: 7, iface: 'veth-x', args: 'off', pid: 104, uid: 0 },
  ];
}

async function writePastDays(dir: string): Promise<void> {
  let prev = ZERO_HASH;
  for (const record of pastRecords()) {
    const { line, hash } = formatTrailLine(record, prev);
    prev = hash;
    await appendFile(join(dir, `audit-${iso(record.ts).slice(0, 10)}.jsonl`), line, { mode: 0o640 });
  }
}

beforeAll(async () => {
  if (!existsSync(cliMain)) throw new Error(`${cliMain} is missing: run "npm run build" first`);
  nauserUid = Number((await run('id', ['-u', 'nauser'])).stdout.trim());
  const now = new Date();
  today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  bus = await startBus();
  trail = join(bus.dir, 'trail');
  await mkdir(trail, { mode: 0o750 });
  await writePastDays(trail);
  // The daemon resumes the chain after the past days' records.
  daemon = await startDaemon(bus, { config: { audit: { backends: 'log,file', dir: trail } } });
  client = await connect(bus.address);
  await client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [ethernet('lan0')]);
  const refused = await busctl(bus.address, ['call', 'org.netaudit1', SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', '1', 'connection', '2', 'id', 's', 'nope', 'type', 's', 'ethernet'], { uid: 'nauser' });
  expect(refused.code).not.toBe(0);
  entries = await verifiedChain(trail);
  expect(entries).toHaveLength(7);
});

afterAll(async () => {
  client?.close();
  await bus?.stop();
});

/** The hashes of the records for which `pred` holds, one a line, as `-g HASH` prints them. */
function hashesOf(pred: (e: TrailEntry) => boolean): string {
  return entries.filter(pred).map((e) => `${e.hash}\n`).join('');
}

async function listed(args: string[]): Promise<string> {
  const result = await netauditctl(['-g', 'HASH', 'audit', 'list', '--dir', trail, ...args]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return result.stdout;
}

describe('netauditctl audit list', () => {
  it('prints every record in trail order, terse golden', async () => {
    const result = await netauditctl(['-t', 'audit', 'list', '--dir', trail]);
    const [d1, d2] = entries.slice(5);
    const t = (ms: number): string => iso(ms).replace('Z', '+00:00').replace(/:/g, '\\:');
    expect(result.stdout).toBe(
      [
        `${t(today - 3 * DAY + 10 * HOUR)}:connection-add:success::0:100:office lan:`,
        `${t(today - 2 * DAY + 10 * HOUR)}:connection-update:success::0:101:office lan:`,
        `${t(today - 2 * DAY + 11 * HOUR)}:connection-delete:success::0:102:=1+2:`,
        `${t(today - DAY + 1 * HOUR)}:connection-add:fail:not-authorized:${nauserUid}:103:a\\:b\\x1b[2J\\nfake:`,
        `${t(today - DAY + 23 * HOUR)}:device-autoconnect:success::0:104::veth-x`,
        `${t(Date.parse(d1!.ts))}:connection-add:success::0:${d1!.pid}:lan0:`,
        `${t(Date.parse(d2!.ts))}:connection-add:fail:not-authorized:${nauserUid}:${d2!.pid}:nope:`,
        '',
      ].join('\n'),
    );
    expect(result).toMatchObject({ code: 0, stderr: '' });
  });

  it('prints JSON lines with typed values and the trail ts, json golden', async () => {
    const result = await netauditctl(['--json', 'audit', 'list', '--dir', trail, '--until', iso(today - 1)]);
    expect(result.stdout).toBe(
      [
        `{"time":"${iso(today - 3 * DAY + 10 * HOUR)}","op":"connection-add","result":"success","reason":null,"uid":0,"pid":100,"name":"office lan","iface":null}`,
        `{"time":"${iso(today - 2 * DAY + 10 * HOUR)}","op":"connection-update","result":"success","reason":null,"uid":0,"pid":101,"name":"office lan","iface":null}`,
        `{"time":"${iso(today - 2 * DAY + 11 * HOUR)}","op":"connection-delete","result":"success","reason":null,"uid":0,"pid":102,"name":"=1+2","iface":null}`,
        `{"time":"${iso(today - DAY + 1 * HOUR)}","op":"connection-add","result":"fail","reason":"not-authorized","uid":${nauserUid},"pid":103,"name":"a:b\\u001b[2J\\nfake","iface":null}`,
        `{"time":"${iso(today - DAY + 23 * HOUR)}","op":"device-autoconnect","result":"success","reason":null,"uid":0,"pid":104,"name":null,"iface":"veth-x"}`,
        '',
      ].join('\n'),
    );
    const all = await netauditctl(['--json', '-f', 'all', 'audit', 'list', '--dir', trail, '--uuid', UUID.toUpperCase(), '-n', '1']);
    expect(JSON.parse(all.stdout)).toEqual({
      time: iso(today - 2 * DAY + 10 * HOUR), op: 'connection-update', result: 'success', reason: null, uid: 0, pid: 101, name: 'office lan', iface: null,
      origin: null, cause: null, uuid: UUID, ifindex: null, args: null, changed: 'ipv4.address-data,connection.id', seq: 2, boot: 'b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0', tx: 2,
      sender: null, exe: null, cut: null, hash: entries[1]!.hash,
    });
  });

  it('gives output that jq parses, one object per record', async () => {
    const result = await netauditctl(['--json', '-f', 'all', 'audit', 'list', '--dir', trail]);
    const jq = await run('jq', ['-c', '.hash'], { input: result.stdout });
    expect(jq.code).toBe(0);
    expect(jq.stdout).toBe(entries.map((e) => `"${e.hash}"\n`).join(''));
  });

  it('filters by --since and --until, absolute and relative', async () => {
    const at = (e: TrailEntry): number => Date.parse(e.ts);
    expect(await listed(['--since', 'yesterday'])).toBe(hashesOf((e) => at(e) >= today - DAY));
    expect(await listed(['--since', '-1h'])).toBe(hashesOf((e) => at(e) >= Date.now() - HOUR));
    expect(await listed(['--since', '-1h'])).toBe(hashesOf((e) => e.boot !== 'b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0'));
    expect(await listed(['--until', 'yesterday'])).toBe(hashesOf((e) => at(e) < today - DAY));
    const day = iso(today - 2 * DAY).slice(0, 10);
    expect(await listed(['--since', day, '--until', `${day} 10:30`])).toBe(hashesOf((e) => e.seq === 2 && e.op === 'connection-update'));
    expect(await listed(['--since', `${day}T11:00:00.000+00:00`, '--until', 'today'])).toBe(hashesOf((e) => at(e) >= today - 2 * DAY + 11 * HOUR && at(e) <= today));
    expect(await listed(['--since', 'tomorrow'])).toBe('');
  });

  it('filters by --op, --uuid, --name, --uid, --result and --iface', async () => {
    expect(await listed(['--op', 'connection-add'])).toBe(hashesOf((e) => e.op === 'connection-add'));
    expect(await listed(['--op', 'connection-delete,device-autoconnect'])).toBe(hashesOf((e) => e.op === 'connection-delete' || e.op === 'device-autoconnect'));
    expect(await listed(['--op', 'device-*'])).toBe(hashesOf((e) => e.op.startsWith('device-')));
    expect(await listed(['--uuid', UUID])).toBe(hashesOf((e) => e.uuid === UUID));
    expect(await listed(['--name', 'office lan'])).toBe(hashesOf((e) => e.name === 'office lan'));
    expect(await listed(['--name', 'office'])).toBe('');
    expect(await listed(['--name', 'lan*'])).toBe(hashesOf((e) => e.name === 'lan0'));
    expect(await listed(['--uid', String(nauserUid)])).toBe(hashesOf((e) => e.uid === nauserUid));
    expect(await listed(['--uid', 'nauser'])).toBe(hashesOf((e) => e.uid === nauserUid));
    expect(await listed(['--uid', 'root'])).toBe(hashesOf((e) => e.uid === 0));
    expect(await listed(['--result', 'fail'])).toBe(hashesOf((e) => e.result === 'fail'));
    expect(await listed(['--iface', 'veth-x'])).toBe(hashesOf((e) => e.iface === 'veth-x'));
    expect(await listed(['--op', 'connection-add', '--result', 'success', '--uid', '0'])).toBe(hashesOf((e) => e.op === 'connection-add' && e.result === 'success' && e.uid === 0));
  });

  it('shows the last N with -n, and newest first with --reverse', async () => {
    expect(await listed(['-n', '2'])).toBe(entries.slice(-2).map((e) => `${e.hash}\n`).join(''));
    expect(await listed(['-n', '2', '--result', 'success'])).toBe(entries.filter((e) => e.result === 'success').slice(-2).map((e) => `${e.hash}\n`).join(''));
    expect(await listed(['--reverse'])).toBe([...entries].reverse().map((e) => `${e.hash}\n`).join(''));
    expect(await listed(['-n', '0'])).toBe('');
  });

  it('shows local time with its offset in tables, UTC with --utc', async () => {
    const first = iso(today - 3 * DAY + 10 * HOUR);
    const berlin = await netauditctl(['-g', 'TIME', 'audit', 'list', '--dir', trail, '-n', '1', '--uuid', UUID, '--until', first], { env: { TZ: 'Europe/Berlin' } });
    const offset = berlinOffsetHours(Date.parse(first));
    const local = `${new Date(Date.parse(first) + offset * HOUR).toISOString().slice(0, 23)}+0${offset}:00`;
    expect(berlin.stdout).toBe(`${local.replace(/:/g, '\\:')}\n`);
    const utc = await netauditctl(['-g', 'TIME', 'audit', 'list', '--dir', trail, '-n', '1', '--uuid', UUID, '--until', first, '--utc'], { env: { TZ: 'Europe/Berlin' } });
    expect(utc.stdout).toBe(`${first.replace(/:/g, '\\:')}\n`);
  });

  it('prints an aligned table for people with a header', async () => {
    const result = await netauditctl(['audit', 'list', '--dir', trail, '--op', 'device-autoconnect']);
    expect(result.stdout).toBe(
      'TIME                           OP                       RESULT   REASON               UID    PID      NAME              IFACE\n' +
        `${iso(today - DAY + 23 * HOUR).replace('Z', '+00:00')}  device-autoconnect       success  --                   0      104      --                veth-x\n`,
    );
  });
});

/** Europe/Berlin's offset from UTC at `ms`: 1 in winter, 2 in summer (last Sunday of March to last Sunday of October). */
function berlinOffsetHours(ms: number): number {
  const text = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', timeZoneName: 'shortOffset' }).format(new Date(ms));
  return Number(/GMT\+(\d+)/.exec(text)![1]);
}

describe('hostile values', () => {
  it('are escaped in tables, terse output and JSON: no raw control character reaches the terminal', async () => {
    for (const globals of [[], ['-t'], ['--json'], ['-m', 'multiline'], ['-g', 'NAME'], ['-e', 'no', '-t']]) {
      const result = await netauditctl([...globals, 'audit', 'list', '--dir', trail, '--result', 'fail', '--uid', 'nauser']);
      expect(result.code, globals.join(' ')).toBe(0);
      expect(result.stdout, globals.join(' ')).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/);
      // one line per record (multiline: one per field)
      expect(result.stdout.split('\n').filter((l) => l.includes('fake'))).toHaveLength(1);
    }
    const terse = await netauditctl(['-g', 'NAME', 'audit', 'list', '--dir', trail, '--name', HOSTILE]);
    expect(terse.stdout).toBe('a\\:b\\x1b[2J\\nfake\n');
    const table = await netauditctl(['-f', 'NAME', 'audit', 'list', '--dir', trail, '--name', 'a:b*']);
    expect(table.stdout).toBe('NAME\na:b\\x1b[2J\\nfake\n');
  });
});

describe('netauditctl audit show', () => {
  it('shows one record named by BOOT:SEQ or hash, says which when several match, exits 10 when none does', async () => {
    const dir = join(bus.dir, `show-${process.pid}`);
    await mkdir(dir, { recursive: true });
    let prev = ZERO_HASH;
    let text = '';
    const records: AuditRecord[] = [
      { ts: Date.UTC(2026, 11, 7, 9), boot: 'cafe0001', seq: 1, op: 'connection-add', origin: 'caller', name: 'a', result: 'success', after: { connection: { id: 'a' } } },
      { ts: Date.UTC(2026, 11, 7, 10), boot: 'cafe0002', seq: 1, op: 'connection-activate', origin: 'daemon', cause: 'autoconnect', name: 'a\u001b[2J', result: 'success', tx: 1 },
    ];
    for (const record of records) {
      const { line, hash } = formatTrailLine(record, prev);
      text += line;
      prev = hash;
    }
    await appendFile(join(dir, 'audit-2026-12-07.jsonl'), text);
    const latest = await netauditctl(['audit', 'show', '--dir', dir, '1']);
    expect(latest).toMatchObject({ code: 0, stderr: '' });
    expect(latest.stdout).toContain('origin:           daemon\ncause:            autoconnect\n');
    // A value's control characters are escaped on a terminal's behalf.
    expect(latest.stdout).toContain('name:             a\\x1b[2J\n');
    const first = await netauditctl(['audit', 'show', '--dir', dir, 'cafe0001:1']);
    expect(first.stdout).toMatch(/after:\n {2}\{\n {4}"connection": \{\n {6}"id": "a"\n/);
    const ambiguous = await netauditctl(['audit', 'show', '--dir', dir, 'cafe:1']);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toContain('"cafe:1" names 2 records');
    expect(ambiguous.stderr).toContain('cafe0001:1 connection-add');
    const none = await netauditctl(['audit', 'show', '--dir', dir, '2']);
    expect(none.code).toBe(10);
    expect(none.stderr).toContain('no record of the latest daemon start (boot cafe0002) has seq 2');
    expect((await netauditctl(['audit', 'show', '--dir', dir, 'abc'])).code).toBe(2);
    const daemonOnly = await netauditctl(['-f', 'OP,ORIGIN,CAUSE', 'audit', 'list', '--dir', dir, '--origin', 'daemon']);
    expect(daemonOnly.stdout.split('\n').slice(1).filter(Boolean).map((l) => l.trim().split(/\s+/))).toEqual([['connection-activate', 'daemon', 'autoconnect']]);
  });
});

describe('netauditctl audit export', () => {
  it('writes the trail lines byte for byte, all day files concatenated', async () => {
    const result = await netauditctl(['audit', 'export', '--dir', trail]);
    let whole = '';
    for (const file of await dayFiles(trail)) whole += await readFile(join(trail, file), 'utf8');
    expect(result.stdout).toBe(whole);
    const filtered = await netauditctl(['audit', 'export', '--dir', trail, '--result', 'fail']);
    expect(filtered.stdout).toBe(whole.split('\n').filter((l) => l.includes('"result":"fail"')).map((l) => `${l}\n`).join(''));
  });

  it('writes CSV that parses back, with formula injection guarded', async () => {
    const result = await netauditctl(['audit', 'export', '--dir', trail, '--format', 'csv']);
    expect(result.code).toBe(0);
    const rows = parseCsv(result.stdout);
    expect(rows[0]).toEqual([
      'ts', 'boot', 'seq', 'op', 'origin', 'cause', 'uuid', 'name', 'ifindex', 'iface', 'args', 'changed', 'before', 'after',
      'pid', 'uid', 'result', 'reason', 'cut', 'bus_name', 'exe', 'auth', 'attribution', 'tx', 'prev', 'hash',
    ]);
    expect(rows).toHaveLength(entries.length + 1);
    const column = (name: string): number => rows[0]!.indexOf(name);
    rows.slice(1).forEach((row, i) => {
      const entry = entries[i]!;
      expect(row[column('hash')]).toBe(entry.hash);
      expect(row[column('seq')]).toBe(String(entry.seq));
      expect(row[column('uid')]).toBe(entry.uid === undefined ? '' : String(entry.uid));
    });
    expect(rows[1]![column('changed')]).toBe('');
    expect(rows[2]![column('changed')]).toBe('ipv4.address-data,connection.id');
    expect(rows[1]![column('exe')]).toBe('/usr/bin/busctl');
    expect(rows[3]![column('name')]).toBe("'=1+2");
    expect(rows[4]![column('name')]).toBe(HOSTILE);
  });

  it('writes a file whole, 0600, refusing to replace one without --force', async () => {
    const out = join(bus.dir, 'export.jsonl');
    const first = await netauditctl(['audit', 'export', '--dir', trail, '--op', 'connection-add', '-o', out]);
    expect(first).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    const expected = (await netauditctl(['audit', 'export', '--dir', trail, '--op', 'connection-add'])).stdout;
    expect(await readFile(out, 'utf8')).toBe(expected);
    const again = await netauditctl(['audit', 'export', '--dir', trail, '-o', out]);
    expect(again).toMatchObject({ code: 1, stdout: '', stderr: `netauditctl: ${JSON.stringify(out)} exists; pass --force to replace it\n` });
    expect(await readFile(out, 'utf8')).toBe(expected);
    const forced = await netauditctl(['audit', 'export', '--dir', trail, '-o', out, '--force', '--format', 'csv']);
    expect(forced.code).toBe(0);
    expect(parseCsv(await readFile(out, 'utf8'))).toHaveLength(entries.length + 1);
    // no temporary file left behind
    expect((await readdir(bus.dir)).filter((n) => n.includes('export.jsonl'))).toEqual(['export.jsonl']);
  });
});

describe('netauditctl audit stats', () => {
  it('counts per op, reason and uid, terse golden', async () => {
    const result = await netauditctl(['-t', 'audit', 'stats', '--dir', trail, '--until', 'today', '--utc']);
    const t = (ms: number): string => iso(ms).replace(/:/g, '\\:');
    const d0 = t(today - 3 * DAY + 10 * HOUR);
    const d1 = t(today - 2 * DAY + 10 * HOUR);
    const d2 = t(today - 2 * DAY + 11 * HOUR);
    const d3 = t(today - DAY + 1 * HOUR);
    const d4 = t(today - DAY + 23 * HOUR);
    expect(result.stdout).toBe(
      [
        `all:::5:4:1:${d0}:${d4}`,
        `op:connection-add::2:1:1:${d0}:${d3}`,
        `op:connection-delete::1:1:0:${d2}:${d2}`,
        `op:connection-update::1:1:0:${d1}:${d1}`,
        `op:device-autoconnect::1:1:0:${d4}:${d4}`,
        `reason:not-authorized::1:0:1:${d3}:${d3}`,
        `uid:0:root:4:4:0:${d0}:${d4}`,
        `uid:${nauserUid}:nauser:1:0:1:${d3}:${d3}`,
        '',
      ].join('\n'),
    );
  });

  it('gives JSON objects, and a count of 0 when nothing matches', async () => {
    const result = await netauditctl(['--json', 'audit', 'stats', '--dir', trail, '--op', 'connection-add']);
    const rows = result.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const adds = entries.filter((e) => e.op === 'connection-add');
    expect(rows[0]).toEqual({ kind: 'all', value: null, user: null, count: adds.length, success: adds.filter((e) => e.result === 'success').length, fail: adds.filter((e) => e.result === 'fail').length, first: adds[0]!.ts, last: adds.at(-1)!.ts });
    const none = await netauditctl(['--json', 'audit', 'stats', '--dir', trail, '--since', 'tomorrow']);
    expect(none.stdout).toBe('{"kind":"all","value":null,"user":null,"count":0,"success":0,"fail":0,"first":null,"last":null}\n');
  });
});

describe('reading the trail takes read access only', () => {
  it('lists as nauser from a copy its group can read, and says why it cannot read one it cannot', async () => {
    const nauserGid = Number((await run('id', ['-g', 'nauser'])).stdout.trim());
    const readable = join(bus.dir, 'readable');
    await cp(trail, readable, { recursive: true });
    await chown(readable, 0, nauserGid);
    await chmod(readable, 0o750);
    for (const name of await readdir(readable)) {
      await chown(join(readable, name), 0, nauserGid);
      await chmod(join(readable, name), 0o640);
    }
    const asRoot = await netauditctl(['-t', 'audit', 'list', '--dir', readable]);
    const asNauser = await netauditctl(['-t', 'audit', 'list', '--dir', readable], { uid: 'nauser' });
    expect(asNauser).toMatchObject({ code: 0, stderr: '', stdout: asRoot.stdout });
    expect(asNauser.stdout.split('\n')).toHaveLength(entries.length + 1);

    const closed = join(bus.dir, 'closed');
    await cp(trail, closed, { recursive: true });
    await chmod(closed, 0o700);
    const denied = await netauditctl(['audit', 'list', '--dir', closed], { uid: 'nauser' });
    expect(denied).toMatchObject({
      code: 1,
      stdout: '',
      stderr: `netauditctl: cannot read the audit trail directory ${JSON.stringify(closed)} (EACCES): reading the trail needs read access to its directory and files\n`,
    });
  });
});

describe('the command line of the audit commands', () => {
  it.each(['list', 'export', 'follow', 'stats'])('prints the help of audit %s', async (verb) => {
    const result = await netauditctl(['audit', verb, '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^Usage: netauditctl (\\[OPTION\\]\\.\\.\\. )?audit ${verb} `));
    expect(result.stdout).toContain('--since TIME');
  });

  it.each([
    { args: ['list', '--since', 'last tuesday'], message: '--since: "last tuesday" is not a time (not a form netauditctl knows); use ' },
    { args: ['list', '--op', 'connection-frob'], message: '--op: unknown op "connection-frob"; ops: connection-add, ' },
    { args: ['list', '--uid', 'no-such-user-here'], message: '--uid: no user "no-such-user-here" here; give a uid or a user name' },
    { args: ['list', '--result', 'ok'], message: '--result: "ok" is not success or fail' },
    { args: ['list', '--since', 'today', '--until', 'yesterday'], message: '--since (' },
    { args: ['list', '-n', 'ten'], message: '--lines: "ten" is not a whole number' },
    { args: ['export', '--format', 'xml'], message: '--format: "xml" is not jsonl or csv' },
    { args: ['export', '--force'], message: '--force goes with --output FILE' },
  ])('refuses audit $args with exit 2', async ({ args, message }) => {
    const result = await netauditctl(['audit', ...args, '--dir', trail]);
    expect(result.stdout).toBe('');
    expect(result.stderr.startsWith(`netauditctl: ${message}`)).toBe(true);
    expect(result.stderr).toContain(`Try 'netauditctl audit ${args[0]} --help'.`);
    expect(result.code).toBe(2);
  });

  it('refuses an unknown field, naming the valid ones, before any output', async () => {
    const result = await netauditctl(['-f', 'NAME,COLOUR', 'audit', 'list', '--dir', trail]);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('invalid field "COLOUR"; allowed fields: TIME,OP,RESULT,REASON,UID,PID,NAME,IFACE,ORIGIN,CAUSE,UUID,IFINDEX,ARGS,CHANGED,SEQ,BOOT,TX,SENDER,EXE,CUT,HASH');
    expect(result.code).toBe(2);
  });
});

describe('netauditctl audit follow', () => {
  it('shows the last records, then a change made after it started, and exits 0 on SIGINT', async () => {
    const child = spawn(process.execPath, [cliMain, '-t', '-f', 'OP,NAME,RESULT', 'audit', 'follow', '--dir', trail, '-n', '1'], {
      env: { ...process.env, TZ: 'UTC' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      await waitFor(() => stdout === 'connection-add:nope:fail\n', { what: 'the last record before follow started', timeoutMs: 10_000 });
      await client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [ethernet('follow-me')]);
      await waitFor(() => stdout.includes('connection-add:follow-me:success\n'), { what: 'the new record on follow\'s stdout', timeoutMs: 5_000 });
      expect(stdout).toBe('connection-add:nope:fail\nconnection-add:follow-me:success\n');
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    expect(stderr).toBe('');
  });
});

/** RFC 4180: fields separated by ',', records by CRLF, quoted fields with "" for a quote. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += c;
  }
  expect(field === '' && row.length === 0, 'the CSV ends with CRLF').toBe(true);
  return rows;
}
