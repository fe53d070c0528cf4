// Forged caller values in every op, read back from all four audit backends as their readers parse
// them (docs/record-format.md): the trail (JSON.parse), the log line (key="value" unescaped), the journal
// (`journalctl -o json --all`, byte-exact) and auditd's log (`ausearch` raw and `-i --escape shell`,
// `ausearch --success`, `aureport -c`, `aureport --summary`). One daemon runs with
// backends=libaudit,journal,log,file; the records of every test are checked in every backend at
// the end of the file.
//
// The caller-controlled values that reach a record, by op (src/core, src/bus):
// - connection-add (AddConnection, AddConnectionUnsaved): `name` and `uuid` as sent, before
//   validation, so a refused id or uuid is recorded as sent; `args` is the token `unsaved`.
//   connection.interface-name is caller text but is not recorded (its error message quotes it).
// - connection-add-activate: `name`, `uuid` as sent; `iface` is the resolved device's kernel name.
// - connection-update (Update, UpdateUnsaved, Save): `name` as sent; `uuid` and `changed` only
//   after validation: `changed` lists known setting.property keys only, since an unknown setting
//   or property name is refused (InvalidArgument) before the diff; `args` is `unsaved` / `save`.
// - connection-delete, -clear-secrets, -activate, -deactivate, device-disconnect: the stored
//   profile's id (`name`, caller text from an earlier Add/Update) and uuid; `iface` the device's
//   kernel name (chosen by whoever created the link: quotes, `=`, `$`, non-ASCII, control
//   characters); activation's specific_object is not recorded.
// - connection-get-secrets: `args` is the setting name sent, unvalidated.
// - device-delete, device-managed, device-autoconnect: `iface` the kernel name; `args` on/off, or
//   absent when the value is not a boolean variant.
// - logging-control: `args` is `LEVEL:DOMAINS` as sent.
// - reload: `args` a token, or the unknown flags as a decimal number.
// - networking-control, radio-control, sleep-control: `args` tokens only (radio-control: absent
//   for a non-boolean variant).
// - `reason`: always one token of a fixed list, never caller text. D-Bus error messages quote
//   caller text (JSON-quoted); the daemon's other log lines must keep it on one line, unforged.
import { createHash, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { profile } from '../helpers/activation.js';
import { variant } from '../helpers/client.js';
import { DEVICE_IFACE, pathOf } from '../helpers/devices.js';
import { run } from '../helpers/exec.js';
import { CONNECTION_IFACE, ethernet, MANAGER, MANAGER_IFACE, SETTINGS, SETTINGS_IFACE } from '../helpers/profiles.js';
import {
  AuditLogReader,
  auditValues,
  ausearchNow,
  journalBytes,
  journalEntries,
  LOG_LINE_PREFIX,
  logAuditLines,
  logValueCut,
  parseLogLine,
  unescapeLogValue,
  type AuditLogRecord,
  type JournalEntry,
} from '../helpers/readers.js';
import { dayFiles, TRAIL_KEYS } from '../helpers/trail.js';
import { ensureAuditd, ensureJournald } from '../helpers/system-services.js';
import { useDaemon } from '../helpers/use-daemon.js';
import { waitFor } from '../helpers/wait.js';

const harness = useDaemon({ config: { audit: { backends: 'libaudit,journal,log,file' } } });

type TrailRecord = Record<string, unknown> & { boot: string; seq: number; op: string; result: 'success' | 'fail' };

/** Values for the main fields (name, uuid, args): each built to end its field, start another or fool a reader. */
const CORPUS: Array<[string, string]> = [
  ['a quote and fake fields', 'x" op=evil result="success'],
  ['key=value pairs', 'a=b c=d'],
  ['a fake ares field', 'ares=success'],
  ['a fake res field and uid', "res=success' uid=0"],
  ['newlines with a fake log line, journal field and audit record',
    'lan\n<info>  [1.0] audit: op="connection-delete" result="success"\nNETAUDIT_RESULT=success\ntype=USYS_CONFIG msg=audit(1.0:1): msg=\'op=x res=success\''],
  ['a tab and a carriage return', 'a\tb\rc'],
  ['non-ASCII text', 'Büro 日本 café'],
  ['an RTL override', 'safe\u202eevil'],
  ['Unicode line separators', 'a\u2028b\u2029c\u0085d'],
  ['terminal escapes', '\u001b]0;owned\u0007\u001b[2J'],
  ['a backslash and quote', 'x\\" y=\\'],
  ['shell syntax', "$(id) `id` | ; 'q'"],
  ['a token that looks like hex', '617265733D73756363657373'],
  ['a token with commas', 'ipv4.method,connection.id'],
  ['an empty string', ''],
  ['a forged log cut marker', 'lan...[7 more characters]'],
  ['a backslash and a forged log cut marker', 'lan\\...[7 more characters]'],
  ['an 8 KiB value', `${'Z'.repeat(8180)}" res=success`],
];

/** Kernel link names (1-15 bytes, no whitespace, "/" or ":"), for `iface`. */
const LINK_NAMES: Array<[string, string]> = [
  ['a quote and =', 'x"y=z'],
  ['a fake ares field', 'ares=success'],
  ['a fake res field', "r'res=failed"],
  ['shell syntax', '$(id)`x`'],
  ['a backslash and quote', 'a\\"b'],
  ['a terminal escape', '\u001b[2Jx'],
  ['a bell and DEL', 'b\u0007\u007fc'],
  ['non-ASCII text', 'Bü日'],
  ['an RTL override', 's\u202ee'],
  ['a line separator', 'n\u2028'],
  ['safe token characters', 'a,b.c-d@e+f'],
];

/** the reasons of docs/record-format.md (src/core/errors.ts): a record's reason is one of them, never caller text. */
const REASONS = new Set([
  'not-authorized', 'caller-unknown', 'polkit-unavailable', 'invalid-argument', 'invalid-config', 'uuid-exists', 'unknown-connection',
  'unknown-device', 'not-supported', 'kernel-error', 'already-asleep-or-awake', 'already-enabled-or-disabled', 'not-active',
  'networking-disabled', 'asleep', 'device-unmanaged', 'device-removed', 'incompatible-device', 'no-wifi-device',
  'audit-trail-unavailable', 'io-error', 'failed',
]);

/** Characters kept in a record's caller value (MAX_VALUE_LENGTH, src/core/audit/record.ts). */
const MAX_VALUE_LENGTH = 4096;
/** Characters of a value the log line shows before its cut marker (src/core/audit/encode.ts). */
const MAX_LOG_VALUE = 1024;
/** Per-field caps of the libaudit message, in bytes of UTF-8 (src/core/audit/audit-message.ts). */
const LIBAUDIT_CAPS: Record<string, number> = { uuid: 64, name: 1024, device: 64, args: 256, changed: 1024, acct: 64 };

/** A raw character a log line must not hold: controls, format characters (bidi), line and paragraph separators. */
const RAW_UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

const kept = (value: string): string => value.slice(0, MAX_VALUE_LENGTH);

/** What each record of this file's tests was, by seq, for the messages of the backend checks. */
const labels = new Map<number, string>();

let journalSince: string;
let auditSince: [string, string];
let reader: AuditLogReader;

beforeAll(async () => {
  // The global setup started them; another file may have restarted journald since, which turns auditing off.
  await ensureJournald();
  await ensureAuditd();
  journalSince = `@${Math.floor(Date.now() / 1000) - 1}`;
  auditSince = await ausearchNow();
  reader = new AuditLogReader(() => harness.daemon.pid, () => auditSince);
});

async function trail(): Promise<TrailRecord[]> {
  return (await harness.daemon.trail()) as TrailRecord[];
}

/** Runs `call` (its error, if any, ignored) and returns the records it added, labelled `label`. */
async function recorded(label: string, call: () => Promise<unknown>): Promise<{ records: TrailRecord[]; reply: unknown[] | undefined }> {
  const before = (await trail()).length;
  const reply = (await call().catch(() => undefined)) as unknown[] | undefined;
  const records = (await trail()).slice(before);
  for (const r of records) labels.set(r.seq, label);
  return { records, reply };
}

/**
 * `call`'s one record (kernel changes may add an overturning fail record: the last is returned).
 * The daemon's own records that follow from it (a teardown when a deleted link takes its
 * connection with it) are checked with every other record, not here.
 */
async function one(label: string, op: string, call: () => Promise<unknown>): Promise<TrailRecord & { reply?: unknown[] }> {
  const { records: all, reply } = await recorded(label, call);
  // The daemon's own records and the external ones of the test's `ip` commands are checked with every other record, not here.
  const records = all.filter((r) => (r as { origin?: string }).origin === 'caller');
  expect(records.length, `${label}: records`).toBeGreaterThanOrEqual(1);
  expect(records.length, `${label}: records`).toBeLessThanOrEqual(2);
  for (const r of records) expect(r.op, label).toBe(op);
  return { ...records.at(-1)!, ...(reply ? { reply } : {}) };
}

/** Checks that no text field of `record` holds `value` (a caller value that this op does not record). */
function expectNoCallerText(record: TrailRecord, value: string, label: string): void {
  if (value.length < 3) return;
  for (const [key, v] of Object.entries(record)) {
    if (typeof v === 'string') expect(v.includes(value), `${label}: ${key} holds the value`).toBe(false);
  }
}

describe.each(CORPUS.map(([what, value]) => ({ what, value })))('a caller value with $what', ({ what, value }) => {
  it('is recorded as sent in name, uuid and args of every connection op, and nowhere else', async () => {
    const call = harness.client.call.bind(harness.client);
    const tag = (op: string): string => `${op} with ${what}`;

    const add = await one(tag('AddConnection name'), 'connection-add', () => call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [ethernet(value)]));
    expect(add).toMatchObject({ name: kept(value) });
    const unsaved = await one(tag('AddConnectionUnsaved name'), 'connection-add', () =>
      call(SETTINGS, SETTINGS_IFACE, 'AddConnectionUnsaved', 'a{sa{sv}}', [ethernet(`${value}~u`)]));
    expect(unsaved).toMatchObject({ name: kept(`${value}~u`), args: 'unsaved' });
    const uuid = await one(tag('AddConnection uuid'), 'connection-add', () =>
      call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [ethernet('lan', { connection: { uuid: variant('s', value) } })]));
    expect(uuid).toMatchObject({ uuid: kept(value), result: 'fail', reason: 'invalid-argument' });
    const ifname = await one(tag('AddConnection interface-name'), 'connection-add', () =>
      call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [ethernet(`if-${randomUUID()}`, { connection: { 'interface-name': variant('s', value) } })]));
    expectNoCallerText(ifname, value, tag('AddConnection interface-name'));

    const id = `target-${randomUUID()}`;
    const [target] = (await call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [ethernet(id)])) as [string];
    const update = await one(tag('Update name'), 'connection-update', () => call(target, CONNECTION_IFACE, 'Update', 'a{sa{sv}}', [ethernet(value)]));
    expect(update).toMatchObject({ name: kept(value) });
    if (update.result === 'success') expect(update.changed).toBe('connection.id');
    else expect(update).not.toHaveProperty('changed');
    // Unknown setting and property names are refused before the diff: they never reach `changed`.
    const setting = await one(tag('Update setting name'), 'connection-update', () =>
      call(target, CONNECTION_IFACE, 'Update', 'a{sa{sv}}', [{ ...ethernet('renamed'), [value]: { x: variant('s', 'y') } }]));
    expect(setting).toMatchObject({ name: 'renamed', result: 'fail', reason: 'invalid-argument' });
    expect(setting).not.toHaveProperty('changed');
    const property = await one(tag('Update property name'), 'connection-update', () =>
      call(target, CONNECTION_IFACE, 'Update', 'a{sa{sv}}', [ethernet('renamed', { ipv4: { [value]: variant('s', 'y') } })]));
    expect(property).toMatchObject({ name: 'renamed', result: 'fail', reason: 'invalid-argument' });
    expect(property).not.toHaveProperty('changed');
    const updateUnsaved = await one(tag('UpdateUnsaved name'), 'connection-update', () =>
      call(target, CONNECTION_IFACE, 'UpdateUnsaved', 'a{sa{sv}}', [ethernet(value)]));
    expect(updateUnsaved).toMatchObject({ name: kept(value), args: 'unsaved' });
    // The stored id is the value when an update took it: the ops below record it as the name.
    const stored = update.result === 'success' || updateUnsaved.result === 'success' ? value : id;
    const save = await one(tag('Save'), 'connection-update', () => call(target, CONNECTION_IFACE, 'Save'));
    expect(save).toMatchObject({ name: stored, args: 'save', result: 'success' });
    const secrets = await one(tag('GetSecrets setting'), 'connection-get-secrets', () => call(target, CONNECTION_IFACE, 'GetSecrets', 's', [value]));
    expect(secrets).toMatchObject({ name: stored, args: kept(value) });
    // "" asks for the secrets of every setting, as in NetworkManager.
    if (value !== '') expect(secrets).toMatchObject({ result: 'fail', reason: 'invalid-argument' });
    const clear = await one(tag('ClearSecrets'), 'connection-clear-secrets', () => call(target, CONNECTION_IFACE, 'ClearSecrets'));
    expect(clear).toMatchObject({ name: stored });
    const activate = await one(tag('ActivateConnection'), 'connection-activate', () => call(MANAGER, MANAGER_IFACE, 'ActivateConnection', 'ooo', [target, '/', '/']));
    expect(activate).toMatchObject({ name: stored, result: 'fail' });
    const addActivate = await one(tag('AddAndActivateConnection name'), 'connection-add-activate', () =>
      call(MANAGER, MANAGER_IFACE, 'AddAndActivateConnection', 'a{sa{sv}}oo', [profile(value, 'ethernet', { ifname: 'nodev0' }), '/', '/']));
    expect(addActivate).toMatchObject({ name: kept(value), result: 'fail' });
    const level = await one(tag('SetLogging level'), 'logging-control', () => call(MANAGER, MANAGER_IFACE, 'SetLogging', 'ss', [value, '']));
    expect(level).toMatchObject({ args: kept(`${value}:`) });
    if (value !== '') expect(level).toMatchObject({ result: 'fail', reason: 'invalid-argument' });
    const domains = await one(tag('SetLogging domains'), 'logging-control', () => call(MANAGER, MANAGER_IFACE, 'SetLogging', 'ss', ['', value]));
    expect(domains).toMatchObject({ args: kept(`:${value}`) });
    if (value !== '') expect(domains).toMatchObject({ result: 'fail', reason: 'invalid-argument' });
    // A property written with a string where a boolean belongs: no args, and the value nowhere.
    const radio = await one(tag('WirelessEnabled as a string'), 'radio-control', () => harness.client.setProperty(MANAGER, MANAGER_IFACE, 'WirelessEnabled', 's', value));
    expect(radio).toMatchObject({ result: 'fail', reason: 'invalid-argument' });
    expect(radio).not.toHaveProperty('args');
    expectNoCallerText(radio, value, tag('WirelessEnabled as a string'));
    const managed = await one(tag('Managed as a string'), 'device-managed', () => harness.client.setProperty(pathOf(1), DEVICE_IFACE, 'Managed', 's', value));
    expect(managed).toMatchObject({ ifindex: 1, iface: 'lo', result: 'fail', reason: 'invalid-argument' });
    expect(managed).not.toHaveProperty('args');
    const del = await one(tag('Delete'), 'connection-delete', () => call(target, CONNECTION_IFACE, 'Delete'));
    expect(del).toMatchObject({ name: stored, result: 'success' });
    for (const created of [add, unsaved, ifname]) {
      if (created.result !== 'success') continue;
      const [path] = created.reply as [string];
      expect((await one(tag('Delete'), 'connection-delete', () => call(path, CONNECTION_IFACE, 'Delete'))).result).toBe('success');
    }
  });
});

describe.each(LINK_NAMES.map(([what, name], i) => ({ what, name, i })))('a link named with $what', ({ what, name, i }) => {
  it('is the iface of every device and activation op', async () => {
    const { client } = harness;
    const ns = harness.daemon.netns;
    const peer = `fpeer${i}`;
    const added = await run('ip', ['-n', ns, 'link', 'add', name, 'type', 'veth', 'peer', 'name', peer]);
    expect(added.code, added.stderr).toBe(0);
    // sysfs, not `ip -j`: iproute2 writes control characters of a name raw into its JSON.
    const sys = await run('ip', ['netns', 'exec', ns, 'cat', `/sys/class/net/${name}/ifindex`]);
    expect(sys.code, sys.stderr).toBe(0);
    const ifindex = Number(sys.stdout.trim());
    await waitFor(async () => ((await client.call(MANAGER, MANAGER_IFACE, 'GetDevices')) as [string[]])[0].includes(pathOf(ifindex)), {
      timeoutMs: 5_000,
      what: `the link ${JSON.stringify(name)} (ifindex ${ifindex}) on the bus`,
    });
    const device = pathOf(ifindex);
    const tag = (op: string): string => `${op} on a link with ${what}`;
    const onLink = { ifindex, iface: name };

    const autoconnect = await one(tag('Autoconnect'), 'device-autoconnect', () => client.setProperty(device, DEVICE_IFACE, 'Autoconnect', 'b', false));
    expect(autoconnect).toMatchObject({ ...onLink, args: 'off', result: 'success' });
    const managed = await one(tag('Managed as a string'), 'device-managed', () => client.setProperty(device, DEVICE_IFACE, 'Managed', 's', name));
    expect(managed).toMatchObject({ ...onLink, result: 'fail', reason: 'invalid-argument' });
    expect(managed).not.toHaveProperty('args');

    // A profile's interface-name holds no control character: such a link is named by its device path.
    const named = !/[\u0000-\u001f\u007f]/.test(name);
    const ifname = named ? { ifname: name } : {};
    const [conn] = (await client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [profile(`on-link-${i}`, 'ethernet', ifname)])) as [string];
    const first = await one(tag('ActivateConnection'), 'connection-activate', () => client.call(MANAGER, MANAGER_IFACE, 'ActivateConnection', 'ooo', [conn, named ? '/' : device, '/']));
    expect(first).toMatchObject({ ...onLink, name: `on-link-${i}`, result: 'success' });
    const deactivate = await one(tag('DeactivateConnection'), 'connection-deactivate', () => client.call(MANAGER, MANAGER_IFACE, 'DeactivateConnection', 'o', [first.reply![0]]));
    expect(deactivate).toMatchObject({ ...onLink, result: 'success' });
    const byDevice = await one(tag('ActivateConnection on the device'), 'connection-activate', () => client.call(MANAGER, MANAGER_IFACE, 'ActivateConnection', 'ooo', [conn, device, '/']));
    expect(byDevice).toMatchObject({ ...onLink, result: 'success' });
    const disconnect = await one(tag('Disconnect'), 'device-disconnect', () => client.call(device, DEVICE_IFACE, 'Disconnect'));
    expect(disconnect).toMatchObject({ ...onLink, name: `on-link-${i}`, result: 'success' });
    const addActivate = await one(tag('AddAndActivateConnection'), 'connection-add-activate', () =>
      client.call(MANAGER, MANAGER_IFACE, 'AddAndActivateConnection', 'a{sa{sv}}oo', [profile(`aa-${i}`, 'ethernet', ifname), named ? '/' : device, '/']));
    expect(addActivate).toMatchObject({ ...onLink, name: `aa-${i}`, result: 'success' });
    const remove = await one(tag('Device.Delete'), 'device-delete', () => client.call(device, DEVICE_IFACE, 'Delete'));
    expect(remove).toMatchObject({ ...onLink, result: 'success' });
    const gone = await one(tag('Autoconnect of the deleted link'), 'device-autoconnect', () => client.setProperty(device, DEVICE_IFACE, 'Autoconnect', 'b', true));
    expect(gone).toMatchObject({ ifindex, result: 'fail' });
    for (const path of [conn, addActivate.reply![0] as string]) await client.call(path, CONNECTION_IFACE, 'Delete');
  });
});

describe('ops whose arguments are tokens', () => {
  it('record on/off, sleep/wake and reload flags as tokens, and unknown flags as a number', async () => {
    const call = harness.client.call.bind(harness.client);
    const records = [
      await one('Enable(false)', 'networking-control', () => call(MANAGER, MANAGER_IFACE, 'Enable', 'b', [false])),
      await one('Enable(false) again', 'networking-control', () => call(MANAGER, MANAGER_IFACE, 'Enable', 'b', [false])),
      await one('Enable(true)', 'networking-control', () => call(MANAGER, MANAGER_IFACE, 'Enable', 'b', [true])),
      await one('Sleep(true)', 'sleep-control', () => call(MANAGER, MANAGER_IFACE, 'Sleep', 'b', [true])),
      await one('Sleep(false)', 'sleep-control', () => call(MANAGER, MANAGER_IFACE, 'Sleep', 'b', [false])),
      await one('WirelessEnabled false', 'radio-control', () => harness.client.setProperty(MANAGER, MANAGER_IFACE, 'WirelessEnabled', 'b', false)),
      await one('Reload(0x80000000)', 'reload', () => call(MANAGER, MANAGER_IFACE, 'Reload', 'u', [0x8000_0000])),
      await one('Reload(2)', 'reload', () => call(MANAGER, MANAGER_IFACE, 'Reload', 'u', [2])),
      await one('ReloadConnections', 'reload', () => call(SETTINGS, SETTINGS_IFACE, 'ReloadConnections')),
    ];
    expect(records.map((r) => `${r.args as string}:${r.result}`)).toEqual([
      'off:success', 'off:fail', 'on:success', 'sleep:success', 'wake:success', 'off:success', '2147483648:fail', 'connections:success', 'connections:success',
    ]);
  });
});

// ---- every record of this daemon, read back from every backend ---------------------------

/** The record fields each backend carries, in the log line's order (src/core/audit/backends/log-line.ts). */
const LOG_KEYS = ['op', 'origin', 'cause', 'uuid', 'name', 'ifindex', 'iface', 'args', 'changed', 'pid', 'uid', 'attribution', 'result', 'reason', 'cut'] as const;
const BARE_LOG_KEYS = new Set(['ifindex', 'pid', 'uid']);

const JOURNAL_FIELD: Record<string, string> = {
  op: 'NETAUDIT_OP', origin: 'NETAUDIT_ORIGIN', cause: 'NETAUDIT_CAUSE', result: 'NETAUDIT_RESULT', reason: 'NETAUDIT_REASON', uuid: 'NETAUDIT_CONNECTION_UUID', name: 'NETAUDIT_CONNECTION_ID',
  ifindex: 'NETAUDIT_IFINDEX', iface: 'NETAUDIT_IFACE', args: 'NETAUDIT_ARGS', changed: 'NETAUDIT_CHANGED', pid: 'NETAUDIT_CALLER_PID',
  uid: 'NETAUDIT_CALLER_UID', attribution: 'NETAUDIT_ATTRIBUTION', seq: 'NETAUDIT_SEQ', boot: 'NETAUDIT_BOOT', cut: 'NETAUDIT_CUT', tx: 'NETAUDIT_TX',
  before: 'NETAUDIT_BEFORE', after: 'NETAUDIT_AFTER',
};

/** A record field as journald gets it: before and after as their JSON text, the others as text. */
function journalText(record: TrailRecord, key: string): string {
  return key === 'before' || key === 'after' ? JSON.stringify(record[key]) : String(record[key]);
}

function labelOf(record: TrailRecord): string {
  return `seq ${record.seq} (${labels.get(record.seq) ?? record.op})`;
}

/** The daemon log's audit lines once there is one per trail record (the log is written off the event loop, after the trail). */
async function auditLinesOfTrail(count: number): Promise<string[]> {
  return waitFor(() => {
    const lines = logAuditLines(harness.daemon.log());
    return lines.length >= count ? lines : null;
  }, { what: `${count} audit lines in the daemon log` });
}

/** The caller values of a record under their libaudit field names. */
function libauditCallerValues(record: TrailRecord): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (record.uuid !== undefined) out.push(['uuid', record.uuid as string]);
  if (record.name !== undefined) out.push(['name', record.name as string]);
  if (record.iface !== undefined) out.push(['device', record.iface as string]);
  if (record.args !== undefined) out.push(['args', record.args as string]);
  if (record.changed !== undefined) out.push(['changed', record.changed as string]);
  if (record.uid === 0) out.push(['acct', 'root']);
  return out;
}

/** Bytes of a value as written (`"token"` or uppercase hex), for the fields auparse leaves alone. */
function undecoded(shown: Buffer, where: string): Buffer {
  const s = shown.toString('latin1');
  if (/^"[A-Za-z0-9._:/@+,-]*"$/.test(s)) return Buffer.from(s.slice(1, -1), 'latin1');
  expect(s, `${where}: a value that is not a safe token is uppercase hex`).toMatch(/^(?:[0-9A-F]{2})+$/);
  return Buffer.from(s, 'hex');
}

/** The value shown is the record's, or, when the message cut it, its first bytes, with `cut=` naming the field. */
function expectLibauditValue(record: AuditLogRecord, key: string, shown: Buffer, value: string, where: string): void {
  const bytes = Buffer.from(value, 'utf8');
  if (shown.equals(bytes)) return;
  expect(bytes.length, `${where}: ${key} differs from the trail's though it fits its cap`).toBeGreaterThan(LIBAUDIT_CAPS[key]!);
  expect(shown.length, `${where}: ${key} is cut to its cap`).toBeLessThanOrEqual(LIBAUDIT_CAPS[key]!);
  expect(shown.length, `${where}: ${key} keeps most of its cap`).toBeGreaterThan(LIBAUDIT_CAPS[key]! - 4);
  expect(shown.equals(bytes.subarray(0, shown.length)), `${where}: ${key} is a prefix of the trail's value`).toBe(true);
  expect(auditValues(record, 'cut')[0]?.split(','), `${where}: cut= names ${key}`).toContain(key);
}

/**
 * The fields of the daemon that decide how a reader counts the record: each appears exactly once,
 * with the daemon's value, whatever the caller values hold; the caller's in the trail's form.
 */
function expectLibauditRecord(record: AuditLogRecord, entry: TrailRecord, decoded: boolean): void {
  const where = `${labelOf(entry)} in ausearch${decoded ? ' -i' : ''}`;
  const keys = record.fields.map(([k]) => k);
  for (const key of ['op', 'result', 'res', 'seq', 'boot', 'exe']) expect(keys.filter((k) => k === key), `${where}: ${key}=`).toHaveLength(1);
  expect(auditValues(record, 'op')).toEqual([entry.op]);
  expect(auditValues(record, 'result')).toEqual([entry.result]);
  expect(auditValues(record, 'res')).toEqual([entry.result === 'success' ? 'success' : 'failed']);
  expect(auditValues(record, 'seq')).toEqual([String(entry.seq)]);
  expect(auditValues(record, 'boot')).toEqual([entry.boot]);
  expect(keys.at(-1), `${where}: res= ends the message`).toBe('res');
  const ours = ['op', 'origin', 'cause', 'uuid', 'name', 'device', 'ifindex', 'args', 'changed', 'caller_pid', 'caller_uid', 'acct', 'attribution', 'result', 'reason', 'cut', 'tx', 'boot', 'seq'];
  const callerValues = libauditCallerValues(entry);
  expect(keys, where).toEqual([
    ...ours.filter((k) => {
      if (k === 'op' || k === 'result' || k === 'boot' || k === 'seq') return true;
      if (k === 'ifindex') return entry.ifindex !== undefined;
      if (k === 'origin' || k === 'cause' || k === 'tx') return entry[k] !== undefined;
      if (k === 'attribution') return entry.attribution !== undefined;
      if (k === 'caller_pid') return entry.pid !== undefined;
      if (k === 'caller_uid') return entry.uid !== undefined;
      if (k === 'reason') return entry.reason !== undefined;
      if (k === 'cut') return keys.includes('cut');
      return callerValues.some(([c]) => c === k);
    }),
    'exe', 'hostname', 'addr', 'terminal', 'res',
  ]);
  if (entry.reason !== undefined) expect(auditValues(record, 'reason')).toEqual([entry.reason]);
  if (entry.origin !== undefined) expect(auditValues(record, 'origin')).toEqual([entry.origin]);
  if (entry.tx !== undefined) expect(auditValues(record, 'tx')).toEqual([String(entry.tx)]);
  if (entry.ifindex !== undefined) expect(auditValues(record, 'ifindex')).toEqual([String(entry.ifindex)]);
  if (entry.pid !== undefined) expect(auditValues(record, 'caller_pid')).toEqual([String(entry.pid)]);
  if (entry.uid !== undefined) expect(auditValues(record, 'caller_uid')).toEqual([String(entry.uid)]);
  for (const [key, value] of callerValues) {
    const shown = record.fields.find(([k]) => k === key)![1];
    // ausearch -i decodes name, device and acct; raw, and the others, stay as written.
    const bytes = decoded && ['name', 'device', 'acct'].includes(key) ? shown : undecoded(shown, `${where}: ${key}`);
    expectLibauditValue(record, key, bytes, value, where);
  }
}

describe('every record, read back from every backend', () => {
  let records: TrailRecord[];

  beforeAll(async () => {
    // The external records of the test's last `ip` commands come a moment after them: the trail is read once it is quiet.
    let length = -1;
    records = await trail();
    while (records.length !== length) {
      length = records.length;
      await new Promise((resolve) => setTimeout(resolve, 600));
      records = await trail();
    }
    // An external record's attribution is a field of its own in the log line, the journal and the audit message.
    records = records.map((r) => {
      const attribution = (r['actor'] as { attribution?: string } | undefined)?.attribution;
      return attribution === undefined ? r : { ...r, attribution };
    });
  });

  it('the trail: each line JSON.parses to exactly the record keys, in order, on an unbroken hash chain', async () => {
    expect(records.length).toBeGreaterThan(CORPUS.length * 20);
    const lines: string[] = [];
    for (const file of await dayFiles(harness.daemon.auditDir)) {
      const text = await readFile(join(harness.daemon.auditDir, file), 'utf8');
      expect(text.endsWith('\n'), `${file} ends with a whole line`).toBe(true);
      lines.push(...text.split('\n').slice(0, -1));
    }
    expect(lines).toHaveLength(records.length);
    let prev = '0'.repeat(64);
    for (const [i, line] of lines.entries()) {
      const parsed = JSON.parse(line) as TrailRecord;
      const where = labelOf(parsed);
      const keys = Object.keys(parsed);
      expect(keys, where).toEqual(TRAIL_KEYS.filter((k) => keys.includes(k)));
      expect(parsed.seq).toBe(i + 1);
      // dotAll: a value may hold U+2028, which JSON leaves as it is.
      const m = /^(.*),"hash":"([0-9a-f]{64})"\}$/s.exec(line);
      expect(m, `${where} ends with its hash`).not.toBeNull();
      expect(createHash('sha256').update(`${m![1]}}`, 'utf8').digest('hex'), `${where} matches its hash`).toBe(m![2]);
      expect(parsed.prev, `${where} links to the record before it`).toBe(prev);
      prev = parsed.hash as string;
      if (parsed.reason !== undefined) expect(REASONS.has(parsed.reason as string), `${where}: reason ${String(parsed.reason)}`).toBe(true);
      expect(parsed.result === 'fail', `${where}: a reason exactly when it failed`).toBe(parsed.reason !== undefined);
    }
  });

  it('the log line: one line per record whose fields, unescaped, are the trail\'s, with no raw control character', async () => {
    const lines = await auditLinesOfTrail(records.length);
    expect(lines).toHaveLength(records.length);
    for (const [i, record] of records.entries()) {
      const where = labelOf(record);
      const line = lines[i]!;
      expect(RAW_UNSAFE.test(line), `${where}: a raw control or format character in ${JSON.stringify(line.slice(0, 200))}`).toBe(false);
      const fields = parseLogLine(line);
      const expected = LOG_KEYS.filter((k) => record[k] !== undefined);
      expect(fields.map(([k]) => k), where).toEqual(expected);
      for (const [key, raw, quoted] of fields) {
        const value = String(record[key]);
        expect(quoted, `${where}: ${key} quoted`).toBe(!BARE_LOG_KEYS.has(key));
        if (!quoted) {
          expect(raw, `${where}: ${key}`).toBe(value);
          continue;
        }
        const cut = logValueCut(raw);
        const chars = Array.from(value);
        if (chars.length <= MAX_LOG_VALUE) {
          expect(cut, `${where}: ${key} is not cut`).toBeNull();
          expect(unescapeLogValue(raw), `${where}: ${key}`).toBe(value);
        } else {
          expect(cut, `${where}: ${key} ends with the cut marker`).not.toBeNull();
          expect(cut!.more).toBe(chars.length - MAX_LOG_VALUE);
          expect(unescapeLogValue(cut!.head), `${where}: ${key}`).toBe(chars.slice(0, MAX_LOG_VALUE).join(''));
        }
      }
    }
  });

  it('the daemon log as a whole: every line is the daemon\'s, and only the trail\'s records have audit lines', async () => {
    const log = harness.daemon.log();
    const lines = log.split('\n');
    expect(lines.at(-1)).toBe('');
    for (const line of lines.slice(0, -1)) expect(line, 'a log line').toMatch(LOG_LINE_PREFIX);
    expect(lines.filter((l) => / audit: op=/.test(l))).toHaveLength(records.length);
  });

  it('the daemon log as a whole: no line holds a raw control or format character (device names in core lines)', () => {
    for (const line of harness.daemon.log().split('\n')) {
      expect(RAW_UNSAFE.test(line), `a raw control or format character in the log line ${JSON.stringify(line.slice(0, 300))}`).toBe(false);
    }
  });

  it('the journal: exactly one entry per record, every NETAUDIT_* field byte-exact, MESSAGE the log line', async () => {
    const boot = records[0]!.boot;
    const bySeq = new Map<number, JournalEntry[]>();
    await waitFor(async () => {
      bySeq.clear();
      for (const entry of await journalEntries(journalSince, [`NETAUDIT_BOOT=${boot}`])) {
        const seq = Number(journalBytes(entry, 'NETAUDIT_SEQ').toString('utf8'));
        bySeq.set(seq, [...(bySeq.get(seq) ?? []), entry]);
      }
      return records.every((r) => bySeq.has(r.seq));
    }, { timeoutMs: 20_000, intervalMs: 200, what: `a journal entry for each of ${records.length} records of boot ${boot}` });
    const lines = await auditLinesOfTrail(records.length);
    expect([...bySeq.keys()].sort((a, b) => a - b)).toEqual(records.map((r) => r.seq));
    for (const [i, record] of records.entries()) {
      const where = labelOf(record);
      const entries = bySeq.get(record.seq)!;
      expect(entries, `${where}: journal entries`).toHaveLength(1);
      const entry = entries[0]!;
      const expected = Object.keys(record).filter((k) => JOURNAL_FIELD[k] !== undefined);
      expect(Object.keys(entry).filter((k) => k.startsWith('NETAUDIT_')).sort(), where).toEqual(expected.map((k) => JOURNAL_FIELD[k]!).sort());
      for (const key of expected) {
        const bytes = journalBytes(entry, JOURNAL_FIELD[key]!);
        expect(bytes.equals(Buffer.from(journalText(record, key), 'utf8')), `${where}: ${JOURNAL_FIELD[key]} is ${JSON.stringify(bytes.toString('utf8').slice(0, 100))}`).toBe(true);
      }
      expect(journalBytes(entry, 'MESSAGE').toString('utf8'), `${where}: MESSAGE`).toBe(lines[i]);
      expect(journalBytes(entry, '_PID').toString('utf8')).toBe(String(harness.daemon.pid));
    }
  });

  describe('auditd\'s log', () => {
    let raw: AuditLogRecord[];
    let bySeq: Map<number, AuditLogRecord>;

    beforeAll(async () => {
      const boot = records[0]!.boot;
      await waitFor(async () => {
        raw = (await reader.raw()).filter((r) => auditValues(r, 'boot').includes(boot));
        return new Set(raw.map((r) => auditValues(r, 'seq')[0])).size >= records.length;
      }, { timeoutMs: 20_000, intervalMs: 200, what: `a USYS_CONFIG record for each of ${records.length} records of boot ${boot}` });
      bySeq = new Map();
      for (const r of raw) {
        const seq = Number(auditValues(r, 'seq')[0]);
        expect(bySeq.has(seq), `seq ${seq} is in auditd's log once`).toBe(false);
        bySeq.set(seq, r);
      }
    });

    it('raw (ausearch without -i): one record per trail record, op/result/res/seq/boot once each, caller values as written', () => {
      expect([...bySeq.keys()].sort((a, b) => a - b)).toEqual(records.map((r) => r.seq));
      for (const record of records) {
        const logged = bySeq.get(record.seq)!;
        expect(logged.header.get('pid'), labelOf(record)).toBe(String(harness.daemon.pid));
        expectLibauditRecord(logged, record, false);
      }
    });

    it('ausearch -i --escape shell: the same fields, name, device and acct decoded to the trail\'s bytes', async () => {
      const boot = records[0]!.boot;
      const shown = (await reader.interpreted()).filter((r) => auditValues(r, 'boot').includes(boot));
      expect(shown).toHaveLength(records.length);
      for (const record of records) {
        const matching = shown.filter((r) => auditValues(r, 'seq')[0] === String(record.seq));
        expect(matching, labelOf(record)).toHaveLength(1);
        expect(matching[0]!.header.get('uid'), labelOf(record)).toBe('root');
        expectLibauditRecord(matching[0]!, record, true);
      }
    });

    it('ausearch --success and aureport -c classify each record as its trail record says', async () => {
      const boot = records[0]!.boot;
      const seqsOf = (list: AuditLogRecord[]): Set<number> => new Set(list.filter((r) => auditValues(r, 'boot').includes(boot)).map((r) => Number(auditValues(r, 'seq')[0])));
      const failed = seqsOf(await reader.raw(['--success', 'no']));
      const succeeded = seqsOf(await reader.raw(['--success', 'yes']));
      const changes = await reader.configChanges();
      const failedChanges = await reader.configChanges(['--failed']);
      for (const record of records) {
        const where = labelOf(record);
        const serial = bySeq.get(record.seq)!.serial;
        const ok = record.result === 'success';
        expect(succeeded.has(record.seq), `${where}: ausearch --success yes`).toBe(ok);
        expect(failed.has(record.seq), `${where}: ausearch --success no`).toBe(!ok);
        expect(changes.get(serial), `${where}: aureport -c`).toBe(ok ? 'yes' : 'no');
        expect(failedChanges.has(serial), `${where}: aureport -c --failed`).toBe(!ok);
      }
    });

    it('aureport --summary counts every record as a configuration change', async () => {
      const summary = await reader.aureport(['--summary']);
      const count = /Number of changes in configuration: (\d+)/.exec(summary);
      expect(count, summary).not.toBeNull();
      // Other daemons of this pid cannot exist; every USYS_CONFIG record since the start is ours.
      expect(Number(count![1])).toBe(raw.length);
      expect(raw.length).toBe(records.length);
    });
  });
});
