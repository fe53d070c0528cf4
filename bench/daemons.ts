// The two daemons the side-by-side bench runs on one private bus, one at a time, each in a network
// namespace of its own: netauditd (dist/main.js) and NetworkManager, the anchor.
//
// NetworkManager runs as `NetworkManager --no-daemon` inside `ip netns exec` (which gives it a
// mount namespace of its own), where scratch dirs are bind-mounted over /etc/NetworkManager,
// /var/lib/NetworkManager and /run/NetworkManager and a scratch file over /etc/resolv.conf, and
// /sys is remounted read-only: with a writable /sys and no udev running it waits for udev forever
// and leaves every link unmanaged. Its configuration turns off everything that would reach outside
// its namespace (DNS, resolv.conf, DHCP on unconfigured links, connectivity checks).
//
// Both are started the same way, `ip netns exec NS sh -c '…; echo exec; exec DAEMON'`, and timed
// from the moment the shell prints that marker, just before it execs the daemon: to the
// NameOwnerChanged that gives the daemon its name, and to the first ListConnections that answers
// with every profile written before the start.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import dbus from 'dbus-next';
import type { Message as DBusMessage } from 'dbus-next';
import { run } from '../test/helpers/exec.js';
import { connect, type TestClient } from '../test/helpers/client.js';
import { repoPath } from '../test/helpers/repo.js';
import { waitFor } from '../test/helpers/wait.js';
import type { LoopStatsReport } from '../src/loop-stats.js';
import { atExit } from './cleanup.js';

export const NM_BINARY = '/usr/sbin/NetworkManager';
/** The version the figures are meant to be compared with; another one is reported, not refused. */
export const NM_EXPECTED_VERSION = '1.42.4';

/** The D-Bus names of a daemon that speaks NetworkManager's API, under its own names. */
export interface Flavor {
  readonly key: 'nm' | 'netauditd';
  readonly label: string;
  readonly service: string;
  readonly manager: string;
  readonly managerIface: string;
  readonly settings: string;
  readonly settingsIface: string;
  readonly connectionIface: string;
  readonly activeIface: string;
  readonly deviceIface: string;
}

export const NM: Flavor = {
  key: 'nm',
  label: 'NetworkManager',
  service: 'org.freedesktop.NetworkManager',
  manager: '/org/freedesktop/NetworkManager',
  managerIface: 'org.freedesktop.NetworkManager',
  settings: '/org/freedesktop/NetworkManager/Settings',
  settingsIface: 'org.freedesktop.NetworkManager.Settings',
  connectionIface: 'org.freedesktop.NetworkManager.Settings.Connection',
  activeIface: 'org.freedesktop.NetworkManager.Connection.Active',
  deviceIface: 'org.freedesktop.NetworkManager.Device',
};

export const NETAUDITD: Flavor = {
  key: 'netauditd',
  label: 'netauditd',
  service: 'org.netaudit1',
  manager: '/org/netaudit1',
  managerIface: 'org.netaudit1.Manager',
  settings: '/org/netaudit1/Settings',
  settingsIface: 'org.netaudit1.Settings',
  connectionIface: 'org.netaudit1.Settings.Connection',
  activeIface: 'org.netaudit1.Connection.Active',
  deviceIface: 'org.netaudit1.Device',
};

export interface StartOptions {
  /** netauditd: [logging] audit=yes/no (backends libaudit,journal,log,file); NetworkManager: [logging] audit=true/false */
  readonly audit: boolean;
  /** keyfiles written into the profiles dir before the start */
  readonly profiles: number;
  /** how long to wait for the first full ListConnections; past it, `listMs` is null */
  readonly listTimeoutMs: number;
  /** netauditd's [main] auth */
  readonly auth: 'polkit' | 'root-only';
  /** merged over the daemon's environment */
  readonly env?: NodeJS.ProcessEnv;
  /** netauditd: node's own options, before dist/main.js (e.g. --cpu-prof, which NODE_OPTIONS refuses on node 20) */
  readonly nodeArgs?: readonly string[];
}

export interface RunningDaemon {
  readonly flavor: Flavor;
  readonly pid: number;
  readonly netns: string;
  /** marker → NameOwnerChanged giving the daemon the name, ms; null when it took longer than listTimeoutMs */
  readonly nameMs: number | null;
  /** marker → first ListConnections reply listing every profile written before the start; null on timeout */
  readonly listMs: number | null;
  /** profiles the last ListConnections listed (NetworkManager adds its own "lo") */
  readonly listed: number;
  /** netauditd: the event-loop statistics at the moment the name appeared (the first SIGUSR2) */
  readonly startupLoop: LoopStatsReport | null;
  /** netauditd: SIGUSR2, then the report it writes (null for NetworkManager) */
  loopStats(): Promise<LoopStatsReport | null>;
  /** SIGTERM, SIGKILL after 15 s; then the namespace is deleted. Resolves with the exit code. */
  stop(): Promise<number | null>;
  /** what the daemon printed, and its log */
  output(): string;
}

export interface BenchPaths {
  /** scratch root (0755) for every daemon instance of the run */
  readonly dir: string;
  readonly busAddress: string;
  /** unique per run: namespaces are named `${prefix}-…` */
  readonly prefix: string;
}

/** A keyfile as NetworkManager writes one: the bench's ethernet profile, never autoconnected. */
export function keyfile(id: string, uuid: string): string {
  return `[connection]
id=${id}
uuid=${uuid}
type=ethernet
autoconnect=false
interface-name=eth0

[ethernet]

[ipv4]
address1=192.0.2.10/24
gateway=192.0.2.1
method=manual

[ipv6]
addr-gen-mode=default
method=auto

[proxy]
`;
}

async function writeProfiles(dir: string, count: number): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const batch = 200;
  for (let i = 0; i < count; i += batch) {
    await Promise.all(Array.from({ length: Math.min(batch, count - i) }, (_, k) =>
      writeFile(join(dir, `bench-${i + k}.nmconnection`), keyfile(`bench-${i + k}`, randomUUID()), { mode: 0o600 })));
  }
}

function nmConfig(keyfileDir: string, audit: boolean): string {
  return `# written by netauditd's bench (bench/daemons.ts): NetworkManager as an anchor, in a namespace of its own
[main]
plugins=keyfile
no-auto-default=*
dns=none
rc-manager=unmanaged
dhcp=internal
systemd-resolved=false

[keyfile]
path=${keyfileDir}

[connectivity]
enabled=false

[logging]
audit=${audit}
`;
}

function netauditdConfig(dir: string, options: StartOptions): string {
  return `[main]
auth=${options.auth}
profiles-dir=${join(dir, 'profiles')}
run-dir=${join(dir, 'run')}
state-dir=${join(dir, 'state')}
# as NetworkManager's dns=none above: neither daemon touches this machine's resolv.conf
dns=none

[logging]
level=INFO
audit=${options.audit ? 'yes' : 'no'}

[audit]
backends=libaudit,journal,log,file
dir=${join(dir, 'audit')}
`;
}

/** Shell quoting for the mount script. */
const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** The NameOwnerChanged signals of `name`, with their arrival times; subscribed before the daemon starts. */
async function watchName(client: TestClient, name: string): Promise<{ owned: () => Promise<number>; off: () => void }> {
  const rule = `type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='${name}'`;
  let ownedAt: number | null = null;
  let wake: (() => void) | null = null;
  const listener = (msg: DBusMessage): void => {
    if (msg.type !== dbus.MessageType.SIGNAL || msg.member !== 'NameOwnerChanged' || msg.body[0] !== name) return;
    if (msg.body[2] !== '' && ownedAt === null) {
      ownedAt = performance.now();
      wake?.();
    }
  };
  client.bus.on('message', listener);
  await client.callBus('AddMatch', 's', [rule]);
  return {
    owned: () => (ownedAt !== null ? Promise.resolve(ownedAt) : new Promise<number>((resolve) => { wake = () => resolve(ownedAt!); })),
    off: () => client.bus.off('message', listener),
  };
}

let instances = 0;

/**
 * Starts `flavor` in a fresh namespace with `options.profiles` keyfiles written first, and waits
 * until it owns its name and a ListConnections lists them all (or `listTimeoutMs` passes).
 */
export async function startFlavor(flavor: Flavor, paths: BenchPaths, options: StartOptions): Promise<RunningDaemon> {
  const n = ++instances;
  const dir = join(paths.dir, `${flavor.key}-${n}`);
  await mkdir(dir, { mode: 0o755 });
  await chmod(dir, 0o755);
  const netns = `${paths.prefix}-${flavor.key === 'nm' ? 'nm' : 'na'}${n}`;
  await run('ip', ['netns', 'del', netns]);
  const added = await run('ip', ['netns', 'add', netns]);
  if (added.code !== 0) throw new Error(`ip netns add ${netns}: ${added.stderr.trim()}`);
  const forgetNetns = atExit(`namespace ${netns}`, () => run('ip', ['netns', 'del', netns]));
  await run('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);

  let argv: string[];
  let env: NodeJS.ProcessEnv = { ...process.env, ...options.env, DBUS_SYSTEM_BUS_ADDRESS: paths.busAddress };
  let loopFile: string | null = null;
  const logFile = join(dir, 'netauditd.log');
  if (flavor.key === 'nm') {
    const etc = join(dir, 'etc');
    const keyfiles = join(etc, 'system-connections');
    await mkdir(keyfiles, { recursive: true, mode: 0o700 });
    await mkdir(join(dir, 'lib'), { mode: 0o755 });
    await mkdir(join(dir, 'run'), { mode: 0o755 });
    await writeFile(join(etc, 'NetworkManager.conf'), nmConfig(keyfiles, options.audit), { mode: 0o644 });
    await writeFile(join(dir, 'resolv.conf'), '# netauditd bench: NetworkManager anchor\n', { mode: 0o644 });
    await writeProfiles(keyfiles, options.profiles);
    const script = [
      'set -e',
      'mount --make-rprivate /',
      `mount --bind ${q(etc)} /etc/NetworkManager`,
      `mount --bind ${q(join(dir, 'lib'))} /var/lib/NetworkManager`,
      `mount --bind ${q(join(dir, 'run'))} /run/NetworkManager`,
      `mount --bind ${q(join(dir, 'resolv.conf'))} /etc/resolv.conf`,
      'mount -o remount,bind,ro /sys',
      "printf 'exec\\n'",
      'exec "$@"',
    ].join('\n');
    argv = ['ip', 'netns', 'exec', netns, 'sh', '-c', script, 'sh', NM_BINARY, '--no-daemon', `--config=${join('/etc/NetworkManager', 'NetworkManager.conf')}`];
  } else {
    await writeProfiles(join(dir, 'profiles'), options.profiles);
    const configFile = join(dir, 'netauditd.conf');
    await writeFile(configFile, netauditdConfig(dir, options), { mode: 0o644 });
    loopFile = join(dir, 'loop-stats.json');
    env = { ...env, NETAUDITD_LOOP_STATS: loopFile };
    argv = ['ip', 'netns', 'exec', netns, 'sh', '-c', "printf 'exec\\n'; exec \"$@\"", 'sh',
      process.execPath, ...(options.nodeArgs ?? []), repoPath('dist', 'main.js'), '--config', configFile, '--bus-address', paths.busAddress, '--log-file', logFile];
  }

  const watcher = await connect(paths.busAddress);
  const name = await watchName(watcher, flavor.service);
  let out = '';
  let markerAt: number | null = null;
  let markerSeen: (() => void) | null = null;
  const child: ChildProcess = spawn(argv[0]!, argv.slice(1), { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let exited: number | null | undefined;
  const exit = new Promise<number | null>((resolve) => {
    child.on('error', (e) => { out += `\n[bench] cannot start: ${e.message}\n`; exited = null; resolve(null); });
    child.on('exit', (code, signal) => { exited = code ?? (signal ? 128 : null); resolve(code); });
  });
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    if (markerAt === null) {
      const i = chunk.indexOf('exec\n');
      if (i >= 0) {
        markerAt = performance.now();
        markerSeen?.();
        chunk = chunk.slice(0, i) + chunk.slice(i + 5);
      }
    }
    out += chunk;
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { out += chunk; });
  const output = (): string => {
    let log = '';
    try { log = readFileSync(logFile, 'utf8'); } catch { /* NetworkManager logs to the journal */ }
    return `${out}${log ? `--- ${logFile} ---\n${log}` : ''}`;
  };
  const pid = child.pid ?? 0;
  const forgetChild = atExit(`${flavor.label} (pid ${pid})`, async () => {
    child.kill('SIGTERM');
    await Promise.race([exit, new Promise((r) => setTimeout(r, 5_000))]);
    child.kill('SIGKILL');
  });

  const stop = async (): Promise<number | null> => {
    if (exited === undefined) {
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const done = await Promise.race([exit, new Promise<'timeout'>((r) => { timer = setTimeout(() => r('timeout'), 15_000); })]);
      clearTimeout(timer);
      if (done === 'timeout') {
        child.kill('SIGKILL');
        await exit;
      }
    }
    forgetChild();
    await run('ip', ['netns', 'del', netns]);
    forgetNetns();
    return exited ?? null;
  };

  const loopStats = async (): Promise<LoopStatsReport | null> => {
    if (loopFile === null || exited !== undefined) return null;
    await rm(loopFile, { force: true });
    child.kill('SIGUSR2');
    const text = await waitFor(() => readFile(loopFile!, 'utf8').catch(() => ''), { timeoutMs: 5_000, intervalMs: 2, what: `${loopFile} after SIGUSR2` });
    return JSON.parse(text) as LoopStatsReport;
  };

  try {
    const died = exit.then((code) => { throw new Error(`${flavor.label} exited with ${code} during its start`); });
    died.catch(() => undefined);
    const marker = markerAt !== null ? Promise.resolve() : new Promise<void>((resolve) => { markerSeen = resolve; });
    await withTimeout(Promise.race([marker, died]), 30_000, `${flavor.label} to be exec'd`);
    const ownedAt = await Promise.race([name.owned(), died, sleep(options.listTimeoutMs).then(() => null)]);
    const nameMs = ownedAt === null ? null : ownedAt - markerAt!;
    // The first SIGUSR2: netauditd's start-up up to its name (src/loop-stats.ts).
    const startupLoop = ownedAt === null ? null : await loopStats();
    const want = options.profiles;
    let listed = 0;
    let listMs: number | null = null;
    const deadline = markerAt! + options.listTimeoutMs;
    while (ownedAt !== null && performance.now() < deadline) {
      if (exited !== undefined) throw new Error(`${flavor.label} exited with ${exited} during its start`);
      try {
        const [paths] = (await watcher.call(flavor.settings, flavor.settingsIface, 'ListConnections', '', [], {
          destination: flavor.service,
          timeoutMs: Math.max(1, deadline - performance.now()),
        })) as [string[]];
        listed = paths.length;
        if (listed >= want) {
          listMs = performance.now() - markerAt!;
          break;
        }
      } catch {
        // not exported yet (ENVIRONMENT: an owner may answer before its objects exist), or no reply in time
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    if (ownedAt === null) return { flavor, pid, netns, nameMs, listMs, listed, startupLoop, loopStats, stop, output };
    // Only one daemon runs on the bench's bus at a time: the name must be this process's.
    const [owner] = (await watcher.callBus('GetNameOwner', 's', [flavor.service])) as [string];
    const [ownerPid] = (await watcher.callBus('GetConnectionUnixProcessID', 's', [owner])) as [number];
    if (ownerPid !== pid) throw new Error(`${flavor.service} is owned by pid ${ownerPid}, not by the ${flavor.label} just started (pid ${pid})`);
    return { flavor, pid, netns, nameMs, listMs, listed, startupLoop, loopStats, stop, output };
  } catch (e) {
    await stop().catch(() => undefined);
    throw new Error(`${flavor.label} did not come up: ${(e as Error).message}\n${output().slice(-4000)}`);
  } finally {
    name.off();
    watcher.close();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => { setTimeout(r, ms).unref(); });

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}

/** A scratch root for the run's daemons, 0755 (the bus runs as messagebus; see bus.ts). */
export async function benchScratch(): Promise<string> {
  const dir = await mkdtemp('/tmp/nab-');
  await chmod(dir, 0o755);
  return dir;
}

/**
 * NetworkManager's version, installing the Debian package when it is missing and apt-get can;
 * throws with what is missing otherwise.
 */
export async function ensureNetworkManager(): Promise<string> {
  if (!existsSync(NM_BINARY)) {
    const apt = existsSync('/usr/bin/apt-get');
    if (!apt || process.getuid?.() !== 0) {
      throw new Error(`NetworkManager is not installed (${NM_BINARY} is missing) and cannot be installed here (${apt ? 'not root' : 'no apt-get'}): the side-by-side bench needs it`);
    }
    process.stderr.write('bench: installing network-manager (apt-get)\n');
    const env = { DEBIAN_FRONTEND: 'noninteractive' };
    await run('apt-get', ['update'], { env, timeoutMs: 300_000 });
    const r = await run('apt-get', ['install', '-y', '--no-install-recommends', 'network-manager'], { env, timeoutMs: 600_000 });
    if (r.code !== 0 || !existsSync(NM_BINARY)) {
      throw new Error(`NetworkManager is not installed and apt-get install network-manager failed (exit ${r.code}): ${r.stderr.trim().slice(-2000)}`);
    }
  }
  if (!existsSync('/usr/share/dbus-1/system.d/org.freedesktop.NetworkManager.conf')) {
    throw new Error('NetworkManager\'s D-Bus policy /usr/share/dbus-1/system.d/org.freedesktop.NetworkManager.conf is missing: reinstall network-manager');
  }
  // NetworkManager's run dir must exist to be bind-mounted over in its namespace.
  await mkdir('/run/NetworkManager', { recursive: true, mode: 0o755 });
  const v = await run(NM_BINARY, ['--version']);
  if (v.code !== 0) throw new Error(`${NM_BINARY} --version failed: ${v.stderr.trim()}`);
  return v.stdout.trim();
}
