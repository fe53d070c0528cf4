// The compiled DHCPv4 client (dist/, `npm run build` first) run on a real link inside a network
// namespace, as the daemon would run it: real packet sockets, the system clock, and an onEvent
// that applies what each event says to the link with `ip` (the address, so that unicast to it
// works), as the daemon would. Each event is printed as a JSON line with the time since start();
// stop is asked on standard input.
import { spawn, type ChildProcess } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import type { Dhcp4Event } from '../../src/core/dhcp/dhcp4-client.js';
import type { Dhcp4Lease } from '../../src/core/dhcp/dhcp4-lease.js';
import { repoPath } from './repo.js';
import { waitFor } from './wait.js';

export interface RunOptions {
  ifname: string;
  acdTimeoutMs?: number;
  retransmitMs?: number;
  lastLease?: Dhcp4Lease | null;
  hostname?: string;
}

export interface TimedEvent extends Dhcp4Event {
  /** ms since start() */
  at: number;
  /** epoch ms when it came, to set against a lease's obtainedAt */
  wall: number;
}

const CLIENT_JS = pathToFileURL(repoPath('dist', 'core', 'dhcp', 'dhcp4-client.js')).href;
const CLOCK_JS = pathToFileURL(repoPath('dist', 'core', 'dhcp', 'clock.js')).href;

const SCRIPT = String.raw`
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
const { Dhcp4Client, openDhcp4Transports } = await import(process.argv[1]);
const { systemClock } = await import(process.argv[2]);
const o = JSON.parse(process.argv[3]);
const say = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
const log = { debug: (m) => say({ log: 'debug', m }), info: (m) => say({ log: 'info', m }), warn: (m) => say({ log: 'warn', m }) };
const sysfs = (what) => readFileSync('/sys/class/net/' + o.ifname + '/' + what, 'utf8').trim();
const ifindex = Number(sysfs('ifindex'));
const mac = Buffer.from(sysfs('address').replace(/:/g, ''), 'hex');
const { transport, arp } = openDhcp4Transports(ifindex, log);
let t0 = 0;
const client = new Dhcp4Client({
  ifindex, iface: o.ifname, mac, transport, arp, clock: systemClock, log,
  acdTimeoutMs: o.acdTimeoutMs, retransmitMs: o.retransmitMs, lastLease: o.lastLease ?? null, hostname: o.hostname ?? null,
  async onEvent(e) {
    const want = e.lease ? e.lease.address + '/' + e.lease.prefix : null;
    // what the last lease gave, or a run before this one (a restart keeps the address)
    const had = execFileSync('ip', ['-j', 'addr', 'show', 'dev', o.ifname], { encoding: 'utf8' });
    for (const a of JSON.parse(had)[0].addr_info.filter((a) => a.family === 'inet')) {
      if (a.local + '/' + a.prefixlen !== want) execFileSync('ip', ['addr', 'del', a.local + '/' + a.prefixlen, 'dev', o.ifname]);
    }
    if (want) execFileSync('ip', ['addr', 'replace', want, 'dev', o.ifname]);
    say({ event: { ...e, at: Math.round(performance.now() - t0), wall: Date.now() } });
  },
});
createInterface({ input: process.stdin }).on('line', async (line) => {
  const { release } = JSON.parse(line);
  await client.stop(release);
  say({ stopped: { lease: client.lease, state: client.state } });
  process.exit(0);
});
t0 = performance.now();
client.start();
say({ started: client.state });
`;

export class Dhcp4Run {
  readonly events: TimedEvent[] = [];
  readonly logs: Array<{ level: string; m: string }> = [];
  private stopped: { lease: Dhcp4Lease | null; state: string } | null = null;
  private started = false;
  private stderr = '';

  private constructor(private readonly child: ChildProcess) {}

  /** Starts a client on `o.ifname` in namespace `ns`. */
  static async start(ns: string, o: RunOptions): Promise<Dhcp4Run> {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--input-type=module', '-e', SCRIPT, CLIENT_JS, CLOCK_JS, JSON.stringify(o)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const run = new Dhcp4Run(child);
    let buffered = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = JSON.parse(buffered.slice(0, nl)) as { started?: string; event?: TimedEvent; log?: string; m?: string; stopped?: Dhcp4Run['stopped'] };
        buffered = buffered.slice(nl + 1);
        if (line.started) run.started = true;
        if (line.event) run.events.push(line.event);
        if (line.log) run.logs.push({ level: line.log, m: line.m! });
        if (line.stopped) run.stopped = line.stopped;
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (run.stderr += chunk));
    await waitFor(() => run.started || child.exitCode !== null, { what: 'the DHCP client to start' });
    if (!run.started) throw new Error(`the DHCP client did not start (exit ${child.exitCode}): ${run.stderr}`);
    return run;
  }

  get kinds(): string[] {
    return this.events.map((e) => e.kind);
  }

  /** The `n`th event (from 0), once it came; fails the test with the log when it does not. */
  async event(n: number, timeoutMs = 10_000): Promise<TimedEvent> {
    try {
      return await waitFor(() => this.events[n], { timeoutMs, what: `DHCP event #${n}` });
    } catch (e) {
      throw new Error(`${(e as Error).message}; events: ${JSON.stringify(this.kinds)}; log:\n${this.logs.map((l) => `${l.level} ${l.m}`).join('\n')}\n${this.stderr}`);
    }
  }

  /** Stops the client (sending RELEASE with `release`); what it kept as its lease. */
  async stop(release: boolean): Promise<{ lease: Dhcp4Lease | null; state: string }> {
    if (this.child.exitCode === null) this.child.stdin!.write(JSON.stringify({ release }) + '\n');
    return waitFor(() => this.stopped, { what: 'the DHCP client to stop' });
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}
