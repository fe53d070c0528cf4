// Running commands for tests, as root or as a non-root user (setpriv), with captured output.
import { spawn } from 'node:child_process';

export interface RunOptions {
  /** Run as this user (and its group, no supplementary groups) instead of root, e.g. 'nauser'. */
  uid?: string;
  /** Written to the command's standard input, which is then closed. */
  input?: string;
  /** Merged over process.env. */
  env?: NodeJS.ProcessEnv;
  /** Kill the command (SIGKILL) and reject after this long; default 30 s. */
  timeoutMs?: number;
}

export interface RunResult {
  /** The command's pid (setpriv execs it, so with `uid` too): the caller pid the daemon records. */
  pid: number;
  /** Exit code; null when the command was ended by a signal. */
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion. Rejects only when it cannot start or overruns its deadline. */
export function run(cmd: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const { uid, input, env, timeoutMs = 30_000 } = options;
  const argv = uid === undefined
    ? [cmd, ...args]
    : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--', cmd, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${argv.join(' ')} did not finish within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${argv[0]}: ${err.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ pid: child.pid!, code, stdout, stderr });
    });
    child.stdin.on('error', () => { /* the command may exit without reading its input */ });
    child.stdin.end(input ?? '');
  });
}

/** `busctl --address=ADDRESS ARGS…` */
export function busctl(address: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  return run('busctl', [`--address=${address}`, ...args], options);
}

/** `/usr/bin/python3 -c SCRIPT` with DBUS_SYSTEM_BUS_ADDRESS set, so `dbus.SystemBus()` reaches the test bus. */
export function python(address: string, script: string, options: RunOptions = {}): Promise<RunResult> {
  return run('/usr/bin/python3', ['-c', script], {
    ...options,
    env: { ...options.env, DBUS_SYSTEM_BUS_ADDRESS: address },
  });
}
