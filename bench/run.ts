// netauditd benchmark (npm run bench): first and foremost netauditd side by side with
// NetworkManager, the anchor, run in the same run on the same private bus (bench/compare.ts):
// calls one at a time and 16 in flight, audit on and off, CPU per change, start-up, RSS,
// activation and the event loop, each as median [min..max] over rounds with the ratio; then the
// trail alone, kernel link events, netauditd's activation alone, and netauditctl (bench/cli.ts).
//
//   node build/bench/run.js [--quick] [--rounds N] [SECTION…]
//
// --quick: one round and small counts (npm test runs it: test/integration/bench-smoke.test.ts).
// Sections: compare, trail, links, activation, dhcp4-clients, external, cli (all of them without any).
// Every figure is also written to build/bench/figures-TIMESTAMP.json, whose path is printed last.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { JsonlFileBackend } from '../src/core/audit/backends/jsonl-file.js';
import { repoPath } from '../test/helpers/repo.js';
import { linkEventLatency, rssWithLinks, type Spread } from './links.js';
import { activationLatency } from './activation.js';
import { cliStart, connectionList, trailCommands, type Run } from './cli.js';
import { compare, type CompareOptions } from './compare.js';
import { DHCP4_CLIENTS_FULL, dhcp4Clients, type Dhcp4ClientsOptions } from './dhcp4-clients.js';
import { EXTERNAL_FULL, externalChanges, type ExternalOptions } from './external.js';

const SECTIONS = ['compare', 'trail', 'links', 'activation', 'dhcp4-clients', 'external', 'cli'] as const;

interface Counts {
  readonly compare: CompareOptions;
  readonly mtuChanges: number;
  readonly vethAdds: number;
  readonly rssLinks: number;
  readonly activationWarmup: number;
  readonly activationCycles: number;
  /** the DHCPv4 client alone against dnsmasq (bench/dhcp4-clients.ts) */
  readonly dhcp4Clients: Dhcp4ClientsOptions;
  /** changes made without the daemon (bench/external.ts) */
  readonly external: ExternalOptions;
  readonly trailRecords: number;
  readonly trailDays: number;
  readonly listProfiles: number;
  readonly listRepeats: number;
}

const FULL: Counts = {
  // listTimeoutMs: NetworkManager 1.42 took about 143 s (2 CPUs, busy) to answer its first
  // ListConnections with 10,000 keyfiles, against 0.7 s with 1,000; 300 s gives it a figure.
  compare: {
    rounds: 3, serial: 400, parallel: 1600, warmup: 64, manyProfiles: 10_000, listTimeoutMs: 300_000,
    idleMs: 30_000, activationWarmup: 2, activationCycles: 50, bridgeCycles: 15, dhcpCycles: 20, auth: 'polkit',
  },
  mtuChanges: 200,
  vethAdds: 50,
  rssLinks: 1000,
  activationWarmup: 20,
  activationCycles: 200,
  dhcp4Clients: DHCP4_CLIENTS_FULL,
  external: EXTERNAL_FULL,
  trailRecords: 1_000_000,
  trailDays: 30,
  listProfiles: 1000,
  listRepeats: 5,
};

/** Small enough for npm test (well under 90 s), large enough that every code path runs. */
const QUICK: Counts = {
  compare: {
    rounds: 1, serial: 50, parallel: 50, warmup: 16, manyProfiles: 1000, listTimeoutMs: 30_000,
    idleMs: 3_000, activationWarmup: 1, activationCycles: 4, bridgeCycles: 2, dhcpCycles: 3, auth: 'polkit',
  },
  mtuChanges: 10,
  vethAdds: 3,
  rssLinks: 20,
  activationWarmup: 1,
  activationCycles: 5,
  dhcp4Clients: { rounds: 3, clients: 5, warmup: 1 },
  external: { changes: 10, flood: 300 },
  trailRecords: 10_000,
  trailDays: 3,
  listProfiles: 50,
  listRepeats: 1,
};

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

function parseArgs(argv: string[]): { counts: Counts; only: string[]; quick: boolean } {
  let quick = false;
  let rounds: number | undefined;
  const only: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') quick = true;
    else if (a === '--rounds' || a.startsWith('--rounds=')) {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      rounds = Number(v);
      if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds wants a whole number >= 1, not ${String(v)}`);
    } else if ((SECTIONS as readonly string[]).includes(a)) only.push(a);
    else throw new Error(`unknown argument ${a}: node build/bench/run.js [--quick] [--rounds N] [${SECTIONS.join('|')}]…`);
  }
  const base = quick ? QUICK : FULL;
  return { counts: rounds === undefined ? base : { ...base, compare: { ...base.compare, rounds } }, only, quick };
}

async function main(): Promise<void> {
  const { counts: c, only, quick } = parseArgs(process.argv.slice(2));
  const wanted = (section: (typeof SECTIONS)[number]): boolean => only.length === 0 || only.includes(section);
  const started = new Date();
  const lines: string[] = [];
  const json: Record<string, unknown> = { started: started.toISOString(), quick, argv: process.argv.slice(2) };
  const progress = (s: string): void => { process.stderr.write(`bench: ${s}\n`); };
  if (wanted('compare')) {
    const result = await compare(c.compare, progress);
    lines.push(result.text);
    Object.assign(json, result.json);
    process.stdout.write(`${result.text}\n`);
  }
  const rest: string[] = [];
  const section = (text: string[]): void => {
    rest.push('', ...text);
    process.stdout.write(`\n${text.join('\n')}\n`);
  };
  if (wanted('trail')) {
    progress('trail');
    const trail = await trailGroupCommit();
    json.trail = trail;
    section([`trail alone, each record fsynced before its caller goes on: ${trail.serial.toFixed(0)} records/s one at a time, ${trail.grouped.toFixed(0)} records/s 64 at once (group commit, ${(trail.grouped / trail.serial).toFixed(1)}×)`]);
  }
  const ms = (s: Spread): string => `p50 ${s.p50.toFixed(2)} ms, p99 ${s.p99.toFixed(2)} ms`;
  const mib = (kib: number): string => `${(kib / 1024).toFixed(1)} MiB`;
  if (wanted('links')) {
    progress('links');
    const events = await linkEventLatency(c.mtuChanges, c.vethAdds);
    const rss = await rssWithLinks(c.rssLinks);
    json.links = { events, rss };
    section([
      `kernel link event → D-Bus signal (daemon in its own network namespace; monotonic clock; the change is committed before ip exits, so "after ip exits" is a lower bound and "after ip starts" an upper bound):`,
      `  ${c.mtuChanges}× ip link set mtu N → PropertiesChanged(Mtu=N): after ip exits ${ms(events.mtu.afterExit)}; after ip starts ${ms(events.mtu.afterStart)}; ip itself (spawn to exit) ${ms(events.mtu.ipOwn)}`,
      `  ${c.vethAdds}× ip link add type veth → DeviceAdded of both ends: after ip exits ${ms(events.added.afterExit)}; after ip starts ${ms(events.added.afterStart)}; ip itself (spawn to exit) ${ms(events.added.ipOwn)}`,
      `daemon RSS (VmRSS): ${mib(rss.none)} with lo alone; ${mib(rss.loaded)} with ${c.rssLinks} veth links announced (+${mib(rss.loaded - rss.none)}, ${((rss.loaded - rss.none) / c.rssLinks).toFixed(1)} KiB per link); ip -batch made them in ${(rss.ipMs / 1000).toFixed(2)} s, all ${c.rssLinks} DeviceAdded within ${(rss.announceMs / 1000).toFixed(2)} s of its start`,
    ]);
  }
  if (wanted('activation')) {
    progress('activation');
    const act = await activationLatency(c.activationWarmup, c.activationCycles);
    json.activation = act;
    const n = (s: Spread): string => `${ms(s)} (n=${s.n})`;
    section([
      `netauditd alone, activation, client's wall time of each call (dbus-next, one call at a time; daemon in its own network namespace, audit ${act.auditEnabled ? 'on' : 'off'}, backends ${act.backends.join('+')}${act.backends.includes('file') ? ' (the file trail fdatasyncs each record before the change is made)' : ''}; ${c.activationWarmup} warm-up cycles not counted; section took ${(act.sectionMs / 1000).toFixed(1)} s; NetworkManager's figures are in the side-by-side table):`,
      `  ethernet profile on a veth with carrier (ipv4 manual, 1 address; ipv6 ignore): ActivateConnection → activated ${n(act.ethernet.activate)}; DeactivateConnection ${n(act.ethernet.deactivate)}`,
      `  bridge profile (ipv4 manual, 1 address; ipv6 ignore), creating br-bench: ActivateConnection → activated ${n(act.bridge.activate)}; DeactivateConnection, deleting it ${n(act.bridge.deactivate)}`,
    ]);
  }
  if (wanted('dhcp4-clients')) {
    progress('dhcp4-clients');
    const dhcp = await dhcp4Clients(c.dhcp4Clients);
    json.dhcp4Clients = dhcp.figures;
    section(dhcp.lines);
  }
  if (wanted('external')) {
    progress('external');
    const external = await externalChanges(c.external);
    json.external = external.json;
    section(external.lines);
  }
  if (wanted('cli')) {
    progress('cli');
    const one = (r: Run): string => `${(r.wallMs / 1000).toFixed(2)} s, peak RSS ${mib(r.peakRssKiB)}, ${(r.outputBytes / 1e6).toFixed(1)} MB out`;
    const start = await cliStart();
    const trail = await trailCommands(c.trailRecords, c.trailDays);
    const list = await connectionList(c.listProfiles, c.listRepeats);
    json.cli = { start, trail, list };
    const median = (runs: readonly Run[]): number => [...runs].map((r) => r.wallMs).sort((a, b) => a - b)[Math.floor(runs.length / 2)]!;
    section([
      `netauditctl over a trail of ${trail.records.toLocaleString('en')} records in ${trail.days} day files (${(trail.bytes / 1e6).toFixed(0)} MB), output to a pipe and dropped; node's start alone (--version) ${start.wallMs.toFixed(0)} ms, ${mib(start.peakRssKiB)}:`,
      ...trail.runs.map(({ what, run }) => `  ${what}: ${one(run)}`),
      `netauditctl connection list through the daemon with ${list.profiles} profiles (added in ${(list.addMs / 1000).toFixed(1)} s), median of ${c.listRepeats} runs:`,
      ...list.runs.map(({ what, runs }) => `  ${what}: ${median(runs).toFixed(0)} ms (min ${Math.min(...runs.map((r) => r.wallMs)).toFixed(0)}, max ${Math.max(...runs.map((r) => r.wallMs)).toFixed(0)}), peak RSS ${mib(Math.max(...runs.map((r) => r.peakRssKiB)))}`),
    ]);
  }
  json.text = [...lines, ...rest].join('\n');
  json.finished = new Date().toISOString();
  const dir = repoPath('build', 'bench');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `figures-${started.toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(file, `${JSON.stringify(json, null, 2)}\n`);
  process.stdout.write(`\nfigures written to ${file}\n`);
}

main().catch((e: Error) => {
  process.stderr.write(`bench failed: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
