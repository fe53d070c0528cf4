// DHCPv4 client figures against dnsmasq, always inside network namespaces made here (never the root
// namespace's links): the time from start() to 'bound' (p50 over rounds, with the 200 ms address
// probe and without it), the client's CPU time per lease, and the RSS and pool threads of one
// process running 1 and then 100 clients on 100 veths.
//
//   npm run build && npx tsc -p bench/tsconfig.json && node build/bench/dhcp4-clients.js [--rounds N] [--clients N] [--warmup N]
//
// or as the dhcp4-clients section of `npm run bench` (bench/run.ts: `node build/bench/run.js
// dhcp4-clients`), which runs dhcp4Clients() below with its own counts.
//
// The server side: a bridge in its own namespace with the veths' peers as ports and one dnsmasq
// (DHCP only, --no-ping: its ping check before an offer waits seconds, which would measure dnsmasq).
// The clients run in a child process in the client namespace (this file again, with --inner), so
// that its RSS and threads are the clients' alone; each lease is released before the next round.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { systemClock } from '../src/core/dhcp/clock.js';
import { Dhcp4Client, openDhcp4Transports, type Dhcp4Event } from '../src/core/dhcp/dhcp4-client.js';
import { run } from '../test/helpers/exec.js';
import { createNetns, deleteNetns } from '../test/helpers/netns.js';
import { waitFor } from '../test/helpers/wait.js';
import { atExit } from './cleanup.js';

const quiet = { debug() {}, info() {}, warn: (m: string) => process.stderr.write(`warn: ${m}\n`) };

function link(ifname: string): { ifindex: number; mac: Buffer } {
  const sysfs = (what: string): string => readFileSync(`/sys/class/net/${ifname}/${what}`, 'utf8').trim();
  return { ifindex: Number(sysfs('ifindex')), mac: Buffer.from(sysfs('address').replace(/:/g, ''), 'hex') };
}

function client(ifname: string, acdTimeoutMs: number, onEvent: (e: Dhcp4Event) => void): Dhcp4Client {
  const { ifindex, mac } = link(ifname);
  const { transport, arp } = openDhcp4Transports(ifindex, quiet);
  return new Dhcp4Client({ ifindex, iface: ifname, mac, transport, arp, clock: systemClock, log: quiet, acdTimeoutMs, onEvent: async (e) => onEvent(e) });
}

function rssKiB(): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return Number(m![1]);
}

/** Threads of this process blocked in poll(2), and all of them. */
function threads(): { poll: number; total: number } {
  const tasks = readdirSync('/proc/self/task');
  const poll = tasks.filter((t) => readFileSync(`/proc/self/task/${t}/wchan`, 'utf8').startsWith('poll_schedule_timeout')).length;
  return { poll, total: tasks.length };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const settleGc = async (): Promise<void> => {
  for (let i = 0; i < 3; i++) {
    (globalThis as { gc?: () => void }).gc?.();
    await new Promise((r) => setTimeout(r, 100));
  }
};

/** In the client namespace: the measurements themselves, printed as one JSON object. */
async function inner(rounds: number, clients: number, warmup: number): Promise<void> {
  const latency: Record<string, { ms: number[]; cpuUs: number[] }> = {};
  for (const acd of [200, 0]) {
    const ms: number[] = [];
    const cpuUs: number[] = [];
    for (let r = -warmup; r < rounds; r++) {
      let t1 = 0;
      let bound!: () => void;
      const boundNow = new Promise<void>((resolve) => (bound = resolve));
      const c = client('c0', acd, (e) => {
        if (e.kind !== 'bound') return;
        t1 = performance.now();
        bound();
      });
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      c.start();
      await boundNow;
      const cpu = process.cpuUsage(cpu0);
      await c.stop(true);
      if (r >= 0) { // the first rounds warm up the JIT and dnsmasq
        ms.push(t1 - t0);
        cpuUs.push(cpu.user + cpu.system);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    latency[`acd${acd}`] = { ms, cpuUs };
  }

  await settleGc();
  const rssNone = rssKiB();
  const memNone = process.memoryUsage();
  const running: Dhcp4Client[] = [];
  let bound = 0;
  const start = (i: number): void => {
    const c = client(`c${i}`, 200, (e) => { if (e.kind === 'bound') bound++; });
    running.push(c);
    c.start();
  };
  start(0);
  await waitFor(() => bound === 1, { timeoutMs: 30_000, what: 'one client bound' });
  await settleGc();
  const rssOne = rssKiB();
  const threadsOne = threads();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 1; i < clients; i++) start(i);
  await waitFor(() => bound === clients, { timeoutMs: 120_000, what: `${clients} clients bound (${bound} so far)` });
  const allBoundMs = performance.now() - t0;
  const cpuMany = process.cpuUsage(cpu0);
  await settleGc();
  const rssMany = rssKiB();
  const memMany = process.memoryUsage();
  const threadsMany = threads();
  await Promise.all(running.map((c) => c.stop(true)));
  process.stdout.write(JSON.stringify({
    latency, rssNone, rssOne, rssMany, heapGrowth: memMany.heapUsed - memNone.heapUsed, heapTotalGrowth: memMany.heapTotal - memNone.heapTotal, externalGrowth: memMany.external - memNone.external, threadsOne, threadsMany, allBoundMs, cpuManyUs: cpuMany.user + cpuMany.system,
  }));
}

export interface Dhcp4ClientsOptions {
  /** measured start()-to-bound rounds, with the 200 ms probe and without */
  readonly rounds: number;
  /** clients bound at once, one per veth */
  readonly clients: number;
  readonly warmup: number;
}

export interface Dhcp4ClientsResult {
  /** the report, one line each */
  readonly lines: string[];
  /** what the clients' process measured, for the JSON file */
  readonly figures: Record<string, unknown>;
}

/** Runs the clients against dnsmasq and returns the report with the figures behind it. */
export async function dhcp4Clients({ rounds, clients, warmup }: Dhcp4ClientsOptions): Promise<Dhcp4ClientsResult> {
  const cns = `na-bench-dhcp-${process.pid}`;
  const sns = `na-bench-dhcps-${process.pid}`;
  const dir = await mkdtemp(join(tmpdir(), 'na-bench-dhcp-'));
  let dnsmasq: ReturnType<typeof spawn> | null = null;
  const cleanUp = async (): Promise<void> => {
    dnsmasq?.kill('SIGTERM');
    await deleteNetns(cns, sns);
    await rm(dir, { recursive: true, force: true });
  };
  const forget = atExit(`the DHCP clients' namespaces ${cns} and ${sns}, dnsmasq and ${dir}`, cleanUp);
  await createNetns(cns, sns);
  try {
    const server = ['link add br0 type bridge', 'link set br0 up', 'addr add 192.0.2.1/24 dev br0'];
    const links = Array.from({ length: clients }, (_, i) => `link add c${i} type veth peer name s${i} netns ${sns}\nlink set c${i} up`);
    const ports = Array.from({ length: clients }, (_, i) => `link set s${i} master br0\nlink set s${i} up`);
    for (const [ns, cmds] of [[sns, server], [cns, links], [sns, ports]] as const) {
      const r = await run('ip', ['-n', ns, '-batch', '-'], { input: cmds.join('\n') + '\n', timeoutMs: 120_000 });
      if (r.code !== 0) throw new Error(`ip -batch: ${r.stderr.trim()}`);
    }
    let log = '';
    dnsmasq = spawn('ip', [
      'netns', 'exec', sns, 'dnsmasq', '--no-daemon', '--conf-file=/dev/null', '--port=0', '--interface=br0', '--bind-interfaces', '--no-ping',
      '--dhcp-range=192.0.2.10,192.0.2.250,255.255.255.0,2m', '--dhcp-option=3,192.0.2.1', '--dhcp-option=6,192.0.2.1',
      `--dhcp-leasefile=${join(dir, 'leases')}`, '--pid-file=', '--user=root', '--group=root', '--log-facility=-',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    dnsmasq.stderr!.setEncoding('utf8').on('data', (c: string) => (log += c));
    await waitFor(() => log.includes('DHCP, sockets bound'), { what: 'dnsmasq to start' });
    const self = fileURLToPath(import.meta.url);
    const r = await run('ip', ['netns', 'exec', cns, process.execPath, '--expose-gc', self, '--inner', String(rounds), String(clients), String(warmup)], { timeoutMs: 600_000 });
    if (r.code !== 0) throw new Error(`the clients' process failed (${r.code}): ${r.stderr}`);
    const m = JSON.parse(r.stdout) as {
      latency: Record<string, { ms: number[]; cpuUs: number[] }>; rssNone: number; heapGrowth: number; heapTotalGrowth: number; externalGrowth: number; rssOne: number; rssMany: number;
      threadsOne: { poll: number; total: number }; threadsMany: { poll: number; total: number }; allBoundMs: number; cpuManyUs: number;
    };
    const version = (await run('ip', ['netns', 'exec', sns, 'dnsmasq', '--version'])).stdout.split('\n')[0]!.replace(/\s+Copyright.*/, '');
    const lines = [`DHCPv4 client against ${version} on a veth (bridge), ${rounds} rounds each, after ${warmup} warm-up rounds:`];
    for (const [name, v] of Object.entries(m.latency)) {
      lines.push(`  start() to 'bound', ${name === 'acd0' ? 'ACD off   ' : 'ACD 200 ms'}: p50 ${median(v.ms).toFixed(1)} ms [${Math.min(...v.ms).toFixed(1)}..${Math.max(...v.ms).toFixed(1)}], client CPU per lease p50 ${(median(v.cpuUs) / 1000).toFixed(2)} ms`);
    }
    const mib = (kib: number): string => `${(kib / 1024).toFixed(1)} MiB`;
    lines.push(
      `  RSS of the clients' process: ${mib(m.rssNone)} before any client, +${mib(m.rssOne - m.rssNone)} with 1 bound, +${mib(m.rssMany - m.rssNone)} with ${clients} bound (${((m.rssMany - m.rssOne) / (clients - 1)).toFixed(0)} KiB per further client; V8 heap in use +${((m.heapGrowth / 1024) / clients).toFixed(0)} KiB (V8 heap reserved +${mib(m.heapTotalGrowth / 1024)} in all) and external memory +${(m.externalGrowth / 1024 / clients).toFixed(1)} KiB per client)`,
      `  ${clients - 1} more clients started at once: all bound in ${m.allBoundMs.toFixed(0)} ms, ${(m.cpuManyUs / 1000 / (clients - 1)).toFixed(2)} ms CPU per lease`,
      `  threads waiting in poll(2): ${m.threadsOne.poll} with 1 client, ${m.threadsMany.poll} with ${clients} (threads in all: ${m.threadsOne.total}, ${m.threadsMany.total})`,
    );
    return { lines, figures: { dnsmasq: version, rounds, clients, warmup, ...m } };
  } finally {
    await cleanUp();
    forget();
  }
}

/** The counts of a full run, here and in `npm run bench`. */
export const DHCP4_CLIENTS_FULL: Dhcp4ClientsOptions = { rounds: 20, clients: 100, warmup: 2 };

// Run as a program (not imported by bench/run.ts): the report on stdout, or the clients' side.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const option = (name: string, fallback: number): number => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : fallback;
  };
  if (args[0] === '--inner') await inner(Number(args[1]), Number(args[2]), Number(args[3]));
  else {
    const { lines } = await dhcp4Clients({
      rounds: option('--rounds', DHCP4_CLIENTS_FULL.rounds),
      clients: option('--clients', DHCP4_CLIENTS_FULL.clients),
      warmup: option('--warmup', DHCP4_CLIENTS_FULL.warmup),
    });
    process.stdout.write(lines.join('\n') + '\n');
  }
}
