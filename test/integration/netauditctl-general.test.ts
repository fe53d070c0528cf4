// netauditctl's general, networking, radio, reload and logging commands, its
// global options and exit codes, through the real daemon on a private bus:
// terse and JSON output checked byte for byte against what the daemon says
// over D-Bus, --help at every level, NO_COLOR, exit 2 (bad input), 3 (no
// reply within -w), 8 (no daemon on the bus, or no bus at all).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startBus } from '../helpers/bus.js';
import { connect } from '../helpers/client.js';
import { run, type RunResult } from '../helpers/exec.js';
import { MANAGER, MANAGER_IFACE } from '../helpers/profiles.js';
import { repoPath } from '../helpers/repo.js';
import { useDaemon } from '../helpers/use-daemon.js';

const cliMain = repoPath('dist', 'cli', 'main.js');
const harness = useDaemon();

function ctl(args: string[], options: { env?: NodeJS.ProcessEnv; uid?: string; address?: string } = {}): Promise<RunResult> {
  if (!existsSync(cliMain)) throw new Error(`${cliMain} is missing: run "npm run build" first`);
  return run(process.execPath, [cliMain, '--bus-address', options.address ?? harness.bus.address, ...args], {
    ...(options.uid ? { uid: options.uid } : {}),
    env: { NO_COLOR: '', ...options.env },
  });
}

const STATE_NAMES: Record<number, string> = { 10: 'asleep', 20: 'disconnected', 30: 'disconnecting', 40: 'connecting', 50: 'connected (local only)', 60: 'connected (site only)', 70: 'connected' };
const enabled = (b: unknown): string => (b ? 'enabled' : 'disabled');

async function manager(): Promise<Record<string, unknown>> {
  return harness.client.getAllProperties(MANAGER, MANAGER_IFACE);
}

describe('general', () => {
  it('shows STATE, NETWORKING, WIFI and AUDIT as the daemon has them, in terse and JSON', async () => {
    const m = await manager();
    const state = STATE_NAMES[m['State'] as number]!;
    const terse = await ctl(['-t', 'general']);
    expect(terse).toMatchObject({ code: 0, stderr: '', stdout: `${state}:${enabled(m['NetworkingEnabled'])}:${enabled(m['WirelessEnabled'])}:${enabled(m['AuditEnabled'])}\n` });
    const json = await ctl(['--json', 'general', 'status']);
    expect(json).toMatchObject({ code: 0, stderr: '' });
    expect(json.stdout).toBe(`${JSON.stringify({ state, networking: enabled(m['NetworkingEnabled']), wifi: enabled(m['WirelessEnabled']), audit: enabled(m['AuditEnabled']) })}\n`);
  });

  it('shows the version and each audit backend with -f, and a table with a header for people', async () => {
    const m = await manager();
    const backends = Object.keys(m['AuditBackends'] as Record<string, unknown>);
    expect(backends.length).toBeGreaterThan(0);
    const json = await ctl(['--json', '-f', 'VERSION,AUDIT-BACKENDS', 'g']);
    expect(JSON.parse(json.stdout)).toEqual({ version: m['Version'], 'audit-backends': backends.map((b) => `${b}:ok`) });
    const table = await ctl(['general']);
    const [header, values, end] = table.stdout.split('\n');
    expect(header).toMatch(/^STATE +NETWORKING +WIFI +AUDIT$/);
    expect(values!.split(/ {2,}/)).toEqual([STATE_NAMES[m['State'] as number], enabled(m['NetworkingEnabled']), enabled(m['WirelessEnabled']), enabled(m['AuditEnabled'])]);
    expect(end).toBe('');
    expect(table.stdout).not.toContain('\x1b');
  });

  it('colors with -c yes, never with NO_COLOR set and -c auto, and -g prints bare values', async () => {
    const colored = await ctl(['-c', 'yes', 'general']);
    expect(colored.stdout).toContain('\x1b[');
    const auto = await ctl(['general'], { env: { NO_COLOR: '1' } });
    expect(auto.stdout).not.toContain('\x1b');
    const bare = await ctl(['-g', 'networking,wifi', 'general']);
    const m = await manager();
    expect(bare.stdout).toBe(`${enabled(m['NetworkingEnabled'])}:${enabled(m['WirelessEnabled'])}\n`);
    const multiline = await ctl(['-m', 'multiline', '-f', 'NETWORKING', 'general']);
    expect(multiline.stdout).toMatch(new RegExp(`^NETWORKING: +${enabled(m['NetworkingEnabled'])}\n$`));
  });

  it('refuses an unknown field with exit 2, listing the valid ones, before any output', async () => {
    const r = await ctl(['-f', 'STATE,BOGUS', 'general']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')[0]).toBe('netauditctl: invalid field "BOGUS"; allowed fields: STATE,NETWORKING,WIFI,AUDIT,AUDIT-BACKENDS,VERSION');
  });
});

describe('logging', () => {
  it('shows LEVEL and DOMAINS as GetLogging gives them, sets them, and refuses an unknown level with exit 2', async () => {
    const [level, domains] = (await harness.client.call(MANAGER, MANAGER_IFACE, 'GetLogging')) as [string, string];
    expect(await ctl(['-t', 'logging'])).toMatchObject({ code: 0, stdout: `${level}:${domains.replaceAll(':', '\\:')}\n` });
    expect((await ctl(['--json', 'general', 'logging'])).stdout).toBe(`${JSON.stringify({ level, domains })}\n`);
    expect(await ctl(['logging', 'level', 'DEBUG'])).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(((await harness.client.call(MANAGER, MANAGER_IFACE, 'GetLogging')) as string[])[0]).toBe('DEBUG');
    expect(await ctl(['logging', 'level', level])).toMatchObject({ code: 0 });
    const bad = await ctl(['logging', 'level', 'LOUD']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^Error: Setting logging failed: Unknown log level "LOUD"; use one of /);
    expect(bad.stderr.split('\n')).toHaveLength(2);
  });
});

describe('networking and radio', () => {
  it('networking off and on change NetworkingEnabled; a second on still exits 0', async () => {
    expect(await ctl(['networking', 'off'])).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(await harness.client.getProperty(MANAGER, MANAGER_IFACE, 'NetworkingEnabled')).toBe(false);
    expect(await ctl(['-t', 'n'])).toMatchObject({ code: 0, stdout: 'disabled\n' });
    expect(await ctl(['networking', 'on'])).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(await ctl(['networking', 'on'])).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(await harness.client.getProperty(MANAGER, MANAGER_IFACE, 'NetworkingEnabled')).toBe(true);
    expect((await ctl(['--json', 'networking'])).stdout).toBe('{"networking":"enabled"}\n');
  });

  it('radio wifi off and on write WirelessEnabled', async () => {
    expect(await ctl(['radio', 'wifi', 'off'])).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(await harness.client.getProperty(MANAGER, MANAGER_IFACE, 'WirelessEnabled')).toBe(false);
    expect(await ctl(['-t', 'radio', 'wifi'])).toMatchObject({ code: 0, stdout: 'disabled\n' });
    expect(await ctl(['radio', 'all', 'on'])).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(await harness.client.getProperty(MANAGER, MANAGER_IFACE, 'WirelessEnabled')).toBe(true);
    expect((await ctl(['--json', 'radio'])).stdout).toBe('{"wifi":"enabled"}\n');
  });

  it('reload with and without flags succeeds and is recorded as a reload', async () => {
    const before = (await harness.daemon.trail()).length;
    for (const args of [['reload'], ['reload', 'conf'], ['reload', 'connections'], ['connection', 'reload']]) {
      expect(await ctl(args)).toMatchObject({ code: 0, stdout: '', stderr: '' });
    }
    const records = (await harness.daemon.trail()).slice(before);
    expect(records.map((r) => [r['op'], r['result']])).toEqual(Array(4).fill(['reload', 'success']));
    expect(await ctl(['reload', 'everything'])).toMatchObject({ code: 2 });
  });
});

describe('a user without the right', () => {
  it('gets "Error: …" with the daemon\'s reason and exit 1 for networking off, and networking stays on', async () => {
    const r = await ctl(['networking', 'off'], { uid: 'nauser' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error: Disabling networking failed: .+\n$/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(await harness.client.getProperty(MANAGER, MANAGER_IFACE, 'NetworkingEnabled')).toBe(true);
  });
});

describe('help and usage', () => {
  it('--help works at every level', async () => {
    const levels = [
      [], ['general'], ['general', 'status'], ['general', 'logging'], ['networking'], ['networking', 'on'], ['radio'], ['radio', 'wifi'],
      ['reload'], ['logging'], ['connection'], ['connection', 'list'], ['connection', 'show'], ['connection', 'add'], ['connection', 'modify'],
      ['connection', 'delete'], ['connection', 'up'], ['connection', 'down'], ['connection', 'reload'], ['device'], ['device', 'list'],
      ['device', 'show'], ['device', 'disconnect'], ['device', 'delete'], ['device', 'set'],
    ];
    for (const level of levels) {
      const r = await run(process.execPath, [cliMain, ...level, '--help']);
      expect({ level, code: r.code, stderr: r.stderr }).toEqual({ level, code: 0, stderr: '' });
      expect(r.stdout).toMatch(/^Usage: netauditctl /);
    }
  });

  it('takes unambiguous prefixes, refuses ambiguous ones with exit 2', async () => {
    const m = await manager();
    expect((await ctl(['-t', '-f', 'NETWORKING', 'gen', 'stat'])).stdout).toBe(`${enabled(m['NetworkingEnabled'])}\n`);
    const r = await ctl(['r']);
    expect(r).toMatchObject({ code: 2, stdout: '' });
    expect(r.stderr.split('\n')[0]).toBe('netauditctl: object "r" is ambiguous: radio, reload');
    expect(await ctl(['--json', '-t', 'general'])).toMatchObject({ code: 2 });
    expect(await ctl(['-m', 'sideways', 'general'])).toMatchObject({ code: 2 });
  });
});

describe('exit 8 and 3', () => {
  it('exits 8 with "netauditd is not running." on a bus where nobody owns org.netaudit1', async () => {
    const bus = await startBus();
    try {
      const r = await ctl(['general'], { address: bus.address });
      expect(r).toMatchObject({ code: 8, stdout: '', stderr: `Error: netauditd is not running.\nNobody owns org.netaudit1 on the bus at ${bus.address}.\n` });
    } finally {
      await bus.stop();
    }
  });

  it('exits 8 naming the address when there is no bus', async () => {
    const address = `unix:path=${join(harness.bus.dir, 'no-such-socket')}`;
    const r = await ctl(['connection', 'list'], { address });
    expect(r).toMatchObject({ code: 8, stdout: '', stderr: `Error: netauditd is not running.\nCannot reach the bus at ${address}: ENOENT.\n` });
  });

  it('exits 3 when the owner of org.netaudit1 does not answer within -w', async () => {
    const bus = await startBus();
    const silent = await connect(bus.address);
    try {
      silent.bus.addMethodHandler(() => true);
      const [reply] = await silent.callBus('RequestName', 'su', ['org.netaudit1', 4]);
      expect(reply).toBe(1);
      const started = Date.now();
      const r = await ctl(['-w', '1', 'general'], { address: bus.address });
      expect(r).toMatchObject({ code: 3, stdout: '', stderr: 'Error: Timeout expired (1 seconds) waiting for netauditd to answer GetAll.\n' });
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      silent.close();
      await bus.stop();
    }
  });
});

