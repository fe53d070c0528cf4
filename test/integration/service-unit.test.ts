// The systemd unit, systemd/netauditd.service: `systemd-analyze verify` finds nothing to say about
// it, its Documentation= man pages included, and `systemd-analyze security` rates its exposure at 2.5 or lower. Both run offline, from the
// file: PID 1 need not be systemd (it is not on CI), only the systemd package's systemd-analyze.
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, type RunResult } from '../helpers/exec.js';
import { repoPath } from '../helpers/repo.js';

const UNIT = repoPath('systemd', 'netauditd.service');
const MAX_EXPOSURE = 2.5;

/** The pages of man/, by the section each goes in. */
const MAN_PAGES = ['netauditctl.1', 'netauditd.conf.5', 'netauditd.8'];

/** `systemd-analyze ARGS…`, failing with what to install when the command is missing. */
async function systemdAnalyze(args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  try {
    return await run('systemd-analyze', args, { env: { SYSTEMD_COLORS: '0', SYSTEMD_PAGER: 'cat', LC_ALL: 'C.UTF-8', ...env } });
  } catch (e) {
    throw new Error(
      `systemd-analyze is needed to check ${UNIT} and could not be run (${(e as Error).message}): ` +
        'install the systemd package (Debian: apt-get install systemd)',
    );
  }
}

describe('systemd/netauditd.service', () => {
  let dir: string;
  let unitText: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'netauditd-unit-'));
    unitText = await readFile(UNIT, 'utf8');
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** A MANPATH directory holding `pages` of man/ in man1/, man5/, man8/, as once installed. */
  async function manPath(name: string, pages: readonly string[]): Promise<string> {
    const root = join(dir, name);
    for (const page of pages) {
      const sectionDir = join(root, `man${page.slice(page.lastIndexOf('.') + 1)}`);
      await mkdir(sectionDir, { recursive: true });
      await copyFile(repoPath('man', page), join(sectionDir, page));
    }
    return root;
  }

  /** A copy of the unit that verify can check here (see below). */
  async function verifiableCopy(): Promise<string> {
    // verify checks that ExecStart='s program exists and is executable; /usr/sbin/netauditd is only
    // there once installed, so a copy of the unit, identical but for ExecStart= naming this node
    // and this checkout's dist/main.js, is verified instead.
    const execStart = /^ExecStart=\/usr\/sbin\/netauditd$/m;
    expect(unitText).toMatch(execStart);
    const copy = join(dir, 'netauditd.service');
    await writeFile(copy, unitText.replace(execStart, `ExecStart=${process.execPath} ${repoPath('dist', 'main.js')}`));
    return copy;
  }

  it('names the three man pages in Documentation=', () => {
    const documented = [...unitText.matchAll(/man:([\w.-]+)\((\d)\)/g)].map((m) => `${m[1]}.${m[2]}`);
    expect(documented.sort()).toEqual([...MAN_PAGES].sort());
  });

  it('passes systemd-analyze verify, its man pages found', async () => {
    // --man=yes (the default): verify runs man(1) for each Documentation=man:…, which searches
    // MANPATH; the pages of man/ are put there as they are installed.
    const copy = await verifiableCopy();
    const env = { MANPATH: await manPath('man', MAN_PAGES) };
    const { code, stdout, stderr } = await systemdAnalyze(['verify', '--man=yes', copy], env);
    const output = `${stdout}${stderr}`;
    const aboutOurUnit = output.split('\n').filter((line) => line.includes('netauditd'));
    expect(aboutOurUnit, `systemd-analyze verify ${copy}:\n${output}`).toEqual([]);
    expect(code, `systemd-analyze verify ${copy} exited with ${code}:\n${output}`).toBe(0);
  });

  it('is told by systemd-analyze verify when a man page is missing', async () => {
    // The check above sees the pages: without netauditctl.1, verify names it.
    const copy = await verifiableCopy();
    const env = { MANPATH: await manPath('man-without-netauditctl', MAN_PAGES.filter((p) => p !== 'netauditctl.1')) };
    const { code, stdout, stderr } = await systemdAnalyze(['verify', '--man=yes', copy], env);
    const output = `${stdout}${stderr}`;
    // "netauditd.service: Command 'man netauditctl(1)' failed with code 16"
    const aboutOurUnit = output.split('\n').filter((line) => line.startsWith('netauditd.service:'));
    expect(aboutOurUnit, output).toHaveLength(1);
    expect(aboutOurUnit[0], output).toMatch(/'man netauditctl\(1\)' failed/);
    expect(code).not.toBe(0);
  });

  it(`has an exposure of ${MAX_EXPOSURE} or lower in systemd-analyze security`, async () => {
    const { code, stdout, stderr } = await systemdAnalyze(['security', '--offline=true', '--no-pager', UNIT]);
    const output = `${stdout}${stderr}`;
    expect(code, `systemd-analyze security --offline=true ${UNIT} exited with ${code}:\n${output}`).toBe(0);
    // "→ Overall exposure level for netauditd.service: 1.7 OK 🙂"
    const m = /Overall exposure level for netauditd\.service: (\d+(?:\.\d+)?) /.exec(output);
    expect(m, `no overall exposure level in:\n${output}`).not.toBeNull();
    const exposure = Number(m![1]);
    expect(exposure, `exposure ${exposure} > ${MAX_EXPOSURE}; what systemd-analyze counts against the unit:\n${
      output.split('\n').filter((line) => line.startsWith('✗')).join('\n')
    }`).toBeLessThanOrEqual(MAX_EXPOSURE);
  });

  it('leaves V8 its writable and executable pages', () => {
    // MemoryDenyWriteExecute=yes kills node: V8's JIT maps code pages writable and executable.
    expect(unitText).not.toMatch(/^MemoryDenyWriteExecute=(yes|true|on|1)\s*$/mi);
  });
});
