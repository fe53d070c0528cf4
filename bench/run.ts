// netauditd benchmark (npm run bench): audited AddConnection then Delete through the real
// daemon on a private bus, one call at a time and with 16 in flight, with all four audit
// backends against audit=no, printed side by side with the ratios, all from one run; then the
// trail alone, kernel link events, activation, and netauditctl (bench/cli.ts): the audit
// commands over a million records and `connection list` with a thousand profiles.
//
// Clients: python3-dbus (one call at a time, a separate process, as a shell script would) and
// dbus-next 0.10.2 (16 connections in this process, each with one call in flight).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { startBus, type TestBus } from '../test/helpers/bus.js';
import { connect, type TestClient } from '../test/helpers/client.js';
import { startDaemon } from '../test/helpers/daemon.js';
import { python } from '../test/helpers/exec.js';
import { CONNECTION_IFACE, ethernet, SETTINGS, SETTINGS_IFACE } from '../test/helpers/profiles.js';
import { ensureAuditd, ensureJournald } from '../test/helpers/system-services.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsonlFileBackend } from '../src/core/audit/backends/jsonl-file.js';
import { linkEventLatency, rssWithLinks, type Spread } from './links.js';
import { activationLatency } from './activation.js';
import { cliStart, connectionList, trailCommands, type Run } from './cli.js';

const SERIAL_CALLS = 400;
const PARALLEL_CALLS = 1600;
const IN_FLIGHT = 16;
const MTU_CHANGES = 200;
const VETH_ADDS = 50;
const RSS_LINKS = 1000;
const ACTIVATION_WARMUP = 20;
const ACTIVATION_CYCLES = 200;
const TRAIL_RECORDS = 1_000_000;
const TRAIL_DAYS = 30;
const LIST_PROFILES = 1000;
const LIST_REPEATS = 5;
/** NetworkManager 1.42's time for the same activation on this machine kind, for comparison: not measured by this bench (it needs systemd as PID 1). */
const NM_ETHERNET_MS = 5.6;
/** `node build/bench/run.js activation links`: only the sections named; all of them without arguments. */
const SECTIONS = ['calls', 'trail', 'links', 'activation', 'cli'] as const;

interface Figures {
  readonly callsPerSecond: number;
  readonly p50: number;
  readonly p99: number;
  /** the daemon's CPU time (user + system, all its threads) per call */
  cpuPerCall?: number;
}

/** CPU time of a process so far, in ms (utime + stime of /proc/PID/stat). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

function figures(latencies: number[], wallMs: number): Figures {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { callsPerSecond: (latencies.length * 1000) / wallMs, p50: at(0.5), p99: at(0.99) };
}

/** python3-dbus, one call at a time: AddConnection ×n, then Delete ×n; latencies in ms. */
async function pythonSerial(bus: TestBus, n: number): Promise<{ add: Figures; del: Figures }> {
  const script = `
import dbus, json, time
bus = dbus.SystemBus()
s = dbus.Interface(bus.get_object('org.netaudit1', '/org/netaudit1/Settings'), 'org.netaudit1.Settings')
def prof(i):
    return dbus.Dictionary({
        'connection': dbus.Dictionary({'id': 'py-%d' % i, 'type': '802-3-ethernet', 'interface-name': 'eth0'}, signature='sv'),
        'ipv4': dbus.Dictionary({'method': 'manual', 'gateway': '192.0.2.1', 'address-data': dbus.Array([dbus.Dictionary({'address': '192.0.2.10', 'prefix': dbus.UInt32(24)}, signature='sv')], signature='a{sv}')}, signature='sv'),
    }, signature='sa{sv}')
paths, add, dele = [], [], []
t0 = time.perf_counter()
for i in range(${n}):
    t = time.perf_counter(); paths.append(s.AddConnection(prof(i))); add.append((time.perf_counter() - t) * 1000)
t1 = time.perf_counter()
for p in paths:
    t = time.perf_counter()
    dbus.Interface(bus.get_object('org.netaudit1', p), 'org.netaudit1.Settings.Connection').Delete()
    dele.append((time.perf_counter() - t) * 1000)
t2 = time.perf_counter()
print(json.dumps({'add': add, 'del': dele, 'addWall': (t1 - t0) * 1000, 'delWall': (t2 - t1) * 1000}))
`;
  const out = await python(bus.address, script, { timeoutMs: 600_000 });
  if (out.code !== 0) throw new Error(`python3-dbus client failed: ${out.stderr}`);
  const r = JSON.parse(out.stdout) as { add: number[]; del: number[]; addWall: number; delWall: number };
  return { add: figures(r.add, r.addWall), del: figures(r.del, r.delWall) };
}

/** dbus-next, `inFlight` connections each with one call in flight. */
async function parallel(clients: TestClient[], n: number, tag: string, daemonPid: number): Promise<{ add: Figures; del: Figures }> {
  const perClient = Math.ceil(n / clients.length);
  const addLat: number[] = [];
  const delLat: number[] = [];
  const paths: string[][] = clients.map(() => []);
  let cpu0 = cpuMs(daemonPid);
  let t0 = performance.now();
  await Promise.all(
    clients.map(async (c, k) => {
      for (let i = 0; i < perClient; i++) {
        const t = performance.now();
        const [path] = (await c.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [ethernet(`${tag}-${k}-${i}`)])) as [string];
        addLat.push(performance.now() - t);
        paths[k]!.push(path);
      }
    }),
  );
  const addWall = performance.now() - t0;
  const addCpu = cpuMs(daemonPid) - cpu0;
  cpu0 = cpuMs(daemonPid);
  t0 = performance.now();
  await Promise.all(
    clients.map(async (c, k) => {
      for (const path of paths[k]!) {
        const t = performance.now();
        await c.call(path, CONNECTION_IFACE, 'Delete');
        delLat.push(performance.now() - t);
      }
    }),
  );
  const delWall = performance.now() - t0;
  const delCpu = cpuMs(daemonPid) - cpu0;
  return {
    add: { ...figures(addLat, addWall), cpuPerCall: addCpu / addLat.length },
    del: { ...figures(delLat, delWall), cpuPerCall: delCpu / delLat.length },
  };
}

async function scenario(audit: 'no' | 'yes'): Promise<Record<string, Figures>> {
  const bus = await startBus();
  try {
    const daemon = await startDaemon(bus, {
      config: { logging: { audit }, audit: { backends: process.env.BENCH_BACKENDS ?? 'libaudit,journal,log,file' } },
      ...(process.env.BENCH_DAEMON_NODE_OPTIONS ? { env: { NODE_OPTIONS: process.env.BENCH_DAEMON_NODE_OPTIONS } } : {}),
    });
    const serial = await pythonSerial(bus, SERIAL_CALLS);
    const clients = await Promise.all(Array.from({ length: IN_FLIGHT }, () => connect(bus.address)));
    try {
      // A warm-up round so that both configurations are measured with a warm JIT.
      await parallel(clients, IN_FLIGHT * 4, `warm-${audit}`, daemon.pid);
      const par = await parallel(clients, PARALLEL_CALLS, `par-${audit}`, daemon.pid);
      return {
        'AddConnection, 1 at a time (python3-dbus)': serial.add,
        'Delete, 1 at a time (python3-dbus)': serial.del,
        [`AddConnection, ${IN_FLIGHT} in flight (dbus-next)`]: par.add,
        [`Delete, ${IN_FLIGHT} in flight (dbus-next)`]: par.del,
      };
    } finally {
      for (const c of clients) c.close();
    }
  } finally {
    await bus.stop();
  }
}

function cell(f: Figures): string {
  const cpu = f.cpuPerCall === undefined ? '' : `  cpu ${f.cpuPerCall.toFixed(2)} ms`;
  return `${f.callsPerSecond.toFixed(0).padStart(6)}/s  p50 ${f.p50.toFixed(2).padStart(6)} ms  p99 ${f.p99.toFixed(2).padStart(7)} ms${cpu}`;
}

/** The trail alone: records/s when each caller waits for its fsync, serially and 64 at once. */
async function trailGroupCommit(): Promise<{ serial: number; grouped: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'netaudit-bench-'));
  const trail = await JsonlFileBackend.open({ dir, log: { warn: () => undefined, info: () => undefined } });
  let seq = 0;
  const record = () => ({ ts: Date.now(), boot: 'bench', seq: ++seq, op: 'connection-add' as const, name: 'lan0', pid: 1, uid: 0, result: 'success' as const });
  try {
    let t = performance.now();
    for (let i = 0; i < 512; i++) await trail.write(record());
    const serial = (512 * 1000) / (performance.now() - t);
    t = performance.now();
    for (let r = 0; r < 8; r++) await Promise.all(Array.from({ length: 64 }, () => trail.write(record())));
    const grouped = (512 * 1000) / (performance.now() - t);
    return { serial, grouped };
  } finally {
    await trail.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const unknown = only.filter((a) => !(SECTIONS as readonly string[]).includes(a));
  if (unknown.length > 0) throw new Error(`unknown section ${unknown.join(', ')}: the sections are ${SECTIONS.join(', ')}`);
  const wanted = (section: (typeof SECTIONS)[number]): boolean => only.length === 0 || only.includes(section);
  const lines: string[] = [];
  if (wanted('calls')) {
    await ensureJournald();
    await ensureAuditd();
    const off = await scenario('no');
    const on = await scenario('yes');
    const cpu = execFileSync('nproc', { encoding: 'utf8' }).trim();
    lines.push(
      `netauditd bench: ${SERIAL_CALLS} serial calls, ${PARALLEL_CALLS} calls with ${IN_FLIGHT} in flight; ${cpu} CPUs; private dbus-daemon; each change durable (fsync) with the trail on`,
      '',
      `${'scenario'.padEnd(44)}${'audit=no'.padEnd(56)}${'audit=yes, libaudit+journal+log+file'.padEnd(56)}audited/unaudited`,
    );
    for (const name of Object.keys(on)) {
      const a = off[name]!;
      const b = on[name]!;
      lines.push(`${name.padEnd(44)}${cell(a).padEnd(56)}${cell(b).padEnd(56)}${(b.callsPerSecond / a.callsPerSecond).toFixed(2)}× calls/s, ${(b.p50 / a.p50).toFixed(2)}× p50`);
    }
  }
  if (wanted('trail')) {
    const trail = await trailGroupCommit();
    lines.push('', `trail alone, each record fsynced before its caller goes on: ${trail.serial.toFixed(0)} records/s one at a time, ${trail.grouped.toFixed(0)} records/s 64 at once (group commit, ${(trail.grouped / trail.serial).toFixed(1)}×)`);
  }
  const ms = (s: Spread): string => `p50 ${s.p50.toFixed(2)} ms, p99 ${s.p99.toFixed(2)} ms`;
  if (wanted('links')) {
    const events = await linkEventLatency(MTU_CHANGES, VETH_ADDS);
    lines.push(
      '',
      `kernel link event → D-Bus signal (daemon in its own network namespace; monotonic clock; the change is committed before ip exits, so "after ip exits" is a lower bound and "after ip starts" an upper bound):`,
      `  ${MTU_CHANGES}× ip link set mtu N → PropertiesChanged(Mtu=N): after ip exits ${ms(events.mtu.afterExit)}; after ip starts ${ms(events.mtu.afterStart)}; ip itself (spawn to exit) ${ms(events.mtu.ipOwn)}`,
      `  ${VETH_ADDS}× ip link add type veth → DeviceAdded of both ends: after ip exits ${ms(events.added.afterExit)}; after ip starts ${ms(events.added.afterStart)}; ip itself (spawn to exit) ${ms(events.added.ipOwn)}`,
    );
    const rss = await rssWithLinks(RSS_LINKS);
    const mib = (kib: number): string => `${(kib / 1024).toFixed(1)} MiB`;
    lines.push(
      `daemon RSS (VmRSS): ${mib(rss.none)} with lo alone; ${mib(rss.loaded)} with ${RSS_LINKS} veth links announced (+${mib(rss.loaded - rss.none)}, ${((rss.loaded - rss.none) / RSS_LINKS).toFixed(1)} KiB per link); ip -batch made them in ${(rss.ipMs / 1000).toFixed(2)} s, all ${RSS_LINKS} DeviceAdded within ${(rss.announceMs / 1000).toFixed(2)} s of its start`,
    );
  }
  if (wanted('activation')) {
    const act = await activationLatency(ACTIVATION_WARMUP, ACTIVATION_CYCLES);
    const n = (s: Spread): string => `${ms(s)} (n=${s.n})`;
    lines.push(
      '',
      `activation, client's wall time of each call (dbus-next, one call at a time; daemon in its own network namespace, audit ${act.auditEnabled ? 'on' : 'off'}, backends ${act.backends.join('+')}${act.backends.includes('file') ? ' (the file trail fdatasyncs each record before the change is made)' : ''}; ${ACTIVATION_WARMUP} warm-up cycles not counted; section took ${(act.sectionMs / 1000).toFixed(1)} s):`,
      `  ethernet profile on a veth with carrier (ipv4 manual, 1 address; ipv6 ignore): ActivateConnection → activated ${n(act.ethernet.activate)}; DeactivateConnection ${n(act.ethernet.deactivate)}`,
      `  bridge profile (ipv4 manual, 1 address; ipv6 ignore), creating br-bench: ActivateConnection → activated ${n(act.bridge.activate)}; DeactivateConnection, deleting it ${n(act.bridge.deactivate)}`,
      `  reference, not measured by this bench: NetworkManager 1.42 activates an ethernet profile on a veth in ${NM_ETHERNET_MS} ms on this machine kind; our ethernet p50 is ${(act.ethernet.activate.p50 / NM_ETHERNET_MS).toFixed(2)}× that`,
    );
  }
  if (wanted('cli')) {
    const mib = (kib: number): string => `${(kib / 1024).toFixed(1)} MiB`;
    const one = (r: Run): string => `${(r.wallMs / 1000).toFixed(2)} s, peak RSS ${mib(r.peakRssKiB)}, ${(r.outputBytes / 1e6).toFixed(1)} MB out`;
    const start = await cliStart();
    const trail = await trailCommands(TRAIL_RECORDS, TRAIL_DAYS);
    lines.push(
      '',
      `netauditctl over a trail of ${trail.records.toLocaleString('en')} records in ${trail.days} day files (${(trail.bytes / 1e6).toFixed(0)} MB), output to a pipe and dropped; node's start alone (--version) ${start.wallMs.toFixed(0)} ms, ${mib(start.peakRssKiB)}:`,
      ...trail.runs.map(({ what, run }) => `  ${what}: ${one(run)}`),
    );
    const list = await connectionList(LIST_PROFILES, LIST_REPEATS);
    const median = (runs: readonly Run[]): number => [...runs].map((r) => r.wallMs).sort((a, b) => a - b)[Math.floor(runs.length / 2)]!;
    lines.push(
      `netauditctl connection list through the daemon with ${list.profiles} profiles (added in ${(list.addMs / 1000).toFixed(1)} s), median of ${LIST_REPEATS} runs:`,
      ...list.runs.map(({ what, runs }) => `  ${what}: ${median(runs).toFixed(0)} ms (min ${Math.min(...runs.map((r) => r.wallMs)).toFixed(0)}, max ${Math.max(...runs.map((r) => r.wallMs)).toFixed(0)}), peak RSS ${mib(Math.max(...runs.map((r) => r.peakRssKiB)))}`),
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((e: Error) => {
  process.stderr.write(`bench failed: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
