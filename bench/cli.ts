// netauditctl figures: the audit commands over a trail of a million records (wall time and the
// command's peak RSS: they stream, so memory must not grow with the trail), and `connection
// list` through the real daemon with a thousand profiles.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import type { AuditOp, AuditRecord } from '../src/core/audit/record.js';
import { dayFileName } from '../src/core/audit/trail/day-file.js';
import { formatTrailLine, ZERO_HASH } from '../src/core/audit/trail/trail-line.js';
import { startBus } from '../test/helpers/bus.js';
import { connect } from '../test/helpers/client.js';
import { startDaemon } from '../test/helpers/daemon.js';
import { ethernet, SETTINGS, SETTINGS_IFACE } from '../test/helpers/profiles.js';
import { repoPath } from '../test/helpers/repo.js';

const CLI = repoPath('dist', 'cli', 'main.js');
const DAY_MS = 86_400_000;
// Reports the process's peak RSS on exit, on stderr after a marker.
const PEAK_RSS = 'data:text/javascript,process.on("exit",()=>process.stderr.write("\\nPEAK_RSS_KIB "+process.resourceUsage().maxRSS+"\\n"))';
const OPS: readonly AuditOp[] = ['connection-add', 'connection-update', 'connection-activate', 'connection-deactivate', 'connection-delete', 'device-managed'];

export interface Run {
  readonly wallMs: number;
  readonly peakRssKiB: number;
  readonly outputBytes: number;
}

/** Runs netauditctl ARGS, its output counted and dropped; wall time and peak RSS. */
export async function timeCli(args: readonly string[]): Promise<Run> {
  const t0 = performance.now();
  const child = spawn(process.execPath, ['--import', PEAK_RSS, CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let outputBytes = 0;
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => { outputBytes += chunk.length; });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  const [code] = (await once(child, 'close')) as [number | null];
  const wallMs = performance.now() - t0;
  const peak = /PEAK_RSS_KIB (\d+)/.exec(stderr);
  if (code !== 0 || !peak) throw new Error(`netauditctl ${args.join(' ')} exited with ${code}: ${stderr}`);
  return { wallMs, peakRssKiB: Number(peak[1]), outputBytes };
}

/** Writes `records` records spread evenly over `days` UTC days ending yesterday, as a valid chain. */
export async function writeTrail(dir: string, records: number, days: number): Promise<{ bytes: number; firstDay: number }> {
  const firstDay = Math.floor(Date.now() / DAY_MS) * DAY_MS - days * DAY_MS;
  const step = (days * DAY_MS) / records;
  let prev = ZERO_HASH;
  let bytes = 0;
  let file: ReturnType<typeof createWriteStream> | null = null;
  let fileName = '';
  for (let i = 0; i < records; i++) {
    const ts = Math.floor(firstDay + i * step);
    const record: AuditRecord = {
      ts,
      boot: `bench${String(Math.floor(i / 50_000)).padStart(27, '0')}`,
      seq: (i % 50_000) + 1,
      op: OPS[i % OPS.length]!,
      uuid: `00000000-0000-4000-8000-${String(i % 1000).padStart(12, '0')}`,
      name: `profile ${i % 1000}`,
      pid: 1000 + (i % 97),
      uid: i % 10 === 0 ? 1001 : 0,
      result: i % 50 === 0 ? 'fail' : 'success',
      ...(i % 50 === 0 ? { reason: 'not-authorized' as const } : {}),
      actor: { busName: `:1.${i % 5000}`, exe: '/usr/bin/busctl' },
    };
    const { line, hash } = formatTrailLine(record, prev);
    prev = hash;
    const name = dayFileName(ts);
    if (name !== fileName) {
      if (file) {
        file.end();
        await once(file, 'finish');
      }
      file = createWriteStream(join(dir, name));
      fileName = name;
    }
    const text = line; // ends in its newline
    bytes += Buffer.byteLength(text);
    if (!file!.write(text)) await once(file!, 'drain');
  }
  if (file) {
    file.end();
    await once(file, 'finish');
  }
  return { bytes, firstDay };
}

export interface TrailFigures {
  readonly records: number;
  readonly days: number;
  readonly bytes: number;
  readonly runs: ReadonlyArray<{ readonly what: string; readonly run: Run }>;
}

/** The audit commands over a trail of `records` records. */
export async function trailCommands(records: number, days: number): Promise<TrailFigures> {
  const dir = await mkdtemp(join(tmpdir(), 'netaudit-bench-trail-'));
  try {
    const { bytes, firstDay } = await writeTrail(dir, records, days);
    const lastDay = new Date(firstDay + (days - 1) * DAY_MS).toISOString().slice(0, 10);
    const scenarios: Array<[string, string[]]> = [
      ['audit verify', ['audit', 'verify', '--dir', dir]],
      ['audit list --uid 1001 --op connection-delete (whole trail, 1 in 30 match)', ['audit', 'list', '--dir', dir, '--uid', '1001', '--op', 'connection-delete']],
      [`audit list --since ${lastDay} --result fail (last day; older files skipped by name)`, ['audit', 'list', '--dir', dir, '--since', lastDay, '--result', 'fail']],
      ['--json audit list --op connection-delete', ['--json', 'audit', 'list', '--dir', dir, '--op', 'connection-delete']],
      ['audit export --format csv (every record)', ['audit', 'export', '--dir', dir, '--format', 'csv']],
      ['audit stats', ['audit', 'stats', '--dir', dir]],
    ];
    const runs: Array<{ what: string; run: Run }> = [];
    for (const [what, args] of scenarios) runs.push({ what, run: await timeCli(args) });
    return { records, days, bytes, runs };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface ListFigures {
  readonly profiles: number;
  readonly addMs: number;
  readonly runs: ReadonlyArray<{ readonly what: string; readonly runs: readonly Run[] }>;
}

/** `netauditctl connection list` through the real daemon holding `profiles` profiles. */
export async function connectionList(profiles: number, repeats: number): Promise<ListFigures> {
  const bus = await startBus();
  try {
    await startDaemon(bus, { config: { logging: { audit: 'no' } } });
    const clients = await Promise.all(Array.from({ length: 16 }, () => connect(bus.address)));
    const t0 = performance.now();
    try {
      await Promise.all(clients.map(async (c, k) => {
        for (let i = k; i < profiles; i += clients.length) {
          await c.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [ethernet(`bench ${i}`)]);
        }
      }));
    } finally {
      for (const c of clients) c.close();
    }
    const addMs = performance.now() - t0;
    const runs: Array<{ what: string; runs: Run[] }> = [];
    for (const [what, args] of [
      ['connection list', ['connection', 'list']],
      ['-t connection list', ['-t', 'connection', 'list']],
      ['--json connection list', ['--json', 'connection', 'list']],
    ] as Array<[string, string[]]>) {
      const all: Run[] = [];
      for (let i = 0; i < repeats; i++) all.push(await timeCli(['--bus-address', bus.address, ...args]));
      runs.push({ what, runs: all });
    }
    return { profiles, addMs, runs };
  } finally {
    await bus.stop();
  }
}

/** netauditctl --version: the floor under every command's wall time (node's start). */
export async function cliStart(): Promise<Run> {
  await stat(CLI);
  return timeCli(['--version']);
}
