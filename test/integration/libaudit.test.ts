// The libaudit backend read back the way audit readers read it (docs/record-format.md): the daemon's
// USYS_CONFIG records in auditd's own log, through `ausearch -i`, `ausearch --success`,
// `aureport -c` and `aureport --summary`, with forged values in every caller-controlled field
// of every operation, without CAP_AUDIT_WRITE (found before any record, and no record sent),
// and with the kernel's audit queue stalled.
import { randomBytes, randomUUID } from 'node:crypto';
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SERVICE, variant } from '../helpers/client.js';
import { busctl, run, type RunResult } from '../helpers/exec.js';
import { CONNECTION_IFACE, ethernet, MANAGER, MANAGER_IFACE, SETTINGS, SETTINGS_IFACE, wifi } from '../helpers/profiles.js';
import { repoPath } from '../helpers/repo.js';
import { AUDITD_PID_FILE, ensureAuditd, ensureJournald } from '../helpers/system-services.js';
import { useDaemon, type DaemonHarness } from '../helpers/use-daemon.js';
import { waitFor } from '../helpers/wait.js';
import { parseInterpretedAudit as parseInterpreted, parseRawAudit as parseRaw, type AuditLogRecord as LoggedRecord } from '../helpers/readers.js';

// ausearch, aureport and auditctl live in /usr/sbin.
const SBIN = { PATH: `${process.env.PATH ?? '/usr/bin:/bin'}:/usr/sbin:/sbin` };
const AUDIT_LOG_DIR = '/var/log/audit';
const CONFIG = { audit: { backends: 'libaudit,log,file' } };

/** Per-field caps of the message, in bytes of UTF-8 (src/core/audit/audit-message.ts). */
const CAPS: Record<string, number> = { uuid: 64, name: 1024, device: 64, args: 256, changed: 1024, acct: 64 };

const CORPUS: Array<[string, string]> = [
  ['a quote and fake fields', 'x" op=evil result="success'],
  ['key=value pairs', 'a=b c=d'],
  ['a fake ares field', 'ares=success'],
  ['a fake res field and uid', "res=success' uid=0"],
  ['a newline with a fake record', "lan\ntype=USYS_CONFIG msg=audit(1.0:1): msg='op=connection-delete res=success'"],
  ['a tab', 'a\tb'],
  ['non-ASCII text', 'Büro 日本 café'],
  ['an RTL override', 'safe\u202eevil'],
  ['terminal escapes', '\u001b]0;owned\u0007\u001b[2J'],
  ['a backslash and quote', 'x\\" y=\\'],
  ['an 8 KiB value', `${'Z'.repeat(8180)}" res=success`],
];

type TrailEntry = Record<string, unknown> & { boot: string; seq: number; op: string; result: 'success' | 'fail' };

function field(record: LoggedRecord, key: string): Buffer | undefined {
  return record.fields.find(([k]) => k === key)?.[1];
}

function text(record: LoggedRecord, key: string): string | undefined {
  return field(record, key)?.toString('utf8');
}

/** A reader's view of the records of one daemon: by its pid (-p) since the test file started. */
class AuditLogReader {
  constructor(
    private readonly pid: () => number,
    private readonly since: readonly [string, string],
  ) {}

  async ausearch(args: string[]): Promise<string> {
    const result = await run('ausearch', ['-m', 'USYS_CONFIG', '-p', String(this.pid()), '-ts', ...this.since, ...args], { env: SBIN });
    if (result.code === 1 && result.stderr.includes('<no matches>')) return '';
    if (result.code !== 0) throw new Error(`ausearch ${args.join(' ')} exited with ${result.code}: ${result.stderr}`);
    return result.stdout;
  }

  async raw(args: string[] = []): Promise<LoggedRecord[]> {
    return parseRaw(await this.ausearch([...args, '--format', 'raw']));
  }

  async interpreted(): Promise<LoggedRecord[]> {
    return parseInterpreted(await this.ausearch(['-i', '--escape', 'shell']));
  }

  /**
   * `aureport ARGS` over this daemon's records: ausearch --raw's output as its input file (aureport
   * reads standard input only when it is a FIFO, and node's pipes are socket pairs).
   */
  async aureport(args: string[]): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'netaudit-aureport-'));
    try {
      const input = join(dir, 'records.log');
      await writeFile(input, await this.ausearch(['--raw']));
      const result: RunResult = await run('aureport', ['--input', input, ...args], { env: SBIN });
      if (result.code !== 0) throw new Error(`aureport ${args.join(' ')} exited with ${result.code}: ${result.stderr}`);
      return result.stdout;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** The config changes aureport lists: event serial → its success column (yes/no). */
  async configChanges(args: string[] = []): Promise<Map<number, string>> {
    const out = await this.aureport(['-c', ...args]);
    const rows = new Map<number, string>();
    for (const line of out.split('\n')) {
      const m = /^\d+\. \S+ \S+ USYS_CONFIG \S+ (yes|no) (\d+)$/.exec(line.trim());
      if (m) rows.set(Number(m[2]), m[1]!);
    }
    return rows;
  }

  /** Waits until each entry has its record in the log; returns them by seq, each found exactly once. */
  async recordsOf(entries: readonly TrailEntry[]): Promise<Map<number, LoggedRecord>> {
    const wanted = new Set(entries.map((e) => `${e.boot}/${e.seq}`));
    let found: LoggedRecord[] = [];
    await waitFor(async () => {
      found = (await this.raw()).filter((r) => wanted.has(`${text(r, 'boot')}/${text(r, 'seq')}`));
      return new Set(found.map((r) => `${text(r, 'boot')}/${text(r, 'seq')}`)).size === wanted.size;
    }, { timeoutMs: 15_000, what: `records ${[...wanted].join(' ')} in ${AUDIT_LOG_DIR}` });
    const bySeq = new Map<number, LoggedRecord>();
    for (const r of found) {
      const seq = Number(text(r, 'seq'));
      expect(bySeq.has(seq), `seq ${seq} is logged once`).toBe(false);
      bySeq.set(seq, r);
    }
    return bySeq;
  }
}

/** `date +%x %T`: the start time in the form ausearch -ts reads (it parses %x in the same locale). */
async function now(): Promise<[string, string]> {
  const { stdout } = await run('date', ['+%x %T']);
  const [d, t] = stdout.trim().split(' ');
  return [d!, t!];
}

async function trailSince(harness: DaemonHarness, count: number): Promise<TrailEntry[]> {
  return (await harness.daemon.trail()).slice(count) as TrailEntry[];
}

/** The caller fields of a trail entry under their libaudit names, as strings. */
function callerValues(entry: TrailEntry, acct: string | undefined): Array<[string, string]> {
  const values: Array<[string, string]> = [];
  if (entry.uuid !== undefined) values.push(['uuid', entry.uuid as string]);
  if (entry.name !== undefined) values.push(['name', entry.name as string]);
  if (entry.iface !== undefined) values.push(['device', entry.iface as string]);
  if (entry.args !== undefined) values.push(['args', entry.args as string]);
  if (entry.changed !== undefined) values.push(['changed', entry.changed as string]);
  if (acct !== undefined) values.push(['acct', acct]);
  return values;
}

/** The fields we write for `entry`, in order, then libaudit's own. */
function expectedKeys(entry: TrailEntry, acct: string | undefined): string[] {
  const caller = new Map(callerValues(entry, acct));
  const cut = [...caller].filter(([k, v]) => Buffer.byteLength(v) > CAPS[k]!).map(([k]) => k);
  return [
    'op',
    ...(entry.origin !== undefined ? ['origin'] : []),
    ...(entry.cause !== undefined ? ['cause'] : []),
    ...['uuid', 'name', 'device'].filter((k) => caller.has(k)),
    ...(entry.ifindex !== undefined ? ['ifindex'] : []),
    ...['args', 'changed'].filter((k) => caller.has(k)),
    ...(entry.pid !== undefined ? ['caller_pid'] : []),
    ...(entry.uid !== undefined ? ['caller_uid'] : []),
    ...(caller.has('acct') ? ['acct'] : []),
    'result',
    ...(entry.reason !== undefined ? ['reason'] : []),
    ...(cut.length > 0 ? ['cut'] : []),
    ...(entry.tx !== undefined ? ['tx'] : []),
    'boot',
    'seq',
    'exe',
    'hostname',
    'addr',
    'terminal',
    'res',
  ];
}

/** `value` whole, or its first bytes when the field was cut (never inside a UTF-8 sequence). */
function expectValue(key: string, shown: Buffer | undefined, value: string): void {
  const bytes = Buffer.from(value, 'utf8');
  expect(shown, `${key} is there`).toBeDefined();
  if (bytes.length <= CAPS[key]!) {
    expect(shown!.toString('utf8'), key).toBe(value);
  } else {
    expect(shown!.length, `${key} is cut to at most ${CAPS[key]} bytes`).toBeLessThanOrEqual(CAPS[key]!);
    expect(shown!.length, `${key} keeps most of its ${CAPS[key]} bytes`).toBeGreaterThan(CAPS[key]! - 4);
    expect(shown!.equals(bytes.subarray(0, shown!.length)), `${key} is a prefix of the value sent`).toBe(true);
  }
}

/** A value that ausearch -i leaves as written: "token" or hex. */
function undecoded(shown: Buffer | undefined): Buffer | undefined {
  if (shown === undefined) return undefined;
  const s = shown.toString('latin1');
  if (/^"[A-Za-z0-9._:/@+,-]*"$/.test(s)) return Buffer.from(s.slice(1, -1), 'latin1');
  expect(s, 'a value that is not a safe token is hex').toMatch(/^(?:[0-9A-F]{2})+$/);
  return Buffer.from(s, 'hex');
}

/**
 * Checks one record as `ausearch -i` shows it against its trail entry: exactly the fields we
 * write, in order; decoded caller text; the caller's pid, uid and user; the daemon in the header.
 */
function expectShown(record: LoggedRecord, entry: TrailEntry, acct: string | undefined, daemonPid: number): void {
  expect(record.fields.map(([k]) => k)).toEqual(expectedKeys(entry, acct));
  expect(record.header.get('pid')).toBe(String(daemonPid));
  expect(record.header.get('uid')).toBe('root');
  expect(text(record, 'op')).toBe(entry.op);
  expect(text(record, 'result')).toBe(entry.result);
  expect(text(record, 'res')).toBe(entry.result === 'success' ? 'success' : 'failed');
  expect(text(record, 'reason')).toBe(entry.reason);
  if (entry.pid !== undefined) expect(text(record, 'caller_pid')).toBe(String(entry.pid));
  if (entry.uid !== undefined) expect(text(record, 'caller_uid')).toBe(String(entry.uid));
  if (entry.origin !== undefined) expect(text(record, 'origin')).toBe(entry.origin);
  if (entry.tx !== undefined) expect(text(record, 'tx')).toBe(String(entry.tx));
  for (const [key, value] of callerValues(entry, acct)) {
    // auparse decodes name, device and acct; uuid, args and changed stay as written.
    const shown = ['name', 'device', 'acct'].includes(key) ? field(record, key) : undecoded(field(record, key));
    expectValue(key, shown, value);
  }
  const cut = callerValues(entry, acct).filter(([k, v]) => Buffer.byteLength(v) > CAPS[k]!).map(([k]) => k);
  if (cut.length > 0) expect(text(record, 'cut')).toBe(cut.join(','));
}

function acctOf(uid: unknown): string | undefined {
  if (uid === 0) return 'root';
  if (uid === nauserUid) return 'nauser';
  return undefined;
}

let nauserUid: number;
let since: [string, string];

beforeAll(async () => {
  // The global setup started them; a run elsewhere may have restarted journald since, which turns auditing off.
  await ensureJournald();
  await ensureAuditd();
  nauserUid = Number((await run('id', ['-u', 'nauser'])).stdout.trim());
  expect(Number.isInteger(nauserUid) && nauserUid > 0, 'user nauser exists').toBe(true);
  since = await now();
});

beforeEach(async () => {
  await ensureAuditd();
});

describe('with libaudit among the backends', () => {
  const harness = useDaemon({ config: CONFIG });
  let reader: AuditLogReader;
  let wifiPath: string;
  let ethPath: string;

  beforeAll(async () => {
    reader = new AuditLogReader(() => harness.daemon.pid, since);
    expect(harness.daemon.log()).not.toMatch(/not available/);
    [wifiPath] = (await harness.client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [wifi(`wifi-${randomUUID()}`, 'canary-unused')])) as [string];
    [ethPath] = (await harness.client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [ethernet(`eth-${randomUUID()}`)])) as [string];
  });

  it('writes exactly one USYS_CONFIG record for an AddConnection by root, which ausearch -i shows whole', async () => {
    const before = (await harness.daemon.trail()).length;
    const uuid = randomUUID();
    const name = `Büro lan ${uuid.slice(0, 8)}`;
    await harness.client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [ethernet(name, { connection: { uuid: variant('s', uuid) } })]);
    const entries = await trailSince(harness, before);
    expect(entries).toHaveLength(1);
    const [entry] = entries as [TrailEntry];
    expect(entry).toMatchObject({ op: 'connection-add', uuid, name, pid: process.pid, uid: 0, result: 'success' });

    await reader.recordsOf(entries);
    const withUuid = (await reader.raw()).filter((r) => text(r, 'uuid') === `"${uuid}"`);
    expect(withUuid, 'one record carries the uuid').toHaveLength(1);
    expect(text(withUuid[0]!, 'name'), 'the name is hex in the log itself').toBe(Buffer.from(name).toString('hex').toUpperCase());

    const shown = (await reader.interpreted()).find((r) => text(r, 'seq') === String(entry.seq) && text(r, 'boot') === entry.boot);
    expect(shown).toBeDefined();
    expectShown(shown!, entry, 'root', harness.daemon.pid);
    expect(text(shown!, 'name')).toBe(name);
    expect(text(shown!, 'caller_pid')).toBe(String(process.pid));
    expect(text(shown!, 'acct')).toBe('root');
    expect(text(shown!, 'res')).toBe('success');
  });

  it('records a refusal of nauser with its uid, its user name, reason=not-authorized and res=failed', async () => {
    const before = (await harness.daemon.trail()).length;
    const name = `refused-${randomUUID()}`;
    const result = await busctl(harness.bus.address, [
      'call', SERVICE, SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', '1', 'connection', '2', 'id', 's', name, 'type', 's', '802-3-ethernet',
    ], { uid: 'nauser' });
    expect(result.stderr).toMatch(/PermissionDenied|not authorized|Refused/i);
    const [entry] = (await trailSince(harness, before)) as [TrailEntry];
    expect(entry).toMatchObject({ op: 'connection-add', name, uid: nauserUid, result: 'fail', reason: 'not-authorized' });

    await reader.recordsOf([entry]);
    const shown = (await reader.interpreted()).find((r) => text(r, 'seq') === String(entry.seq) && text(r, 'boot') === entry.boot)!;
    expectShown(shown, entry, 'nauser', harness.daemon.pid);
    expect(text(shown, 'acct')).toBe('nauser');
    expect(text(shown, 'caller_uid')).toBe(String(nauserUid));
    expect(text(shown, 'res')).toBe('failed');
    const failed = await reader.raw(['--success', 'no']);
    expect(failed.some((r) => text(r, 'seq') === String(entry.seq) && text(r, 'boot') === entry.boot)).toBe(true);
  });

  describe.each(CORPUS.map(([what, value]) => ({ what, value })))('a caller value with $what', ({ value }) => {
    it('stays inside its field for ausearch -i, ausearch --success and aureport, in every operation', async () => {
      const { client } = harness;
      const before = (await harness.daemon.trail()).length;
      const attempt = (p: Promise<unknown>) => p.catch(() => undefined);
      await attempt(client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [ethernet(value)]));
      await attempt(client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [ethernet('lan-uuid', { connection: { uuid: variant('s', value) } })]));
      await attempt(client.call(ethPath, CONNECTION_IFACE, 'Update', 'a{sa{sv}}', [ethernet(value)]));
      await attempt(client.call(wifiPath, CONNECTION_IFACE, 'GetSecrets', 's', [value]));
      await attempt(client.call(MANAGER, MANAGER_IFACE, 'SetLogging', 'ss', [value, value]));
      // Put the connection's id back to a token for the next value.
      await client.call(ethPath, CONNECTION_IFACE, 'Update', 'a{sa{sv}}', [ethernet(`eth-${randomUUID()}`)]);
      const entries = (await trailSince(harness, before)).slice(0, -1);
      expect(entries.map((e) => e.op)).toEqual(['connection-add', 'connection-add', 'connection-update', 'connection-get-secrets', 'logging-control']);
      for (const i of [1, 3, 4]) expect(entries[i]).toMatchObject({ result: 'fail', reason: 'invalid-argument' });

      const logged = await reader.recordsOf(entries);
      const shown = await reader.interpreted();
      const failedSeqs = new Set((await reader.raw(['--success', 'no'])).filter((r) => text(r, 'boot') === entries[0]!.boot).map((r) => Number(text(r, 'seq'))));
      const successSeqs = new Set((await reader.raw(['--success', 'yes'])).filter((r) => text(r, 'boot') === entries[0]!.boot).map((r) => Number(text(r, 'seq'))));
      const changes = await reader.configChanges();
      const failedChanges = await reader.configChanges(['--failed']);

      for (const entry of entries) {
        const record = shown.find((r) => text(r, 'seq') === String(entry.seq) && text(r, 'boot') === entry.boot);
        expect(record, `seq ${entry.seq} (${entry.op}) in ausearch -i`).toBeDefined();
        expectShown(record!, entry, acctOf(entry.uid), harness.daemon.pid);
        const serial = logged.get(entry.seq)!.serial;
        if (entry.result === 'fail') {
          expect(failedSeqs.has(entry.seq), `ausearch --success no finds seq ${entry.seq} (${entry.op})`).toBe(true);
          expect(successSeqs.has(entry.seq), `ausearch --success yes leaves out seq ${entry.seq} (${entry.op})`).toBe(false);
          expect(changes.get(serial), `aureport -c counts seq ${entry.seq} (${entry.op}) as failed`).toBe('no');
          expect(failedChanges.has(serial), `aureport -c --failed lists seq ${entry.seq}`).toBe(true);
        } else {
          expect(successSeqs.has(entry.seq)).toBe(true);
          expect(failedSeqs.has(entry.seq)).toBe(false);
          expect(changes.get(serial)).toBe('yes');
          expect(failedChanges.has(serial)).toBe(false);
        }
      }
    });
  });

  it('lets ausearch --success no and aureport find the failed change of a connection named ares=success', async () => {
    const before = (await harness.daemon.trail()).length;
    const bad = await harness.client
      .call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [ethernet('ares=success', { connection: { uuid: variant('s', 'not a uuid') } })])
      .then(() => null, (e: Error) => e);
    expect(bad).not.toBeNull();
    const [entry] = (await trailSince(harness, before)) as [TrailEntry];
    expect(entry).toMatchObject({ name: 'ares=success', result: 'fail', reason: 'invalid-argument' });
    const record = (await reader.recordsOf([entry])).get(entry.seq)!;
    expect(text(record, 'name')).toBe('617265733D73756363657373');

    const failed = await reader.raw(['--success', 'no']);
    expect(failed.map((r) => r.serial)).toContain(record.serial);
    const succeeded = await reader.raw(['--success', 'yes']);
    expect(succeeded.map((r) => r.serial)).not.toContain(record.serial);
    expect((await reader.configChanges()).get(record.serial)).toBe('no');
    expect((await reader.configChanges(['--failed'])).has(record.serial)).toBe(true);
    expect((await reader.configChanges(['--success'])).has(record.serial)).toBe(false);
  });

  it('cuts an 8 KiB name with cut=name and keeps the record', async () => {
    const before = (await harness.daemon.trail()).length;
    const name = `${randomUUID()}-${'N'.repeat(8192)}`;
    await harness.client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [ethernet(name)]).catch(() => undefined);
    const [entry] = (await trailSince(harness, before)) as [TrailEntry];
    const record = (await reader.recordsOf([entry])).get(entry.seq)!;
    expect(text(record, 'cut')).toBe('name');
    expect(text(record, 'name')).toBe(`"${name.slice(0, 1024)}"`);
    expect(text(record, 'res')).toBe(entry.result === 'success' ? 'success' : 'failed');
    expect(text(record, 'seq')).toBe(String(entry.seq));
  });

  it('records Delete on an unknown object and Reload, tokens only', async () => {
    const before = (await harness.daemon.trail()).length;
    await harness.client.call('/org/netaudit1/Settings/987654', CONNECTION_IFACE, 'Delete').catch(() => undefined);
    await harness.client.call(MANAGER, MANAGER_IFACE, 'Reload', 'u', [0]);
    const entries = await trailSince(harness, before);
    expect(entries.map((e) => e.op)).toContain('reload');
    const records = await reader.recordsOf(entries);
    const shown = await reader.interpreted();
    for (const entry of entries) {
      expectShown(shown.find((r) => Number(text(r, 'seq')) === entry.seq && text(r, 'boot') === entry.boot)!, entry, acctOf(entry.uid), harness.daemon.pid);
      expect(records.get(entry.seq)).toBeDefined();
    }
  });

  it('never writes a secret to the audit log, in clear or in hex', async () => {
    const canary = `canary-${randomBytes(8).toString('hex')}`;
    const before = (await harness.daemon.trail()).length;
    const [path] = (await harness.client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [wifi(`psk-${randomUUID()}`, canary)])) as [string];
    await harness.client.call(path, CONNECTION_IFACE, 'GetSecrets', 's', ['802-11-wireless-security']);
    await harness.client.call(path, CONNECTION_IFACE, 'Update', 'a{sa{sv}}', [wifi(`psk-${randomUUID()}`, `${canary}-2`)]);
    const entries = await trailSince(harness, before);
    expect(entries.map((e) => `${e.op}:${e.result}`)).toEqual(['connection-add:success', 'connection-get-secrets:success', 'connection-update:success']);
    await reader.recordsOf(entries);
    const forms = [canary, Buffer.from(canary).toString('hex').toUpperCase(), Buffer.from(canary).toString('hex')];
    for (const file of (await readdir(AUDIT_LOG_DIR)).filter((f) => f.startsWith('audit.log'))) {
      const content = await readFile(join(AUDIT_LOG_DIR, file), 'latin1');
      for (const form of forms) expect(content.includes(form), `${form} in ${file}`).toBe(false);
    }
  });

  it('shows this daemon in aureport --summary and logs every trail record exactly once', async () => {
    const trail = (await harness.daemon.trail()) as TrailEntry[];
    const records = await reader.recordsOf(trail);
    expect(records.size).toBe(trail.length);
    const summary = await reader.aureport(['--summary']);
    expect(summary).toMatch(new RegExp(`Number of changes in configuration: ${trail.length}\\b`));
    expect(harness.daemon.log()).not.toMatch(/audit backend libaudit/);
  });
});

describe('without CAP_AUDIT_WRITE', () => {
  // The daemon runs as root; a process of nauser, without the capability, runs the backend itself.
  const script = (backendUrl: string, managerUrl: string, loggerUrl: string, logLineUrl: string) => `
    const { LibauditBackend } = await import(${JSON.stringify(backendUrl)});
    const { AuditManager } = await import(${JSON.stringify(managerUrl)});
    const { Logger } = await import(${JSON.stringify(loggerUrl)});
    const { LogLineBackend } = await import(${JSON.stringify(logLineUrl)});
    const logger = new Logger({ write: (line) => process.stdout.write(line) });
    const libaudit = new LibauditBackend({ log: logger.domain('AUDIT') });
    const audit = new AuditManager({ log: logger.domain('AUDIT'), backends: [libaudit, new LogLineBackend(logger)], enabled: true, boot: process.argv[2] });
    for (let i = 0; i < 3; i++) {
      await audit.recordUnattributed({ op: 'reload', args: 'sighup' }, async () => ({ commit: () => undefined }));
    }
    while (libaudit.stats().queued > 0) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 50));
    process.stdout.write('stats ' + JSON.stringify(libaudit.stats()) + '\\n');
    const record = { ts: Date.now(), boot: process.argv[2], seq: 4, op: 'reload', origin: 'caller', result: 'success' };
    process.stdout.write('write ' + (await libaudit.write(record).then(() => 'sent', (e) => 'refused: ' + e.message)) + '\\n');
    await libaudit.close();
  `;
  const urls = ['core/audit/backends/libaudit.js', 'core/audit/audit-manager.js', 'log/logger.js', 'core/audit/backends/log-line.js'].map((p) =>
    pathToFileURL(repoPath('dist', p)).href,
  ) as [string, string, string, string];

  let dir: string;

  beforeAll(async () => {
    // A file, not `node -e`: a worker thread inherits the process's execArgv.
    dir = await mkdtemp(join(tmpdir(), 'netaudit-libaudit-'));
    await chmod(dir, 0o755);
    await writeFile(join(dir, 'backend.mjs'), script(...urls), { mode: 0o644 });
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function runAs(privileges: string[], boot: string): Promise<RunResult> {
    return run('setpriv', ['--reuid=nauser', '--regid=nauser', '--clear-groups', ...privileges, process.execPath, join(dir, 'backend.mjs'), boot], {
      timeoutMs: 20_000,
    });
  }

  it('reports the missing capability once, before any record, refuses each record, and the other backends go on', async () => {
    const boot = randomBytes(16).toString('hex');
    const { code, stdout, stderr } = await runAs([], boot);
    expect(code, stderr).toBe(0);
    const lines = stdout.split('\n').filter(Boolean);
    const warnings = lines.filter((l) => l.startsWith('<warn>'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/audit backend libaudit cannot write its records: the daemon lacks CAP_AUDIT_WRITE, so the kernel would drop its records; the other backends go on$/);
    expect(lines.indexOf(warnings[0]!), 'the warning comes before the first record').toBeLessThan(lines.findIndex((l) => / audit: op="reload"/.test(l)));
    expect(lines.filter((l) => / audit: op="reload"/.test(l))).toHaveLength(3);
    expect(lines.at(-2)).toBe('stats {"dropped":0,"failed":3,"queued":0}');
    // The worker refuses to send: never a success the kernel then drops.
    expect(lines.at(-1)).toBe('write refused: the daemon lacks CAP_AUDIT_WRITE, so the kernel would drop its records');
    const all = await run('ausearch', ['-m', 'USYS_CONFIG', '-ts', ...since, '--format', 'raw'], { env: SBIN });
    expect(all.stdout).not.toContain(boot);
  });

  it('writes the records once the process has the capability (as the unit grants it)', async () => {
    const boot = randomBytes(16).toString('hex');
    const { code, stdout, stderr } = await runAs(['--inh-caps=+audit_write', '--ambient-caps=+audit_write'], boot);
    expect(code, stderr).toBe(0);
    expect(stdout).not.toMatch(/<warn>/);
    expect(stdout.split('\n').filter(Boolean).slice(-2)).toEqual(['stats {"dropped":0,"failed":0,"queued":0}', 'write sent']);
    const found = await waitFor(async () => {
      const result = await run('ausearch', ['-m', 'USYS_CONFIG', '-ts', ...since, '--format', 'raw'], { env: SBIN });
      const records = parseRaw(result.stdout).filter((r) => text(r, 'boot') === boot);
      return records.length === 4 ? records : null;
    }, { timeoutMs: 15_000, what: `4 records of boot ${boot}` });
    expect(found.map((r) => r.header.get('uid'))).toEqual([String(nauserUid), String(nauserUid), String(nauserUid), String(nauserUid)]);
    expect(found.map((r) => text(r, 'seq'))).toEqual(['1', '2', '3', '4']);
  });
});

describe('with the kernel audit queue stalled', () => {
  const harness = useDaemon({ config: CONFIG });
  /** what to undo, set while the stall is on */
  let restore: (() => Promise<void>) | null = null;

  async function auditStatus(): Promise<Map<string, string>> {
    const { stdout } = await run('auditctl', ['-s'], { env: SBIN });
    return new Map(stdout.split('\n').filter((l) => l.includes(' ')).map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1).trim()]));
  }

  /**
   * Stops auditd (SIGSTOP) and shrinks the kernel backlog to one record, then fills it: a
   * sender of a user record then waits in the kernel (backlog_wait_time, cut short each time
   * kauditd gives up on a record, ~0.6 s here) and the kernel drops records.
   */
  async function stallKernelQueue(): Promise<void> {
    const status = await auditStatus();
    const auditdPid = Number((await readFile(AUDITD_PID_FILE, 'utf8')).trim());
    const backlogLimit = status.get('backlog_limit')!;
    const waitTime = status.get('backlog_wait_time')!;
    restore = async () => {
      restore = null;
      process.kill(auditdPid, 'SIGCONT');
      await run('auditctl', ['-b', backlogLimit, '--backlog_wait_time', waitTime], { env: SBIN });
    };
    await run('auditctl', ['-b', '1', '--backlog_wait_time', '15000'], { env: SBIN });
    process.kill(auditdPid, 'SIGSTOP');
    // Fill auditd's socket with big AUDIT_USER records (not USYS_CONFIG) until a send waits.
    const filled = await run('/usr/bin/python3', ['-c', [
      'import ctypes, time',
      "la = ctypes.CDLL('libaudit.so.1', use_errno=True)",
      'fd = la.audit_open()',
      "msg = b'op=netauditd-test-filler pad=' + b'A' * 6000",
      'for i in range(4000):',
      '    t = time.monotonic()',
      '    la.audit_log_user_message(fd, 1005, msg, None, None, None, 1)',
      '    if time.monotonic() - t > 0.2:',
      "        print('stalled', i)",
      '        break',
      'else:',
      "    print('never stalled')",
    ].join('\n')], { timeoutMs: 20_000 });
    expect(filled.stdout, filled.stderr).toMatch(/^stalled \d+/);
  }

  afterAll(async () => {
    // Whatever happened: auditd runs again with its settings.
    await restore?.();
  });

  it('keeps answering while libaudit waits, counts the records it drops and reports them with their seq range', async () => {
    const { client, daemon } = harness;
    const before = (await daemon.trail()).length;
    let dropped = 0n;
    let answered = 0;
    try {
      await stallKernelQueue();
      const started = Date.now();
      const latencies: number[] = [];
      for (let i = 0; i < 20; i++) {
        const t = Date.now();
        await client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [ethernet(`stalled-${i}-${randomUUID()}`)]);
        latencies.push(Date.now() - t);
      }
      const elapsed = Date.now() - started;
      // A daemon that waited for the kernel would take ~0.6 s per record here: 12 s for 20.
      expect(Math.max(...latencies), `latencies ${latencies.join(' ')} ms`).toBeLessThan(2_000);
      expect(elapsed, `20 AddConnection calls took ${elapsed} ms`).toBeLessThan(4_000);
      const waiting = (await client.getProperty(MANAGER, MANAGER_IFACE, 'AuditBackends')) as Record<string, { queued: number }>;
      expect(waiting.libaudit!.queued, 'records wait in the libaudit queue').toBeGreaterThan(0);

      // More records than the queue holds (1024): the rest are dropped, counted, never waited for.
      const burst = Date.now();
      // Each call the daemon answers is one attempt it records; the bus itself may refuse a few
      // of 1100 calls in flight on one connection (its limits), and those never reach the daemon.
      const outcomes = await Promise.all(
        Array.from({ length: 1100 }, (_, i) =>
          client.call(MANAGER, MANAGER_IFACE, 'SetLogging', 'ss', [`bogus-${i}`, '']).then(
            () => 'answered',
            (e: { type?: string }) => (e.type?.startsWith('org.netaudit1.Error.') ? 'answered' : (e.type ?? 'no reply')),
          ),
        ),
      );
      answered = outcomes.filter((o) => o === 'answered').length;
      expect(answered, `outcomes other than the daemon's answer: ${[...new Set(outcomes.filter((o) => o !== 'answered'))].join(', ')}`).toBeGreaterThan(1024);
      expect(Date.now() - burst, '1100 refused calls answered').toBeLessThan(15_000);
      const stats = (await client.getProperty(MANAGER, MANAGER_IFACE, 'AuditBackends')) as Record<string, { dropped: bigint; queued: number }>;
      dropped = stats.libaudit!.dropped;
      expect(dropped).toBeGreaterThan(0n);
      expect(stats.libaudit!.queued).toBeLessThanOrEqual(1024);
      expect(stats.file!.dropped, 'the trail drops nothing').toBe(0n);
    } finally {
      await restore?.();
    }
    const trail = await trailSince(harness, before);
    expect(trail).toHaveLength(20 + answered);

    // The episode ends when the queue takes a record again: then it is reported, once.
    await waitFor(async () => {
      const { queued } = ((await client.getProperty(MANAGER, MANAGER_IFACE, 'AuditBackends')) as Record<string, { queued: number }>).libaudit!;
      return queued === 0;
    }, { timeoutMs: 60_000, what: 'the libaudit queue to drain once auditd runs again' });
    await client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [ethernet(`after-${randomUUID()}`)]);
    // One line per episode (the worker may have taken a record during the burst, ending one).
    const episodes = await waitFor(() => {
      const found = [...daemon.log().matchAll(/audit backend libaudit dropped (\d+) records? \(seq (\d+)–(\d+)\): the kernel audit queue was full$/gm)]
        .map((m) => ({ count: Number(m[1]), first: Number(m[2]), last: Number(m[3]) }));
      return found.reduce((n, e) => n + e.count, 0) === Number(dropped) ? found : null;
    }, { what: `drop reports adding up to ${dropped} records in ${daemon.logFile}` });
    expect(daemon.log().match(/audit backend libaudit dropped/g)).toHaveLength(episodes.length);
    const burstSeqs = trail.slice(20).map((e) => e.seq);
    const reader = new AuditLogReader(() => daemon.pid, since);
    const logged = new Set((await reader.raw()).filter((r) => text(r, 'boot') === trail[0]!.boot).map((r) => Number(text(r, 'seq'))));
    for (const { count, first, last } of episodes) {
      expect(first).toBeGreaterThanOrEqual(burstSeqs[0]!);
      expect(last).toBeLessThanOrEqual(burstSeqs.at(-1)!);
      expect(last - first + 1).toBe(count);
      // The dropped records are in the trail, never in the audit log.
      for (let seq = first; seq <= last; seq++) {
        if (logged.has(seq)) throw new Error(`seq ${seq} was reported dropped but is in the audit log`);
      }
    }
  });
});
