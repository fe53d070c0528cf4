// src/loop-stats.ts in a process of its own: nothing without NETAUDITD_LOOP_STATS; with it, each
// SIGUSR2 writes the event-loop delay since the last one, and the first report is kept as `startup`.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { repoPath } from '../helpers/repo.js';
import { waitFor } from '../helpers/wait.js';

const MODULE = pathToFileURL(repoPath('dist', 'loop-stats.js')).href;
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** A node process (dist/, built by npm test) that imports the module, blocks its loop for `blockMs` after 100 ms, and waits. */
function child(env: NodeJS.ProcessEnv, blockMs = 0) {
  const code = `await import(${JSON.stringify(MODULE)}); process.stdout.write('ready\\n');
setTimeout(() => { const t = Date.now(); while (Date.now() - t < ${blockMs}); process.stdout.write('blocked\\n'); }, 100);
setTimeout(() => {}, 20000);`;
  const p = spawn(process.execPath, ['--input-type=module', '-e', code], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.setEncoding('utf8').on('data', (s: string) => { out += s; });
  return { p, out: () => out };
}

describe('loop-stats', () => {
  it('installs nothing without NETAUDITD_LOOP_STATS: SIGUSR2 keeps its default action', async () => {
    const { p, out } = child({ NETAUDITD_LOOP_STATS: '' });
    await waitFor(() => out().includes('ready'));
    const exit = new Promise((r) => p.on('exit', (_c, s) => r(s)));
    p.kill('SIGUSR2');
    expect(await exit).toBe('SIGUSR2');
  });

  it('writes the figures since the last SIGUSR2 and keeps the first as startup', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'loop-stats-'));
    dirs.push(dir);
    const file = join(dir, 'loop.json');
    const { p, out } = child({ NETAUDITD_LOOP_STATS: file }, 60);
    try {
      await waitFor(() => out().includes('ready'));
      p.kill('SIGUSR2');
      const first = JSON.parse(await waitFor(() => readFile(file, 'utf8').catch(() => ''))) as Record<string, Record<string, number>>;
      expect(first.startup).toEqual(first.sinceLastReset);
      for (const k of ['max', 'p99', 'p50', 'mean']) expect(typeof first.sinceLastReset![k]).toBe('number');
      await waitFor(() => out().includes('blocked'));
      await new Promise((r) => setTimeout(r, 50));
      await rm(file);
      p.kill('SIGUSR2');
      const second = JSON.parse(await waitFor(() => readFile(file, 'utf8').catch(() => ''))) as Record<string, Record<string, number>>;
      expect(second.startup).toEqual(first.startup);
      // the 60 ms the loop was blocked for, after the first report
      expect(second.sinceLastReset!.max).toBeGreaterThanOrEqual(50);
    } finally {
      p.kill('SIGKILL');
    }
  });
});
