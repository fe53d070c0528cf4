// The bus layer's cost per call, and what sd-bus would cost instead:
//   npm run build && npx tsc -p bench/tsconfig.json
//   node build/bench/bus-layer.js [servers] [daemon]      (both without arguments)
// BENCH_BASELINE_MAIN=…/dist/main.js adds another build of the daemon to the daemon section,
// run alternately with this one; BENCH_ROUNDS, BENCH_SERIAL_CALLS, BENCH_PARALLEL_CALLS and
// BENCH_DAEMON_ROUNDS change the counts. docs/bus-layer.md has the figures and the decision.
//
// servers: three stand-alone servers on a private dbus-daemon export one method,
// org.netaudit1.Settings.AddConnection(a{sa{sv}}) → o, with nothing behind it:
//   dbus-next       the daemon's own bus layer (src/bus: Dispatcher, ObjectTree, BusCallers, the
//                   write coalescing and the unreadable-message guard of connection.ts) over
//                   dbus-next, decoding with src/bus/variant.ts, but dbus-next's marshaller;
//   dbus-next+wire  the same with src/bus/wire.ts writing the outgoing messages, as the daemon;
//   sd-bus          libsystemd's sd-bus through koffi (bench/sd-bus.ts), the body read with
//                   sd_bus_message_enter_container/read_basic into the same Settings.
// All resolve the caller as BusCallers does (GetConnectionCredentials of the sender, then
// /proc/PID/exe): "cached" once per unique name, "uncached" on every call (what a caller that
// connects once per change, such as netauditctl, costs). A dbus-next client in this process
// drives them, 1 call and 16 calls in flight (16 connections), the servers taking turns in
// each round; figures are medians of the rounds. Then a CPU profile of each server (by owner,
// bench/cpu-profile.ts), and a micro-benchmark of decoding one received message and building
// one reply, with the cost of single koffi calls.
//
// daemon: whether `node --cpu-prof` profiles the daemon's main thread when it is stopped with
// SIGTERM; then the real netauditd (audit on, all four backends, as bench/run.ts) during
// audited AddConnection calls: its main thread's CPU per call, and a profile taken through
// bench/cpu-prof-preload.ts (SIGUSR2 starts and stops it). The profiles are deleted after each
// window: the core's cost per call grows with their number.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readlink, mkdtemp, rm } from 'node:fs/promises';
import { Session } from 'node:inspector';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import dbus from 'dbus-next';
import type { Caller } from '../src/core/caller.js';
import type { Settings } from '../src/core/settings/value.js';
import type { DomainLogger } from '../src/log/logger.js';
import { BusCallers } from '../src/bus/caller.js';
import { coalesceWrites, marshalFast, surviveUnreadableMessages, type LibConnection } from '../src/bus/connection.js';
import { marshallMessage as fastMarshall } from '../src/bus/wire.js';
import { Dispatcher } from '../src/bus/dispatcher.js';
import { ObjectTree } from '../src/bus/object-tree.js';
import { settingsFromWire, settingsInput } from '../src/bus/variant.js';
import { startBus, type TestBus } from '../test/helpers/bus.js';
import { daemonMain, startDaemon } from '../test/helpers/daemon.js';
import { ensureAuditd, ensureJournald } from '../test/helpers/system-services.js';
import { waitFor } from '../test/helpers/wait.js';
import { breakdown, describe, type CpuProfile } from './cpu-profile.js';

const { Message, Variant } = dbus;
type Msg = InstanceType<typeof Message>;

const SETTINGS = '/org/netaudit1/Settings';
const SETTINGS_IFACE = 'org.netaudit1.Settings';
// outside org.netaudit1, which data/org.netaudit1.conf keeps for the daemon
const NAMES = { 'dbus-next': 'net.netaudit.bench.DbusNext', 'dbus-next+wire': 'net.netaudit.bench.DbusNextWire', 'sd-bus': 'net.netaudit.bench.SdBus' } as const;
type Kind = keyof typeof NAMES;
type Creds = 'cached' | 'uncached';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SERIAL_CALLS = Number(process.env.BENCH_SERIAL_CALLS ?? 600);
const PARALLEL_CALLS = Number(process.env.BENCH_PARALLEL_CALLS ?? 3200);
const IN_FLIGHT = 16;
const PROFILE_CALLS = 4000;
const MICRO_REPEATS = 20_000;
const DAEMON_SERIAL = 300;
const DAEMON_PARALLEL = 800;

/** The audited AddConnection's argument: 3 settings, 8 keys, one aa{sv}. */
function profile(id: string): Record<string, Record<string, InstanceType<typeof Variant>>> {
  return {
    connection: {
      id: new Variant('s', id),
      type: new Variant('s', '802-3-ethernet'),
      'interface-name': new Variant('s', 'eth0'),
      autoconnect: new Variant('b', false),
    },
    ipv4: {
      method: new Variant('s', 'manual'),
      'address-data': new Variant('aa{sv}', [{ address: new Variant('s', '192.0.2.10'), prefix: new Variant('u', 24) }]),
      gateway: new Variant('s', '192.0.2.1'),
    },
    ipv6: { method: new Variant('s', 'ignore') },
  };
}

/** ns on CPU of this process's main thread (schedstat: exact, unlike stat's 10 ms ticks). */
function mainThreadNs(pid: number = process.pid): number {
  return Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[0]);
}

/** ms on CPU of a whole process, all threads (utime + stime, 10 ms ticks). */
function processMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/** Settings as JSON, to compare what the two decoders made of the same message. */
function settingsJson(s: Settings): string {
  const plain = (v: unknown): unknown => {
    if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [k, plain(x)]));
    if (v instanceof Uint8Array) return { bytes: [...v] };
    if (Array.isArray(v)) return v.map(plain);
    if (typeof v === 'bigint') return { bigint: String(v) };
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
    return v;
  };
  return JSON.stringify(plain(s));
}

// ---------------------------------------------------------------------------------------------
// The servers (child processes: `node build/bench/bus-layer.js --serve KIND ADDRESS`)

interface ServerState {
  creds: Creds;
  calls: number;
  sample: string | null;
  micro: (repeats: number) => Record<string, number>;
  ffiCalls: () => number;
  wakeups: () => number;
}

/** Caller resolution as BusCallers.fetch does it, over any transport. */
async function withExe(sender: string, pid: unknown, uid: unknown): Promise<Caller> {
  if (typeof pid !== 'number' || typeof uid !== 'number') throw new Error(`the bus gave no ProcessID/UnixUserID for ${sender}`);
  const exe = await readlink(`/proc/${pid}/exe`).catch(() => undefined);
  return exe === undefined ? { busName: sender, pid, uid } : { busName: sender, pid, uid, exe };
}

async function serveDbusNext(address: string, state: ServerState, wire: boolean): Promise<string> {
  const bus = dbus.sessionBus({ busAddress: address });
  await new Promise<void>((resolve, reject) => {
    bus.once('connect', () => resolve());
    bus.once('error', reject);
  });
  bus.on('error', () => undefined);
  const log = { warn: () => undefined, info: () => undefined, err: () => undefined, debug: () => undefined } as unknown as DomainLogger;
  const connection = (bus as unknown as { _connection: LibConnection })._connection;
  // "dbus-next": the bus layer before src/bus/wire.ts; "dbus-next+wire": as the daemon now is
  if (wire) marshalFast(connection);
  coalesceWrites(connection);
  surviveUnreadableMessages(connection, log);
  const cached = new BusCallers(bus);
  await cached.start();
  // "uncached": a BusCallers of its own for every call, so that every call asks the bus
  const callers = {
    ref: (sender: string, interactive?: boolean) => (state.creds === 'cached' ? cached : new BusCallers(bus)).ref(sender, interactive),
  } as unknown as BusCallers;
  let kept: Msg | null = null;
  bus.on('message', (msg: Msg) => {
    if (msg.member === 'AddConnection') kept = msg;
  });
  const tree = new ObjectTree();
  tree.add({
    path: SETTINGS,
    interfaces: [
      {
        name: SETTINGS_IFACE,
        methods: [
          {
            name: 'AddConnection',
            in: [['connection', 'a{sa{sv}}']],
            out: [['path', 'o']],
            operation: 'Settings.AddConnection',
            handler: async (ctx, [dict]) => {
              await ctx.caller.resolve();
              const settings = settingsInput(dict).decode();
              if (settings.get('connection')?.get('id')?.value === 'sample') state.sample = settingsJson(settings);
              return [`${SETTINGS}/${++state.calls}`];
            },
          },
        ],
        properties: [],
        signals: [],
      },
    ],
  });
  new Dispatcher({ bus, tree, callers, log, rejectMalformed: async (_c, _op, e) => Promise.reject(e) }).start();
  const name = NAMES[wire ? 'dbus-next+wire' : 'dbus-next'];
  const reply = await bus.requestName(name, dbus.NameFlag.DO_NOT_QUEUE);
  if (reply !== dbus.RequestNameReply.PRIMARY_OWNER) throw new Error(`cannot own ${name}`);

  const lib = createRequire(import.meta.url);
  const { unmarshall } = lib('dbus-next/lib/message.js') as { unmarshall: (b: Buffer) => { body: unknown[] } };
  const { marshallMessage, messageToJsFmt } = lib('dbus-next/lib/marshall-compat.js') as {
    marshallMessage: (m: Msg) => [Buffer, unknown[]];
    messageToJsFmt: (m: unknown) => ConstructorParameters<typeof Message>[0];
  };
  // what connection.js does with each message read from the socket
  const receive = (bytes: Buffer): Msg => new Message(messageToJsFmt(unmarshall(bytes)));
  state.micro = (repeats) => {
    if (!kept) throw new Error('no AddConnection received yet');
    const bytes = marshallMessage(kept)[0];
    let t = process.hrtime.bigint();
    for (let i = 0; i < repeats; i++) settingsFromWire(receive(bytes).body[0]);
    const decodeNs = Number(process.hrtime.bigint() - t) / repeats;
    t = process.hrtime.bigint();
    for (let i = 0; i < repeats; i++) receive(bytes);
    const unmarshalNs = Number(process.hrtime.bigint() - t) / repeats;
    t = process.hrtime.bigint();
    for (let i = 0; i < repeats; i++) {
      const r = Message.newMethodReturn(kept, 'o', [`${SETTINGS}/1`]);
      r.serial = 1;
      if (wire) fastMarshall(r);
      else marshallMessage(r);
    }
    const replyNs = Number(process.hrtime.bigint() - t) / repeats;
    return { 'decode (unmarshal + JS form + settingsFromWire) ns': decodeNs, 'of which unmarshal + JS form ns': unmarshalNs, 'reply (newMethodReturn + marshall) ns': replyNs, 'message bytes': bytes.length };
  };
  return (bus as unknown as { name: string | null }).name ?? '?';
}

async function serveSdBus(address: string, state: ServerState): Promise<string> {
  const sd = await import('./sd-bus.js');
  const bus = new sd.SdBus(address);
  const cache = new Map<string, Promise<Caller>>();
  const fetch = (sender: string): Promise<Caller> =>
    bus
      .callString('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'GetConnectionCredentials', sender, (reply, isError) => {
        if (isError) throw new Error(`GetConnectionCredentials failed for ${sender}`);
        return sd.readDictReply(reply);
      })
      .then((creds) => withExe(sender, creds.get('ProcessID')?.value, creds.get('UnixUserID')?.value));
  const resolve = (sender: string): Promise<Caller> => {
    if (state.creds === 'uncached') return fetch(sender);
    let p = cache.get(sender);
    if (!p) {
      p = fetch(sender);
      cache.set(sender, p);
      p.catch(() => cache.delete(sender));
    }
    return p;
  };
  let kept: unknown = null;
  bus.addObject(SETTINGS, (call) => {
    if (call.interface !== SETTINGS_IFACE || call.member !== 'AddConnection') {
      bus.replyError(call.message, 'org.netaudit1.Error.UnknownMethod', `no method ${call.member ?? ''}`);
      return;
    }
    if (call.signature !== 'a{sa{sv}}') {
      bus.replyError(call.message, 'org.netaudit1.Error.InvalidArgument', `AddConnection takes a{sa{sv}}, not ${call.signature}`);
      return;
    }
    const m = bus.ref(call.message);
    // the order of the daemon: the caller first, then the body is read (after authorization)
    resolve(call.sender).then(
      () => {
        const settings = sd.readSettings(m);
        if (settings.get('connection')?.get('id')?.value === 'sample') state.sample = settingsJson(settings);
        bus.replyString(m, 'o', `${SETTINGS}/${++state.calls}`);
        if (kept) bus.unref(kept);
        kept = m;
      },
      (e: Error) => {
        bus.replyError(m, 'org.netaudit1.Error.PermissionDenied', e.message);
        bus.unref(m);
      },
    );
  });
  bus.requestName(NAMES['sd-bus']);
  bus.run();
  state.ffiCalls = () => sd.ffi.calls;
  state.wakeups = () => bus.wakeups;
  state.micro = (repeats) => {
    if (!kept) throw new Error('no AddConnection received yet');
    const before = sd.ffi.calls;
    sd.rewind(kept);
    sd.readSettings(kept);
    const ffiPerDecode = sd.ffi.calls - before;
    const t = process.hrtime.bigint();
    for (let i = 0; i < repeats; i++) {
      sd.rewind(kept);
      sd.readSettings(kept);
    }
    const decodeNs = Number(process.hrtime.bigint() - t) / repeats;
    const cost = sd.koffiCallCost(1_000_000);
    const kinds = sd.ffiKinds(kept, 200_000);
    return {
      ...Object.fromEntries(Object.entries(kinds).map(([k, v]) => [`${k} ns`, v])), 'decode (readSettings) ns': decodeNs, 'FFI calls per decode': ffiPerDecode, 'koffi call of abs(3) ns': cost.koffiNs, 'JS call of the same ns': cost.jsNs };
  };
  return bus.uniqueName;
}

async function serve(kind: Kind, address: string): Promise<void> {
  const state: ServerState = {
    creds: 'cached',
    calls: 0,
    sample: null,
    micro: () => ({}),
    ffiCalls: () => 0,
    wakeups: () => 0,
  };
  const unique = kind === 'sd-bus' ? await serveSdBus(address, state) : await serveDbusNext(address, state, kind === 'dbus-next+wire');
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object): Promise<unknown> =>
    new Promise((resolve, reject) => session.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 100 });
  const answer = (o: unknown): boolean => process.stdout.write(`${JSON.stringify(o)}\n`);
  createInterface({ input: process.stdin }).on('line', (line) => {
    const [cmd, arg] = line.split(' ');
    void (async () => {
      switch (cmd) {
        case 'cpu': {
          const u = process.cpuUsage();
          return answer({ procMs: (u.user + u.system) / 1000, mainMs: mainThreadNs() / 1e6, calls: state.calls, ffi: state.ffiCalls(), wakeups: state.wakeups() });
        }
        case 'creds':
          state.creds = arg as Creds;
          return answer({ ok: true });
        case 'prof-start':
          await post('Profiler.start');
          return answer({ ok: true });
        case 'prof-stop': {
          const { profile: p } = (await post('Profiler.stop')) as { profile: CpuProfile };
          writeFileSync(arg!, JSON.stringify(p));
          return answer({ ok: true });
        }
        case 'sample':
          return answer({ sample: state.sample });
        case 'micro':
          return answer(state.micro(Number(arg)));
        case 'exit':
          process.exit(0);
      }
      return answer({ error: `unknown command ${cmd}` });
    })().catch((e: Error) => answer({ error: e.message }));
  });
  answer({ ready: unique, pid: process.pid });
}

// ---------------------------------------------------------------------------------------------
// The driver

class Server {
  private readonly pending: Array<(o: Record<string, unknown>) => void> = [];

  private constructor(
    readonly kind: Kind,
    readonly child: ChildProcessWithoutNullStreams,
  ) {
    createInterface({ input: child.stdout }).on('line', (line) => this.pending.shift()?.(JSON.parse(line) as Record<string, unknown>));
  }

  static async start(kind: Kind, address: string): Promise<Server> {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve', kind, address], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const server = new Server(kind, child);
    const ready = await Promise.race([
      server.next(),
      new Promise<never>((_, reject) => child.on('exit', (code) => reject(new Error(`the ${kind} server exited (${code}): ${stderr}`)))),
    ]);
    if (!ready.ready) throw new Error(`the ${kind} server did not start: ${JSON.stringify(ready)} ${stderr}`);
    return server;
  }

  private next(): Promise<Record<string, unknown>> {
    return new Promise((resolve) => this.pending.push(resolve));
  }

  async ask<T = Record<string, unknown>>(line: string): Promise<T> {
    const answer = this.next();
    this.child.stdin.write(`${line}\n`);
    const a = await answer;
    if (a.error) throw new Error(`${this.kind} server: ${String(a.error)}`);
    return a as T;
  }
}

interface Cell {
  callsPerSecond: number;
  /** server process, all threads, ms per call */
  serverCpu: number;
  /** server main thread, ms per call */
  serverMain: number;
  clientCpu: number;
  busCpu: number;
  ffiPerCall?: number;
  callsPerWakeup?: number;
}

async function connectClients(address: string, n: number): Promise<dbus.MessageBus[]> {
  return Promise.all(
    Array.from({ length: n }, () => {
      const bus = dbus.sessionBus({ busAddress: address });
      bus.on('error', () => undefined);
      return new Promise<dbus.MessageBus>((resolve) => bus.once('connect', () => resolve(bus)));
    }),
  );
}

/** `n` AddConnection calls spread over `clients`, each with one call in flight. */
async function drive(clients: dbus.MessageBus[], dest: string, n: number, tag: string): Promise<void> {
  const per = Math.ceil(n / clients.length);
  await Promise.all(
    clients.map(async (c, k) => {
      for (let i = 0; i < per; i++) {
        const reply = await c.call(new Message({ destination: dest, path: SETTINGS, interface: SETTINGS_IFACE, member: 'AddConnection', signature: 'a{sa{sv}}', body: [profile(`${tag}-${k}-${i}`)] }));
        if (typeof reply?.body[0] !== 'string' || !reply.body[0].startsWith(`${SETTINGS}/`)) throw new Error(`unexpected reply ${JSON.stringify(reply?.body)}`);
      }
    }),
  );
}

async function measure(server: Server, clients: dbus.MessageBus[], n: number, tag: string, busPid: number): Promise<Cell> {
  type Cpu = { procMs: number; mainMs: number; calls: number; ffi: number; wakeups: number };
  const s0 = await server.ask<Cpu>('cpu');
  const c0 = process.cpuUsage();
  const b0 = processMs(busPid);
  const t0 = performance.now();
  await drive(clients, NAMES[server.kind], n, tag);
  const wall = performance.now() - t0;
  const s1 = await server.ask<Cpu>('cpu');
  const c1 = process.cpuUsage(c0);
  const calls = s1.calls - s0.calls;
  return {
    callsPerSecond: (calls * 1000) / wall,
    serverCpu: (s1.procMs - s0.procMs) / calls,
    serverMain: (s1.mainMs - s0.mainMs) / calls,
    clientCpu: (c1.user + c1.system) / 1000 / calls,
    busCpu: (processMs(busPid) - b0) / calls,
    ...(server.kind === 'sd-bus' ? { ffiPerCall: (s1.ffi - s0.ffi) / calls, callsPerWakeup: calls / Math.max(1, s1.wakeups - s0.wakeups) } : {}),
  };
}

function median(cells: Cell[]): Cell {
  const pick = (k: keyof Cell): number => {
    const v = cells.map((c) => c[k] ?? NaN).sort((a, b) => a - b);
    return v[Math.floor(v.length / 2)]!;
  };
  const out: Cell = { callsPerSecond: pick('callsPerSecond'), serverCpu: pick('serverCpu'), serverMain: pick('serverMain'), clientCpu: pick('clientCpu'), busCpu: pick('busCpu') };
  if (cells[0]!.ffiPerCall !== undefined) Object.assign(out, { ffiPerCall: pick('ffiPerCall'), callsPerWakeup: pick('callsPerWakeup') });
  return out;
}

function row(c: Cell): string {
  const extra = c.ffiPerCall === undefined ? '' : `  (${c.ffiPerCall.toFixed(0)} FFI calls/call, ${c.callsPerWakeup!.toFixed(1)} calls/poll wake-up)`;
  return `${c.callsPerSecond.toFixed(0).padStart(6)}/s  server ${(c.serverCpu * 1000).toFixed(0).padStart(4)} µs/call (main thread ${(c.serverMain * 1000).toFixed(0).padStart(4)})  client ${(c.clientCpu * 1000).toFixed(0).padStart(4)}  dbus-daemon ${(c.busCpu * 1000).toFixed(0).padStart(4)}${extra}`;
}

async function servers(lines: string[]): Promise<void> {
  const bus = await startBus({ permissiveDefault: true });
  const kinds: Kind[] = ['dbus-next', 'dbus-next+wire', 'sd-bus'];
  const started: Server[] = [];
  let clients: dbus.MessageBus[] = [];
  const profDir = await mkdtemp(join(tmpdir(), 'netaudit-bus-prof-'));
  try {
    for (const k of kinds) started.push(await Server.start(k, bus.address));
    clients = await connectClients(bus.address, IN_FLIGHT);
    const one = clients.slice(0, 1);
    const cells = new Map<string, Cell[]>();
    const add = (key: string, c: Cell): void => void cells.set(key, [...(cells.get(key) ?? []), c]);
    for (const s of started) {
      for (const creds of ['cached', 'uncached'] as const) {
        await s.ask(`creds ${creds}`);
        await drive(clients, NAMES[s.kind], IN_FLIGHT * 50, `warm-${creds}`);
      }
    }
    for (let r = 0; r < ROUNDS; r++) {
      for (const creds of ['cached', 'uncached'] as const) {
        for (const inFlight of [1, IN_FLIGHT]) {
          // rotate which server goes first, so that none always meets the same neighbours
          for (const s of [...started.slice(r % started.length), ...started.slice(0, r % started.length)]) {
            await s.ask(`creds ${creds}`);
            const n = inFlight === 1 ? SERIAL_CALLS : PARALLEL_CALLS;
            add(`${s.kind}|${creds}|${inFlight}`, await measure(s, inFlight === 1 ? one : clients, n, `r${r}`, bus.pid));
          }
        }
      }
    }
    lines.push(
      `bus layer alone: AddConnection(a{sa{sv}}: 3 settings, 8 keys) → o on a private dbus-daemon; ${ROUNDS} rounds, medians; ${SERIAL_CALLS} calls 1 in flight, ${PARALLEL_CALLS} calls ${IN_FLIGHT} in flight (${IN_FLIGHT} connections); CPU per call: the server (all threads; its main thread), the dbus-next client (this process), dbus-daemon`,
    );
    for (const creds of ['cached', 'uncached'] as const) {
      lines.push(`  credentials ${creds === 'cached' ? 'cached per unique name (as src/bus/caller.ts does)' : 'asked of the bus on every call (a caller per change)'}:`);
      for (const inFlight of [1, IN_FLIGHT]) {
        for (const k of kinds) lines.push(`    ${`${k}, ${inFlight} in flight`.padEnd(30)}${row(median(cells.get(`${k}|${creds}|${inFlight}`)!))}`);
      }
    }

    lines.push('', `CPU profiles of the servers' main thread (100 µs sampling), ${PROFILE_CALLS} calls ${IN_FLIGHT} in flight; time by owner (see bench/cpu-profile.ts):`);
    for (const creds of ['cached', 'uncached'] as const) {
      for (const s of started) {
        await s.ask(`creds ${creds}`);
        const file = join(profDir, `${s.kind}-${creds}.cpuprofile`);
        const before = await s.ask<{ calls: number }>('cpu');
        await s.ask('prof-start');
        await drive(clients, NAMES[s.kind], PROFILE_CALLS, `prof-${creds}`);
        await s.ask(`prof-stop ${file}`);
        const after = await s.ask<{ calls: number }>('cpu');
        lines.push(`  ${s.kind}, credentials ${creds}:`, ...describe(breakdown(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile), after.calls - before.calls));
      }
    }

    lines.push('', `one received message, ${MICRO_REPEATS} times in a loop (no socket):`);
    for (const s of started) {
      const m = await s.ask<Record<string, number>>(`micro ${MICRO_REPEATS}`);
      lines.push(`  ${s.kind}: ${Object.entries(m).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}`);
    }
    // the same argument to both: compare what each decoder made of it
    await Promise.all(started.map((s) => clients[0]!.call(new Message({ destination: NAMES[s.kind], path: SETTINGS, interface: SETTINGS_IFACE, member: 'AddConnection', signature: 'a{sa{sv}}', body: [profile('sample')] }))));
    const samples = await Promise.all(started.map((s) => s.ask<{ sample: string }>('sample')));
    const same = samples.every((x) => x.sample === samples[0]!.sample);
    lines.push(`  both decoders made the same Settings of the same argument: ${same ? 'yes' : `NO\n${samples.map((x) => x.sample).join('\n')}`}`);
  } finally {
    for (const c of clients) c.disconnect();
    for (const s of started) s.child.kill('SIGTERM');
    await rm(profDir, { recursive: true, force: true });
    await bus.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// The daemon

/** `n` AddConnection calls over `clients`; the paths of the profiles made. */
async function daemonCalls(clients: dbus.MessageBus[], n: number, tag: string): Promise<string[]> {
  const per = Math.ceil(n / clients.length);
  const paths: string[] = [];
  await Promise.all(
    clients.map(async (c, k) => {
      for (let i = 0; i < per; i++) {
        const reply = await c.call(new Message({ destination: 'org.netaudit1', path: SETTINGS, interface: SETTINGS_IFACE, member: 'AddConnection', signature: 'a{sa{sv}}', body: [profile(`${tag}-${k}-${i}`)] }));
        paths.push(reply!.body[0] as string);
      }
    }),
  );
  return paths;
}

/** Deletes the profiles: the core's cost per call grows with their number, and every window starts from the same few. */
async function deleteAll(clients: dbus.MessageBus[], paths: string[]): Promise<void> {
  await Promise.all(
    clients.map(async (c, k) => {
      for (let i = k; i < paths.length; i += clients.length) {
        await c.call(new Message({ destination: 'org.netaudit1', path: paths[i]!, interface: 'org.netaudit1.Settings.Connection', member: 'Delete' }));
      }
    }),
  );
}

async function daemonSection(lines: string[]): Promise<void> {
  await ensureJournald();
  await ensureAuditd();
  const backends = process.env.BENCH_BACKENDS ?? 'libaudit,journal,log,file';
  const config = { logging: { audit: 'yes' }, audit: { backends } };
  const preload = fileURLToPath(new URL('./cpu-prof-preload.js', import.meta.url));

  // 1. does `node --cpu-prof` write a profile when the daemon is stopped with SIGTERM? (Node 20
  // refuses --cpu-prof in NODE_OPTIONS: the daemon is started by hand, with the harness's config.)
  {
    const bus = await startBus();
    const dir = await mkdtemp(join(tmpdir(), 'netaudit-cpu-prof-'));
    try {
      const harness = await startDaemon(bus, { config });
      await harness.stop();
      const refused = await new Promise<string>((resolve) => {
        const c = spawn(process.execPath, ['-e', '0'], { env: { ...process.env, NODE_OPTIONS: '--cpu-prof' }, stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        c.stderr.setEncoding('utf8').on('data', (x: string) => (err += x));
        c.on('exit', () => resolve(err.trim()));
      });
      const child = spawn(
        'ip',
        ['netns', 'exec', harness.netns, process.execPath, '--cpu-prof', `--cpu-prof-dir=${dir}`, daemonMain, '--config', harness.configFile, '--bus-address', bus.address, '--log-file', harness.logFile],
        { stdio: 'ignore' },
      );
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      const [c] = await connectClients(bus.address, 1);
      await waitFor(async () => {
        const reply = await c!.call(new Message({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'NameHasOwner', signature: 's', body: ['org.netaudit1'] }));
        return reply?.body[0] === true;
      }, { timeoutMs: 20_000, what: 'netauditd --cpu-prof to own its name' });
      await daemonCalls([c!], 5, 'sigterm');
      c!.disconnect();
      child.kill('SIGTERM');
      const code = await exited;
      await new Promise((r) => setTimeout(r, 500));
      const files = readdirSync(dir);
      const mainProfile = files.some((f) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(f));
      lines.push(
        `NODE_OPTIONS=--cpu-prof: ${refused.split('\n')[0]}`,
        `node --cpu-prof dist/main.js, stopped with SIGTERM (exit ${code}): ${mainProfile ? 'the main thread\'s profile was written' : 'no profile of the main thread (the daemon ends with _exit(2), src/native/libc.ts exitNow, which skips the exit hook that writes it)'}; files: ${files.join(', ') || 'none'} (CPU.date.time.PID.THREAD.seq: thread 0 is the main thread, others are worker threads, which end before _exit)`,
      );
    } finally {
      await bus.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }

  // 2. where the main thread's time goes, through the SIGUSR2-driven preload; this tree's daemon
  // and, given BENCH_BASELINE_MAIN (another build's dist/main.js), that one, alternating
  const variants: Array<[string, string]> = [['this tree', daemonMain]];
  if (process.env.BENCH_BASELINE_MAIN) variants.unshift(['baseline', process.env.BENCH_BASELINE_MAIN]);
  lines.push(
    '',
    `the daemon (audit=yes, backends ${backends}), audited AddConnection (3 settings, 8 keys), the same connection(s) throughout (credentials cached after the first call); main thread's CPU per call from schedstat without the profiler, then a profile (100 µs sampling) of another window; time by owner:`,
  );
  const rounds = Number(process.env.BENCH_DAEMON_ROUNDS ?? 1);
  for (let r = 0; r < rounds; r++) {
    for (const [label, main] of r % 2 === 0 ? variants : [...variants].reverse()) {
      lines.push(`  ${label} (${main}), round ${r + 1}:`);
      await profileDaemon(main, config, preload, lines);
    }
  }
}

/** Starts `main` as the harness would (its config, its network namespace), by hand: the harness runs only this tree's dist/main.js. */
async function daemonOf(bus: TestBus, main: string, config: Record<string, Record<string, string>>, env: NodeJS.ProcessEnv): Promise<{ pid: number; stop: () => Promise<void> }> {
  const harness = await startDaemon(bus, { config });
  await harness.stop();
  const child = spawn('ip', ['netns', 'exec', harness.netns, process.execPath, main, '--config', harness.configFile, '--bus-address', bus.address, '--log-file', harness.logFile], {
    stdio: 'ignore',
    env: { ...process.env, ...env },
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const [c] = await connectClients(bus.address, 1);
  try {
    await waitFor(async () => {
      const reply = await c!.call(new Message({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'NameHasOwner', signature: 's', body: ['org.netaudit1'] }));
      return reply?.body[0] === true;
    }, { timeoutMs: 20_000, what: `${main} to own its name` });
  } finally {
    c!.disconnect();
  }
  return {
    pid: child.pid!,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function profileDaemon(main: string, config: Record<string, Record<string, string>>, preload: string, lines: string[]): Promise<void> {
  const bus = await startBus();
  const dir = await mkdtemp(join(tmpdir(), 'netaudit-cpu-prof-'));
  let clients: dbus.MessageBus[] = [];
  try {
    const daemon = await daemonOf(bus, main, config, { NODE_OPTIONS: `--import=${preload}`, NETAUDIT_CPU_PROF_DIR: dir });
    clients = await connectClients(bus.address, IN_FLIGHT);
    await deleteAll(clients, await daemonCalls(clients, IN_FLIGHT * 4, 'warm'));
    let profiles = 0;
    for (const [inFlight, n] of [[1, DAEMON_SERIAL], [IN_FLIGHT, DAEMON_PARALLEL]] as const) {
      const use = clients.slice(0, inFlight);
      const main0 = mainThreadNs(daemon.pid);
      const all0 = processMs(daemon.pid);
      const t0 = performance.now();
      const plain = await daemonCalls(use, n, `plain${inFlight}`);
      const plainWall = performance.now() - t0;
      const mainUs = (mainThreadNs(daemon.pid) - main0) / 1e3 / n;
      const allUs = ((processMs(daemon.pid) - all0) * 1000) / n;
      await deleteAll(clients, plain);
      process.kill(daemon.pid, 'SIGUSR2');
      await new Promise((r) => setTimeout(r, 200));
      const profiled = await daemonCalls(use, n, `prof${inFlight}`);
      process.kill(daemon.pid, 'SIGUSR2');
      const file = join(dir, `main-${++profiles}.cpuprofile`);
      await waitFor(() => existsSync(file), { timeoutMs: 20_000, what: `the daemon's profile ${file}` });
      await deleteAll(clients, profiled);
      const b = breakdown(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile);
      lines.push(
        `    ${inFlight} in flight, ${n} calls (${n} more with the profiler): ${((n * 1000) / plainWall).toFixed(0)}/s; main thread ${mainUs.toFixed(0)} µs/call on CPU, whole process ${allUs.toFixed(0)} µs/call (all threads, 10 ms ticks)`,
        ...describe(b, n, '      '),
      );
      const dbusNext = b.owners.get('dbus-next') ?? 0;
      const busLayer = (b.owners.get('src/bus') ?? 0) + (b.owners.get('src/bus/wire.ts (outgoing marshalling)') ?? 0);
      const writes = b.owners.get('socket writes (write/writev syscalls)') ?? 0;
      lines.push(
        `      → dbus-next ${((100 * dbusNext) / b.busyMs).toFixed(1)}% of the main thread's busy time; with src/bus ${((100 * (dbusNext + busLayer)) / b.busyMs).toFixed(1)}%; with the socket writes too ${((100 * (dbusNext + busLayer + writes)) / b.busyMs).toFixed(1)}%`,
      );
    }
    await daemon.stop();
  } finally {
    for (const c of clients) c.disconnect();
    await bus.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (process.argv[2] === '--serve') return serve(process.argv[3] as Kind, process.argv[4]!);
  const sections = ['servers', 'daemon'];
  const only = process.argv.slice(2);
  const bad = only.filter((s) => !sections.includes(s));
  if (bad.length > 0) throw new Error(`unknown section ${bad.join(', ')}: the sections are ${sections.join(', ')}`);
  const lines: string[] = [`bus-layer bench, ${new Date().toISOString()}, node ${process.version}, load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`, ''];
  if (only.length === 0 || only.includes('servers')) await servers(lines);
  if (only.length === 0 || only.includes('daemon')) {
    lines.push('');
    await daemonSection(lines);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((e: Error) => {
  process.stderr.write(`bench failed: ${e.stack ?? e.message}\n`);
  process.exit(1);
});


