// Kernel links for the benchmark, always inside network namespaces made here (never the root
// namespace's links): the time from a link event to the daemon's D-Bus signal, and the daemon's
// RSS with 1,000 veth links in its namespace.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { run } from '../test/helpers/exec.js';
import { DEVICE_IFACE, devicePaths, deviceOnBus, pathOf, PROPERTIES } from '../test/helpers/devices.js';
import { createNetns, ifindexOf, startDaemonInNetns, stopDaemonInNetns } from '../test/helpers/netns.js';
import { MANAGER, MANAGER_IFACE } from '../test/helpers/profiles.js';
import { waitFor } from '../test/helpers/wait.js';
import type { DaemonHarness } from '../test/helpers/use-daemon.js';

export interface Spread {
  readonly n: number;
  readonly p50: number;
  readonly p99: number;
}

function spread(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { n: values.length, p50: at(0.5), p99: at(0.99) };
}

/** One `ip` command: monotonic times (performance.now, ms) just before spawning it and when it has exited. */
function timedIp(args: string[]): Promise<{ start: number; exit: number }> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
    child.on('error', reject);
    child.on('exit', (code) => {
      const exit = performance.now();
      if (code === 0) resolve({ start, exit });
      else reject(new Error(`ip ${args.join(' ')}: ${stderr.trim()} (exit ${code})`));
    });
  });
}

/** Resolves with the time the first `matches` event arrives; rejects after `timeoutMs`. */
class Waiters<T> {
  private readonly waiting: Array<{ matches: (e: T) => boolean; resolve: (t: number) => void }> = [];

  arrived(event: T, at: number): void {
    const i = this.waiting.findIndex((w) => w.matches(event));
    if (i >= 0) this.waiting.splice(i, 1)[0]!.resolve(at);
  }

  wait(matches: (e: T) => boolean, what: string, timeoutMs = 5_000): Promise<number> {
    return new Promise((resolve, reject) => {
      const entry = {
        matches,
        resolve: (t: number) => {
          clearTimeout(timer);
          resolve(t);
        },
      };
      const timer = setTimeout(() => {
        this.waiting.splice(this.waiting.indexOf(entry), 1);
        reject(new Error(`no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.push(entry);
    });
  }
}

export interface EventLatency {
  /** signal arrival − `ip` exit (the change is committed before ip exits, so this is a lower bound) */
  afterExit: Spread;
  /** signal arrival − `ip` spawn (an upper bound) */
  afterStart: Spread;
  /** the `ip` command's own duration, spawn to exit */
  ipOwn: Spread;
}

function latency(samples: Array<{ start: number; exit: number; signal: number }>): EventLatency {
  return {
    afterExit: spread(samples.map((s) => s.signal - s.exit)),
    afterStart: spread(samples.map((s) => s.signal - s.start)),
    ipOwn: spread(samples.map((s) => s.exit - s.start)),
  };
}

async function withDaemonInNetns<T>(names: string[], body: (h: DaemonHarness, ns: string) => Promise<T>): Promise<T> {
  await createNetns(...names);
  let harness: Partial<DaemonHarness> = {};
  try {
    harness = await startDaemonInNetns(names[0]!);
    return await body(harness as DaemonHarness, names[0]!);
  } finally {
    await stopDaemonInNetns(harness, ...names);
  }
}

/**
 * In a fresh namespace with the daemon in it: `mtuChanges` × `ip link set … mtu N` on one end of a
 * veth pair, each timed to the PropertiesChanged carrying Mtu=N; and `vethAdds` × `ip link add …
 * type veth`, each timed to the DeviceAdded of the second of its two ends.
 */
export async function linkEventLatency(mtuChanges: number, vethAdds: number): Promise<{ mtu: EventLatency; added: EventLatency }> {
  const ns = `na-bench-ev-${process.pid}`;
  return withDaemonInNetns([ns], async ({ client }) => {
    const mtuSignals = new Waiters<{ path: string; mtu: unknown }>();
    const addedSignals = new Waiters<string>();
    const offChanged = await client.onSignal(null, PROPERTIES, 'PropertiesChanged', (body, msg) => {
      const at = performance.now();
      if (body[0] !== DEVICE_IFACE) return;
      const mtu = (body[1] as Record<string, { value: unknown }>).Mtu;
      if (mtu !== undefined) mtuSignals.arrived({ path: msg.path, mtu: mtu.value }, at);
    });
    const offAdded = await client.onSignal(MANAGER, MANAGER_IFACE, 'DeviceAdded', (body) => {
      addedSignals.arrived(body[0] as string, performance.now());
    });
    try {
      await run('ip', ['-n', ns, 'link', 'add', 'bm0', 'type', 'veth', 'peer', 'name', 'bm1']);
      const path = pathOf(await deviceOnBus(client, ns, 'bm0'));
      const mtuSamples = [];
      for (let i = 0; i < mtuChanges; i++) {
        const mtu = 1300 + (i % 2 === 0 ? i : 1000 + i); // a new value every time
        const signal = mtuSignals.wait((e) => e.path === path && e.mtu === mtu, `PropertiesChanged Mtu=${mtu} on ${path}`);
        const { start, exit } = await timedIp(['-n', ns, 'link', 'set', 'dev', 'bm0', 'mtu', String(mtu)]);
        mtuSamples.push({ start, exit, signal: await signal });
      }
      const addSamples = [];
      for (let i = 0; i < vethAdds; i++) {
        // The ifindexes are the kernel's to choose: take the next two announcements, then check them.
        const seen: string[] = [];
        const second = addedSignals.wait((p) => seen.push(p) === 2, `two DeviceAdded for bv${i}/bvp${i}`);
        const { start, exit } = await timedIp(['-n', ns, 'link', 'add', `bv${i}`, 'type', 'veth', 'peer', 'name', `bvp${i}`]);
        const signal = await second;
        const expected = [pathOf(await ifindexOf(ns, `bv${i}`)), pathOf(await ifindexOf(ns, `bvp${i}`))].sort();
        if (JSON.stringify([...seen].sort()) !== JSON.stringify(expected)) {
          throw new Error(`DeviceAdded for ${seen.join(', ')}, expected ${expected.join(', ')}`);
        }
        addSamples.push({ start, exit, signal });
      }
      return { mtu: latency(mtuSamples), added: latency(addSamples) };
    } finally {
      await offChanged();
      await offAdded();
    }
  });
}

/** VmRSS of a process, in KiB. */
function rssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]);
}

/**
 * The daemon's VmRSS in a fresh namespace holding only lo, then once all of `links` veth links
 * made there in one `ip -batch` (their peers in a second namespace) are announced as devices.
 */
export async function rssWithLinks(links: number): Promise<{ none: number; loaded: number; announceMs: number; ipMs: number }> {
  const ns = `na-bench-rss-${process.pid}`;
  const peers = `na-bench-peer-${process.pid}`;
  return withDaemonInNetns([ns, peers], async ({ client, daemon }) => {
    let added = 0;
    const off = await client.onSignal(MANAGER, MANAGER_IFACE, 'DeviceAdded', () => { added++; });
    try {
      await new Promise((r) => setTimeout(r, 1_000)); // let start-up settle
      const none = rssKiB(daemon.pid);
      const before = (await devicePaths(client)).length;
      const batch = Array.from({ length: links }, (_, i) => `link add br${i} type veth peer name brp${i} netns ${peers}\n`).join('');
      const t0 = performance.now();
      const r = await run('ip', ['-n', ns, '-batch', '-'], { input: batch, timeoutMs: 120_000 });
      const ipMs = performance.now() - t0;
      if (r.code !== 0) throw new Error(`ip -batch: ${r.stderr.trim()}`);
      await waitFor(() => added >= links, { timeoutMs: 120_000, intervalMs: 10, what: `${links} DeviceAdded signals (${added} so far)` });
      const announceMs = performance.now() - t0;
      const total = (await devicePaths(client)).length;
      if (total !== before + links) throw new Error(`GetDevices lists ${total} devices, expected ${before + links}`);
      const loaded = rssKiB(daemon.pid);
      return { none, loaded, announceMs, ipMs };
    } finally {
      await off();
    }
  });
}
