// A private system-like D-Bus bus per call, enforcing data/org.netaudit1.conf, so test files run in parallel.
import { spawn } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from './client.js';
import { repoPath } from './repo.js';
import { waitFor } from './wait.js';

export interface TestBus {
  /** "unix:path=DIR/system_bus_socket": for --bus-address, busctl --address, DBUS_SYSTEM_BUS_ADDRESS. */
  address: string;
  /** The bus's scratch directory (0755): bus.conf, system.d/, the socket, and the daemons' dirs. */
  dir: string;
  /** The dbus-daemon's pid. */
  pid: number;
  /** Runs the cleanups registered with onBusStop (daemons first), kills the bus, removes `dir`. */
  stop(): Promise<void>;
}

const cleanups = new WeakMap<TestBus, Array<() => Promise<void>>>();

/** Registers work for `bus.stop()` to do before it kills the bus (last registered runs first). */
export function onBusStop(bus: TestBus, cleanup: () => Promise<void>): void {
  cleanups.get(bus)?.push(cleanup);
}

export interface BusOptions {
  /**
   * A default policy that lets anyone own any name and call anything (as some systems have),
   * instead of system.conf's "deny all": shows what data/org.netaudit1.conf guarantees alone.
   */
  permissiveDefault?: boolean;
}

// A system bus's own configuration (dbus's system.conf, minus activation and the distro's
// defaults dir), plus the distro policies and our own policy dir.
function busConfig(dir: string, options: BusOptions): string {
  const verdict = options.permissiveDefault ? 'allow' : 'deny';
  return `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <user>messagebus</user>
  <listen>unix:path=${dir}/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <${verdict} own="*"/>
    <${verdict} send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"
          send_member="UpdateActivationEnvironment"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Debug.Stats"/>
  </policy>
  <policy user="root">
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Monitoring"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Debug.Stats"/>
  </policy>
  <includedir>/usr/share/dbus-1/system.d</includedir>
  <includedir>${dir}/system.d</includedir>
</busconfig>
`;
}

/** Starts a private bus: dbus-daemon --fork as messagebus, our policy in its include dir. */
export async function startBus(options: BusOptions = {}): Promise<TestBus> {
  const dir = await mkdtemp(join(tmpdir(), 'netaudit-bus-'));
  // mkdtemp makes 0700 dirs: the bus (as messagebus) must re-read its include dir and
  // non-root clients must reach the socket.
  await chmod(dir, 0o755);
  const policyDir = join(dir, 'system.d');
  await mkdir(policyDir, { mode: 0o755 });
  await chmod(policyDir, 0o755);
  await copyFile(repoPath('data', 'org.netaudit1.conf'), join(policyDir, 'org.netaudit1.conf'));
  await chmod(join(policyDir, 'org.netaudit1.conf'), 0o644);
  const configFile = join(dir, 'bus.conf');
  await writeFile(configFile, busConfig(dir, options), { mode: 0o644 });
  const address = `unix:path=${dir}/system_bus_socket`;

  let pid: number;
  try {
    pid = await spawnBus(configFile);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }

  const bus: TestBus = {
    address,
    dir,
    pid,
    stop: async () => {
      const pending = cleanups.get(bus) ?? [];
      cleanups.set(bus, []);
      const errors: unknown[] = [];
      for (const cleanup of pending.reverse()) {
        try {
          await cleanup();
        } catch (err) {
          errors.push(err);
        }
      }
      await killAndReap(pid);
      await rm(dir, { recursive: true, force: true });
      if (errors.length > 0) throw new AggregateError(errors, 'cleanup before stopping the test bus failed');
    },
  };
  cleanups.set(bus, []);

  try {
    await waitFor(async () => {
      const client = await connect(address, 2_000);
      client.close();
      return true;
    }, { timeoutMs: 10_000, what: `the test bus at ${address} to answer` });
  } catch (err) {
    await bus.stop();
    throw err;
  }
  return bus;
}

// dbus-daemon --fork prints its address, then its pid, once it listens; then the launching
// process exits and the forked daemon's stdout goes to /dev/null, which closes the pipe.
async function spawnBus(configFile: string): Promise<number> {
  const child = spawn('dbus-daemon', [
    `--config-file=${configFile}`, '--fork', '--print-address=1', '--print-pid=1', '--nosyslog',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  const code = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`dbus-daemon --config-file=${configFile} did not start within 10 s: ${stderr}`));
    }, 10_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run dbus-daemon: ${err.message}`));
    });
    child.on('close', (exitCode) => {
      clearTimeout(timer);
      resolve(exitCode);
    });
  });
  const printed = /^unix:\S+\n(\d+)\n$/.exec(stdout);
  if (code !== 0 || !printed) {
    throw new Error(`dbus-daemon --config-file=${configFile} failed (exit ${code}): ${stderr}${stdout}`);
  }
  return Number(printed[1]);
}

/** SIGTERM, then SIGKILL after 5 s; returns once the process is gone (or a zombie: PID 1 may not reap). */
export async function killAndReap(pid: number): Promise<void> {
  const gone = async () => {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    return stat === '' || / Z /.test(stat.slice(stat.lastIndexOf(')')));
  };
  if (await gone()) return;
  process.kill(pid, 'SIGTERM');
  try {
    await waitFor(gone, { timeoutMs: 5_000, what: `process ${pid} to exit` });
  } catch {
    if (!(await gone())) process.kill(pid, 'SIGKILL');
    await waitFor(gone, { timeoutMs: 5_000, what: `process ${pid} to exit after SIGKILL` });
  }
}
