// A real DHCP server for tests: dnsmasq (Debian dnsmasq-base) in a network namespace of the
// test's own, serving one interface with a configuration the test gives, its leases and log in a
// scratch dir. It never reads /etc/dnsmasq.conf nor serves DNS (port=0).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './wait.js';

export interface Dnsmasq {
  readonly pid: number;
  readonly dir: string;
  /** dnsmasq's log: with --log-dhcp, one line per DHCP message it got or sent */
  log(): Promise<string>;
  /** Kills it and waits for its exit; its dir is removed. */
  stop(): Promise<void>;
}

export interface DnsmasqOptions {
  /** the namespace it runs in */
  readonly netns: string;
  /** the interface it serves there */
  readonly iface: string;
  /** further arguments: --dhcp-range=…, --dhcp-option=…, --enable-ra… */
  readonly args: readonly string[];
}

/** Starts dnsmasq and waits until it is listening (its "started" line in the log). */
export async function startDnsmasq(options: DnsmasqOptions): Promise<Dnsmasq> {
  const dir = await mkdtemp(join(tmpdir(), 'na-dnsmasq-'));
  const logFile = join(dir, 'dnsmasq.log');
  const args = [
    'netns', 'exec', options.netns, 'dnsmasq',
    '--no-daemon', '--conf-file=/dev/null', '--port=0', '--bind-interfaces', `--interface=${options.iface}`,
    `--dhcp-leasefile=${join(dir, 'leases')}`, `--pid-file=${join(dir, 'pid')}`, `--log-facility=${logFile}`, '--log-dhcp',
    '--dhcp-authoritative',
    ...options.args,
  ];
  const child: ChildProcess = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (output += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (output += c));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const log = async (): Promise<string> => readFile(logFile, 'utf8').catch(() => '');
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`dnsmasq exited (${child.exitCode}): ${output.trim()}`);
        return /started, version/.test(await log());
      },
      { timeoutMs: 10_000, what: 'dnsmasq to start' },
    );
  } catch (e) {
    child.kill('SIGKILL');
    await exited;
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    pid: child.pid!,
    dir,
    log,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
