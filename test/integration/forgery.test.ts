// Values built to forge audit fields, sent by a real client: in the log line and in the trail
// each stays inside its own field, read back the way a reader parses them.
import { describe, expect, it } from 'vitest';
import { variant } from '../helpers/client.js';
import { auditLines, CONNECTION_IFACE, ethernet, MANAGER, MANAGER_IFACE, parseAuditLine, SETTINGS, SETTINGS_IFACE, wifi } from '../helpers/profiles.js';
import { TRAIL_KEYS, verifiedChain } from '../helpers/trail.js';
import { waitFor } from '../helpers/wait.js';
import { useDaemon } from '../helpers/use-daemon.js';

const harness = useDaemon();

const CORPUS: Array<[string, string]> = [
  ['a quote and fake fields', 'x" op=evil result="success'],
  ['key=value pairs', 'a=b c=d'],
  ['a fake ares field', 'ares=success'],
  ['a fake res field', "res=success' uid=0"],
  ['a newline with a fake line', 'lan\n<info>  [1.0] audit: op="connection-delete" result="success"'],
  ['a tab', 'a\tb'],
  ['non-ASCII text', 'Büro 日本 café'],
  ['an RTL override', 'safe\u202eevil'],
  ['terminal escapes', '\u001b]0;owned\u0007\u001b[2J'],
  ['a backslash and quote', 'x\\" y=\\'],
  ['a 4 KiB name', `${'Z'.repeat(4090)}" x=1`],
];

/** Undoes the log line's escaping. */
function unescapeLog(text: string): string {
  return text.replace(/\\(x[0-9a-f]{2}|u\{[0-9a-f]+\}|.)/g, (_m, e: string) => {
    if (e.startsWith('x') && e.length === 3) return String.fromCodePoint(parseInt(e.slice(1), 16));
    if (e.startsWith('u{')) return String.fromCodePoint(parseInt(e.slice(2, -1), 16));
    return ({ n: '\n', r: '\r', t: '\t' } as Record<string, string>)[e] ?? e;
  });
}

async function attempt(fn: () => Promise<unknown>): Promise<{ record: Record<string, unknown>; line: Array<[string, string]> }> {
  // The log is written after the trail and off the event loop: wait until it caught up.
  const before = (await harness.daemon.trail()).length;
  const linesBefore = await waitFor(() => {
    const n = auditLines(harness.daemon.log()).length;
    return n === before ? n + 1 : 0;
  }, { what: 'the log to hold every record so far' }) - 1;
  await fn().catch(() => undefined);
  const trail = await harness.daemon.trail();
  expect(trail).toHaveLength(before + 1);
  const lines = await waitFor(() => {
    const all = auditLines(harness.daemon.log());
    return all.length > linesBefore ? all : undefined;
  }, { what: 'the audit log line' });
  expect(lines).toHaveLength(linesBefore + 1);
  const record = trail[before]!;
  for (const key of Object.keys(record)) expect(TRAIL_KEYS).toContain(key);
  return { record, line: parseAuditLine(lines[linesBefore]!) };
}

function field(line: Array<[string, string]>, key: string): string[] {
  return line.filter(([k]) => k === key).map(([, v]) => v);
}

describe.each(CORPUS.map(([what, value]) => ({ what, value })))('a caller value with $what', ({ value }) => {
  it('stays the name, whole, in the trail and the log line of AddConnection', async () => {
    const { record, line } = await attempt(() => harness.client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [ethernet(value)]));
    expect(record.name).toBe(value);
    expect(record.op).toBe('connection-add');
    expect(field(line, 'op')).toEqual(['connection-add']);
    expect(field(line, 'result')).toEqual([record.result as string]);
    expect(field(line, 'pid')).toEqual([String(process.pid)]);
    expect(line.map(([k]) => k)).toEqual(['op', 'origin', ...(record.uuid ? ['uuid'] : []), 'name', 'pid', 'uid', 'result', ...(record.reason ? ['reason'] : [])]);
    const [logged] = field(line, 'name');
    if (value.length <= 1024) expect(unescapeLog(logged!)).toBe(value);
    else expect(unescapeLog(logged!.replace(/\\\.\.\.\[\d+ more characters\]$/, ''))).toBe(value.slice(0, 1024));
    const raw = harness.daemon.log();
    expect(raw).not.toMatch(/[\u001b\u0007\u202e]/);
    expect(raw.split('\n').every((l) => l === '' || /^<(info|warn|error|debug|trace)> ?\s\[\d+\.\d{4}\] [a-z]+: /.test(l))).toBe(true);
  });

  it('stays the uuid sent in a refused attempt', async () => {
    const { record, line } = await attempt(() =>
      harness.client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [ethernet('lan', { connection: { uuid: variant('s', value) } })]),
    );
    expect(record).toMatchObject({ op: 'connection-add', uuid: value, result: 'fail', reason: 'invalid-argument' });
    expect(field(line, 'result')).toEqual(['fail']);
    expect(field(line, 'reason')).toEqual(['invalid-argument']);
  });

  it('stays the args of GetSecrets and SetLogging', async () => {
    const [path] = (await harness.client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [wifi(`w${Math.random()}`, 'canary-psk-0123')])) as [string];
    const secrets = await attempt(() => harness.client.call(path, CONNECTION_IFACE, 'GetSecrets', 's', [value]));
    expect(secrets.record).toMatchObject({ op: 'connection-get-secrets', args: value, result: 'fail', reason: 'invalid-argument' });
    expect(field(secrets.line, 'result')).toEqual(['fail']);

    const logging = await attempt(() => harness.client.call(MANAGER, MANAGER_IFACE, 'SetLogging', 'ss', [value, '']));
    expect(logging.record).toMatchObject({ op: 'logging-control', args: `${value}:`, result: 'fail', reason: 'invalid-argument' });
    expect(field(logging.line, 'result')).toEqual(['fail']);
  });
});

describe('the trail', () => {
  it('holds each record on one line whose hash covers it', async () => {
    await verifiedChain(harness.daemon.auditDir);
  });

  it('never holds a secret', async () => {
    const all = JSON.stringify(await harness.daemon.trail()) + harness.daemon.log();
    expect(all).not.toContain('canary-psk');
  });
});
