// The side-by-side section of `npm run bench`: netauditd and NetworkManager (the anchor) on the
// same private bus, with the same polkitd, the same clients and the same profile, one daemon at a
// time, alternating over rounds. Every row is measured for both; each cell is the median of the
// rounds with their min and max, and the ratio is netauditd/NetworkManager of the medians.
//
// Per round, for each daemon (the order swaps every round):
//   audit on:  start with no profile (exec → name, → first ListConnections, event loop at start),
//              idle RSS; python3-dbus AddConnection ×N then Delete ×N one at a time; dbus-next
//              Add/Update/Delete ×M with 16 in flight on one connection, CPU of every process
//              involved per phase; RSS right after, and after an idle wait; activation of an
//              ethernet profile on a veth and of a bridge profile, and their deactivation; then
//              DHCP (ipv4.method auto) on the same veth against dnsmasq on its peer, with each
//              daemon's own address conflict detection and with both probing for 200 ms.
//   audit off: the same calls.
//   many:      start with K keyfiles written into the profiles dir beforehand; RSS.
// and a bare `node -e "setInterval(()=>{},1000)"` for the RSS reference.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import dbus from 'dbus-next';
import type { Message as DBusMessage } from 'dbus-next';
import { startBus, killAndReap, type TestBus } from '../test/helpers/bus.js';
import { startDnsmasq, type Dnsmasq } from '../test/helpers/dnsmasq.js';
import { connect, variant, type TestClient } from '../test/helpers/client.js';
import { python, run } from '../test/helpers/exec.js';
import { repoPath } from '../test/helpers/repo.js';
import { ensureAuditd, ensureJournald } from '../test/helpers/system-services.js';
import { waitFor } from '../test/helpers/wait.js';
import type { LoopStatsReport } from '../src/loop-stats.js';
import { atExit } from './cleanup.js';
import { benchScratch, ensureNetworkManager, NETAUDITD, NM, startFlavor, type BenchPaths, type Flavor, type RunningDaemon } from './daemons.js';
import { cpuMs, formatSpread, pidsByComm, quantile, rssKiB, spread3, type Spread3, type Unit } from './stats.js';

export interface CompareOptions {
  readonly rounds: number;
  /** one-at-a-time calls (python3-dbus) per phase */
  readonly serial: number;
  /** calls per phase with 16 in flight */
  readonly parallel: number;
  readonly warmup: number;
  /** keyfiles written before the "many profiles" start */
  readonly manyProfiles: number;
  /** how long the first ListConnections may take before it is reported as a timeout */
  readonly listTimeoutMs: number;
  /** idle wait after the load before RSS is read again */
  readonly idleMs: number;
  readonly activationWarmup: number;
  /** measured ethernet cycles (activate, deactivate) */
  readonly activationCycles: number;
  /** measured bridge cycles: fewer, as NetworkManager takes about 2 s to call a bridge without ports activated */
  readonly bridgeCycles: number;
  /** measured DHCP cycles (activate until a lease is applied, deactivate), per profile: each daemon's defaults, then both probing 200 ms */
  readonly dhcpCycles: number;
  /** netauditd's [main] auth; polkitd runs on the bus either way */
  readonly auth: 'polkit' | 'root-only';
}

export const IN_FLIGHT = 16;

interface RowDef {
  readonly key: string;
  readonly label: string;
  readonly unit: Unit;
  /** which direction is better: for the reader, and for nothing else */
  readonly better: 'lower' | 'higher';
  /** measured for netauditd only */
  readonly netauditdOnly?: boolean;
}

function rowDefs(o: CompareOptions): RowDef[] {
  const many = o.manyProfiles.toLocaleString('en');
  return [
    { key: 'on.add1.p50', label: 'audit on: AddConnection 1 at a time (python3-dbus), p50', unit: 'ms', better: 'lower' },
    { key: 'on.add1.rate', label: 'audit on: AddConnection 1 at a time', unit: 'calls/s', better: 'higher' },
    { key: 'on.del1.p50', label: 'audit on: Delete 1 at a time (python3-dbus), p50', unit: 'ms', better: 'lower' },
    { key: 'on.del1.rate', label: 'audit on: Delete 1 at a time', unit: 'calls/s', better: 'higher' },
    { key: 'on.add16.rate', label: `audit on: AddConnection, ${IN_FLIGHT} in flight`, unit: 'calls/s', better: 'higher' },
    { key: 'on.add16.p50', label: `audit on: AddConnection, ${IN_FLIGHT} in flight, p50`, unit: 'ms', better: 'lower' },
    { key: 'on.upd16.rate', label: `audit on: Update, ${IN_FLIGHT} in flight`, unit: 'calls/s', better: 'higher' },
    { key: 'on.upd16.p50', label: `audit on: Update, ${IN_FLIGHT} in flight, p50`, unit: 'ms', better: 'lower' },
    { key: 'on.del16.rate', label: `audit on: Delete, ${IN_FLIGHT} in flight`, unit: 'calls/s', better: 'higher' },
    { key: 'on.del16.p50', label: `audit on: Delete, ${IN_FLIGHT} in flight, p50`, unit: 'ms', better: 'lower' },
    { key: 'on.aud16.rate', label: `audit on: Add+Update+Delete, ${IN_FLIGHT} in flight`, unit: 'calls/s', better: 'higher' },
    { key: 'on.cpu.all', label: 'audit on: CPU per change, all processes', unit: 'ms/change', better: 'lower' },
    { key: 'on.cpu.daemon', label: 'audit on: CPU per change, the daemon alone', unit: 'ms/change', better: 'lower' },
    { key: 'off.add1.p50', label: 'audit off: AddConnection 1 at a time, p50', unit: 'ms', better: 'lower' },
    { key: 'off.add1.rate', label: 'audit off: AddConnection 1 at a time', unit: 'calls/s', better: 'higher' },
    { key: 'off.del1.rate', label: 'audit off: Delete 1 at a time', unit: 'calls/s', better: 'higher' },
    { key: 'off.aud16.rate', label: `audit off: Add+Update+Delete, ${IN_FLIGHT} in flight`, unit: 'calls/s', better: 'higher' },
    { key: 'off.cpu.all', label: 'audit off: CPU per change, all processes', unit: 'ms/change', better: 'lower' },
    { key: 'off.cpu.daemon', label: 'audit off: CPU per change, the daemon alone', unit: 'ms/change', better: 'lower' },
    { key: 'overhead', label: `audit overhead, ${IN_FLIGHT} in flight (1 - on/off calls/s)`, unit: '%', better: 'lower' },
    { key: 'start0.name', label: 'exec -> bus name, 0 profiles', unit: 'ms', better: 'lower' },
    { key: 'start0.list', label: 'exec -> first ListConnections, 0 profiles', unit: 'ms', better: 'lower' },
    { key: 'startN.name', label: `exec -> bus name, ${many} profiles`, unit: 'ms', better: 'lower' },
    { key: 'startN.list', label: `exec -> ListConnections lists all ${many}`, unit: 'ms', better: 'lower' },
    { key: 'rss.idle0', label: 'RSS idle, 0 profiles', unit: 'MiB', better: 'lower' },
    { key: 'rss.many', label: `RSS with ${many} profiles`, unit: 'MiB', better: 'lower' },
    { key: 'rss.afterLoad', label: `RSS right after the load (${(2 * o.serial + 3 * o.parallel).toLocaleString('en')} changes)`, unit: 'MiB', better: 'lower' },
    { key: 'rss.afterIdle', label: `RSS after ${Math.round(o.idleMs / 1000)} s idle`, unit: 'MiB', better: 'lower' },
    { key: 'act.eth.up', label: 'ethernet on veth: activate -> activated, p50', unit: 'ms', better: 'lower' },
    { key: 'act.eth.down', label: 'ethernet on veth: deactivate -> deactivated, p50', unit: 'ms', better: 'lower' },
    { key: 'act.br.up', label: 'bridge: activate -> activated, p50', unit: 'ms', better: 'lower' },
    { key: 'act.br.downState', label: 'bridge: deactivate -> deactivated, p50', unit: 'ms', better: 'lower' },
    { key: 'act.br.down', label: 'bridge: deactivate -> link deleted, p50', unit: 'ms', better: 'lower' },
    { key: 'act.dhcp.up', label: 'DHCP on veth, defaults: activate -> activated, p50', unit: 'ms', better: 'lower' },
    { key: 'act.dhcp.upP99', label: 'DHCP on veth, defaults: activate -> activated, p99', unit: 'ms', better: 'lower' },
    { key: 'act.dhcp.down', label: 'DHCP on veth: deactivate -> deactivated, p50', unit: 'ms', better: 'lower' },
    { key: 'act.dhcpAcd.up', label: 'DHCP on veth, both ACD 200 ms: activate -> activated, p50', unit: 'ms', better: 'lower' },
    { key: 'act.dhcpAcd.upP99', label: 'DHCP on veth, both ACD 200 ms: activate -> activated, p99', unit: 'ms', better: 'lower' },
    { key: 'loop.load.p99', label: 'event-loop delay under the 16-in-flight load, p99', unit: 'ms', better: 'lower', netauditdOnly: true },
    { key: 'loop.load.max', label: 'event-loop delay under the 16-in-flight load, max', unit: 'ms', better: 'lower', netauditdOnly: true },
    { key: 'loop.start0.p99', label: 'event-loop delay during start-up (0 profiles), p99', unit: 'ms', better: 'lower', netauditdOnly: true },
    { key: 'loop.start0.max', label: 'event-loop delay during start-up (0 profiles), max', unit: 'ms', better: 'lower', netauditdOnly: true },
    { key: 'loop.startN.p99', label: `event-loop delay during start-up (${many} profiles), p99`, unit: 'ms', better: 'lower', netauditdOnly: true },
    { key: 'loop.startN.max', label: `event-loop delay during start-up (${many} profiles), max`, unit: 'ms', better: 'lower', netauditdOnly: true },
  ];
}

type Values = Record<string, number | null>;

/** What one round gave, per daemon: row key → value (null: not measured or timed out). */
interface RoundFigures {
  readonly order: string[];
  readonly nm: Values;
  readonly netauditd: Values;
  readonly bareNodeRssMiB: number;
  /** daemon → audit on/off → phase → process → CPU ms, for the JSON file */
  readonly cpu: Record<string, Record<string, Record<string, Record<string, number>>>>;
}

export interface CompareResult {
  readonly text: string;
  readonly json: Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// The processes whose CPU is counted.

interface Involved {
  daemon: number;
  bus: number;
  polkitd: number;
}

function involvedPids(p: Involved): Record<string, number[]> {
  return {
    daemon: [p.daemon],
    'dbus-daemon': [p.bus],
    journald: pidsByComm('systemd-journal'),
    auditd: pidsByComm('auditd'),
    kauditd: pidsByComm('kauditd'),
    polkitd: p.polkitd > 0 ? [p.polkitd] : [],
  };
}

function cpuSnapshot(pids: Record<string, number[]>): Record<string, number> {
  return Object.fromEntries(Object.entries(pids).map(([name, list]) => [name, list.reduce((s, pid) => s + cpuMs(pid), 0)]));
}

function cpuDelta(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.keys(a).map((k) => [k, (b[k] ?? 0) - a[k]!]));
}

const sum = (r: Record<string, number>): number => Object.values(r).reduce((s, v) => s + v, 0);

// ---------------------------------------------------------------------------------------------
// polkitd, on the bench's bus, with netauditd's actions: in a mount namespace of its own whose
// actions dir is a copy of the system's plus ours, so that no file of the system is touched.

async function startPolkitd(bus: TestBus, scratch: string): Promise<number> {
  const polkitd = '/usr/lib/polkit-1/polkitd';
  const actions = join(scratch, 'polkit-actions');
  await mkdir(actions, { mode: 0o755 });
  for (const name of await readdir('/usr/share/polkit-1/actions').catch(() => [] as string[])) {
    await copyFile(join('/usr/share/polkit-1/actions', name), join(actions, name));
  }
  await copyFile(repoPath('data', 'org.netaudit1.policy'), join(actions, 'org.netaudit1.policy'));
  const script = `set -e; mount --make-rprivate /; mount --bind '${actions}' /usr/share/polkit-1/actions; exec ${polkitd} --no-debug`;
  const child = spawn('unshare', ['-m', 'sh', '-c', script], { env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: bus.address }, stdio: 'ignore' });
  child.on('error', () => undefined);
  child.unref();
  atExit(`polkitd (pid ${child.pid})`, async () => { if (child.pid) await killAndReap(child.pid); });
  const client = await connect(bus.address);
  try {
    const pid = await waitFor(async () => {
      const [p] = await client.callBus('GetConnectionUnixProcessID', 's', ['org.freedesktop.PolicyKit1']);
      return p as number;
    }, { timeoutMs: 15_000, what: 'polkitd to own org.freedesktop.PolicyKit1 on the bench bus' });
    if (pid !== child.pid) throw new Error(`org.freedesktop.PolicyKit1 is owned by pid ${pid}, not by the polkitd just started (${child.pid})`);
    return pid;
  } catch (e) {
    if (child.pid) await killAndReap(child.pid).catch(() => undefined);
    throw e;
  } finally {
    client.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Clients.

type Dict = Record<string, Record<string, unknown>>;

/** The bench's profile: ethernet, one manual IPv4 address and a gateway, eth0, never autoconnected. */
function benchProfile(id: string, uuid: string, address = '192.0.2.10'): Dict {
  return {
    connection: {
      id: variant('s', id), uuid: variant('s', uuid), type: variant('s', '802-3-ethernet'),
      'interface-name': variant('s', 'eth0'), autoconnect: variant('b', false),
    },
    ipv4: {
      method: variant('s', 'manual'),
      'address-data': variant('aa{sv}', [{ address: variant('s', address), prefix: variant('u', 24) }]),
      gateway: variant('s', '192.0.2.1'),
    },
  };
}

// One python3-dbus process per phase, one call at a time with call_blocking (no introspection),
// the same profile as benchProfile; its spec comes on stdin as JSON.
const PYTHON_SERIAL = `
import dbus, json, sys, time, uuid
spec = json.load(sys.stdin)
bus = dbus.SystemBus()
S = spec['service']
def prof(i):
    return dbus.Dictionary({
        'connection': dbus.Dictionary({'id': '%s-%d' % (spec['tag'], i), 'uuid': str(uuid.uuid4()), 'type': '802-3-ethernet',
                                       'interface-name': 'eth0', 'autoconnect': dbus.Boolean(False)}, signature='sv'),
        'ipv4': dbus.Dictionary({'method': 'manual', 'gateway': '192.0.2.1',
                                 'address-data': dbus.Array([dbus.Dictionary({'address': '192.0.2.10', 'prefix': dbus.UInt32(24)}, signature='sv')], signature='a{sv}')}, signature='sv'),
    }, signature='sa{sv}')
lat, paths = [], []
t0 = time.perf_counter()
if spec['op'] == 'add':
    for i in range(spec['n']):
        t = time.perf_counter()
        paths.append(str(bus.call_blocking(S, spec['settings'], spec['settingsIface'], 'AddConnection', 'a{sa{sv}}', [prof(i)])))
        lat.append((time.perf_counter() - t) * 1000)
else:
    for p in spec['paths']:
        t = time.perf_counter()
        bus.call_blocking(S, p, spec['connectionIface'], 'Delete', '', [])
        lat.append((time.perf_counter() - t) * 1000)
wall = (time.perf_counter() - t0) * 1000
print(json.dumps({'lat': lat, 'wall': wall, 'paths': paths}))
`;

interface Phase {
  readonly lat: number[];
  readonly wallMs: number;
  readonly cpu: Record<string, number>;
}

async function pythonPhase(address: string, spec: Record<string, unknown>, pids: Record<string, number[]>): Promise<Phase & { paths: string[] }> {
  const before = cpuSnapshot(pids);
  const out = await python(address, PYTHON_SERIAL, { input: JSON.stringify(spec), timeoutMs: 600_000 });
  const cpu = cpuDelta(before, cpuSnapshot(pids));
  if (out.code !== 0) throw new Error(`python3-dbus client (${String(spec.op)}) failed: ${out.stderr.trim().slice(-2000)}`);
  const r = JSON.parse(out.stdout) as { lat: number[]; wall: number; paths: string[] };
  return { lat: r.lat, wallMs: r.wall, paths: r.paths, cpu };
}

/** `items` through `fn`, IN_FLIGHT at a time (all on the caller's one connection). */
async function inFlight<T>(items: readonly T[], fn: (item: T, i: number) => Promise<void>, pids: Record<string, number[]>): Promise<Phase> {
  const lat: number[] = [];
  let next = 0;
  const before = cpuSnapshot(pids);
  const t0 = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (next < items.length) {
      const i = next++;
      const t = performance.now();
      await fn(items[i]!, i);
      lat.push(performance.now() - t);
    }
  }));
  const wallMs = performance.now() - t0;
  return { lat, wallMs, cpu: cpuDelta(before, cpuSnapshot(pids)) };
}

const rate = (p: Phase): number => (p.lat.length * 1000) / p.wallMs;
const p50 = (p: Phase): number => quantile(p.lat, 0.5);
const mib = (kib: number): number => kib / 1024;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface CallFigures {
  values: Values;
  cpu: Record<string, Record<string, number>>;
}

/** Serial Add/Delete (python3-dbus), then Add/Update/Delete with 16 in flight on one connection. */
async function calls(f: Flavor, d: RunningDaemon, bus: TestBus, client: TestClient, o: CompareOptions, prefix: 'on' | 'off', pids: Record<string, number[]>, loop?: (r: LoopStatsReport | null) => void): Promise<CallFigures> {
  const values: Values = {};
  const cpu: Record<string, Record<string, number>> = {};
  const base = { service: f.service, settings: f.settings, settingsIface: f.settingsIface, connectionIface: f.connectionIface };
  const add1 = await pythonPhase(bus.address, { ...base, op: 'add', n: o.serial, tag: `py-${prefix}` }, pids);
  const del1 = await pythonPhase(bus.address, { ...base, op: 'del', paths: add1.paths }, pids);
  values[`${prefix}.add1.p50`] = p50(add1);
  values[`${prefix}.add1.rate`] = rate(add1);
  values[`${prefix}.del1.p50`] = p50(del1);
  values[`${prefix}.del1.rate`] = rate(del1);
  cpu.add1 = add1.cpu;
  cpu.del1 = del1.cpu;

  const opts = { destination: f.service };
  const call = (path: string, iface: string, member: string, sig = '', body: unknown[] = []): Promise<unknown[]> =>
    client.call(path, iface, member, sig, body, opts);
  const cycle = async (tag: string, n: number): Promise<[Phase, Phase, Phase]> => {
    const uuids = Array.from({ length: n }, () => randomUUID());
    const paths: string[] = new Array(n);
    const add = await inFlight(uuids, async (uuid, i) => {
      paths[i] = ((await call(f.settings, f.settingsIface, 'AddConnection', 'a{sa{sv}}', [benchProfile(`${tag}-${i}`, uuid)])) as [string])[0];
    }, pids);
    const upd = await inFlight(uuids, async (uuid, i) => {
      await call(paths[i]!, f.connectionIface, 'Update', 'a{sa{sv}}', [benchProfile(`${tag}-${i}`, uuid, '192.0.2.11')]);
    }, pids);
    const del = await inFlight(paths, async (path) => { await call(path, f.connectionIface, 'Delete'); }, pids);
    return [add, upd, del];
  };
  await cycle(`warm-${prefix}`, o.warmup);
  await d.loopStats(); // resets netauditd's histogram: the next report covers the load alone
  const [add, upd, del] = await cycle(`par-${prefix}`, o.parallel);
  loop?.(await d.loopStats());
  values[`${prefix}.add16.rate`] = rate(add);
  values[`${prefix}.add16.p50`] = p50(add);
  values[`${prefix}.upd16.rate`] = rate(upd);
  values[`${prefix}.upd16.p50`] = p50(upd);
  values[`${prefix}.del16.rate`] = rate(del);
  values[`${prefix}.del16.p50`] = p50(del);
  const changes = add.lat.length + upd.lat.length + del.lat.length;
  values[`${prefix}.aud16.rate`] = (changes * 1000) / (add.wallMs + upd.wallMs + del.wallMs);
  const all = [add.cpu, upd.cpu, del.cpu].reduce((s, c) => s + sum(c), 0);
  const own = [add.cpu, upd.cpu, del.cpu].reduce((s, c) => s + c.daemon!, 0);
  values[`${prefix}.cpu.all`] = all / changes;
  values[`${prefix}.cpu.daemon`] = own / changes;
  cpu.add16 = add.cpu;
  cpu.upd16 = upd.cpu;
  cpu.del16 = del.cpu;
  return { values, cpu };
}

// ---------------------------------------------------------------------------------------------
// Activation.

interface ActiveStates {
  /** resolves with the arrival time of a StateChanged(state) of `path` at or after `since`, or of one seen before */
  reached(path: string, state: number): number | null;
  wait(path: string, state: number, timeoutMs: number): Promise<number>;
  off(): void;
}

async function watchActiveStates(client: TestClient, f: Flavor): Promise<ActiveStates> {
  const seen = new Map<string, Array<{ state: number; at: number }>>();
  const waiters = new Set<() => void>();
  const listener = (msg: DBusMessage): void => {
    if (msg.type !== dbus.MessageType.SIGNAL || msg.interface !== f.activeIface || msg.member !== 'StateChanged') return;
    const at = performance.now();
    const list = seen.get(msg.path) ?? [];
    list.push({ state: msg.body[0] as number, at });
    seen.set(msg.path, list);
    for (const w of [...waiters]) w();
  };
  client.bus.on('message', listener);
  await client.callBus('AddMatch', 's', [`type='signal',sender='${f.service}',interface='${f.activeIface}',member='StateChanged'`]);
  const reached = (path: string, state: number): number | null => seen.get(path)?.find((e) => e.state === state)?.at ?? null;
  return {
    reached,
    wait: (path, state, timeoutMs) => new Promise<number>((resolve, reject) => {
      const check = (): void => {
        const at = reached(path, state);
        if (at !== null) {
          waiters.delete(check);
          clearTimeout(timer);
          resolve(at);
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no StateChanged(${state}) of ${path} within ${timeoutMs} ms`));
      }, timeoutMs);
      waiters.add(check);
      check();
    }),
    off: () => client.bus.off('message', listener),
  };
}

/** `ip -n NS -o monitor link`, each line with its arrival time; ready once it reported a change of lo's MTU. */
async function linkEvents(ns: string): Promise<{ deleted: (name: string, since: number, timeoutMs: number) => Promise<number | null>; stop: () => void }> {
  const child = spawn('ip', ['-n', ns, '-o', 'monitor', 'link'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const lines: Array<{ line: string; at: number }> = [];
  let rest = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const at = performance.now();
    const parts = (rest + chunk).split('\n');
    rest = parts.pop()!;
    for (const line of parts) lines.push({ line, at });
  });
  const mtu = 60_000 + (process.pid % 1000);
  try {
    await waitFor(async () => {
      await run('ip', ['-n', ns, 'link', 'set', 'dev', 'lo', 'mtu', String(mtu)]);
      await run('ip', ['-n', ns, 'link', 'set', 'dev', 'lo', 'mtu', '65536']);
      return lines.some((l) => l.line.includes(' lo: ') && l.line.includes(` mtu ${mtu} `));
    }, { timeoutMs: 5_000, intervalMs: 20, what: `ip monitor in ${ns} to report a change of lo` });
  } catch (e) {
    child.kill();
    throw e;
  }
  return {
    deleted: async (name, since, timeoutMs) => {
      const re = new RegExp(`^Deleted \\d+: ${name}[:@]`);
      try {
        return await waitFor(() => lines.find((l) => l.at >= since && re.test(l.line))?.at, { timeoutMs, intervalMs: 1, what: `${name} deleted` });
      } catch {
        return null;
      }
    },
    stop: () => { child.kill(); },
  };
}

interface ActivationFigures {
  values: Values;
  /** whether the daemon deleted the bridge's link on every deactivation */
  bridgeDeleted: boolean;
  notes: string[];
}

// The DHCP server of the DHCP rows: dnsmasq on the veth's peer, in the peer's namespace, started
// afresh (with an empty lease file) for each daemon's turn. --no-ping: before each offer of an
// address dnsmasq would otherwise ping it and wait about 3 s for an answer, which would measure
// dnsmasq, not the clients. The test helper adds --dhcp-authoritative (a client asking for an
// address dnsmasq has no lease of is answered at once, with a NAK if need be, not ignored) and
// --log-dhcp, whose lines give the messages each daemon's client sent.
const DHCP_SERVER = '10.79.0.1';
const DHCP_POOL = { first: 100, last: 200 };
const DHCP_ARGS = [`--dhcp-range=10.79.0.${DHCP_POOL.first},10.79.0.${DHCP_POOL.last},2m`, '--no-ping'];
/** the length of netauditd's conflict check of an offered address (DEFAULT_ACD_TIMEOUT_MS, not configurable) */
const NETAUDITD_ACD_MS = 200;

/** How many of each DHCP message dnsmasq logged (with --log-dhcp: DHCPDISCOVER(v1) …). */
function dhcpMessages(log: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const m of log.matchAll(/ (DHCP[A-Z]+)\(v1\)/g)) counts[m[1]!] = (counts[m[1]!] ?? 0) + 1;
  return counts;
}

async function activation(f: Flavor, d: RunningDaemon, client: TestClient, o: CompareOptions, peerNs: string): Promise<ActivationFigures> {
  const notes: string[] = [];
  const ns = d.netns;
  const opts = { destination: f.service };
  const call = (path: string, iface: string, member: string, sig = '', body: unknown[] = [], timeoutMs = 25_000): Promise<unknown[]> =>
    client.call(path, iface, member, sig, body, { ...opts, timeoutMs });
  await run('ip', ['netns', 'del', peerNs]);
  await run('ip', ['netns', 'add', peerNs]);
  const events = await linkEvents(ns);
  const states = await watchActiveStates(client, f);
  let server: Dnsmasq | undefined;
  let forgetServer = (): void => undefined;
  try {
    const r = await run('ip', ['-n', ns, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1', 'netns', peerNs]);
    if (r.code !== 0) throw new Error(`ip link add v0: ${r.stderr}`);
    await run('ip', ['-n', peerNs, 'addr', 'add', `${DHCP_SERVER}/24`, 'dev', 'v1']);
    await run('ip', ['-n', peerNs, 'link', 'set', 'v1', 'up']);
    const started = await startDnsmasq({ netns: peerNs, iface: 'v1', args: DHCP_ARGS });
    server = started;
    forgetServer = atExit(`dnsmasq in ${peerNs} (pid ${started.pid})`, () => started.stop());
    const device = await waitFor(async () => {
      const [path] = (await call(f.manager, f.managerIface, 'GetDeviceByIpIface', 's', ['v0'])) as [string];
      if (f.key === 'nm') {
        // NetworkManager must have taken the link (30 = disconnected, ready to activate).
        const [state] = (await call(path, 'org.freedesktop.DBus.Properties', 'Get', 'ss', [f.deviceIface, 'State'])) as [{ value: number }];
        if (state.value < 30) return null;
      }
      return path;
    }, { timeoutMs: 15_000, what: `${f.label} to show v0 as a device ready to activate` });
    const profile = (id: string, type: string, ifname: string, address: string): Dict => ({
      connection: { id: variant('s', id), uuid: variant('s', randomUUID()), type: variant('s', type), 'interface-name': variant('s', ifname), autoconnect: variant('b', false) },
      ipv4: { method: variant('s', 'manual'), 'address-data': variant('aa{sv}', [{ address: variant('s', address), prefix: variant('u', 24) }]) },
      ipv6: { method: variant('s', 'ignore') },
    });
    const [eth] = (await call(f.settings, f.settingsIface, 'AddConnection', 'a{sa{sv}}', [profile('bench-eth', '802-3-ethernet', 'v0', '10.77.0.1')])) as [string];
    const [br] = (await call(f.settings, f.settingsIface, 'AddConnection', 'a{sa{sv}}', [profile('bench-br', 'bridge', 'br-bench', '10.78.0.1')])) as [string];
    // DHCP: ipv4.method auto on v0, IPv6 left alone, with NetworkManager's ipv4.dad-timeout when given.
    const dhcpProfile = (id: string, dadTimeoutMs?: number): Dict => ({
      connection: { id: variant('s', id), uuid: variant('s', randomUUID()), type: variant('s', '802-3-ethernet'), 'interface-name': variant('s', 'v0'), autoconnect: variant('b', false) },
      ipv4: { method: variant('s', 'auto'), ...(dadTimeoutMs === undefined ? {} : { 'dad-timeout': variant('i', dadTimeoutMs) }) },
      ipv6: { method: variant('s', 'ignore') },
    });
    const [dhcp] = (await call(f.settings, f.settingsIface, 'AddConnection', 'a{sa{sv}}', [dhcpProfile('bench-dhcp')])) as [string];
    // Both probing the offered address for as long as netauditd always does: NetworkManager told so by
    // ipv4.dad-timeout; netauditd given the same property if it takes it, else its own default.
    let dhcpAcd: string;
    try {
      [dhcpAcd] = (await call(f.settings, f.settingsIface, 'AddConnection', 'a{sa{sv}}', [dhcpProfile('bench-dhcp-acd', NETAUDITD_ACD_MS)])) as [string];
    } catch (e) {
      if (f.key === 'nm') throw e;
      const why = e instanceof dbus.DBusError ? `${e.type}: ${e.text}` : (e as Error).message;
      notes.push(`netauditd refuses ipv4.dad-timeout (${why}); in the "both ACD ${NETAUDITD_ACD_MS} ms" rows it runs the bench-dhcp profile again, probing for its fixed ${NETAUDITD_ACD_MS} ms, and NetworkManager's profile has ipv4.dad-timeout=${NETAUDITD_ACD_MS}`);
      [dhcpAcd] = (await call(f.settings, f.settingsIface, 'AddConnection', 'a{sa{sv}}', [dhcpProfile('bench-dhcp-acd')])) as [string];
    }

    const stateOf = async (path: string): Promise<number | 'gone'> => {
      try {
        const [v] = (await call(path, 'org.freedesktop.DBus.Properties', 'Get', 'ss', [f.activeIface, 'State'])) as [{ value: number }];
        return v.value;
      } catch {
        return 'gone';
      }
    };
    // Activated: StateChanged(2), or State 2 when read right after the reply.
    const activated = async (path: string, replyAt: number): Promise<number> => {
      const seen = states.reached(path, 2);
      if (seen !== null) return Math.max(seen, replyAt);
      const now = await stateOf(path);
      if (now === 2) return states.reached(path, 2) ?? performance.now();
      return states.wait(path, 2, 30_000);
    };
    // Deactivated: StateChanged(4), or the object gone / State 4 when read after the reply.
    const deactivated = async (path: string, replyAt: number): Promise<number> => {
      const seen = states.reached(path, 4);
      if (seen !== null) return Math.max(seen, replyAt);
      const now = await stateOf(path);
      if (now === 4 || now === 'gone') return states.reached(path, 4) ?? performance.now();
      return states.wait(path, 4, 30_000);
    };

    // A DHCP activation must have put a lease's address on v0 (checked outside the timings).
    const leased = async (): Promise<void> => {
      const [l] = JSON.parse((await run('ip', ['-n', ns, '-j', '-4', 'addr', 'show', 'dev', 'v0'])).stdout) as Array<{ addr_info: Array<{ local: string; prefixlen: number }> }>;
      const ok = l?.addr_info.some((a) => {
        const m = /^10\.79\.0\.(\d+)$/.exec(a.local);
        return m !== null && a.prefixlen === 24 && Number(m[1]) >= DHCP_POOL.first && Number(m[1]) <= DHCP_POOL.last;
      });
      if (!ok) throw new Error(`${f.label}: activated, but v0 has no address from dnsmasq's pool: ${JSON.stringify(l?.addr_info)}`);
    };

    const cycleKind = async (conn: string, dev: string, bridge: boolean, cycles: number, check?: () => Promise<void>): Promise<{ up: number[]; down: number[]; downState: number[]; deleted: boolean }> => {
      const up: number[] = [];
      const down: number[] = [];
      const downState: number[] = [];
      let deleted = true;
      for (let i = 0; i < o.activationWarmup + cycles; i++) {
        const t0 = performance.now();
        const [active] = (await call(f.manager, f.managerIface, 'ActivateConnection', 'ooo', [conn, dev, '/'])) as [string];
        const upAt = await activated(active, performance.now());
        await check?.();
        const t1 = performance.now();
        await call(f.manager, f.managerIface, 'DeactivateConnection', 'o', [active]);
        const downAt = await deactivated(active, performance.now());
        let goneAt = downAt;
        if (bridge) {
          const at = await events.deleted('br-bench', t1, deleted ? 3_000 : 300);
          if (at === null) {
            deleted = false;
            // Not deleted by the daemon: delete it here, so that every activation starts alike.
            await run('ip', ['-n', ns, 'link', 'del', 'br-bench']);
            await events.deleted('br-bench', t1, 3_000);
          } else {
            goneAt = at;
          }
          await sleep(20); // the daemon's own handling of the deletion, outside the timings
        }
        if (i >= o.activationWarmup) {
          up.push(upAt - t0);
          downState.push(downAt - t1);
          if (bridge && deleted) down.push(goneAt - t1);
          if (!bridge) down.push(downAt - t1);
        }
      }
      return { up, down, downState, deleted };
    };
    const e = await cycleKind(eth, device, false, o.activationCycles);
    const b = await cycleKind(br, '/', true, o.bridgeCycles);
    if (!b.deleted) notes.push(`${f.label} did not delete the bridge link br-bench it created when the bridge profile was deactivated (waited 3 s); the bench deleted it`);
    const seen0 = dhcpMessages(await server.log());
    const h = await cycleKind(dhcp, device, false, o.dhcpCycles, leased);
    const seen1 = dhcpMessages(await server.log());
    const ha = await cycleKind(dhcpAcd, device, false, o.dhcpCycles, leased);
    const seen2 = dhcpMessages(await server.log());
    const said = (from: Record<string, number>, to: Record<string, number>): string =>
      ['DHCPDISCOVER', 'DHCPREQUEST', 'DHCPDECLINE', 'DHCPRELEASE', 'DHCPNAK'].map((m) => `${(to[m] ?? 0) - (from[m] ?? 0)} ${m.slice(4)}`).join(', ');
    const n = o.activationWarmup + o.dhcpCycles;
    notes.push(`${f.label}'s DHCP client, as dnsmasq logged it, over ${n} activations (warm-up included) of bench-dhcp: ${said(seen0, seen1)}; of bench-dhcp-acd: ${said(seen1, seen2)}`);
    return {
      values: {
        'act.eth.up': quantile(e.up, 0.5),
        'act.eth.down': quantile(e.down, 0.5),
        'act.br.up': quantile(b.up, 0.5),
        'act.br.downState': quantile(b.downState, 0.5),
        'act.br.down': b.deleted ? quantile(b.down, 0.5) : null,
        'act.dhcp.up': quantile(h.up, 0.5),
        'act.dhcp.upP99': quantile(h.up, 0.99),
        'act.dhcp.down': quantile(h.down, 0.5),
        'act.dhcpAcd.up': quantile(ha.up, 0.5),
        'act.dhcpAcd.upP99': quantile(ha.up, 0.99),
      },
      bridgeDeleted: b.deleted,
      notes,
    };
  } finally {
    states.off();
    events.stop();
    await server?.stop().catch(() => undefined);
    forgetServer();
    await run('ip', ['netns', 'del', peerNs]);
  }
}

// ---------------------------------------------------------------------------------------------

/** VmRSS of a bare `node -e "setInterval(()=>{},1000)"` after `settleMs`, in MiB. */
async function bareNodeRss(settleMs: number): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setInterval(()=>{},1000)'], { stdio: 'ignore' });
  const forget = atExit('the bare node', async () => child.kill('SIGKILL'));
  try {
    await sleep(settleMs);
    return mib(rssKiB(child.pid!));
  } finally {
    child.kill('SIGKILL');
    forget();
  }
}

/**
 * Whether `--cpu-prof` leaves a profile when netauditd stops on SIGTERM: first through
 * NODE_OPTIONS, then as node's own option.
 */
async function cpuProfOnSigterm(paths: BenchPaths, o: CompareOptions): Promise<string> {
  const tries: Array<[string, Partial<{ env: NodeJS.ProcessEnv; nodeArgs: string[] }>]> = [
    ['NODE_OPTIONS=--cpu-prof', { env: { NODE_OPTIONS: '--cpu-prof --cpu-prof-dir=DIR' } }],
    ['node --cpu-prof dist/main.js', { nodeArgs: ['--cpu-prof', '--cpu-prof-dir=DIR'] }],
  ];
  const said: string[] = [];
  for (const [what, how] of tries) {
    const dir = join(paths.dir, `cpu-prof-${said.length}`);
    await mkdir(dir, { mode: 0o755 });
    const env = how.env ? { NODE_OPTIONS: how.env.NODE_OPTIONS!.replace('DIR', dir) } : undefined;
    const nodeArgs = how.nodeArgs?.map((a) => a.replace('DIR', dir));
    let d: RunningDaemon;
    try {
      d = await startFlavor(NETAUDITD, paths, { audit: false, profiles: 0, listTimeoutMs: 30_000, auth: o.auth, ...(env ? { env } : {}), ...(nodeArgs ? { nodeArgs } : {}) });
    } catch (e) {
      const first = (e as Error).message.split('\n').find((l) => /cpu-prof/.test(l)) ?? (e as Error).message.split('\n')[0];
      said.push(`${what}: the daemon does not start (${first?.trim()})`);
      continue;
    }
    const code = await d.stop();
    const files = (await readdir(dir)).filter((n) => n.endsWith('.cpuprofile'));
    said.push(files.length > 0
      ? `${what}: a profile was written on the SIGTERM exit (status ${code})`
      : `${what}: no profile on the SIGTERM exit (status ${code}): the stop path ends the process with _exit(2) (exitNow, src/native/libc.ts), which skips node's exit handling, where V8 writes the profile`);
  }
  return `--cpu-prof: ${said.join('; ')}`;
}

async function round(r: number, o: CompareOptions, paths: BenchPaths, bus: TestBus, polkitd: number, notes: Set<string>, progress: (s: string) => void): Promise<RoundFigures> {
  const flavors = r % 2 === 0 ? [NM, NETAUDITD] : [NETAUDITD, NM];
  const figures: Record<string, Values> = { nm: {}, netauditd: {} };
  const cpu: RoundFigures['cpu'] = { nm: {}, netauditd: {} };
  const client = await connect(paths.busAddress);
  const peerNs = `${paths.prefix}-peer`;
  try {
    // audit on
    for (const f of flavors) {
      progress(`round ${r + 1}: ${f.label}, audit on`);
      const v = figures[f.key]!;
      const d = await startFlavor(f, paths, { audit: true, profiles: 0, listTimeoutMs: o.listTimeoutMs, auth: o.auth });
      try {
        v['start0.name'] = d.nameMs;
        v['start0.list'] = d.listMs;
        if (d.startupLoop?.startup) {
          v['loop.start0.p99'] = d.startupLoop.startup.p99;
          v['loop.start0.max'] = d.startupLoop.startup.max;
        }
        await sleep(1_500);
        v['rss.idle0'] = mib(rssKiB(d.pid));
        const pids = involvedPids({ daemon: d.pid, bus: bus.pid, polkitd });
        const c = await calls(f, d, bus, client, o, 'on', pids, (loop) => {
          if (loop) {
            v['loop.load.p99'] = loop.sinceLastReset.p99;
            v['loop.load.max'] = loop.sinceLastReset.max;
          }
        });
        Object.assign(v, c.values);
        cpu[f.key]!.on = c.cpu;
        v['rss.afterLoad'] = mib(rssKiB(d.pid));
        await sleep(o.idleMs);
        v['rss.afterIdle'] = mib(rssKiB(d.pid));
        const a = await activation(f, d, client, o, peerNs);
        Object.assign(v, a.values);
        for (const n of a.notes) notes.add(n);
        if (a.bridgeDeleted) notes.add(`${f.label} deleted the bridge link br-bench it created on each deactivation of the bridge profile`);
      } finally {
        await d.stop();
      }
    }
    // audit off
    for (const f of flavors) {
      progress(`round ${r + 1}: ${f.label}, audit off`);
      const v = figures[f.key]!;
      const d = await startFlavor(f, paths, { audit: false, profiles: 0, listTimeoutMs: o.listTimeoutMs, auth: o.auth });
      try {
        const pids = involvedPids({ daemon: d.pid, bus: bus.pid, polkitd });
        const c = await calls(f, d, bus, client, o, 'off', pids);
        Object.assign(v, c.values);
        cpu[f.key]!.off = c.cpu;
        const on = v['on.aud16.rate'];
        const off = v['off.aud16.rate'];
        v.overhead = on != null && off != null ? (1 - on / off) * 100 : null;
      } finally {
        await d.stop();
      }
    }
    // many profiles
    for (const f of flavors) {
      progress(`round ${r + 1}: ${f.label}, ${o.manyProfiles} profiles`);
      const v = figures[f.key]!;
      const d = await startFlavor(f, paths, { audit: true, profiles: o.manyProfiles, listTimeoutMs: o.listTimeoutMs, auth: o.auth });
      try {
        v['startN.name'] = d.nameMs;
        v['startN.list'] = d.listMs;
        if (d.nameMs === null) {
          notes.add(`${f.label}: did not own its bus name within ${o.listTimeoutMs / 1000} s of its start with ${o.manyProfiles} profiles (round ${r + 1})`);
        } else if (d.listMs === null) {
          notes.add(`${f.label}: the first ListConnections did not list all ${o.manyProfiles} profiles within the timeout of ${o.listTimeoutMs / 1000} s (round ${r + 1}: ${d.listed} listed by then)`);
        }
        if (d.startupLoop?.startup) {
          v['loop.startN.p99'] = d.startupLoop.startup.p99;
          v['loop.startN.max'] = d.startupLoop.startup.max;
        }
        await sleep(1_500);
        v['rss.many'] = mib(rssKiB(d.pid));
      } finally {
        await d.stop();
      }
    }
    const bareNodeRssMiB = await bareNodeRss(1_500);
    return { order: flavors.map((f) => f.label), nm: figures.nm!, netauditd: figures.netauditd!, bareNodeRssMiB, cpu };
  } finally {
    client.close();
  }
}

interface Target {
  readonly name: string;
  readonly pass: boolean | null;
  readonly detail: string;
}

function targets(rows: Map<string, { nm: Spread3 | null; netauditd: Spread3 | null }>, bare: Spread3 | null, o: CompareOptions): Target[] {
  const m = (key: string, who: 'nm' | 'netauditd'): number | null => rows.get(key)?.[who]?.median ?? null;
  const t = (name: string, a: number | null, b: number | null, ok: (a: number, b: number) => boolean, detail: (a: number, b: number) => string): Target =>
    a === null || b === null || !Number.isFinite(a) || !Number.isFinite(b)
      ? { name, pass: null, detail: 'not measured' }
      : { name, pass: ok(a, b), detail: detail(a, b) };
  const f1 = (v: number): string => v.toFixed(1);
  const f2 = (v: number): string => v.toFixed(2);
  const many = o.manyProfiles.toLocaleString('en');
  const loop = (key: string): number | null => m(key, 'netauditd');
  const loopP99 = Math.max(loop('loop.load.p99') ?? NaN, loop('loop.start0.p99') ?? NaN);
  return [
    t(`audited Add/Update/Delete, ${IN_FLIGHT} in flight >= 2x NetworkManager's calls/s`, m('on.aud16.rate', 'netauditd'), m('on.aud16.rate', 'nm'),
      (a, b) => a >= 2 * b, (a, b) => `${a.toFixed(0)}/s vs ${b.toFixed(0)}/s = ${f2(a / b)}x`),
    t('one-at-a-time AddConnection p50 <= NetworkManager\'s', m('on.add1.p50', 'netauditd'), m('on.add1.p50', 'nm'),
      (a, b) => a <= b, (a, b) => `${f2(a)} ms vs ${f2(b)} ms`),
    t(`audit overhead (on vs off, ${IN_FLIGHT} in flight) <= 15%`, m('overhead', 'netauditd'), 15,
      (a) => a <= 15, (a) => `${f1(a)}% (NetworkManager ${m('overhead', 'nm')?.toFixed(1) ?? '—'}%)`),
    t('CPU per audited change (all processes) <= NetworkManager\'s', m('on.cpu.all', 'netauditd'), m('on.cpu.all', 'nm'),
      (a, b) => a <= b, (a, b) => `${f2(a)} ms vs ${f2(b)} ms`),
    t('exec -> bus name <= 150 ms with 0 profiles', m('start0.name', 'netauditd'), 150,
      (a) => a <= 150, (a) => `${f1(a)} ms`),
    t(`${many} profiles loaded and answering <= 1 s`, m('startN.list', 'netauditd'), 1000,
      (a) => a <= 1000, (a) => `${f1(a)} ms`),
    t('idle RSS <= bare node + 20 MB', m('rss.idle0', 'netauditd'), bare?.median ?? null,
      (a, b) => a <= b + 20, (a, b) => `${f1(a)} MiB vs bare node ${f1(b)} MiB (+${f1(a - b)})`),
    t(`RSS <= 100 MB with ${many} profiles`, m('rss.many', 'netauditd'), 100,
      (a) => a <= 100, (a) => `${f1(a)} MiB`),
    t('RSS after the load back within 10% of idle', m('rss.afterIdle', 'netauditd'), m('rss.idle0', 'netauditd'),
      (a, b) => a <= b * 1.1, (a, b) => `${f1(a)} MiB after ${Math.round(o.idleMs / 1000)} s idle vs ${f1(b)} MiB idle (+${f1(((a - b) / b) * 100)}%; right after the load ${m('rss.afterLoad', 'netauditd')?.toFixed(1) ?? '—'} MiB)`),
    t('event-loop delay p99 <= 5 ms under load and during start-up', Number.isFinite(loopP99) ? loopP99 : null, 5,
      (a) => a <= 5, () => `p99 ${loop('loop.load.p99')?.toFixed(2) ?? '—'} ms under load, ${loop('loop.start0.p99')?.toFixed(2) ?? '—'} ms during start-up; max ${loop('loop.load.max')?.toFixed(1) ?? '—'} / ${loop('loop.start0.max')?.toFixed(1) ?? '—'} ms`),
    t('bridge deactivation <= NetworkManager\'s', m('act.br.down', 'netauditd'), m('act.br.down', 'nm'),
      (a, b) => a <= b, (a, b) => `${f2(a)} ms vs ${f2(b)} ms (to the link deleted)`),
  ];
}

/** Runs the side-by-side rounds and formats the header, the table and the targets. */
export async function compare(o: CompareOptions, progress: (s: string) => void): Promise<CompareResult> {
  const nmVersion = await ensureNetworkManager();
  await ensureJournald();
  await ensureAuditd();
  const scratch = await benchScratch();
  const prefix = `nab${process.pid}`;
  const notes = new Set<string>();
  let bus: TestBus | undefined;
  let polkitd = 0;
  const rounds: RoundFigures[] = [];
  let cpuProf = '';
  const cleanUp = async (): Promise<void> => {
    if (polkitd > 0) await killAndReap(polkitd).catch(() => undefined);
    await bus?.stop().catch(() => undefined);
    for (const line of (await run('ip', ['netns', 'list'])).stdout.split('\n')) {
      const name = line.split(' ')[0]!;
      if (name.startsWith(`${prefix}-`)) await run('ip', ['netns', 'del', name]);
    }
    await rm(scratch, { recursive: true, force: true });
  };
  const forget = atExit('the side-by-side bench\'s bus, polkitd, namespaces and scratch dir', cleanUp);
  try {
    bus = await startBus();
    process.stderr.write(`bench: private bus ${bus.address} (dbus-daemon pid ${bus.pid}), scratch ${scratch}\n`);
    polkitd = await startPolkitd(bus, scratch);
    const paths: BenchPaths = { dir: scratch, busAddress: bus.address, prefix };
    for (let r = 0; r < o.rounds; r++) rounds.push(await round(r, o, paths, bus, polkitd, notes, progress));
    progress('--cpu-prof check');
    cpuProf = await cpuProfOnSigterm(paths, o);
  } finally {
    await cleanUp();
    forget();
  }
  notes.add(cpuProf);
  notes.add(`DHCP rows: dnsmasq runs with --no-ping, as otherwise it pings each address before offering it and waits about 3 s for an answer, which would measure dnsmasq and not the clients; it is started afresh, with no lease, for each daemon's turn`);
  notes.add(`DHCP rows: NetworkManager runs its internal client ([main] dhcp=internal). On deactivation it keeps the lease (no RELEASE), and the next activation of the profile asks for that address at once (a REQUEST alone, answered by an ACK: one exchange). netauditd gives the lease back (RELEASE) on a caller's deactivation, so each of its activations starts from DISCOVER (DISCOVER, OFFER, REQUEST, ACK: two exchanges). The message counts per daemon are in the notes above`);
  notes.add(`DHCP rows, address conflict detection: "defaults" is each daemon as it comes. NetworkManager 1.42 leaves ipv4.dad-timeout at -1, which it resolves to the [connection] ipv4.dad-timeout of its configuration (none here), else 0: it takes the address without probing. netauditd always probes an offered address with ARP for ${NETAUDITD_ACD_MS} ms before taking it. In "both ACD ${NETAUDITD_ACD_MS} ms" NetworkManager's profile has ipv4.dad-timeout=${NETAUDITD_ACD_MS}`);

  const defs = rowDefs(o);
  const rows = new Map<string, { nm: Spread3 | null; netauditd: Spread3 | null }>();
  for (const def of defs) {
    const col = (who: 'nm' | 'netauditd'): Spread3 | null =>
      spread3(rounds.map((r) => r[who][def.key]).filter((v): v is number => v !== null && v !== undefined && Number.isFinite(v)));
    rows.set(def.key, { nm: def.netauditdOnly ? null : col('nm'), netauditd: col('netauditd') });
  }
  const bare = spread3(rounds.map((r) => r.bareNodeRssMiB));
  const tgs = targets(rows, bare, o);

  const nproc = (await run('nproc', [])).stdout.trim();
  const dnsmasqVersion = (await run('dnsmasq', ['--version'])).stdout.split('\n')[0]!.replace(/\s+Copyright.*/, '').trim() || 'dnsmasq';
  const kernel = (await run('uname', ['-r'])).stdout.trim();
  const netauditdVersion = (JSON.parse(await readFile(repoPath('package.json'), 'utf8')) as { version: string }).version;
  const machine = { nproc: Number(nproc), kernel, node: process.version, networkManager: nmVersion, netauditd: netauditdVersion };
  const lines: string[] = [];
  lines.push(
    `netauditd vs NetworkManager, side by side: ${nproc} CPUs, kernel ${kernel}, node ${process.version}, NetworkManager ${nmVersion}${nmVersion === '1.42.4' ? '' : ' (the anchor is meant to be 1.42.4)'}`,
    `${o.rounds} round${o.rounds === 1 ? '' : 's'}, daemons alternating; one private dbus-daemon and one polkitd for both (netauditd auth=${o.auth}); callers are root; ` +
      `${o.serial} calls one at a time (python3-dbus), ${o.parallel} per phase with ${IN_FLIGHT} in flight on one dbus-next connection; ` +
      `audit on = netauditd [logging] audit=yes, backends libaudit,journal,log,file / NetworkManager [logging] audit=true; ` +
      `activation: ${o.activationCycles} ethernet, ${o.bridgeCycles} bridge and 2× ${o.dhcpCycles} DHCP cycles per round after ${o.activationWarmup} warm-up, each to State=2 (activated) and back to State=4 (deactivated), a bridge to its link deleted; ` +
      `DHCP against ${dnsmasqVersion} on the veth's peer (${DHCP_ARGS.join(' ')} --dhcp-authoritative), p99 by nearest rank${o.dhcpCycles <= 100 ? ` (of ${o.dhcpCycles} samples: the slowest)` : ''}`,
    'each cell: median [min..max] over the rounds; ratio = netauditd / NetworkManager (medians); CPU = utime+stime of the daemon, dbus-daemon, journald, auditd, kauditd and polkitd',
    '',
  );
  const labelW = Math.max(...defs.map((d) => d.label.length + d.unit.length + 4));
  const cells = defs.map((def) => {
    const row = rows.get(def.key)!;
    const nmCell = def.netauditdOnly ? 'n/a' : formatSpread(row.nm, def.unit);
    const naCell = formatSpread(row.netauditd, def.unit);
    const ratio = row.nm && row.netauditd && row.nm.median !== 0 ? `${(row.netauditd.median / row.nm.median).toFixed(2)}` : '—';
    return { label: `${def.label} (${def.unit})`, nmCell, naCell, ratio };
  });
  const nmW = Math.max(14, ...cells.map((c) => c.nmCell.length)) + 2;
  const naW = Math.max(9, ...cells.map((c) => c.naCell.length)) + 2;
  lines.push(`${''.padEnd(labelW)}${'NetworkManager'.padEnd(nmW)}| ${'netauditd'.padEnd(naW)}| ratio`);
  for (const c of cells) lines.push(`${c.label.padEnd(labelW)}${c.nmCell.padEnd(nmW)}| ${c.naCell.padEnd(naW)}| ${c.ratio}`);
  lines.push(`${'reference: bare node -e "setInterval(()=>{},1000)" RSS (MiB)'.padEnd(labelW)}${formatSpread(bare, 'MiB')}`);
  const timeouts = defs.filter((d) => d.key.endsWith('.list') || d.key.endsWith('.name')).flatMap((d) =>
    (['nm', 'netauditd'] as const).map((who) => ({ who, n: rounds.filter((r) => r[who][d.key] === null).length, label: d.label })).filter((x) => x.n > 0));
  for (const x of timeouts) lines.push(`  ${x.who === 'nm' ? 'NetworkManager' : 'netauditd'}: "${x.label}" timed out after ${o.listTimeoutMs / 1000} s in ${x.n} of ${o.rounds} rounds (left out of the cell)`);
  lines.push('', 'TARGETS (netauditd; reported, not asserted)');
  for (const g of tgs) lines.push(`  ${g.pass === null ? 'N/A ' : g.pass ? 'PASS' : 'FAIL'}  ${g.name}: ${g.detail}`);
  if (notes.size > 0) {
    lines.push('', 'notes:');
    for (const n of notes) lines.push(`  - ${n}`);
  }

  const json = {
    machine,
    options: o,
    rows: defs.map((def) => ({ ...def, ...rows.get(def.key)!, ratio: cells[defs.indexOf(def)]!.ratio === '—' ? null : Number(cells[defs.indexOf(def)]!.ratio) })),
    reference: { bareNodeRssMiB: bare },
    targets: tgs,
    notes: [...notes],
    rounds,
  };
  return { text: lines.join('\n'), json };
}
