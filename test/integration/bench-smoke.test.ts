// `npm run bench -- --quick` inside npm test, so that the bench cannot rot: it compiles
// (bench/tsconfig.json), runs every section with small counts, prints netauditd and
// NetworkManager side by side with numbers in both columns, and writes its JSON file. The
// figures themselves, and the TARGETS, are reported by the bench, never asserted here.
//
// The bench names its network namespaces after its own pid and undoes what it started when it
// ends or gets SIGTERM; should it have to be killed, whatever is left in those namespaces is
// killed here and the namespaces deleted.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../helpers/exec.js';
import { repoPath, repoRoot } from '../helpers/repo.js';

const NM = '/usr/sbin/NetworkManager';
const APT = '/usr/bin/apt-get';
// On a machine with neither NetworkManager nor apt-get to install it, there is no anchor to run.
// Everywhere else (CI has apt) a bench that cannot install or run NetworkManager fails the test.
const noAnchor = !existsSync(NM) && !existsSync(APT);
const BENCH_TIMEOUT_MS = 360_000;

let child: ChildProcess | null = null;
let benchPid = 0;
let stdout = '';
let stderr = '';
let code: number | null = null;
let jsonFile: string | null = null;

async function leftovers(pid: number): Promise<void> {
  const ours = new RegExp(`(^|[^0-9])${pid}([^0-9]|$)`);
  const list = await run('ip', ['netns', 'list']);
  for (const name of list.stdout.split('\n').map((l) => l.split(' ')[0]!).filter((n) => n !== '' && ours.test(n))) {
    const pids = await run('ip', ['netns', 'pids', name]);
    for (const p of pids.stdout.split('\n').filter((l) => /^\d+$/.test(l))) {
      try { process.kill(Number(p), 'SIGKILL'); } catch { /* gone */ }
    }
    await run('ip', ['netns', 'del', name]);
  }
  const bus = /dbus-daemon pid (\d+)/.exec(stderr);
  if (bus) {
    try { process.kill(Number(bus[1]), 'SIGKILL'); } catch { /* gone */ }
  }
}

describe.skipIf(noAnchor)(noAnchor ? `bench --quick: skipped, ${NM} is missing and there is no apt-get to install it` : 'bench --quick', () => {
  beforeAll(async () => {
    const tsc = await run('npx', ['--no-install', 'tsc', '-p', 'bench/tsconfig.json'], { timeoutMs: 240_000 });
    if (tsc.code !== 0) throw new Error(`npx tsc -p bench/tsconfig.json failed:\n${tsc.stdout}${tsc.stderr}`);
    const bench = spawn(process.execPath, [repoPath('build', 'bench', 'run.js'), '--quick'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    child = bench;
    benchPid = bench.pid ?? 0;
    bench.stdout!.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
    bench.stderr!.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
    code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        stderr += `\n[test] the bench ran past ${BENCH_TIMEOUT_MS / 1000} s: SIGTERM\n`;
        bench.kill('SIGTERM');
        setTimeout(() => { try { process.kill(-bench.pid!, 'SIGKILL'); } catch { /* gone */ } }, 30_000).unref();
      }, BENCH_TIMEOUT_MS);
      bench.on('exit', (c) => { clearTimeout(timer); resolve(c); });
    });
    child = null;
    jsonFile = /^figures written to (.+)$/m.exec(stdout)?.[1] ?? null;
  }, BENCH_TIMEOUT_MS + 300_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      try { process.kill(-benchPid, 'SIGKILL'); } catch { /* gone */ }
    }
    if (benchPid > 0) await leftovers(benchPid);
    if (jsonFile) await rm(jsonFile, { force: true });
  }, 60_000);

  it('exits 0 having run every section', () => {
    expect(code, `exit ${code}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`).toBe(0);
    expect(stdout).toMatch(/^netauditd vs NetworkManager, side by side: \d+ CPUs, kernel \S+, node v\S+, NetworkManager \d+\.\d+/m);
    for (const section of ['trail alone', 'kernel link event', 'netauditd alone, activation', 'DHCPv4 client against', 'netauditctl over a trail']) {
      expect(stdout).toContain(section);
    }
  });

  it('prints both daemons\' rows with numbers, the ratio, and the targets', () => {
    expect(stdout).toMatch(/^\s+NetworkManager\s+\| netauditd\s+\| ratio$/m);
    const num = String.raw`-?\d+(?:\.\d+)?`;
    for (const label of [
      String.raw`audit on: AddConnection 1 at a time \(python3-dbus\), p50 \(ms\)`,
      String.raw`audit on: Add\+Update\+Delete, 16 in flight \(calls/s\)`,
      String.raw`audit off: Add\+Update\+Delete, 16 in flight \(calls/s\)`,
      String.raw`audit on: CPU per change, all processes \(ms/change\)`,
      String.raw`exec -> bus name, 0 profiles \(ms\)`,
      String.raw`RSS idle, 0 profiles \(MiB\)`,
      String.raw`ethernet on veth: activate -> activated, p50 \(ms\)`,
      String.raw`bridge: deactivate -> deactivated, p50 \(ms\)`,
      String.raw`DHCP on veth, defaults: activate -> activated, p50 \(ms\)`,
      String.raw`DHCP on veth, both ACD 200 ms: activate -> activated, p50 \(ms\)`,
    ]) {
      expect(stdout).toMatch(new RegExp(`^${label}\\s+${num}\\s+\\| ${num}\\s+\\| ${num}$`, 'm'));
    }
    expect(stdout).toMatch(new RegExp(`^event-loop delay under the 16-in-flight load, p99 \\(ms\\)\\s+n/a\\s+\\| ${num}`, 'm'));
    const targets = stdout.slice(stdout.indexOf('TARGETS'));
    expect(targets.split('\n').filter((l) => /^ {2}(PASS|FAIL|N\/A ) {2}/.test(l)).length).toBe(11);
  });

  it('writes every figure to the JSON file it names', async () => {
    expect(jsonFile, stdout).not.toBeNull();
    const json = JSON.parse(await readFile(jsonFile!, 'utf8')) as Record<string, unknown>;
    for (const key of ['machine', 'options', 'rows', 'reference', 'targets', 'notes', 'rounds', 'trail', 'links', 'activation', 'dhcp4Clients', 'cli', 'text']) {
      expect(json, key).toHaveProperty(key);
    }
    expect(json.machine).toMatchObject({ nproc: expect.any(Number), kernel: expect.any(String), node: process.version, networkManager: expect.stringMatching(/^\d+\.\d+/) });
    const rows = json.rows as Array<{ key: string; nm: { median: number } | null; netauditd: { median: number } | null }>;
    for (const key of ['on.add1.p50', 'on.aud16.rate', 'off.aud16.rate', 'on.cpu.all', 'start0.name', 'start0.list', 'startN.name', 'rss.idle0', 'rss.many', 'act.eth.up', 'act.br.up', 'act.dhcp.up', 'act.dhcpAcd.up']) {
      const row = rows.find((r) => r.key === key);
      expect(row, key).toBeDefined();
      expect(Number.isFinite(row!.nm?.median), `${key} NetworkManager`).toBe(true);
      expect(Number.isFinite(row!.netauditd?.median), `${key} netauditd`).toBe(true);
    }
    expect((json.targets as unknown[]).length).toBe(11);
  });
});
