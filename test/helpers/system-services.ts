// The system services that tests read audit records back from (ENVIRONMENT §2–3): journald first,
// then auditd with kernel auditing on. Each is started when it is not running and left running;
// the calls are idempotent and serialized across processes by a lock file, so parallel test runs
// never start a second journald.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, lstatSync, openSync, readFileSync, readdirSync, symlinkSync } from 'node:fs';
import { tryLockExclusive } from '../../src/native/libc.js';
import { run, type RunResult } from './exec.js';
import { waitFor } from './wait.js';

export const JOURNALD = '/lib/systemd/systemd-journald';
export const AUDITD_PID_FILE = '/var/run/auditd.pid';
const DEV_LOG_TARGET = '/run/systemd/journal/dev-log';
const AUDIT_RULES = '/etc/audit/audit.rules';
const LOCK_FILE = '/run/lock/netauditd-test-services.lock';
// auditd, auditctl and augenrules live in /usr/sbin, which a non-login PATH may lack.
const SBIN_PATH = { PATH: `${process.env.PATH ?? '/usr/bin:/bin'}:/usr/sbin:/sbin` };

export interface ServiceState {
  readonly pid: number;
  /** true when this call started it */
  readonly started: boolean;
}

/** The pids of live processes whose comm is `comm` (zombies excluded: PID 1 here does not reap). */
export function livePids(comm: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let name: string;
    try {
      name = readFileSync(`/proc/${entry}/comm`, 'utf8').trimEnd();
    } catch {
      continue; // it ended while we looked
    }
    if (name !== comm) continue;
    const state = processState(Number(entry));
    if (state !== null && state !== 'Z' && state !== 'X') pids.push(Number(entry));
  }
  return pids;
}

/** The state letter of /proc/PID/stat (R, S, T for stopped, Z, …), or null when it is gone. */
function processState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

function isLive(pid: number, comm: string): boolean {
  return livePids(comm).includes(pid);
}

async function must(cmd: string, args: string[], what: string): Promise<RunResult> {
  const result = await run(cmd, args, { env: SBIN_PATH, timeoutMs: 30_000 });
  if (result.code !== 0) {
    throw new Error(`${what}: ${cmd} ${args.join(' ')} exited with ${result.code}\n${result.stderr}${result.stdout}`);
  }
  return result;
}

/**
 * `setsid -f PATH`: the service is not our child, outlives the test run, and holds none of our
 * pipes (run() would wait for them to close).
 */
async function startDetached(path: string): Promise<void> {
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn('setsid', ['-f', path], { stdio: 'ignore', cwd: '/', env: { PATH: SBIN_PATH.PATH, LANG: 'C.UTF-8' } });
    child.on('error', reject);
    child.on('exit', resolve);
  });
  if (code !== 0) throw new Error(`setsid -f ${path} exited with ${code}`);
}

/** journald's varlink socket answers only once its setup, audit switch included, is done. */
async function journaldAnswers(): Promise<boolean> {
  const result = await run('journalctl', ['--sync'], { timeoutMs: 5_000 });
  return result.code === 0;
}

async function ensureJournaldLocked(): Promise<ServiceState> {
  let [pid] = livePids('systemd-journal');
  let started = false;
  if (pid === undefined) {
    if (!existsSync(JOURNALD)) throw new Error(`${JOURNALD} is missing: install the systemd package`);
    await startDetached(JOURNALD);
    started = true;
    pid = await waitFor(() => livePids('systemd-journal')[0], { timeoutMs: 10_000, what: 'systemd-journald to run' });
  }
  // A test that stalls journald (SIGSTOP) and died before its SIGCONT must not stall every later run.
  if (processState(pid) === 'T') process.kill(pid, 'SIGCONT');
  // Its sockets outlive a killed journald, so wait for an answer rather than for the socket file.
  await waitFor(journaldAnswers, { timeoutMs: 10_000, what: `systemd-journald (pid ${pid}) to answer journalctl --sync` });
  // For syslog(3) users such as polkitd.
  if (!lexists('/dev/log')) symlinkSync(DEV_LOG_TARGET, '/dev/log');
  // A starting journald switches kernel auditing off (ENVIRONMENT §2, pitfall 1).
  if (started && commandExists('auditctl')) await must('auditctl', ['-e', '1'], 'turning kernel auditing back on after journald started');
  return { pid, started };
}

function lexists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function commandExists(name: string): boolean {
  return SBIN_PATH.PATH.split(':').some((dir) => dir !== '' && existsSync(`${dir}/${name}`));
}

function auditdPid(): number | null {
  try {
    const pid = Number(readFileSync(AUDITD_PID_FILE, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 && isLive(pid, 'auditd') ? pid : null;
  } catch {
    return null;
  }
}

/** `auditctl -s` as name → value: enabled, pid, backlog_limit, backlog_wait_time, … */
async function auditStatus(): Promise<Map<string, string>> {
  const { stdout } = await must('auditctl', ['-s'], 'reading the kernel audit status');
  return new Map(stdout.split('\n').filter((l) => l.includes(' ')).map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1).trim()]));
}

/**
 * Whether the settings and rules of /etc/audit/audit.rules are in the kernel: a hand-started
 * auditd does not load them (under systemd, auditd.service runs augenrules --load).
 */
async function rulesLoaded(status: Map<string, string>): Promise<boolean> {
  if (!existsSync(AUDIT_RULES)) return true;
  const lines = readFileSync(AUDIT_RULES, 'utf8').split('\n').map((l) => l.trim());
  for (const [flag, key] of [['-b', 'backlog_limit'], ['--backlog_wait_time', 'backlog_wait_time']] as const) {
    const line = lines.find((l) => l.startsWith(`${flag} `));
    if (line !== undefined && line.slice(flag.length).trim() !== status.get(key)) return false;
  }
  if (lines.some((l) => /^-[aAw] /.test(l))) {
    const { stdout } = await must('auditctl', ['-l'], 'listing the audit rules');
    if (stdout.trim() === 'No rules') return false;
  }
  return true;
}

async function ensureAuditdLocked(): Promise<ServiceState> {
  if (!commandExists('auditd')) throw new Error('auditd is missing: install the auditd package (scripts/test.sh does)');
  let pid = auditdPid();
  let started = false;
  if (pid === null) {
    // auditd daemonizes and exits once the daemon runs; its pid is then in AUDITD_PID_FILE.
    await must('auditd', [], 'starting auditd');
    started = true;
    pid = await waitFor(auditdPid, { timeoutMs: 10_000, what: `auditd to write a live pid to ${AUDITD_PID_FILE}` });
  }
  if (!(await rulesLoaded(await auditStatus()))) await must('augenrules', ['--load'], `loading ${AUDIT_RULES}`);
  if ((await auditStatus()).get('enabled') === '0') await must('auditctl', ['-e', '1'], 'turning kernel auditing on');
  const daemonPid = pid;
  let last = new Map<string, string>();
  try {
    await waitFor(async () => {
      last = await auditStatus();
      return last.get('enabled') === '1' && last.get('pid') === String(daemonPid);
    }, { timeoutMs: 10_000, what: 'auditctl -s to say enabled 1 and auditd\'s pid' });
  } catch (err) {
    throw new Error(`${(err as Error).message}: auditctl -s says enabled ${last.get('enabled')} pid ${last.get('pid')}, auditd's pid is ${daemonPid}`);
  }
  return { pid, started };
}

let inProcess: Promise<unknown> = Promise.resolve();

/** Runs `fn` holding the lock file, one call at a time in this process too. */
function locked<T>(fn: () => Promise<T>): Promise<T> {
  const next = inProcess.then(async () => {
    const fd = openSync(LOCK_FILE, 'a', 0o644);
    try {
      await waitFor(() => tryLockExclusive(fd).ok, { timeoutMs: 120_000, intervalMs: 50, what: `the lock ${LOCK_FILE}` });
      return await fn();
    } finally {
      closeSync(fd);
    }
  });
  inProcess = next.catch(() => undefined);
  return next;
}

/**
 * Starts systemd-journald when it is not running, waits until it answers, links /dev/log, and
 * turns kernel auditing back on if it started journald (which turns it off). Needs root.
 */
export function ensureJournald(): Promise<ServiceState> {
  return locked(ensureJournaldLocked);
}

/**
 * Starts auditd when it is not running (after journald: see ensureJournald), loads
 * /etc/audit/audit.rules when the kernel lacks it, turns auditing on, and checks that the kernel
 * says enabled 1 with auditd's pid. Needs root.
 */
export function ensureAuditd(): Promise<ServiceState> {
  return locked(ensureAuditdLocked);
}
