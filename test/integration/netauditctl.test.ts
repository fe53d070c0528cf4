// netauditctl audit verify, the built CLI, against a trail the real daemon
// wrote over two starts: exit codes, the summary, each break named by file
// and line, the torn tail that the daemon's next start cuts, --dir and
// --config, and a non-root user with read access to the trail.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { appendFile, chown, cp, mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBus, type TestBus } from '../helpers/bus.js';
import { connect, type TestClient } from '../helpers/client.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { run, type RunResult } from '../helpers/exec.js';
import { CONNECTION_IFACE, ethernet, SETTINGS, SETTINGS_IFACE } from '../helpers/profiles.js';
import { repoPath } from '../helpers/repo.js';
import { dayFiles } from '../helpers/trail.js';

const cliMain = repoPath('dist', 'cli', 'main.js');
const version = (JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { version: string }).version;

let bus: TestBus;
let daemon: TestDaemon;
let scratch: string;
/** The trail's day files once the daemon has stopped, oldest first. */
let files: string[];
let records: number;

function netauditctl(args: string[], options: { uid?: string } = {}): Promise<RunResult> {
  return run(process.execPath, [cliMain, ...args], options);
}

async function change(client: TestClient): Promise<void> {
  const [path] = (await client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [ethernet('lan0')])) as [string];
  await client.call(path, CONNECTION_IFACE, 'Update', 'a{sa{sv}}', [ethernet('lan0-renamed')]);
}

/** A copy of the daemon's trail in a scratch dir, to damage. */
async function copyOfTrail(name: string): Promise<string> {
  const dir = join(scratch, name);
  await cp(daemon.auditDir, dir, { recursive: true });
  return dir;
}

async function trailLines(dir: string, file: string): Promise<string[]> {
  return (await readFile(join(dir, file), 'utf8')).split('\n').slice(0, -1);
}

function expectIntact(result: RunResult, dir: string): void {
  expect(result.stderr).toBe('');
  expect(result.stdout).toBe(
    `audit trail ${dir}: ${files.length} file${files.length === 1 ? '' : 's'}, ${records} records, 2 daemon starts, chain intact\n`,
  );
  expect(result.code).toBe(0);
}

beforeAll(async () => {
  if (!existsSync(cliMain)) throw new Error(`${cliMain} is missing: run "npm run build" first`);
  bus = await startBus();
  scratch = await mkdtemp(join(bus.dir, 'ctl-'));
  daemon = await startDaemon(bus);
  // Two daemon starts, two changes each (add, update): four records, two boots.
  for (let start = 0; start < 2; start++) {
    if (start > 0) await daemon.start();
    const client = await connect(bus.address);
    try {
      await change(client);
    } finally {
      client.close();
    }
    expect(await daemon.stop()).toBe(0);
  }
  files = await dayFiles(daemon.auditDir);
  records = (await daemon.trail()).length;
  expect(records).toBe(4);
});

afterAll(async () => {
  await bus?.stop();
});

describe('netauditctl audit verify on an intact trail', () => {
  it('prints one summary line and exits 0 with --dir', async () => {
    expectIntact(await netauditctl(['audit', 'verify', '--dir', daemon.auditDir]), daemon.auditDir);
  });

  it('takes the directory from [audit] dir of --config', async () => {
    expectIntact(await netauditctl(['audit', 'verify', '--config', daemon.configFile]), daemon.auditDir);
  });

  it('takes it from conf.d beside the --config file too', async () => {
    const elsewhere = await copyOfTrail('elsewhere');
    const etc = join(scratch, 'etc');
    await mkdir(join(etc, 'conf.d'), { recursive: true });
    await writeFile(join(etc, 'netauditd.conf'), '[audit]\ndir=/nonexistent\n');
    await writeFile(join(etc, 'conf.d', '10-trail.conf'), `[audit]\ndir=${elsewhere}\n`);
    expectIntact(await netauditctl(['audit', 'verify', '--config', join(etc, 'netauditd.conf')]), elsewhere);
  });
});

describe('netauditctl audit verify on a damaged trail', () => {
  it('names a changed line by file and line (bad-hash) and exits 1', async () => {
    const dir = await copyOfTrail('changed');
    const file = files.at(-1)!;
    const lines = await trailLines(dir, file);
    const n = lines.findIndex((l) => l.includes('"name":"lan0-renamed"'));
    lines[n] = lines[n]!.replace('"name":"lan0-renamed"', '"name":"lan0-RENAMED"');
    await writeFile(join(dir, file), lines.map((l) => `${l}\n`).join(''));
    const result = await netauditctl(['audit', 'verify', '--dir', dir]);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n')[0]).toBe(
      `netauditctl: audit trail broken at ${dir}/${file}:${n + 1} (bad-hash): the line does not match its hash: its content was changed after netauditd wrote it`,
    );
    expect(result.stderr.split('\n')[1]).toMatch(new RegExp(`^netauditctl: audit trail ${dir}: the chain is intact up to there \\(\\d+ files?, ${records - (lines.length - n)} records?, `));
    expect(result.code).toBe(1);
  });

  it('names a deleted line by the file and line that follows it (bad-link)', async () => {
    const dir = await copyOfTrail('deleted');
    // Two lines of one file (the trail spans two files if the test runs across midnight UTC).
    let file = files[0]!;
    for (const name of files) if ((await trailLines(dir, name)).length >= 2) file = name;
    const lines = await trailLines(dir, file);
    expect(lines.length).toBeGreaterThanOrEqual(2);
    await writeFile(join(dir, file), lines.filter((_, i) => i !== lines.length - 2).map((l) => `${l}\n`).join(''));
    const result = await netauditctl(['audit', 'verify', '--dir', dir]);
    expect(result.stderr).toContain(`netauditctl: audit trail broken at ${dir}/${file}:${lines.length - 1} (bad-link): prev is not the hash of the record before it`);
    expect(result.code).toBe(1);
  });

  it('names the first record when older records were removed (bad-link)', async () => {
    const dir = await copyOfTrail('head-removed');
    const file = files[0]!;
    const lines = await trailLines(dir, file);
    await writeFile(join(dir, file), lines.slice(1).map((l) => `${l}\n`).join(''));
    const result = await netauditctl(['audit', 'verify', '--dir', dir]);
    expect(result.stderr).toContain(`netauditctl: audit trail broken at ${dir}/${file}:1 (bad-link): prev is not 64 zeros`);
    expect(result.code).toBe(1);
  });

  it('says a torn last line is not tampering, and the daemon cuts it at its next start', async () => {
    const file = files.at(-1)!;
    const path = join(daemon.auditDir, file);
    const lines = await trailLines(daemon.auditDir, file);
    const torn = lines.at(-1)!.slice(0, 40);
    await appendFile(path, torn);
    const result = await netauditctl(['audit', 'verify', '--dir', daemon.auditDir]);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n')[0]).toBe(
      `netauditctl: audit trail torn at ${path}:${lines.length + 1} (torn-tail): 40 bytes after the last newline of the newest day file: ` +
        'a record cut short by a crash while it was written (or a write under way, if netauditd is running now), not tampering; ' +
        'no caller was told of that change, and netauditd cuts these bytes off at its next start',
    );
    expect(result.code).toBe(1);

    await daemon.start();
    expect(await daemon.stop()).toBe(0);
    expectIntact(await netauditctl(['audit', 'verify', '--dir', daemon.auditDir]), daemon.auditDir);
  });
});

describe('netauditctl audit verify as a user who is not root', () => {
  it('is refused with EACCES without read access, and verifies with it', async () => {
    const nauserGid = Number(execFileSync('id', ['-g', 'nauser'], { encoding: 'utf8' }).trim());
    const denied = await netauditctl(['audit', 'verify', '--dir', daemon.auditDir], { uid: 'nauser' });
    // The daemon makes its trail dir 0750 and day files 0640, owned by root.
    expect(denied.stderr).toBe(
      `netauditctl: cannot read the audit trail directory ${JSON.stringify(daemon.auditDir)} (EACCES): reading the trail needs read access to its directory and files\n`,
    );
    expect(denied.code).toBe(1);

    // Group read access, as an admin group (adm) would have it.
    await chown(daemon.auditDir, 0, nauserGid);
    for (const name of await readdir(daemon.auditDir)) await chown(join(daemon.auditDir, name), 0, nauserGid);
    expectIntact(await netauditctl(['audit', 'verify', '--dir', daemon.auditDir], { uid: 'nauser' }), daemon.auditDir);
    expectIntact(await netauditctl(['audit', 'verify', '--config', daemon.configFile], { uid: 'nauser' }), daemon.auditDir);
  });
});

describe('netauditctl command line', () => {
  it('prints its help on stdout with --help and exits 0', async () => {
    for (const args of [['--help'], ['-h']]) {
      const result = await netauditctl(args);
      expect(result.stdout).toMatch(/^Usage: netauditctl \[OPTION\]\.\.\. OBJECT COMMAND/);
      expect(result.stdout).toContain('audit');
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
    }
  });

  it('prints the help of audit and of audit verify', async () => {
    const audit = await netauditctl(['audit', '--help']);
    expect(audit.stdout).toMatch(/^Usage: netauditctl audit COMMAND/);
    expect(audit.stdout).toMatch(/\n {2}verify {4}/);
    expect(audit.code).toBe(0);
    const verify = await netauditctl(['audit', 'verify', '--help']);
    expect(verify.stdout).toMatch(/^Usage: netauditctl audit verify \[--dir DIR \| --config FILE\]\n/);
    expect(verify.stdout).toContain('torn-tail');
    expect(verify.code).toBe(0);
  });

  it('prints its version with --version and -V', async () => {
    for (const args of [['--version'], ['-V']]) {
      const result = await netauditctl(args);
      expect(result).toMatchObject({ code: 0, stdout: `netauditctl ${version}\n`, stderr: '' });
    }
  });

  it.each([
    { args: [], message: 'an object is missing: general, networking, radio, connection, device, reload, logging, audit', usage: 'Usage: netauditctl [OPTION]... OBJECT COMMAND [ARGUMENT]...', help: 'netauditctl --help' },
    { args: ['bogus'], message: 'unknown object "bogus": general, networking, radio, connection, device, reload, logging, audit', usage: 'Usage: netauditctl [OPTION]... OBJECT COMMAND [ARGUMENT]...', help: 'netauditctl --help' },
    { args: ['--frobnicate', 'audit', 'verify'], message: "Unknown option '--frobnicate'", usage: 'Usage: netauditctl [OPTION]... OBJECT COMMAND [ARGUMENT]...', help: 'netauditctl --help' },
    { args: ['audit'], message: 'a command is missing: list, show, export, verify, follow, stats', usage: 'Usage: netauditctl audit COMMAND [OPTION]...', help: 'netauditctl audit --help' },
    { args: ['audit', 'purge'], message: 'unknown command "purge" for audit: list, show, export, verify, follow, stats', usage: 'Usage: netauditctl audit COMMAND [OPTION]...', help: 'netauditctl audit --help' },
    { args: ['audit', 'verify', '--since', 'today'], message: "Unknown option '--since'", usage: 'Usage: netauditctl audit verify [--dir DIR | --config FILE]', help: 'netauditctl audit verify --help' },
    { args: ['audit', 'verify', 'extra'], message: "Unexpected argument 'extra'", usage: 'Usage: netauditctl audit verify [--dir DIR | --config FILE]', help: 'netauditctl audit verify --help' },
    { args: ['audit', 'verify', '--dir'], message: "Option '--dir <value>' argument missing", usage: 'Usage: netauditctl audit verify [--dir DIR | --config FILE]', help: 'netauditctl audit verify --help' },
    { args: ['audit', 'verify', '--dir', '/d', '--config', '/c'], message: '--dir and --config exclude each other', usage: 'Usage: netauditctl audit verify [--dir DIR | --config FILE]', help: 'netauditctl audit verify --help' },
  ])('refuses $args with usage on stderr and exit 2', async ({ args, message, usage, help }) => {
    const result = await netauditctl(args);
    expect(result).toMatchObject({ code: 2, stdout: '', stderr: `netauditctl: ${message}\n${usage}\nTry '${help}'.\n` });
  });

  it('exits 1 naming a trail directory that does not exist', async () => {
    const missing = join(scratch, 'no-such-dir');
    const result = await netauditctl(['audit', 'verify', '--dir', missing]);
    expect(result).toMatchObject({
      code: 1,
      stdout: '',
      stderr: `netauditctl: the audit trail directory ${JSON.stringify(missing)} does not exist (ENOENT); netauditd creates it at its first start\n`,
    });
  });

  it('exits 1 naming a --config file that does not exist', async () => {
    const missing = join(scratch, 'no-such.conf');
    const result = await netauditctl(['audit', 'verify', '--config', missing]);
    expect(result.stderr).toBe(
      `netauditctl: ${missing}: the config file does not exist (ENOENT); --config must name an existing file; the trail's directory comes from [audit] dir there (or name it with --dir DIR)\n`,
    );
    expect(result.code).toBe(1);
  });

  it('exits 1 with file:line for a bad --config file', async () => {
    const bad = join(scratch, 'bad.conf');
    await writeFile(bad, '[audit]\ndir=/x\nfrobnicate=yes\n');
    const result = await netauditctl(['audit', 'verify', '--config', bad]);
    expect(result.stderr).toMatch(new RegExp(`^netauditctl: ${bad}:3: unknown key "frobnicate" in \\[audit\\]`));
    expect(result.code).toBe(1);
  });

  it('calls an empty trail empty and exits 0', async () => {
    const empty = join(scratch, 'empty');
    await mkdir(empty);
    const result = await netauditctl(['audit', 'verify', '--dir', empty]);
    expect(result).toMatchObject({ code: 0, stdout: `audit trail ${empty}: empty (0 files, no records yet), nothing to verify\n`, stderr: '' });
  });
});
