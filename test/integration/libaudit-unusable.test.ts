// The libaudit backend of a daemon whose records the kernel cannot take: started without
// CAP_AUDIT_WRITE (dropped from its bounding set), or under a seccomp filter that refuses the
// audit netlink socket with EAFNOSUPPORT (as systemd-nspawn's does). The daemon finds out at
// start, before any change: AuditBackends says libaudit is failing, its log says why once,
// `netauditctl general` shows AUDIT as `enabled (failing: libaudit)` in yellow, and a change
// still gets its trail record while libaudit counts it failed rather than sent.
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run, type RunResult } from '../helpers/exec.js';
import { ethernet, MANAGER, MANAGER_IFACE, SETTINGS, SETTINGS_IFACE } from '../helpers/profiles.js';
import { repoPath } from '../helpers/repo.js';
import { useDaemon, type DaemonHarness } from '../helpers/use-daemon.js';
import { waitFor } from '../helpers/wait.js';

const cliMain = repoPath('dist', 'cli', 'main.js');

type Backends = Record<string, { failing: boolean; failed: bigint; dropped: bigint; queued: number }>;

/** Runs what follows it with CAP_AUDIT_WRITE in neither its bounding nor its inheritable set. */
const WITHOUT_AUDIT_WRITE = ['setpriv', '--inh-caps=-audit_write', '--bounding-set=-audit_write'];

/**
 * `python3 -c SECCOMP CMD ARGS…` installs a seccomp filter under which socket(AF_NETLINK, *,
 * NETLINK_AUDIT) fails with EAFNOSUPPORT, every other call as before, then execs CMD.
 */
const SECCOMP = `
import ctypes, os, platform, struct, sys
arch, nr = {'x86_64': (0xC000003E, 41), 'aarch64': (0xC00000B7, 198)}[platform.machine()]
LD_W_ABS, JEQ_K, RET_K = 0x20, 0x15, 0x06
ALLOW, EAFNOSUPPORT = 0x7FFF0000, 0x00050000 | 97
def stmt(code, k): return struct.pack('=HBBI', code, 0, 0, k)
def skip_if(k): return struct.pack('=HBBI', JEQ_K, 1, 0, k)
# seccomp_data: nr at 0, arch at 4, the low halves of args[0] and args[2] at 16 and 32
prog = b''.join([
    stmt(LD_W_ABS, 4), skip_if(arch), stmt(RET_K, ALLOW),
    stmt(LD_W_ABS, 0), skip_if(nr), stmt(RET_K, ALLOW),
    stmt(LD_W_ABS, 16), skip_if(16), stmt(RET_K, ALLOW),
    stmt(LD_W_ABS, 32), skip_if(9), stmt(RET_K, ALLOW),
    stmt(RET_K, EAFNOSUPPORT),
])
class FProg(ctypes.Structure):
    _fields_ = [('len', ctypes.c_ushort), ('filter', ctypes.c_char_p)]
fprog = FProg(len(prog) // 8, prog)
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(22, 2, ctypes.byref(fprog), ctypes.c_ulong(0), ctypes.c_ulong(0)) != 0:
    sys.exit('seccomp: ' + os.strerror(ctypes.get_errno()))
os.execvp(sys.argv[1], sys.argv[1:])
`;

const LACKS_CAP = 'the daemon lacks CAP_AUDIT_WRITE, so the kernel would drop its records';
const SOCKET_REFUSED =
  'socket(AF_NETLINK, NETLINK_AUDIT) failed: Address family not supported by protocol (EAFNOSUPPORT): a seccomp filter or a kernel without audit refuses the audit socket';

function ctl(harness: DaemonHarness, args: string[]): Promise<RunResult> {
  return run(process.execPath, [cliMain, '--bus-address', harness.bus.address, ...args], { env: { NO_COLOR: '' } });
}

async function backends(harness: DaemonHarness): Promise<Backends> {
  return (await harness.client.getProperty(MANAGER, MANAGER_IFACE, 'AuditBackends')) as Backends;
}

/** The daemon's WARN lines about libaudit. */
function libauditWarnings(harness: DaemonHarness): string[] {
  return harness.daemon.log().split('\n').filter((l) => l.startsWith('<warn>') && l.includes('audit backend libaudit'));
}

/** What `netauditctl general` says of auditing: AUDIT plain, colored, and in the table. */
async function expectGeneralFailing(harness: DaemonHarness): Promise<void> {
  const json = await ctl(harness, ['--json', '-f', 'AUDIT,AUDIT-BACKENDS', 'general']);
  expect(json, json.stderr).toMatchObject({ code: 0, stderr: '' });
  const shown = JSON.parse(json.stdout) as { audit: string; 'audit-backends': string[] };
  expect(shown.audit).toBe('enabled (failing: libaudit)');
  expect(shown['audit-backends']).toEqual([expect.stringMatching(/^libaudit:failing\(failed=\d+,dropped=0,queued=\d+\)$/), 'log:ok', 'file:ok']);

  const table = await ctl(harness, ['general']);
  expect(table).toMatchObject({ code: 0, stderr: '' });
  const [header, values] = table.stdout.split('\n');
  expect(header).toMatch(/^STATE +NETWORKING +WIFI +AUDIT$/);
  expect(values!.split(/ {2,}/).at(-1)).toBe('enabled (failing: libaudit)');

  const colored = await ctl(harness, ['-c', 'yes', '-f', 'AUDIT', 'general']);
  expect(colored.stdout).toContain('\x1b[33menabled (failing: libaudit)\x1b[0m');
}

describe.each([
  { what: 'without CAP_AUDIT_WRITE', wrapper: WITHOUT_AUDIT_WRITE, reason: LACKS_CAP },
  { what: 'under a seccomp filter that refuses the audit socket', wrapper: ['python3', '-c', SECCOMP], reason: SOCKET_REFUSED },
])('a daemon with libaudit $what', ({ wrapper, reason }) => {
  const harness = useDaemon({ config: { audit: { backends: 'libaudit,log,file' } }, wrapper });

  it('shows libaudit failing before any change, and logs why once', async () => {
    expect(await harness.daemon.trail(), 'no change was made yet').toEqual([]);
    const status = await backends(harness);
    expect(Object.keys(status)).toEqual(['libaudit', 'log', 'file']);
    expect(status.libaudit).toEqual({ failing: true, failed: 0n, dropped: 0n, queued: 0 });
    expect(status.log!.failing).toBe(false);
    expect(status.file!.failing).toBe(false);
    expect(libauditWarnings(harness)).toEqual([expect.stringMatching(/^<warn> .*audit backend libaudit cannot write its records: (.*); the other backends go on$/)]);
    expect(libauditWarnings(harness)[0]).toContain(`: ${reason}; the other backends go on`);
  });

  it('makes netauditctl general show AUDIT as enabled (failing: libaudit), in yellow', async () => {
    await expectGeneralFailing(harness);
  });

  it('still records a change in the trail and the log, and counts it failed in libaudit, never sent', async () => {
    const before = (await harness.daemon.trail()).length;
    const name = `unusable-${process.pid}-${randomUUID()}`;
    await harness.client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [ethernet(name)]);
    const records = (await harness.daemon.trail()).slice(before);
    expect(records).toEqual([expect.objectContaining({ op: 'connection-add', name, result: 'success' })]);
    await harness.daemon.waitForLog(new RegExp(`audit: op="connection-add" .*name="${name}"`));
    const status = await waitFor(async () => {
      const s = await backends(harness);
      return s.libaudit!.failed >= 1n && s.libaudit!.queued === 0 ? s : null;
    }, { what: 'the libaudit record to be refused' });
    expect(status.libaudit).toMatchObject({ failing: true, failed: 1n, dropped: 0n });
    expect(libauditWarnings(harness), 'no second warning').toHaveLength(1);
    expect(harness.daemon.log()).not.toMatch(/audit backend libaudit works again/);
    await expectGeneralFailing(harness);
  });
});

describe('a daemon without CAP_AUDIT_WRITE whose reload adds libaudit', () => {
  const harness = useDaemon({ wrapper: WITHOUT_AUDIT_WRITE });

  it('shows AUDIT enabled until then, and libaudit failing from the reload on', async () => {
    expect(Object.keys(await backends(harness))).toEqual(['log', 'file']);
    const plain = await ctl(harness, ['--json', '-f', 'AUDIT', 'general']);
    expect(plain.stdout).toBe('{"audit":"enabled"}\n');

    const confD = join(harness.daemon.dir, 'conf.d');
    await mkdir(confD, { recursive: true });
    await writeFile(join(confD, '50-libaudit.conf'), '[audit]\nbackends=libaudit,log,file\n');
    await harness.client.call(MANAGER, MANAGER_IFACE, 'Reload', 'u', [1]);
    expect((await backends(harness)).libaudit).toMatchObject({ failing: true });
    expect(libauditWarnings(harness)).toHaveLength(1);
    expect(libauditWarnings(harness)[0]).toContain(`: ${LACKS_CAP}; the other backends go on`);
    await expectGeneralFailing(harness);
    expect((await harness.daemon.trail()).at(-1)).toMatchObject({ op: 'reload', result: 'success' });
  });
});
