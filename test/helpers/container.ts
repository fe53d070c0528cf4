// A booted Debian container with a real systemd as PID 1 (systemd-nspawn), for the tests that
// check what only a real systemd shows: the unit's readiness, sandbox, reload and restart, and the
// package's install and removal. docs/testing-under-systemd.md describes the recipe.
//
// The image is debootstrapped once into /var/cache/netauditd-test/ and reused while its recipe
// (suite and package list) stays the same; each container boots a copy of it with a private
// network, so nothing it does reaches the host's links.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, type RunOptions, type RunResult } from './exec.js';
import { repoPath } from './repo.js';

/** Debian 13: its nodejs (20) satisfies the package's Depends, as on a real trixie machine. */
export const SUITE = process.env['NETAUDITD_CT_SUITE'] ?? 'trixie';
const MIRROR = process.env['NETAUDITD_CT_MIRROR'] ?? 'http://deb.debian.org/debian';
const CACHE = '/var/cache/netauditd-test';
/**
 * What the image holds: a booting systemd (libpam-systemd, or polkitd stays unconfigured), the
 * package's Depends and Recommends (the container has no network to fetch them), and man-db for
 * systemd-analyze verify, which checks the unit's Documentation= pages.
 */
export const IMAGE_PACKAGES = [
  'systemd', 'systemd-sysv', 'libpam-systemd', 'dbus', 'dbus-bin', 'polkitd', 'iproute2', 'procps',
  'libaudit1', 'libsystemd0', 'man-db', 'ca-certificates', 'nodejs',
  // a DHCP server for a lease taken under the unit as shipped
  'dnsmasq-base',
];

const HOST_TOOLS: ReadonlyArray<[string, string]> = [['debootstrap', 'debootstrap'], ['systemd-nspawn', 'systemd-container'], ['nsenter', 'util-linux']];
const CONTAINER_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function recipe(packages: readonly string[]): string {
  return `${SUITE} ${MIRROR} minbase ${packages.join(',')}`;
}

function stamp(packages: readonly string[]): string {
  return createHash('sha256').update(recipe(packages)).digest('hex').slice(0, 16);
}

/**
 * Builds the package (scripts/build-deb.sh: dpkg-buildpackage, then lintian, whose findings fail
 * it) into a directory of the caller's own, and returns it with the .deb's name; `remove()` it after.
 */
export async function buildPackage(): Promise<{ dir: string; deb: string; remove: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'netauditd-deb-'));
  const remove = (): void => rmSync(dir, { recursive: true, force: true });
  const built = await run('sh', [repoPath('scripts', 'build-deb.sh')], { timeoutMs: 600_000, env: { NETAUDITD_DEB_OUT: dir } });
  const deb = readdirSync(dir).find((f) => /^netauditd_\d+\.\d+\.\d+_[a-z0-9]+\.deb$/.test(f));
  if (built.code !== 0 || !deb) {
    remove();
    throw new Error(built.code !== 0 ? `npm run deb failed:\n${built.stderr.slice(-4000)}` : `npm run deb made no netauditd_VERSION_ARCH.deb in ${dir}`);
  }
  return { dir, deb, remove };
}

/** Why this machine cannot boot a container, or null when it can. */
export async function cannotBoot(): Promise<string | null> {
  if (process.getuid?.() !== 0) return 'booting a container needs root';
  for (const [cmd, pkg] of HOST_TOOLS) {
    if ((await run('sh', ['-c', `command -v ${cmd}`])).code !== 0) return `${cmd} is missing: apt-get install ${pkg} (npm test installs it)`;
  }
  if (!existsSync('/sys/fs/cgroup/systemd') && !existsSync('/sys/fs/cgroup/cgroup.controllers')) {
    return 'no systemd cgroup hierarchy (/sys/fs/cgroup/systemd or a unified /sys/fs/cgroup) to give the container';
  }
  return null;
}

/**
 * The cached image's directory, made first when missing or when its recipe changed (about a
 * minute, once). A lock keeps two test files from making it at the same time. `extra` packages
 * make an image of their own (TRIXIE+PKG-HASH), which replaces only older images with the same
 * extras: a package that changes the system for every test (systemd-resolved relinks
 * /etc/resolv.conf) stays out of the image the others boot, and making it never removes theirs.
 */
export async function ensureImage(extra: readonly string[] = []): Promise<string> {
  const packages = [...IMAGE_PACKAGES, ...extra];
  const flavor = [SUITE, ...extra].join('+');
  const image = join(CACHE, `${flavor}-${stamp(packages)}`);
  if (existsSync(join(image, '.test-image-recipe'))) return image;
  mkdirSync(CACHE, { recursive: true });
  const script = `
    set -e
    [ -f "$1/.test-image-recipe" ] && exit 0
    rm -rf "$1.new"
    debootstrap --variant=minbase --include="$2" "$3" "$1.new" "$4" > "$1.log" 2>&1 || { tail -20 "$1.log" >&2; exit 1; }
    echo "$5" > "$1.new/.test-image-recipe"
    mv "$1.new" "$1"
    # older recipes' images of the same extras
    for old in "${CACHE}/$6"-*; do [ "$old" = "$1" ] || [ "$old" = "$1.log" ] || rm -rf "$old"; done
  `;
  const made = await run('flock', [join(CACHE, '.lock'), 'sh', '-c', script, 'sh', image, packages.join(','), SUITE, MIRROR, recipe(packages), flavor], { timeoutMs: 900_000 });
  if (made.code !== 0) throw new Error(`debootstrap of ${SUITE} from ${MIRROR} failed: ${made.stderr.trim()}`);
  return image;
}

export interface BootOptions {
  /** Directories of the host made visible read-only inside: [host, container]. */
  readonly bindRo?: ReadonlyArray<readonly [string, string]>;
  /** false boots with SYSTEMD_SECCOMP=0: nspawn's seccomp filter, which refuses the audit socket, is off. */
  readonly seccomp?: boolean;
}

let counter = 0;

/** One booted container: enter it with exec(), end it with poweroff(). */
export class Container {
  private exited: Promise<void>;
  private constructor(
    readonly name: string,
    readonly root: string,
    private readonly nspawn: ChildProcess,
    readonly leader: number,
    private readonly cgroups: string[],
  ) {
    this.exited = new Promise((resolve) => {
      if (nspawn.exitCode !== null || nspawn.signalCode !== null) resolve();
      else nspawn.once('exit', () => resolve());
    });
  }

  /** Boots a fresh copy of the image and waits until its systemd has finished starting up. */
  static async boot(image: string, options: BootOptions = {}): Promise<Container> {
    const name = `nad-${process.pid}-${++counter}`;
    const root = `/var/tmp/${name}`;
    const copied = await run('cp', ['-a', '--reflink=auto', image, root], { timeoutMs: 120_000 });
    if (copied.code !== 0) throw new Error(`copying the image failed: ${copied.stderr}`);
    // nspawn without a host systemd needs a cgroup of its own to start from (--keep-unit).
    const cgroups = ['/sys/fs/cgroup/systemd', '/sys/fs/cgroup/unified'].filter((d) => existsSync(d)).map((d) => join(d, name));
    for (const cg of cgroups) mkdirSync(cg, { recursive: true });
    const binds = (options.bindRo ?? []).map(([host, inside]) => `--bind-ro=${host}:${inside}`);
    const enter = cgroups.map((cg) => `echo $$ > ${cg}/cgroup.procs`).join('; ');
    const nspawn = spawn(
      'sh',
      ['-c', `${enter}; root=$1 name=$2; shift 2; exec systemd-nspawn -q -D "$root" --boot --private-network --register=no --keep-unit --machine="$name" --console=passive "$@"`, 'sh', root, name, ...binds],
      { env: { ...process.env, ...(options.seccomp === false ? { SYSTEMD_SECCOMP: '0' } : {}) }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    nspawn.stdout!.setEncoding('utf8').on('data', (c: string) => { output += c; });
    nspawn.stderr!.setEncoding('utf8').on('data', (c: string) => { output += c; });
    const leader = await findLeader(nspawn, () => output);
    const container = new Container(name, root, nspawn, leader, cgroups);
    // systemctl answers once systemd's private socket exists, early in the boot; then it waits.
    let word = '';
    let said = '';
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      const state = await container.exec('systemctl is-system-running --wait', { timeoutMs: 120_000 });
      word = state.stdout.trim();
      said = state.stderr.trim();
      if (word !== '' && word !== 'offline') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    if (word !== 'running' && word !== 'degraded') {
      await container.poweroff();
      throw new Error(`the container did not finish booting (${word || said}); nspawn said: ${output.trim()}`);
    }
    return container;
  }

  /**
   * Runs a shell command inside, as root, in all of the container's namespaces, in a process group
   * of its own: the group is shared with the host's side, and a `kill 0` must not reach the test.
   */
  exec(command: string, options: RunOptions = {}): Promise<RunResult> {
    return run('nsenter', [
      '-t', String(this.leader), '-m', '-u', '-i', '-n', '-p', '-C', '-r', '-w', '--',
      '/usr/bin/env', '-i', `PATH=${CONTAINER_PATH}`, 'LANG=C.UTF-8', 'HOME=/root', 'TERM=dumb', 'SYSTEMD_PAGER=', 'SYSTEMD_COLORS=0',
      'DEBIAN_FRONTEND=noninteractive', '/bin/sh', '-c', command,
    ], { ...options, ownGroup: true });
  }

  /** Like exec, but rejects with the command's output when it exits with another status. */
  async must(command: string, options: RunOptions & { status?: number } = {}): Promise<RunResult> {
    const r = await this.exec(command, options);
    if (r.code !== (options.status ?? 0)) {
      throw new Error(`in ${this.name}: ${command}\nexit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    }
    return r;
  }

  /** Shuts the container down cleanly (SIGRTMIN+4), or kills it, and removes its copy. */
  async poweroff(): Promise<void> {
    // Node has no name for the real-time signals: kill(1) sends it.
    await run('kill', ['-s', 'RTMIN+4', String(this.leader)]);
    // A container that does not power off is killed: its PID 1 first, which ends its pid
    // namespace, then nspawn.
    const timer = setTimeout(() => {
      try {
        process.kill(this.leader, 'SIGKILL');
      } catch {
        // gone already
      }
      this.nspawn.kill('SIGKILL');
    }, 30_000);
    await this.exited;
    clearTimeout(timer);
    await run('rm', ['-rf', '--one-file-system', this.root], { timeoutMs: 120_000 });
    for (const cg of this.cgroups) removeCgroup(cg);
  }
}

/** The container's PID 1: nspawn's child, once it runs systemd. */
async function findLeader(nspawn: ChildProcess, output: () => string): Promise<number> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (nspawn.exitCode !== null || nspawn.signalCode !== null) {
      throw new Error(`systemd-nspawn exited (${nspawn.exitCode ?? nspawn.signalCode}): ${output().trim()}`);
    }
    for (const pid of childrenOf(nspawn.pid!)) {
      try {
        if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'systemd') return pid;
      } catch {
        // gone meanwhile
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the container's systemd did not start within 30 s: ${output().trim()}`);
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const task of safeReaddir(`/proc/${pid}/task`)) {
    try {
      for (const c of readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/)) if (c) out.push(Number(c));
    } catch {
      // the task ended
    }
  }
  return out;
}

/** Removes a cgroup and those the container's systemd made in it, deepest first. */
function removeCgroup(dir: string): void {
  for (const e of safeReaddir(dir)) {
    const child = join(dir, e);
    try {
      if (statSync(child).isDirectory()) removeCgroup(child);
    } catch {
      // gone meanwhile
    }
  }
  try {
    rmdirSync(dir);
  } catch {
    // a process may still be in it; the next boot uses a new name
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Writes a file inside the container's tree from the host (the container sees it at once). */
export function writeInside(container: Container, path: string, text: string): void {
  writeFileSync(join(container.root, path), text);
}
