// The daemon under test: config in a scratch dir, `node dist/main.js` on a test bus, ready when it answers.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { onBusStop, type TestBus } from './bus.js';
import { connect, SERVICE } from './client.js';
import { run } from './exec.js';
import { repoPath } from './repo.js';
import { dayFiles } from './trail.js';
import { waitFor } from './wait.js';

export interface DaemonOptions {
  /** Sections and keys merged over the harness's defaults (see defaultConfig). */
  config?: Record<string, Record<string, string>>;
  /** File name → content, written to conf.d/ beside the config file. */
  confD?: Record<string, string>;
  /** Merged over process.env for the daemon. */
  env?: NodeJS.ProcessEnv;
  /** How long start-up may take until the daemon answers; default 20 s. */
  startTimeoutMs?: number;
  /**
   * Put the trail in a fresh dir of a few characters under /tmp (removed by `bus.stop()`): the
   * daemon cuts the paths it quotes after 64 characters, and this keeps a day file's name whole.
   */
  shortAuditDir?: boolean;
  /**
   * Run the daemon inside this network namespace (`ip netns exec NS node …`, which execs: the pid
   * stays the daemon's); the bus socket, reached by its path, works from there. Without it the
   * daemon gets a namespace of its own: no test daemon ever sees the root namespace's links.
   */
  netns?: string;
  /**
   * A command and its arguments put before `node …` (inside the namespace), e.g. `setpriv
   * --bounding-set=-audit_write`: it must exec the rest, so that the pid stays the daemon's.
   */
  wrapper?: readonly string[];
}

export interface TestDaemon {
  /** Scratch dir (0755, inside bus.dir): netauditd.conf, conf.d/, profiles/, audit/, run/, state/, resolv.conf (the symlink DNS mode file makes), netauditd.log. */
  dir: string;
  configFile: string;
  profilesDir: string;
  /** The trail's dir: audit/, unless `config` or `shortAuditDir` says otherwise. */
  auditDir: string;
  runDir: string;
  logFile: string;
  /** The network namespace it runs in: the one asked for, or the one made for it. */
  readonly netns: string;
  /** The running process (replaced by start()). */
  readonly process: ChildProcess;
  readonly pid: number;
  bus: TestBus;
  /** SIGTERM and wait for the exit: the exit code, null if a signal ended it. Throws after 15 s (then SIGKILLs). */
  stop(): Promise<number | null>;
  /** Sends `signal` and waits for the process to exit. */
  kill(signal: NodeJS.Signals): Promise<void>;
  /** Sends `signal` without waiting (SIGHUP: reload). */
  signal(signal: NodeJS.Signals): void;
  /** (Re)starts with the same dirs and config, and waits until it answers. */
  start(): Promise<void>;
  /** The log file's content ('' before it exists). */
  log(): string;
  /** What the current process wrote to stdout and stderr (reset by start()). */
  stderr(): string;
  /** Waits for a log line matching `pattern`; resolves with the line. Default 10 s. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Every record of every audit-YYYY-MM-DD.jsonl, in date order, parsed. */
  trail(): Promise<Array<Record<string, unknown>>>;
}

/** The compiled daemon, resolved from the repository root (npm run build). */
export const daemonMain = repoPath('dist', 'main.js');

/**
 * The harness's configuration for a daemon whose dirs are under `dir`. DNS stays in `dir` too:
 * dns=auto is mode file on a test bus (no resolve1 there), and resolv-conf= is `dir`/resolv.conf,
 * so that no test daemon ever touches the host's /etc/resolv.conf.
 */
export function defaultConfig(dir: string): Record<string, Record<string, string>> {
  return {
    main: {
      auth: 'root-only',
      'profiles-dir': join(dir, 'profiles'),
      'run-dir': join(dir, 'run'),
      'state-dir': join(dir, 'state'),
      'resolv-conf': join(dir, 'resolv.conf'),
    },
    logging: { level: 'INFO', audit: 'yes' },
    audit: { backends: 'log,file', dir: join(dir, 'audit') },
  };
}

/** Starts netauditd on `bus` with a fresh scratch dir; stopped by `stop()` or, at the latest, by `bus.stop()`. */
export async function startDaemon(bus: TestBus, options: DaemonOptions = {}): Promise<TestDaemon> {
  assertBuilt();
  const dir = await mkdtemp(join(bus.dir, 'daemon-'));
  await chmod(dir, 0o755);
  const daemon = new Daemon(bus, dir, await withOwnNetns(bus, await withShortAuditDir(bus, options)));
  await daemon.writeConfig();
  onBusStop(bus, async () => {
    if (daemon.running) await daemon.stop();
  });
  await daemon.start();
  return daemon;
}

let namespaces = 0;

/**
 * A daemon not given a namespace gets one of its own (removed by `bus.stop()`): it manages the
 * links it sees and activates profiles that name them, so it never runs in the root namespace.
 */
async function withOwnNetns(bus: TestBus, options: DaemonOptions): Promise<DaemonOptions> {
  if (options.netns !== undefined) return options;
  const netns = `na-d${process.pid}-${++namespaces}`;
  await run('ip', ['netns', 'del', netns]);
  const added = await run('ip', ['netns', 'add', netns]);
  if (added.code !== 0) throw new Error(`ip netns add ${netns}: ${added.stderr.trim()}`);
  // Registered before the daemon's own stop, so it runs after it.
  onBusStop(bus, async () => {
    await run('ip', ['netns', 'del', netns]);
  });
  return { ...options, netns };
}

async function withShortAuditDir(bus: TestBus, options: DaemonOptions): Promise<DaemonOptions> {
  if (!options.shortAuditDir) return options;
  const scratch = await mkdtemp('/tmp/na-');
  // Registered before the daemon's own stop, so it runs after it.
  onBusStop(bus, () => rm(scratch, { recursive: true, force: true }));
  return { ...options, config: { ...options.config, audit: { ...options.config?.audit, dir: join(scratch, 'audit') } } };
}

/**
 * Runs `node dist/main.js ARGS…` to its exit, for start-up failures and --help/--version.
 * Rejects if it is still running after `timeoutMs` (default 15 s; it is then killed).
 */
export function runDaemonOnce(
  args: string[],
  env?: NodeJS.ProcessEnv,
  timeoutMs = 15_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  assertBuilt();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [daemonMain, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`netauditd ${args.join(' ')} still ran after ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function assertBuilt(): void {
  if (!existsSync(daemonMain)) throw new Error(`${daemonMain} is missing: run "npm run build" first`);
}

/** A configuration as INI text: `[section]` groups of `key=value` lines. */
export function toIni(config: Record<string, Record<string, string>>): string {
  return Object.entries(config)
    .map(([section, keys]) => [`[${section}]`, ...Object.entries(keys).map(([k, v]) => `${k}=${v}`)].join('\n'))
    .join('\n\n') + '\n';
}

class Daemon implements TestDaemon {
  readonly configFile: string;
  readonly profilesDir: string;
  readonly auditDir: string;
  readonly runDir: string;
  readonly logFile: string;
  private child: ChildProcess | null = null;
  private exit: Promise<number | null> = Promise.resolve(null);
  private stderrText = '';
  running = false;

  get netns(): string {
    return this.options.netns!;
  }

  constructor(readonly bus: TestBus, readonly dir: string, private readonly options: DaemonOptions) {
    this.configFile = join(dir, 'netauditd.conf');
    this.profilesDir = join(dir, 'profiles');
    this.auditDir = options.config?.audit?.dir ?? join(dir, 'audit');
    this.runDir = join(dir, 'run');
    this.logFile = join(dir, 'netauditd.log');
  }

  get process(): ChildProcess {
    if (!this.child) throw new Error('the daemon was never started');
    return this.child;
  }

  get pid(): number {
    return this.process.pid!;
  }

  async writeConfig(): Promise<void> {
    const config = defaultConfig(this.dir);
    for (const [section, keys] of Object.entries(this.options.config ?? {})) {
      config[section] = { ...config[section], ...keys };
    }
    await writeFile(this.configFile, toIni(config), { mode: 0o644 });
    const confD = Object.entries(this.options.confD ?? {});
    if (confD.length > 0) {
      const confDir = join(this.dir, 'conf.d');
      await mkdir(confDir, { mode: 0o755, recursive: true });
      for (const [name, content] of confD) await writeFile(join(confDir, name), content, { mode: 0o644 });
    }
  }

  async start(): Promise<void> {
    if (this.running) throw new Error(`the daemon is already running (pid ${this.pid})`);
    this.stderrText = '';
    const command = [
      process.execPath, daemonMain, '--config', this.configFile, '--bus-address', this.bus.address, '--log-file', this.logFile,
    ];
    if (this.options.wrapper !== undefined) command.unshift(...this.options.wrapper);
    if (this.options.netns !== undefined) command.unshift('ip', 'netns', 'exec', this.options.netns);
    const child = spawn(command[0]!, command.slice(1), { cwd: this.dir, env: { ...process.env, ...this.options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.running = true;
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => { this.stderrText += chunk; });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { this.stderrText += chunk; });
    this.exit = new Promise((resolve) => {
      child.on('error', (err) => {
        this.stderrText += `\n[harness] cannot start: ${err.message}\n`;
        this.running = false;
        resolve(null);
      });
      child.on('exit', (code) => {
        this.running = false;
        resolve(code);
      });
    });
    try {
      await this.waitUntilReady(this.options.startTimeoutMs ?? 20_000);
    } catch (err) {
      if (this.running) await this.stop().catch(() => undefined);
      throw new Error(`netauditd did not come up: ${(err as Error).message}\n` +
        `--- stderr ---\n${this.stderrText}--- ${this.logFile} ---\n${this.log()}`);
    }
  }

  // Ready = our process owns the name AND a call succeeds: an owner may answer before it
  // exports its objects, and another daemon on the same bus may hold the name.
  private async waitUntilReady(timeoutMs: number): Promise<void> {
    const client = await connect(this.bus.address);
    const pid = this.pid;
    let ownerPid: unknown = null;
    try {
      const outcome = await waitFor(async () => {
        if (!this.running) return 'exited';
        const [owner] = await client.callBus('GetNameOwner', 's', [SERVICE]);
        [ownerPid] = await client.callBus('GetConnectionUnixProcessID', 's', [owner]);
        if (ownerPid !== pid) return false;
        await client.getProperty('/org/netaudit1', 'org.netaudit1.Manager', 'Version');
        return 'ready';
      }, { timeoutMs, what: `pid ${pid} to own ${SERVICE} and answer Properties.Get(Manager.Version)` });
      if (outcome === 'exited') throw new Error(`it exited with code ${await this.exit}`);
    } catch (err) {
      if (ownerPid !== null && ownerPid !== pid) {
        throw new Error(`${(err as Error).message}; the name is owned by pid ${String(ownerPid)}`);
      }
      throw err;
    } finally {
      client.close();
    }
  }

  async stop(): Promise<number | null> {
    if (!this.running) return this.exit;
    this.process.kill('SIGTERM');
    const timeout = Symbol('timeout');
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([
      this.exit,
      new Promise<typeof timeout>((resolve) => { timer = setTimeout(() => resolve(timeout), 15_000); }),
    ]);
    clearTimeout(timer);
    if (code === timeout) {
      this.process.kill('SIGKILL');
      await this.exit;
      throw new Error(`netauditd (pid ${this.pid}) did not exit within 15 s of SIGTERM; killed\n${this.stderrText}`);
    }
    return code;
  }

  async kill(signal: NodeJS.Signals): Promise<void> {
    if (!this.running) throw new Error('the daemon is not running');
    this.process.kill(signal);
    await waitFor(() => !this.running, { timeoutMs: 15_000, what: `netauditd to exit on ${signal}` });
  }

  signal(signal: NodeJS.Signals): void {
    if (!this.running) throw new Error('the daemon is not running');
    this.process.kill(signal);
  }

  log(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  stderr(): string {
    return this.stderrText;
  }

  waitForLog(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    const re = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
    return waitFor(() => this.log().split('\n').find((line) => re.test(line)), {
      timeoutMs,
      what: `a line matching ${pattern} in ${this.logFile}`,
    });
  }

  async trail(): Promise<Array<Record<string, unknown>>> {
    const files = await dayFiles(this.auditDir).catch(() => [] as string[]);
    const records: Array<Record<string, unknown>> = [];
    for (const name of files) {
      const lines = (await readFile(join(this.auditDir, name), 'utf8')).split('\n');
      lines.forEach((line, i) => {
        if (line === '') return;
        try {
          records.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          throw new Error(`${name}:${i + 1} is not JSON: ${line}`);
        }
      });
    }
    return records;
  }
}
