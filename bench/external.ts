// Changes made behind the daemon's back, measured in a namespace made here (docs/external-changes.md):
// the time from an `ip` command's exit to its record in the trail, the daemon's CPU per change,
// how often each kind of client is attributed to its process, and what a flood of routes from one
// script costs the daemon (records written, event-loop delay seen by a bus client, memory).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { run } from '../test/helpers/exec.js';
import { createNetns, startDaemonInNetns, stopDaemonInNetns } from '../test/helpers/netns.js';
import type { DaemonHarness } from '../test/helpers/use-daemon.js';
import { waitFor } from '../test/helpers/wait.js';

export interface ExternalOptions {
  /** address changes by short-lived `ip` commands (half add, half delete) */
  readonly changes: number;
  /** routes added by one `ip -batch` */
  readonly flood: number;
}

export const EXTERNAL_FULL: ExternalOptions = { changes: 200, flood: 10_000 };

type Rec = Record<string, unknown>;

const quantile = (values: number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
};

/** utime + stime of a process, in ms. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

function rssKiB(pid: number): number {
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

async function externalRecords(h: DaemonHarness): Promise<Rec[]> {
  return (await h.daemon.trail()).filter((r) => r['origin'] === 'external');
}

async function untilRecords(h: DaemonHarness, count: number): Promise<Rec[]> {
  return waitFor(async () => {
    const all = await externalRecords(h);
    return all.length >= count ? all : null;
  }, { timeoutMs: 60_000, intervalMs: 20, what: `${count} external records` });
}

const rate = (records: Rec[]): string => {
  const attributed = records.filter((r) => (r['actor'] as Rec | undefined)?.['attribution'] === 'netlink-portid').length;
  return `${attributed}/${records.length} (${((100 * attributed) / Math.max(1, records.length)).toFixed(0)} %)`;
};

/** A long-lived client on stdin (one command per line, one "ok" line back each), in namespace `ns`. */
function longLived(ns: string, argv: string[], answers: boolean): { send: (line: string) => Promise<void>; close: () => Promise<void> } {
  const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  let answered = 0;
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  return {
    async send(line) {
      child.stdin.write(`${line}\n`);
      answered++;
      if (!answers) return;
      await waitFor(() => out.split('\n').filter((l) => l === 'ok').length >= answered, { timeoutMs: 10_000, intervalMs: 5, what: 'the client to answer' });
    },
    async close() {
      child.stdin.end();
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

const PYROUTE2 = [
  'import sys',
  'from pyroute2 import IPRoute',
  'ipr = IPRoute()',
  "idx = ipr.link_lookup(ifname='x0')[0]",
  'for line in sys.stdin:',
  "    ipr.addr(line.split()[0], index=idx, address=line.split()[1], prefixlen=32)",
  "    print('ok', flush=True)",
].join('\n');

export async function externalChanges(options: ExternalOptions): Promise<{ lines: string[]; json: Record<string, unknown> }> {
  const ns = `na-bench-ext-${process.pid}`;
  await createNetns(ns);
  let h: Partial<DaemonHarness> = {};
  try {
    h = await startDaemonInNetns(ns);
    const harness = h as DaemonHarness;
    const pid = harness.daemon.pid;
    await run('ip', ['-n', ns, 'link', 'add', 'x0', 'type', 'veth', 'peer', 'name', 'x1']);
    await run('ip', ['-n', ns, 'link', 'set', 'x0', 'up']);
    await new Promise((resolve) => setTimeout(resolve, 500));
    let seen = (await externalRecords(harness)).length;

    // Short-lived ip commands, one at a time: latency from exit to record, CPU, attribution.
    const latencies: number[] = [];
    const short: Rec[] = [];
    const cpu0 = cpuMs(pid);
    for (let i = 0; i < options.changes; i++) {
      const address = `10.${(i >> 8) & 255}.${i & 255}.1/32`;
      const verb = i % 2 === 0 ? 'add' : 'del';
      await run('ip', ['-n', ns, 'addr', verb, i % 2 === 0 ? address : `10.${((i - 1) >> 8) & 255}.${(i - 1) & 255}.1/32`, 'dev', 'x0']);
      const exit = Date.now();
      const [record] = (await untilRecords(harness, seen + 1)).slice(seen);
      seen++;
      latencies.push(Date.parse(record!['ts'] as string) - exit);
      short.push(record!);
    }
    const cpuPerChange = (cpuMs(pid) - cpu0) / options.changes;

    // Long-lived clients: ip -batch (one socket) and pyroute2.
    const clients: Array<[string, string[], boolean, (i: number) => string]> = [
      ['ip -batch (long-lived)', ['ip', '-force', '-batch', '-'], false, (i) => `addr add 10.200.${i & 255}.1/32 dev x0`],
      ['pyroute2 (long-lived python)', ['/usr/bin/python3', '-c', PYROUTE2], true, (i) => `add 10.201.${i & 255}.1`],
    ];
    const longRates: Record<string, string> = {};
    for (const [name, argv, answers, line] of clients) {
      const client = longLived(ns, argv, answers);
      const before = seen;
      const n = Math.min(50, options.changes);
      // Paced under the flood gate's 50 records a second, so that each change is a record of its own.
      for (let i = 0; i < n; i++) {
        await client.send(line(i));
        await new Promise((resolve) => setTimeout(resolve, 40));
      }
      const records = (await untilRecords(harness, before + n)).slice(before, before + n);
      seen = (await externalRecords(harness)).length;
      await client.close();
      longRates[name] = rate(records);
    }
    seen = (await externalRecords(harness)).length;

    // A flood: one script adds `flood` routes.
    await run('ip', ['-n', ns, 'addr', 'add', '10.250.0.1/16', 'dev', 'x0']);
    await new Promise((resolve) => setTimeout(resolve, 500));
    seen = (await externalRecords(harness)).length;
    const rss0 = rssKiB(pid);
    const cpuFlood0 = cpuMs(pid);
    const commands = Array.from({ length: options.flood }, (_, i) => `route add 172.${16 + (i >> 8)}.${i & 255}.0/24 via 10.250.0.2 dev x0`).join('\n');
    const started = Date.now();
    const flood = run('ip', ['-n', ns, '-batch', '-'], { input: `${commands}\n`, timeoutMs: 120_000 });
    const pings: number[] = [];
    let rssPeak = rss0;
    let counted = 0;
    let floodRecords: Rec[] = [];
    while (counted < options.flood && Date.now() - started < 120_000) {
      const t = performance.now();
      await harness.client.call('/org/netaudit1', 'org.freedesktop.DBus.Peer', 'Ping');
      pings.push(performance.now() - t);
      rssPeak = Math.max(rssPeak, rssKiB(pid));
      floodRecords = (await externalRecords(harness)).slice(seen).filter((r) => r['op'] === 'route-add');
      counted = floodRecords.reduce((n, r) => n + (r['args'] === 'coalesced' ? ((r['after'] as Rec)['count'] as number) : 1), 0);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await flood;
    const floodMs = Date.now() - started;
    const floodCpu = cpuMs(pid) - cpuFlood0;
    const coalesced = floodRecords.filter((r) => r['args'] === 'coalesced').length;

    const ms = (v: number): string => `${v.toFixed(0)} ms`;
    const lines = [
      `changes made without netauditd (ip in the daemon's namespace; docs/external-changes.md):`,
      `  exit of \`ip addr add|del\` → its record in the trail: p50 ${ms(quantile(latencies, 0.5))}, p99 ${ms(quantile(latencies, 0.99))} over ${latencies.length} (a burst is written once quiet for 150 ms)`,
      `  daemon CPU per change (event, grouping, attribution, records in log+file): ${cpuPerChange.toFixed(2)} ms`,
      `  attributed to their process: short-lived ip ${rate(short)}; ${Object.entries(longRates).map(([k, v]) => `${k} ${v}`).join('; ')}`,
      `  flood of ${options.flood} routes from one ip -batch: all counted in ${(floodMs / 1000).toFixed(1)} s as ${floodRecords.length} records (${coalesced} coalesced with counts); daemon CPU ${(floodCpu / 1000).toFixed(2)} s; bus Ping p50 ${ms(quantile(pings, 0.5))}, max ${ms(Math.max(...pings))}; RSS ${(rss0 / 1024).toFixed(0)} → peak ${(rssPeak / 1024).toFixed(0)} MiB`,
    ];
    return {
      lines,
      json: {
        latency: { p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), n: latencies.length },
        cpuPerChangeMs: cpuPerChange,
        attribution: { shortIp: rate(short), ...longRates },
        flood: { routes: options.flood, ms: floodMs, records: floodRecords.length, coalesced, cpuMs: floodCpu, pingP50: quantile(pings, 0.5), pingMax: Math.max(...pings), rssKiB: { before: rss0, peak: rssPeak } },
      },
    };
  } finally {
    await stopDaemonInNetns(h, ns);
  }
}
