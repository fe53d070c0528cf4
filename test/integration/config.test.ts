// The configuration through the real daemon: start-up refuses a bad file with its file:line, and
// SIGHUP, Manager.Reload and SetLogging switch auditing, backends and logging without a restart,
// each switch audited on the right side of itself (docs/record-format.md, netauditd.conf(5)).
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startBus, type TestBus } from '../helpers/bus.js';
import { connect, variant, type TestClient } from '../helpers/client.js';
import { defaultConfig, runDaemonOnce, startDaemon, toIni, type DaemonOptions, type TestDaemon } from '../helpers/daemon.js';
import { errorOf } from '../helpers/devices.js';
import { busctl } from '../helpers/exec.js';
import { auditLines, ethernet, MANAGER, MANAGER_IFACE, SETTINGS, SETTINGS_IFACE } from '../helpers/profiles.js';
import { verifiedChain } from '../helpers/trail.js';
import { waitFor } from '../helpers/wait.js';

type Ini = Record<string, Record<string, string>>;
type TrailRecord = Record<string, unknown>;

let bus: TestBus;

beforeAll(async () => {
  bus = await startBus();
});

afterAll(async () => {
  await bus?.stop();
});

/** The harness's configuration for `dir` with `changes` merged over it, as INI text. */
function configText(dir: string, changes: Ini = {}): string {
  const config = defaultConfig(dir);
  for (const [section, keys] of Object.entries(changes)) config[section] = { ...config[section], ...keys };
  return toIni(config);
}

/** The 1-based number of the line of `text` that is exactly `line`. */
function lineOf(text: string, line: string): number {
  const index = text.split('\n').indexOf(line);
  if (index === -1) throw new Error(`${JSON.stringify(line)} is not a line of ${JSON.stringify(text)}`);
  return index + 1;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Rewrites the running daemon's main config file: the harness's keys with `changes`, then `appended`. */
async function rewriteConfig(daemon: TestDaemon, changes: Ini = {}, appended = ''): Promise<string> {
  const text = configText(daemon.dir, changes) + appended;
  await writeFile(daemon.configFile, text, { mode: 0o644 });
  return text;
}

/** Waits for a log line matching `pattern` written after the log was `offset` characters long. */
async function waitForLogAfter(daemon: TestDaemon, offset: number, pattern: RegExp, timeoutMs = 10_000): Promise<string> {
  return waitFor(() => daemon.log().slice(offset).split('\n').find((line) => pattern.test(line)), {
    timeoutMs,
    what: `a new line matching ${pattern} in ${daemon.logFile}`,
  });
}

/**
 * Waits until the log after `offset` holds a line matching each pattern, and returns where each
 * first matches. The daemon writes its log off the event loop, in order: a line may show up after
 * the reply to the call that caused it, never before a line logged earlier.
 */
async function logIndexes(daemon: TestDaemon, offset: number, patterns: RegExp[], timeoutMs = 10_000): Promise<number[]> {
  return waitFor(() => {
    const lines = daemon.log().slice(offset).split('\n');
    const found = patterns.map((p) => lines.findIndex((line) => p.test(line)));
    return found.every((i) => i >= 0) ? found : undefined;
  }, { timeoutMs, what: `lines matching ${patterns.join(', ')} in ${daemon.logFile}` });
}

describe('start-up', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(bus.dir, 'startup-'));
  });

  const mainCases = [
    {
      what: 'an unknown key',
      line: 'colour=yes',
      detail: /unknown key "colour" in \[logging\]: accepted .*\blevel\b/,
    },
    {
      what: 'a bad value',
      line: 'level=LOUD',
      detail: /invalid value "LOUD" for "level" in \[logging\]: expected one of .*\bDEBUG\b/,
    },
    {
      what: 'a syntax error',
      line: 'level DEBUG',
      detail: /expected "\[group\]", "key=value" or a "#" comment, found "level DEBUG"$/m,
    },
  ];

  for (const { what, line, detail } of mainCases) it(`refuses ${what} in the main file, naming the file and the line`, async () => {
    const file = join(dir, 'netauditd.conf');
    // The bad line sits in [logging], after the harness's own keys.
    const text = configText(dir).replace('[logging]\n', `[logging]\n# a comment\n${line}\n`);
    await writeFile(file, text);
    const result = await runDaemonOnce(['--config', file, '--bus-address', bus.address]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`netauditd: cannot start: ${file}:${lineOf(text, line)}: `);
    expect(result.stderr).toMatch(detail);
    expect(result.stderr).not.toMatch(/^\s+at /m);
    // It stopped at the configuration: no lock, no trail, no profiles directory.
    expect(existsSync(join(dir, 'run'))).toBe(false);
    expect(existsSync(join(dir, 'audit'))).toBe(false);
    expect(existsSync(join(dir, 'profiles'))).toBe(false);
  });

  for (const { what, line, detail } of mainCases) it(`refuses ${what} in a conf.d snippet, naming the snippet and its line`, async () => {
    const file = join(dir, 'netauditd.conf');
    await writeFile(file, configText(dir));
    await mkdir(join(dir, 'conf.d'));
    // A good snippet first: the error is the second file's, with its own line numbers.
    await writeFile(join(dir, 'conf.d', '10-good.conf'), '[logging]\nlevel=WARN\n');
    const snippet = join(dir, 'conf.d', '50-local.conf');
    const text = `# local tuning\n\n[logging]\n${line}\n`;
    await writeFile(snippet, text);
    const result = await runDaemonOnce(['--config', file, '--bus-address', bus.address]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`netauditd: cannot start: ${snippet}:4: `);
    expect(result.stderr).toMatch(detail);
    expect(result.stderr).not.toContain(file + ':');
    expect(existsSync(join(dir, 'run'))).toBe(false);
  });

  it('refuses a --config file that does not exist, naming it', async () => {
    const file = join(dir, 'absent.conf');
    const result = await runDaemonOnce(['--config', file, '--bus-address', bus.address]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`netauditd: cannot start: ${file}: the config file does not exist`);
  });

  it('prints its usage for --help and exits 0', async () => {
    const result = await runDaemonOnce(['--help']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(/^Usage: netauditd \[OPTION\]\.\.\./);
    for (const option of ['--config FILE', '--bus-address ADDRESS', '--log-file FILE', '--help', '--version']) {
      expect(result.stdout).toContain(option);
    }
  });

  it('prints the package version for --version and exits 0', async () => {
    const { version } = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(await runDaemonOnce(['--version'])).toEqual({ code: 0, stdout: `netauditd ${version}\n`, stderr: '' });
  });

  it('exits 2 for an unknown option or a stray argument, pointing at --help', async () => {
    for (const args of [['--bogus'], ['extra-argument']]) {
      const result = await runDaemonOnce(args);
      expect({ args, code: result.code, stdout: result.stdout }).toEqual({ args, code: 2, stdout: '' });
      expect(result.stderr).toMatch(/^netauditd: .+\nTry 'netauditd --help'\.\n$/);
    }
  });
});

describe('a running daemon', () => {
  let daemon: TestDaemon;
  let client: TestClient;

  async function startWith(options: DaemonOptions = {}): Promise<void> {
    daemon = await startDaemon(bus, options);
    client = await connect(bus.address);
  }

  afterEach(async () => {
    client?.close();
    // A clean stop: exit status 0 after SIGTERM, whatever the test reloaded.
    if (daemon) expect(await daemon.stop()).toBe(0);
  });

  async function add(id: string): Promise<string> {
    const [path] = await client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [ethernet(id)]);
    return path as string;
  }

  async function reload(flags: number): Promise<void> {
    await client.call(MANAGER, MANAGER_IFACE, 'Reload', 'u', [flags]);
  }

  async function getLogging(): Promise<unknown[]> {
    return client.call(MANAGER, MANAGER_IFACE, 'GetLogging');
  }

  async function setLogging(level: string, domains: string): Promise<void> {
    await client.call(MANAGER, MANAGER_IFACE, 'SetLogging', 'ss', [level, domains]);
  }

  function failure(promise: Promise<unknown>): Promise<{ type: string; text: string }> {
    return promise.then(
      () => { throw new Error('the call succeeded'); },
      (e: { type: string; text: string }) => e,
    );
  }

  /** The record a call from this test's client carries. */
  function fromClient(): TrailRecord {
    return { pid: process.pid, uid: 0, actor: { bus_name: client.uniqueName, exe: process.execPath } };
  }

  /** Log lines for the profile `id`'s audit records. */
  function auditLinesOf(id: string): string[] {
    return auditLines(daemon.log()).filter((l) => l.includes(`name="${id}"`));
  }

  /** Waits for the audit log lines of profile `id`. */
  function waitForAuditLinesOf(id: string): Promise<string[]> {
    return waitFor(() => {
      const lines = auditLinesOf(id);
      return lines.length > 0 ? lines : undefined;
    }, { what: `the audit line of ${JSON.stringify(id)} in ${daemon.logFile}` });
  }

  /** Waits for the last audit line to be `line`. */
  function waitForLastAuditLine(line: string): Promise<string> {
    return waitFor(() => (auditLines(daemon.log()).at(-1) === line ? line : undefined), { what: `the audit line ${line}` });
  }

  describe('turning audit off and on again', () => {
    beforeEach(() => startWith());

    it('with SIGHUP records the switch off before it and the switch on after it, with no caller', async () => {
      await rewriteConfig(daemon, { logging: { audit: 'no' } });
      const before = await daemon.trail();
      let offset = daemon.log().length;
      daemon.signal('SIGHUP');
      await waitForLogAfter(daemon, offset, /config: configuration reloaded from .*: audit off, backends log,file$/);

      let trail = await daemon.trail();
      expect(trail).toHaveLength(before.length + 1);
      const off = trail.at(-1)!;
      expect(off).toMatchObject({ op: 'reload', args: 'sighup', result: 'success' });
      for (const key of ['pid', 'uid', 'actor', 'reason']) expect(off).not.toHaveProperty(key);
      // The log shows the order: the record, then the switch.
      const [recordedOff, switchedOff] = await logIndexes(daemon, offset, [
        /audit: op="reload" origin="caller" args="sighup" result="success"$/, /configuration reloaded .*audit off/,
      ]);
      expect(recordedOff).toBeLessThan(switchedOff!);
      expect(await getLogging()).toEqual(['INFO', 'ALL,AUDIT:OFF']);

      // Unaudited: the profile is written, and the trail does not hear of it (nor the log: below).
      await add('while-off');
      expect(existsSync(join(daemon.profilesDir, 'while-off.nmconnection'))).toBe(true);
      expect(await daemon.trail()).toEqual(trail);

      await rewriteConfig(daemon);
      offset = daemon.log().length;
      daemon.signal('SIGHUP');
      await waitFor(async () => (await daemon.trail()).length > trail.length, { what: 'the record of the SIGHUP that turns audit on' });
      trail = await daemon.trail();
      expect(trail).toHaveLength(before.length + 2);
      const on = trail.at(-1)!;
      expect(on).toMatchObject({ op: 'reload', args: 'sighup', result: 'success', seq: (off.seq as number) + 1 });
      for (const key of ['pid', 'uid', 'actor', 'reason']) expect(on).not.toHaveProperty(key);
      const [switchedOn, recordedOn] = await logIndexes(daemon, offset, [
        /configuration reloaded .*audit on/, /audit: op="reload" origin="caller" args="sighup" result="success"$/,
      ]);
      expect(switchedOn).toBeLessThan(recordedOn!);
      expect(await getLogging()).toEqual(['INFO', 'ALL']);

      // Records flow again, in the same process and chain.
      await add('after-on');
      const last = (await daemon.trail()).at(-1)!;
      expect(last).toMatchObject({ op: 'connection-add', name: 'after-on', result: 'success', boot: on.boot, ...fromClient() });
      expect(await waitForAuditLinesOf('after-on')).toHaveLength(1);
      // The log is written in order: with this later line in it, an audit line of while-off would be too.
      expect(auditLinesOf('while-off')).toEqual([]);
      await verifiedChain(daemon.auditDir);
    });

    it('with Manager.Reload(1) records both switches with the caller, off before and on after', async () => {
      await rewriteConfig(daemon, { logging: { audit: 'no' } });
      const before = await daemon.trail();
      let offset = daemon.log().length;
      await reload(1);
      let trail = await daemon.trail();
      expect(trail).toHaveLength(before.length + 1);
      expect(trail.at(-1)).toMatchObject({ op: 'reload', args: 'conf', result: 'success', ...fromClient() });
      const [recordedOff, switchedOff] = await logIndexes(daemon, offset, [
        new RegExp(`audit: op="reload" origin="caller" args="conf" pid=${process.pid} uid=0 result="success"$`), /configuration reloaded .*audit off/,
      ]);
      expect(recordedOff).toBeLessThan(switchedOff!);

      await add('quiet');
      expect(existsSync(join(daemon.profilesDir, 'quiet.nmconnection'))).toBe(true);
      expect(await daemon.trail()).toEqual(trail);
      // A refused change is not recorded either while audit is off.
      const err = await failure(reload(7));
      expect(err.type).toBe('org.netaudit1.Error.InvalidArgument');
      expect(await daemon.trail()).toEqual(trail);

      await rewriteConfig(daemon);
      offset = daemon.log().length;
      await reload(1);
      trail = await daemon.trail();
      expect(trail).toHaveLength(before.length + 2);
      expect(trail.at(-1)).toMatchObject({ op: 'reload', args: 'conf', result: 'success', ...fromClient() });
      const [switchedOn, recordedOn] = await logIndexes(daemon, offset, [/configuration reloaded .*audit on/, /audit: op="reload" origin="caller" args="conf" /]);
      expect(switchedOn).toBeLessThan(recordedOn!);

      await add('loud');
      expect((await daemon.trail()).at(-1)).toMatchObject({ op: 'connection-add', name: 'loud', result: 'success' });
      expect(await waitForAuditLinesOf('loud')).toHaveLength(1);
      expect(auditLinesOf('quiet')).toEqual([]);
      await verifiedChain(daemon.auditDir);
    });

    it('with a conf.d snippet added and removed between reloads', async () => {
      const snippet = join(daemon.dir, 'conf.d', '90-quiet.conf');
      await mkdir(join(daemon.dir, 'conf.d'), { recursive: true });
      await writeFile(snippet, '[logging]\naudit=no\n');
      await reload(1);
      expect(await getLogging()).toEqual(['INFO', 'ALL,AUDIT:OFF']);
      await daemon.waitForLog(new RegExp(`configuration reloaded from ${escapeRegExp(daemon.configFile)}, ${escapeRegExp(snippet)}: audit off`));
      const trail = await daemon.trail();
      await add('snippet-off');
      expect(await daemon.trail()).toEqual(trail);

      await writeFile(snippet, '# audit back on\n');
      await reload(1);
      expect(await getLogging()).toEqual(['INFO', 'ALL']);
      expect((await daemon.trail()).at(-1)).toMatchObject({ op: 'reload', args: 'conf', result: 'success' });
    });
  });

  describe('[audit] backends', () => {
    beforeEach(() => startWith());

    it('=log keeps records out of the trail but in the log; log,file brings the trail back with its chain intact', async () => {
      await add('both-backends');
      await rewriteConfig(daemon, { audit: { backends: 'log' } });
      await reload(1);
      const trail = await daemon.trail();
      // Recorded before the switch, so still in the trail.
      expect(trail.at(-1)).toMatchObject({ op: 'reload', args: 'conf', result: 'success' });
      await daemon.waitForLog(/configuration reloaded .*: audit on, backends log$/);

      await add('log-only');
      expect(existsSync(join(daemon.profilesDir, 'log-only.nmconnection'))).toBe(true);
      expect(await daemon.trail()).toEqual(trail);
      expect(await waitForAuditLinesOf('log-only')).toEqual([
        expect.stringMatching(new RegExp(`^op="connection-add" origin="caller" uuid="[0-9a-f-]{36}" name="log-only" pid=${process.pid} uid=0 result="success"$`)),
      ]);

      const offset = daemon.log().length;
      await rewriteConfig(daemon);
      await reload(1);
      // A switch that turns a backend on is recorded after it, so the trail has it too.
      const [switched, recorded] = await logIndexes(daemon, offset, [/configuration reloaded .*: audit on, backends log,file$/, /audit: op="reload" origin="caller" args="conf" /]);
      expect(switched).toBeLessThan(recorded!);
      expect((await daemon.trail()).at(-1)).toMatchObject({ op: 'reload', args: 'conf', result: 'success', ...fromClient() });

      await add('trail-again');
      const now = await daemon.trail();
      expect(now.at(-1)).toMatchObject({ op: 'connection-add', name: 'trail-again', result: 'success', ...fromClient() });
      expect(now.some((r) => r.name === 'log-only')).toBe(false);
      expect(await waitForAuditLinesOf('trail-again')).toHaveLength(1);
      await verifiedChain(daemon.auditDir);
    });
  });

  describe('a trail that cannot be opened at reload', () => {
    beforeEach(() => startWith({ config: { audit: { backends: 'log' } } }));

    it('fails Manager.Reload(1) that turns the file backend on, and records no success', async () => {
      // The trail was never opened; its directory is now a plain file.
      await writeFile(daemon.auditDir, 'not a directory\n');
      await rewriteConfig(daemon, { audit: { backends: 'log,file' } });
      const offset = daemon.log().length;
      const err = await failure(reload(1));
      expect(err.type).toBe('org.netaudit1.Error.Failed');
      expect(err.text).toContain('audit trail');
      expect(err.text).not.toContain('internal error');
      await waitForLastAuditLine(`op="reload" origin="caller" args="conf" pid=${process.pid} uid=0 result="fail" reason="audit-trail-unavailable"`);
      expect(auditLines(daemon.log().slice(offset)).filter((l) => l.includes('result="success"'))).toEqual([]);
      expect(daemon.log().slice(offset)).not.toMatch(/configuration reloaded/);
      await add('after-failed-reload');
      await waitForAuditLinesOf('after-failed-reload');
    });
  });

  describe('a broken configuration at reload', () => {
    beforeEach(() => startWith());

    it('fails Manager.Reload(1) naming file:line, is recorded, and keeps the last good configuration', async () => {
      // The broken file also turns audit off and the level up before its bad line: none of it may apply.
      const text = await rewriteConfig(daemon, { logging: { audit: 'no', level: 'DEBUG' } }, '[audit]\nbackends=log,carrier-pigeon\n');
      const line = lineOf(text, 'backends=log,carrier-pigeon');
      const err = await failure(reload(1));
      expect(err.type).toBe('org.netaudit1.Error.Failed');
      expect(err.text).toContain('the last good one stays in effect');
      expect(err.text).toContain(`${daemon.configFile}:${line}: invalid value "log,carrier-pigeon" for "backends" in [audit]`);
      expect((await daemon.trail()).at(-1)).toMatchObject({
        op: 'reload', args: 'conf', result: 'fail', reason: 'invalid-config', ...fromClient(),
      });
      await waitForLastAuditLine(`op="reload" origin="caller" args="conf" pid=${process.pid} uid=0 result="fail" reason="invalid-config"`);

      expect(await getLogging()).toEqual(['INFO', 'ALL']);
      await add('still-audited');
      expect((await daemon.trail()).at(-1)).toMatchObject({ op: 'connection-add', name: 'still-audited', result: 'success' });
    });

    it('fails Manager.Reload(0) for a broken conf.d snippet, naming the snippet and its line', async () => {
      await mkdir(join(daemon.dir, 'conf.d'), { recursive: true });
      const snippet = join(daemon.dir, 'conf.d', '50-broken.conf');
      await writeFile(snippet, '[logging]\naudit=no\n[loging]\nlevel=DEBUG\n');
      const err = await failure(reload(0));
      expect(err.type).toBe('org.netaudit1.Error.Failed');
      expect(err.text).toContain(`${snippet}:3: unknown group "loging"`);
      expect((await daemon.trail()).at(-1)).toMatchObject({ op: 'reload', args: 'all', result: 'fail', reason: 'invalid-config' });
      expect(await getLogging()).toEqual(['INFO', 'ALL']);
    });

    it('on SIGHUP logs why, records the failure and keeps running with the last good configuration', async () => {
      const text = await rewriteConfig(daemon, { logging: { audit: 'no' } }, 'this is not a key\n');
      const line = lineOf(text, 'this is not a key');
      const before = (await daemon.trail()).length;
      const offset = daemon.log().length;
      daemon.signal('SIGHUP');
      const why = await waitForLogAfter(daemon, offset, /core: The configuration was not reloaded/);
      expect(why).toMatch(/^<warn> {2}\[\d+\.\d{4}\] core: /);
      expect(why).toContain(`the last good one stays in effect: ${daemon.configFile}:${line}: expected "[group]", "key=value" or a "#" comment, found "this is not a key"`);
      const trail = await daemon.trail();
      expect(trail).toHaveLength(before + 1);
      expect(trail.at(-1)).toMatchObject({ op: 'reload', args: 'sighup', result: 'fail', reason: 'invalid-config' });
      expect(trail.at(-1)).not.toHaveProperty('pid');

      expect(daemon.process.exitCode).toBeNull();
      expect(await getLogging()).toEqual(['INFO', 'ALL']);
      await add('after-bad-hup');
      expect((await daemon.trail()).at(-1)).toMatchObject({ op: 'connection-add', name: 'after-bad-hup', result: 'success' });

      // A repaired file is taken at the next SIGHUP.
      await rewriteConfig(daemon, { logging: { level: 'WARN' } });
      daemon.signal('SIGHUP');
      await waitFor(async () => (await getLogging())[0] === 'WARN', { what: 'level WARN after the repaired SIGHUP' });
      expect((await daemon.trail()).at(-1)).toMatchObject({ op: 'reload', args: 'sighup', result: 'success' });
    });
  });

  describe('Manager.Reload flags', () => {
    beforeEach(() => startWith());

    async function writeProfile(id: string, uuid: string): Promise<void> {
      await writeFile(join(daemon.profilesDir, `${id}.nmconnection`), `[connection]\nid=${id}\nuuid=${uuid}\ntype=ethernet\n\n[ipv4]\nmethod=disabled\n`, { mode: 0o600 });
    }

    async function knows(uuid: string): Promise<boolean> {
      return client.call(SETTINGS, SETTINGS_IFACE, 'GetConnectionByUuid', 's', [uuid]).then(() => true, () => false);
    }

    it('2 re-reads the profiles only (args=connections)', async () => {
      const uuid = '3c5e1d7a-6c5f-4a4e-9a1c-3e2f1d0c9b8a';
      await writeProfile('hand-made', uuid);
      await rewriteConfig(daemon, { logging: { level: 'DEBUG' } });
      expect(await knows(uuid)).toBe(false);
      await reload(2);
      expect(await knows(uuid)).toBe(true);
      expect(await getLogging()).toEqual(['INFO', 'ALL']);
      // The reload, then the file it found with the reload's tx (docs/profile-edits.md).
      const [reloaded, found] = (await daemon.trail()).slice(-2);
      expect(reloaded).toMatchObject({ op: 'reload', args: 'connections', result: 'success', ...fromClient() });
      expect(found).toMatchObject({ op: 'connection-add', origin: 'external', args: 'file', uuid, tx: reloaded!.tx, actor: { file: 'hand-made.nmconnection' } });
    });

    it('0 re-reads the configuration and the profiles (args=all)', async () => {
      const uuid = '4c5e1d7a-6c5f-4a4e-9a1c-3e2f1d0c9b8a';
      await writeProfile('hand-made-too', uuid);
      await rewriteConfig(daemon, { logging: { level: 'DEBUG' } });
      await reload(0);
      expect(await knows(uuid)).toBe(true);
      expect(await getLogging()).toEqual(['DEBUG', 'ALL']);
      const [reloaded, found] = (await daemon.trail()).slice(-2);
      expect(reloaded).toMatchObject({ op: 'reload', args: 'all', result: 'success', ...fromClient() });
      expect(found).toMatchObject({ op: 'connection-add', origin: 'external', args: 'file', uuid, tx: reloaded!.tx });
    });

    it('1 re-reads the configuration only (args=conf)', async () => {
      const uuid = '5c5e1d7a-6c5f-4a4e-9a1c-3e2f1d0c9b8a';
      await writeProfile('not-yet', uuid);
      await rewriteConfig(daemon, { logging: { level: 'WARN' } });
      await reload(1);
      expect(await getLogging()).toEqual(['WARN', 'ALL']);
      expect(await knows(uuid)).toBe(false);
      expect((await daemon.trail()).at(-1)).toMatchObject({ op: 'reload', args: 'conf', result: 'success' });
    });

    it('7 is InvalidArgument and a failed record', async () => {
      await rewriteConfig(daemon, { logging: { level: 'DEBUG' } });
      const err = await failure(reload(7));
      expect(err.type).toBe('org.netaudit1.Error.InvalidArgument');
      expect(err.text).toContain('Reload flags 7 are not known');
      expect((await daemon.trail()).at(-1)).toMatchObject({ op: 'reload', args: '7', result: 'fail', reason: 'invalid-argument', ...fromClient() });
      expect(await getLogging()).toEqual(['INFO', 'ALL']);
    });
  });

  describe('SetLogging', () => {
    beforeEach(() => startWith());

    it('sets level and domains, GetLogging returns them, and the change is recorded with its args', async () => {
      await setLogging('DEBUG', 'SETTINGS');
      expect(await getLogging()).toEqual(['DEBUG', 'SETTINGS']);
      expect((await daemon.trail()).at(-1)).toMatchObject({
        op: 'logging-control', args: 'DEBUG:SETTINGS', result: 'success', ...fromClient(),
      });
      await waitForLastAuditLine(`op="logging-control" origin="caller" args="DEBUG:SETTINGS" pid=${process.pid} uid=0 result="success"`);

      // "" keeps a value; names are taken in any case; ALL is every domain.
      await setLogging('', 'core,Bus');
      expect(await getLogging()).toEqual(['DEBUG', 'CORE,BUS']);
      await setLogging('warn', '');
      expect(await getLogging()).toEqual(['WARN', 'CORE,BUS']);
      await setLogging('INFO', 'ALL');
      expect(await getLogging()).toEqual(['INFO', 'ALL']);
    });

    it('writes the audit line whatever level and domains say', async () => {
      await setLogging('ERR', 'SETTINGS');
      await add('at-err');
      expect(await waitForAuditLinesOf('at-err')).toHaveLength(1);
    });

    it('refuses an unknown level or domain with InvalidArgument and a failed record, changing nothing', async () => {
      let err = await failure(setLogging('LOUD', 'ALL'));
      expect(err.type).toBe('org.netaudit1.Error.InvalidArgument');
      expect(err.text).toContain('Unknown log level "LOUD"');
      expect((await daemon.trail()).at(-1)).toMatchObject({
        op: 'logging-control', args: 'LOUD:ALL', result: 'fail', reason: 'invalid-argument', ...fromClient(),
      });

      err = await failure(setLogging('DEBUG', 'SETTINGS,NOISE'));
      expect(err.type).toBe('org.netaudit1.Error.InvalidArgument');
      expect(err.text).toContain('Unknown log domain "NOISE"');
      expect((await daemon.trail()).at(-1)).toMatchObject({ op: 'logging-control', result: 'fail', reason: 'invalid-argument' });
      expect(await getLogging()).toEqual(['INFO', 'ALL']);
    });

    it('AUDIT:OFF is recorded before it turns auditing off, AUDIT:ON after it turns it back on', async () => {
      const before = (await daemon.trail()).length;
      let offset = daemon.log().length;
      await setLogging('', 'AUDIT:OFF');
      let trail = await daemon.trail();
      expect(trail).toHaveLength(before + 1);
      expect(trail.at(-1)).toMatchObject({ op: 'logging-control', args: ':AUDIT:OFF', result: 'success', ...fromClient() });
      await logIndexes(daemon, offset, [/ audit: op="logging-control" /]);
      expect(auditLines(daemon.log().slice(offset))).toEqual([`op="logging-control" origin="caller" args=":AUDIT:OFF" pid=${process.pid} uid=0 result="success"`]);
      expect(await getLogging()).toEqual(['INFO', 'ALL,AUDIT:OFF']);

      await add('unheard');
      expect(existsSync(join(daemon.profilesDir, 'unheard.nmconnection'))).toBe(true);
      expect(await daemon.trail()).toEqual(trail);

      offset = daemon.log().length;
      await setLogging('', 'AUDIT:ON');
      trail = await daemon.trail();
      expect(trail).toHaveLength(before + 2);
      expect(trail.at(-1)).toMatchObject({ op: 'logging-control', args: ':AUDIT:ON', result: 'success', ...fromClient() });
      await logIndexes(daemon, offset, [/ audit: op="logging-control" origin="caller" args=":AUDIT:ON" /]);
      expect(await getLogging()).toEqual(['INFO', 'ALL']);

      await add('heard');
      expect((await daemon.trail()).at(-1)).toMatchObject({ op: 'connection-add', name: 'heard', result: 'success' });
      expect(await waitForAuditLinesOf('heard')).toHaveLength(1);
      // Written in order: with the later line in the log, one for unheard would be there too.
      expect(auditLinesOf('unheard')).toEqual([]);
      expect(auditLines(daemon.log().slice(offset))).toHaveLength(2);
      await verifiedChain(daemon.auditDir);
    });

    it('AUDIT:OFF lasts until the next configuration reload, which records turning audit on after it', async () => {
      await setLogging('DEBUG', 'AUDIT:OFF');
      expect(await getLogging()).toEqual(['DEBUG', 'ALL,AUDIT:OFF']);
      const trail = await daemon.trail();
      await reload(1);
      expect(await getLogging()).toEqual(['INFO', 'ALL']);
      const now = await daemon.trail();
      expect(now).toHaveLength(trail.length + 1);
      expect(now.at(-1)).toMatchObject({ op: 'reload', args: 'conf', result: 'success' });
    });
  });

  describe('[main] auth=polkit', () => {
    beforeEach(() => startWith({ config: { main: { auth: 'polkit' } } }));

    it('asks polkit about everyone but root: with no polkit on the bus nauser is refused (fail closed), root allowed as uid0, one record each', async () => {
      await client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [
        ethernet('under-polkit', { connection: { autoconnect: variant('b', false) } }),
      ]);
      expect((await daemon.trail()).at(-1)).toMatchObject({ op: 'connection-add', name: 'under-polkit', uid: 0, result: 'success', actor: { auth: 'uid0' } });
      const { code } = await busctl(bus.address, ['call', 'org.netaudit1', MANAGER, MANAGER_IFACE, 'Reload', 'u', '1'], { uid: 'nauser' });
      expect(code).not.toBe(0);
      expect((await daemon.trail()).at(-1)).toMatchObject({ op: 'reload', args: 'conf', result: 'fail', reason: 'polkit-unavailable' });
    });
  });
});
