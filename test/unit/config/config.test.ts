// Config loading: defaults, conf.d overrides, and every error with its file and line.
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, DEFAULT_CONFIG_FILE, defaultConfig, loadConfig, restartOnlyChanges, type Config } from '../../../src/config/config.js';

let dir: string;
let mainFile: string;
let confD: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'netauditd-config-'));
  mainFile = path.join(dir, 'netauditd.conf');
  confD = path.join(dir, 'conf.d');
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function writeMain(text: string): Promise<void> {
  await writeFile(mainFile, text);
}

async function writeSnippet(name: string, text: string | Buffer): Promise<string> {
  await mkdir(confD, { recursive: true });
  const file = path.join(confD, name);
  await writeFile(file, text);
  return file;
}

async function loadError(required = true): Promise<ConfigError> {
  try {
    await loadConfig(mainFile, { required });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

async function expectError(text: string, line: number, detail: string): Promise<void> {
  await writeMain(text);
  const err = await loadError();
  expect([err.file, err.line, err.message]).toEqual([mainFile, line, `${mainFile}:${line}: ${detail}`]);
}

describe('defaultConfig', () => {
  it('holds the defaults netauditd.conf(5) documents', () => {
    expect(defaultConfig()).toEqual({
      main: {
        auth: 'polkit', profilesDir: '/etc/netauditd/system-connections', monitorConnectionFiles: false, runDir: '/run/netauditd', stateDir: '/var/lib/netauditd', dns: 'auto', resolvConf: '/etc/resolv.conf',
      },
      logging: { level: 'INFO', domains: ['CORE', 'CONFIG', 'BUS', 'SETTINGS', 'AUDIT', 'AUTH'], audit: true },
      audit: { backends: ['libaudit', 'journal', 'log', 'file'], dir: '/var/log/netauditd/audit', watch: ['links', 'addresses', 'routes', 'rules', 'profiles'], retentionDays: 30 },
      files: [],
    });
    expect(DEFAULT_CONFIG_FILE).toBe('/etc/netauditd/netauditd.conf');
  });

  it('is deeply frozen', () => {
    const c = defaultConfig();
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.main)).toBe(true);
    expect(Object.isFrozen(c.logging.domains)).toBe(true);
    expect(Object.isFrozen(c.audit.backends)).toBe(true);
    expect(Object.isFrozen(c.files)).toBe(true);
  });
});

describe('loadConfig', () => {
  it('returns the defaults when the main file is missing and not required', async () => {
    expect(await loadConfig(mainFile, { required: false })).toEqual(defaultConfig());
  });

  it('refuses a missing main file when it is required', async () => {
    const err = await loadError(true);
    expect([err.file, err.line]).toEqual([mainFile, null]);
    expect(err.message).toBe(`${mainFile}: the config file does not exist (ENOENT); --config must name an existing file`);
  });

  it('reads every key of the main file', async () => {
    await writeMain(
      [
        '# a comment',
        '[main]',
        'auth=root-only',
        'profiles-dir=/srv/profiles',
        'monitor-connection-files=Yes',
        'run-dir=/srv/run',
        'state-dir=/srv/state',
        'dns=File',
        'resolv-conf=/srv/etc/resolv.conf',
        '[logging]',
        'level=TRACE',
        'domains=AUDIT,CORE',
        'audit=no',
        '[audit]',
        'backends=file,log',
        'dir=/srv/trail',
        'watch=profiles, Links,profiles',
        'retention-days=7',
        '',
      ].join('\n'),
    );
    const c = await loadConfig(mainFile, { required: true });
    expect(c).toEqual({
      main: { auth: 'root-only', profilesDir: '/srv/profiles', monitorConnectionFiles: true, runDir: '/srv/run', stateDir: '/srv/state', dns: 'file', resolvConf: '/srv/etc/resolv.conf' },
      logging: { level: 'TRACE', domains: ['CORE', 'AUDIT'], audit: false },
      // watch is a set, in the order of the table: a repeated target is harmless.
      audit: { backends: ['file', 'log'], dir: '/srv/trail', watch: ['links', 'profiles'], retentionDays: 7 },
      files: [mainFile],
    });
    expect(Object.isFrozen(c.logging.domains)).toBe(true);
    expect(Object.isFrozen(c.audit.watch)).toBe(true);
  });

  it('takes an empty watch= as watching nothing', async () => {
    await writeMain('[audit]\nwatch=\n');
    expect((await loadConfig(mainFile, { required: true })).audit.watch).toEqual([]);
  });

  it('takes the last of a repeated key and merges repeated groups', async () => {
    await writeMain('[logging]\nlevel=WARN\n[main]\n[logging]\nlevel=DEBUG\n');
    expect((await loadConfig(mainFile, { required: true })).logging.level).toBe('DEBUG');
  });

  it('applies conf.d/*.conf in byte order, later values overriding earlier ones', async () => {
    await writeMain('[logging]\nlevel=ERR\n[audit]\nretention-days=1\n');
    const a = await writeSnippet('10-a.conf', '[logging]\nlevel=WARN\n');
    const b = await writeSnippet('2-b.conf', '[logging]\nlevel=DEBUG\n[audit]\nretention-days=2\n');
    const c = await writeSnippet('B.conf', '[logging]\nlevel=TRACE\n');
    const d = await writeSnippet('a.conf', '[logging]\nlevel=INFO\n');
    const config = await loadConfig(mainFile, { required: true });
    expect(config.files).toEqual([mainFile, a, b, c, d]);
    expect(config.logging.level).toBe('INFO');
    expect(config.audit.retentionDays).toBe(2);
  });

  it('ignores conf.d entries that are not *.conf files', async () => {
    await writeSnippet('x.conf.bak', 'junk');
    await writeSnippet('README', 'junk');
    await writeSnippet('.hidden.conf', 'junk');
    await mkdir(path.join(confD, 'dir.conf'));
    const ok = await writeSnippet('ok.conf', '[audit]\nbackends=\n');
    const config = await loadConfig(mainFile, { required: false });
    expect(config.files).toEqual([ok]);
    expect(config.audit.backends).toEqual([]);
  });

  it('reads conf.d even when the optional main file is missing', async () => {
    const snippet = await writeSnippet('50-level.conf', '[logging]\nlevel=debug\n');
    const config = await loadConfig(mainFile, { required: false });
    expect(config.files).toEqual([snippet]);
    expect(config.logging.level).toBe('DEBUG');
  });

  it('resolves a relative main file name against the working directory', async () => {
    await writeMain('[main]\nrun-dir=run\n');
    const config = await loadConfig(path.relative(process.cwd(), mainFile), { required: true });
    expect(config.files).toEqual([mainFile]);
    expect(config.main.runDir).toBe(path.join(dir, 'run'));
  });

  it('resolves a relative path against the directory of the file that set it', async () => {
    await writeMain('[main]\nprofiles-dir=profiles\nrun-dir=./a/../run/\n');
    await writeSnippet('trail.conf', '[audit]\ndir=../trail\n');
    await writeSnippet('zz.conf', '[main]\nprofiles-dir=p\n');
    const config = await loadConfig(mainFile, { required: true });
    expect(config.main.runDir).toBe(path.join(dir, 'run'));
    expect(config.audit.dir).toBe(path.join(dir, 'trail'));
    expect(config.main.profilesDir).toBe(path.join(confD, 'p'));
  });

  it('unescapes values', async () => {
    await writeMain('[audit]\ndir=/srv/a\\\\b\\sc # d\n');
    expect((await loadConfig(mainFile, { required: true })).audit.dir).toBe('/srv/a\\b c # d');
  });

  it('reads names and booleans in any case and ignores trailing whitespace', async () => {
    await writeMain('[main]\nauth=Root-Only \n[logging]\nlevel=warn\t\ndomains= settings , Audit ,\naudit=TRUE\n[audit]\nbackends=JOURNAL, file ,\nretention-days=0 \n');
    const c = await loadConfig(mainFile, { required: true });
    expect(c.main.auth).toBe('root-only');
    expect(c.logging).toEqual({ level: 'WARN', domains: ['SETTINGS', 'AUDIT'], audit: true });
    expect(c.audit.backends).toEqual(['journal', 'file']);
    expect(c.audit.retentionDays).toBe(0);
  });

  it('accepts GLib booleans for audit', async () => {
    for (const [text, value] of [['yes', true], ['1', true], ['true', true], ['No', false], ['0', false], ['FALSE', false]] as const) {
      await writeMain(`[logging]\naudit=${text}\n`);
      expect((await loadConfig(mainFile, { required: true })).logging.audit).toBe(value);
    }
  });

  it('reads domains=ALL, alone or with others, as every domain', async () => {
    await writeMain('[logging]\ndomains=core,all\n');
    expect((await loadConfig(mainFile, { required: true })).logging.domains).toEqual(defaultConfig().logging.domains);
  });

  it('reads an empty domains or backends list as none', async () => {
    await writeMain('[logging]\ndomains=\n[audit]\nbackends=  \n');
    const c = await loadConfig(mainFile, { required: true });
    expect(c.logging.domains).toEqual([]);
    expect(c.audit.backends).toEqual([]);
  });

  it('accepts a UTF-8 byte order mark and CRLF line endings', async () => {
    await writeMain('\ufeff[logging]\r\nlevel=ERR\r\n');
    expect((await loadConfig(mainFile, { required: true })).logging.level).toBe('ERR');
  });

  describe('refuses', () => {
    it('an unknown group, naming the accepted ones', () =>
      expectError('[main]\n[mian]\nauth=polkit\n', 2, 'unknown group "mian": accepted [main], [logging], [audit]'));

    it('an unknown key, naming the accepted ones', () =>
      expectError('[main]\nauth=polkit\nfoo=1\n', 3, 'unknown key "foo" in [main]: accepted auth, profiles-dir, monitor-connection-files, run-dir, state-dir, dns, resolv-conf'));

    it('a key of another group', () =>
      expectError('[logging]\ndir=/x\n', 2, 'unknown key "dir" in [logging]: accepted level, domains, audit'));

    it('a locale variant of a key', () =>
      expectError('[logging]\nlevel[de]=INFO\n', 2, 'unknown key "level[de]" in [logging]: accepted level, domains, audit'));

    const bad: Array<[string, string, string, string]> = [
      ['main', 'auth', 'pk', 'expected one of polkit, root-only (any case)'],
      ['main', 'profiles-dir', '', 'expected a path; a relative one is taken from the directory of this file'],
      ['main', 'run-dir', '', 'expected a path; a relative one is taken from the directory of this file'],
      ['main', 'dns', 'systemd-resolved', 'expected one of auto, resolved, file, none (any case)'],
      ['main', 'dns', 'file,none', 'expected one of auto, resolved, file, none (any case)'],
      ['main', 'resolv-conf', '', 'expected the path of a file; a relative one is taken from the directory of this file'],
      ['logging', 'level', 'LOUD', 'expected one of ERR, WARN, INFO, DEBUG, TRACE (any case)'],
      ['logging', 'level', 'INFO,DEBUG', 'expected one of ERR, WARN, INFO, DEBUG, TRACE (any case)'],
      ['logging', 'domains', 'CORE,NET', 'unknown domain "NET": expected a comma-separated list of CORE, CONFIG, BUS, SETTINGS, AUDIT, AUTH or ALL'],
      ['logging', 'domains', 'CORE,,BUS', 'the list has an empty item'],
      ['logging', 'audit', 'on', 'expected yes or no (also true/false, 1/0; any case)'],
      ['logging', 'audit', 'yess', 'expected yes or no (also true/false, 1/0; any case)'],
      ['audit', 'backends', 'file,syslog', 'unknown backend "syslog": expected a comma-separated list of libaudit, journal, log, file, or nothing'],
      ['audit', 'backends', 'file,log,File', '"file" is listed twice'],
      ['audit', 'backends', 'file;log', 'unknown backend "file;log": expected a comma-separated list of libaudit, journal, log, file, or nothing'],
      ['audit', 'dir', '', 'expected a path; a relative one is taken from the directory of this file'],
      ['main', 'monitor-connection-files', 'always', 'expected yes or no (also true/false, 1/0; any case)'],
      ['audit', 'watch', 'links,files', 'unknown target "files": expected a comma-separated list of links, addresses, routes, rules, profiles, or nothing'],
      ['audit', 'watch', 'links,,routes', 'the list has an empty item'],
      ['audit', 'retention-days', '-1', 'expected a whole number of days from 0 to 1000000'],
      ['audit', 'retention-days', '1.5', 'expected a whole number of days from 0 to 1000000'],
      ['audit', 'retention-days', '', 'expected a whole number of days from 0 to 1000000'],
      ['audit', 'retention-days', '30d', 'expected a whole number of days from 0 to 1000000'],
      ['audit', 'retention-days', '1000001', 'expected a whole number of days from 0 to 1000000'],
      ['audit', 'retention-days', '0x10', 'expected a whole number of days from 0 to 1000000'],
      ['audit', 'dir', '/x\\q', 'invalid escape sequence "\\\\q": only \\s \\n \\t \\r \\\\ are allowed'],
    ];
    for (const [group, key, value, why] of bad) {
      it(`${key}=${JSON.stringify(value)} in [${group}], with file and line`, () =>
        expectError(`# c\n[${group}]\n\n${key}=${value}\n`, 4, `invalid value ${JSON.stringify(value)} for "${key}" in [${group}]: ${why}`));
    }

    it('a bad value even when a later line overrides it, reporting the first error', async () => {
      await writeMain('[logging]\nlevel=LOUD\nlevel=INFO\nfoo=1\n');
      expect((await loadError()).line).toBe(2);
    });

    it('a keyfile syntax error, with file and line', () =>
      expectError('[main]\nauth=polkit\nnot a key\n', 3, 'expected "[group]", "key=value" or a "#" comment, found "not a key"'));

    it('a key before the first group', () => expectError('level=INFO\n', 1, 'a key=value line comes before the first [group] header'));

    it('a file that is not valid UTF-8, naming the line', async () => {
      await writeFile(mainFile, Buffer.concat([Buffer.from('[main]\nauth=polkit\nrun-dir=/a'), Buffer.from([0xff, 0xfe]), Buffer.from('\n')]));
      const err = await loadError();
      expect(err.message).toBe(`${mainFile}:3: the line is not valid UTF-8`);
    });

    it('an error in a conf.d file, naming that file', async () => {
      await writeMain('[logging]\nlevel=INFO\n');
      await writeSnippet('10-ok.conf', '[logging]\nlevel=DEBUG\n');
      const bad = await writeSnippet('20-bad.conf', '[audit]\nbackends=log\nretention-days=soon\n');
      const err = await loadError();
      expect([err.file, err.line]).toEqual([bad, 3]);
      expect(err.message).toBe(`${bad}:3: invalid value "soon" for "retention-days" in [audit]: expected a whole number of days from 0 to 1000000`);
    });

    it('a main file that is a directory', async () => {
      await mkdir(mainFile);
      const err = await loadError(false);
      expect(err.message).toBe(`${mainFile}: cannot read the file (EISDIR)`);
    });

    it('a conf.d that is not a directory', async () => {
      await writeFile(confD, 'x');
      const err = await loadError(false);
      expect(err.message).toBe(`${confD}: cannot list the directory (ENOTDIR)`);
    });
  });
});

describe('restartOnlyChanges', () => {
  function changed(patch: { main?: Partial<Config['main']>; logging?: Partial<Config['logging']>; audit?: Partial<Config['audit']> }): Config {
    const base = defaultConfig();
    return {
      main: { ...base.main, ...patch.main },
      logging: { ...base.logging, ...patch.logging },
      audit: { ...base.audit, ...patch.audit },
      files: base.files,
    };
  }

  it('is empty when nothing that needs a restart changed', () => {
    const live = changed({
      main: { auth: 'root-only', dns: 'none', resolvConf: '/r' },
      logging: { level: 'TRACE', domains: ['CORE'], audit: false },
      audit: { backends: ['file'], retentionDays: 1 },
    });
    expect(restartOnlyChanges(defaultConfig(), live)).toEqual([]);
  });

  it('names each changed key that needs a restart', () => {
    expect(restartOnlyChanges(defaultConfig(), changed({ main: { profilesDir: '/p' } }))).toEqual(['main.profiles-dir']);
    expect(
      restartOnlyChanges(defaultConfig(), changed({ main: { profilesDir: '/p', runDir: '/r' }, audit: { dir: '/d' } })),
    ).toEqual(['main.profiles-dir', 'main.run-dir', 'audit.dir']);
  });

  it('sees no change between two loads of the same files', async () => {
    await writeMain('[main]\nrun-dir=run\n');
    const a = await loadConfig(mainFile, { required: true });
    const b = await loadConfig(mainFile, { required: true });
    expect(restartOnlyChanges(a, b)).toEqual([]);
  });
});
