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
  /** Run it in a process group of its own, so that a kill(0) inside cannot reach the test's group. */
  ownGroup?: boolean;
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
  const { uid, input, env, timeoutMs = 30_000, ownGroup = false } = options;
  const argv = uid === undefined
    ? [cmd, ...args]
    : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--', cmd, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: ownGroup,
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

/** What one python3-dbus call gave: its process (the caller the daemon records), and a reply or an error. */
export interface PythonCallOutcome {
  pid: number;
  reply?: unknown;
  error?: string;
  message?: string;
}

// One call with python3-dbus's call_blocking (no introspection, the signature given); the call comes
// on stdin as JSON, so that no value is ever spliced into the program text.
const PYTHON_CALL = `
import dbus, json, os, sys
spec = json.load(sys.stdin)
out = {"pid": os.getpid()}
try:
    out["reply"] = dbus.SystemBus().call_blocking(spec["dest"], spec["path"], spec["iface"], spec["member"], spec["signature"], spec["args"])
except dbus.exceptions.DBusException as e:
    out["error"] = e.get_dbus_name()
    out["message"] = e.get_dbus_message()
print(json.dumps(out, default=str))
`;

/**
 * Calls `dest` `path` `iface`.`member` with python3-dbus (a client we did not write), as root or,
 * with `options.uid`, as that user. Rejects when python itself fails.
 */
export async function pythonCall(
  address: string,
  call: { dest: string; path: string; iface: string; member: string; signature: string; args: unknown[] },
  options: Pick<RunOptions, 'uid'> = {},
): Promise<PythonCallOutcome> {
  const { code, stdout, stderr } = await python(address, PYTHON_CALL, { ...options, input: JSON.stringify(call) });
  if (code !== 0 || stderr !== '') throw new Error(`python3-dbus exited with ${code}: ${stderr}`);
  return JSON.parse(stdout) as PythonCallOutcome;
}
