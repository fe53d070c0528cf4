// The Debian package, built from this checkout (npm run deb: dpkg-buildpackage, lintian clean),
// installed with apt into a booted Debian container whose PID 1 is a real systemd, and used there
// as an administrator would: readiness, the sandbox, a profile and a bridge in the container's
// network, records in the journal and the host's kernel audit log, reload, restart on a crash,
// systemd-analyze, then remove and purge, and the manual install that README gives for other
// distributions. test/helpers/container.ts boots the container; docs/testing-under-systemd.md
// describes the recipe.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Container, buildPackage, cannotBoot, ensureImage } from '../helpers/container.js';
import { run } from '../helpers/exec.js';
import { parseRawAudit, auditValues } from '../helpers/readers.js';
import { repoPath } from '../helpers/repo.js';
import { waitFor } from '../helpers/wait.js';

const MINUTE = 60_000;
// CAP_NET_BIND_SERVICE (10), CAP_NET_ADMIN (12), CAP_NET_RAW (13), CAP_SYS_PTRACE (19), CAP_AUDIT_WRITE (29): the unit's bounding set.
const UNIT_CAPS = ((1n << 10n) | (1n << 12n) | (1n << 13n) | (1n << 19n) | (1n << 29n)).toString(16).padStart(16, '0');
let debDir = '';
let removePackage = (): void => undefined;
afterAll(() => removePackage());

let image = '';
let deb = '';

beforeAll(async () => {
  const why = await cannotBoot();
  if (why) throw new Error(`this machine cannot run the systemd container test: ${why}`);
  // The package first: it is what the rest installs, and a lintian finding fails it.
  const built = await buildPackage();
  ({ dir: debDir, deb } = built);
  removePackage = built.remove;
  image = await ensureImage();
}, 20 * MINUTE);

/** The unit's main pid, as the container sees it. */
async function mainPid(ct: Container): Promise<number> {
  const r = await ct.must('systemctl show -P MainPID netauditd');
  return Number(r.stdout.trim());
}

/** The trail's records, from its files. */
async function trail(ct: Container): Promise<Array<Record<string, unknown>>> {
  const r = await ct.must('cat /var/log/netauditd/audit/audit-*.jsonl');
  return r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('in a container with nspawn\'s seccomp filter, which refuses the audit socket', () => {
  let ct: Container;
  beforeAll(async () => {
    ct = await Container.boot(image, { bindRo: [[debDir, '/mnt/deb']] });
    await ct.must(`apt-get install -y /mnt/deb/${deb}`, { timeoutMs: 5 * MINUTE });
  }, 10 * MINUTE);
  afterAll(async () => ct?.poweroff(), 2 * MINUTE);

  it('shows the libaudit backend as failing, before any record, while the others go on', async () => {
    const general = await ct.must('netauditctl -t -e no -f AUDIT general');
    expect(general.stdout.trim()).toMatch(/failing: libaudit/);
    const backends = await ct.must('busctl -j get-property org.netaudit1 /org/netaudit1 org.netaudit1.Manager AuditBackends');
    const value = (JSON.parse(backends.stdout) as { data: Record<string, { failing: { data: boolean } }> }).data;
    expect(value['libaudit']?.failing.data).toBe(true);
    expect(value['file']?.failing.data).toBe(false);
    expect(value['journal']?.failing.data).toBe(false);
    // The reason is in the unit's log, once.
    const log = await ct.must('journalctl -u netauditd -o cat');
    expect(log.stdout).toMatch(/audit backend libaudit .*(EAFNOSUPPORT|not supported)/i);
  });
});

describe('the package under a real systemd', () => {
  let ct: Container;
  beforeAll(async () => {
    // SYSTEMD_SECCOMP=0: the container's records reach the host's kernel audit log.
    ct = await Container.boot(image, { seccomp: false, bindRo: [[debDir, '/mnt/deb'], [repoPath(), '/mnt/src']] });
  }, 10 * MINUTE);
  afterAll(async () => ct?.poweroff(), 2 * MINUTE);

  it('installs with apt, and the service is ready on its bus name when apt returns', async () => {
    await ct.must(`apt-get install -y /mnt/deb/${deb}`, { timeoutMs: 5 * MINUTE });
    const show = await ct.must('systemctl show -p Type -p ActiveState -p SubState -p UnitFileState netauditd');
    expect(show.stdout).toContain('Type=dbus');
    expect(show.stdout).toContain('ActiveState=active');
    expect(show.stdout).toContain('SubState=running');
    expect(show.stdout).toContain('UnitFileState=enabled');
    // Type=dbus: active means the name is owned, and by the main process.
    const owner = await ct.must('busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus GetConnectionUnixProcessID s org.netaudit1');
    expect(owner.stdout.trim()).toBe(`u ${await mainPid(ct)}`);
    // Where the package put things, and the conffile.
    await ct.must('test -x /usr/sbin/netauditd && test -x /usr/bin/netauditctl && test -f /usr/lib/netauditd/dist/netauditd.cjs');
    const conffiles = await ct.must('cat /var/lib/dpkg/info/netauditd.conffiles');
    expect(conffiles.stdout.trim()).toBe('/etc/netauditd/netauditd.conf');
  });

  it('runs with exactly the unit\'s four capabilities, NoNewPrivs and a seccomp filter', async () => {
    const status = (await ct.must(`cat /proc/${await mainPid(ct)}/status`)).stdout;
    const field = (name: string): string => new RegExp(`^${name}:\\s*(\\S+)`, 'm').exec(status)?.[1] ?? `no ${name}`;
    expect(field('CapBnd')).toBe(UNIT_CAPS);
    expect(field('CapPrm')).toBe(UNIT_CAPS);
    expect(field('CapEff')).toBe(UNIT_CAPS);
    // systemd gives the bounding set as the inheritable one too; no ambient capability, so a
    // program the daemon ran would get none of them.
    expect(['0000000000000000', UNIT_CAPS]).toContain(field('CapInh'));
    expect(field('CapAmb')).toBe('0000000000000000');
    expect(field('NoNewPrivs')).toBe('1');
    expect(field('Seccomp')).toBe('2');
  });

  it('adds a profile and activates a bridge in the container\'s network, and says so in the journal and the host\'s audit log', async () => {
    await ct.must('netauditctl connection add type bridge con-name lab-br ifname br-lab ipv4.method manual ipv4.addresses 192.0.2.1/24 ipv6.method ignore');
    await ct.must('netauditctl connection up lab-br');
    const addr = JSON.parse((await ct.must('ip -j addr show dev br-lab')).stdout) as Array<{ addr_info: Array<{ local: string; prefixlen: number }> }>;
    expect(addr[0]?.addr_info.map((a) => `${a.local}/${a.prefixlen}`)).toContain('192.0.2.1/24');

    const unitLog = await waitFor(async () => {
      const r = await ct.exec('journalctl -u netauditd -o cat');
      return r.stdout.includes('op="connection-activate"') ? r.stdout : null;
    }, { what: 'the activation in journalctl -u netauditd' });
    expect(unitLog).toMatch(/op="connection-add" origin="caller" .*name="lab-br".*uid=0 result="success"/);
    const byField = await ct.must('journalctl NETAUDIT_OP=connection-add -o json');
    const entries = byField.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    expect(entries.map((e) => [e['NETAUDIT_CONNECTION_ID'], e['NETAUDIT_RESULT'], e['_SYSTEMD_UNIT']])).toContainEqual(['lab-br', 'success', 'netauditd.service']);

    // The host's auditd has the same record, found by the daemon's boot id and seq.
    const records = await trail(ct);
    const add = records.find((r) => r['op'] === 'connection-add' && r['name'] === 'lab-br');
    expect(add).toBeDefined();
    const found = await waitFor(async () => {
      const r = await run('ausearch', ['-m', 'USYS_CONFIG', '--format', 'raw', '-ts', 'today'], { env: { PATH: `${process.env['PATH']}:/usr/sbin:/sbin` } });
      return parseRawAudit(r.stdout).find((rec) => auditValues(rec, 'boot')[0] === add!['boot'] && auditValues(rec, 'seq')[0] === String(add!['seq']));
    }, { timeoutMs: 15_000, what: `the host's USYS_CONFIG record of boot ${String(add!['boot'])}` });
    expect(auditValues(found, 'op')).toEqual(['connection-add']);
    expect(found.header.get('res') ?? auditValues(found, 'res')[0]).toMatch(/success/);
    // With the audit socket allowed, no backend is failing.
    expect((await ct.must('netauditctl -t -e no -f AUDIT general')).stdout.trim()).toBe('enabled');
  });

  it('records a profile file edited with sed -i when it happens, under the unit as shipped (inotify, no attribution)', async () => {
    await ct.must('sed -i "s|192.0.2.1/24|192.0.2.2/24|" /etc/netauditd/system-connections/lab-br.nmconnection');
    const edit = await waitFor(async () => (await trail(ct)).find((r) => r['op'] === 'connection-update' && r['args'] === 'file'), { what: 'the record of the edit' });
    expect(edit).toMatchObject({ origin: 'external', name: 'lab-br', actor: { attribution: 'none', file: 'lab-br.nmconnection' } });
    expect(edit).not.toHaveProperty('pid');
    expect((await ct.must('journalctl -u netauditd -o cat')).stdout).toContain('(attribution none)');
  });

  it('takes a DHCP lease under the unit as shipped (packet sockets, CAP_NET_RAW): a veth whose peer runs dnsmasq', async () => {
    await ct.must([
      'ip netns add dhcp-peer',
      'ip link add v0 type veth peer name v0p netns dhcp-peer',
      'ip -n dhcp-peer addr add 10.99.0.1/24 dev v0p',
      'ip -n dhcp-peer link set v0p up',
      'ip netns exec dhcp-peer dnsmasq --conf-file=/dev/null --port=0 --bind-interfaces --interface=v0p --dhcp-range=10.99.0.100,10.99.0.150,2m --dhcp-option=option:router,10.99.0.1 --dhcp-leasefile=/run/dhcp-peer.leases --pid-file=/run/dhcp-peer.pid',
    ].join(' && '));
    await ct.must('netauditctl connection add type ethernet ifname v0 con-name wan autoconnect no && netauditctl connection up wan', { timeoutMs: 60_000 });
    const addr = JSON.parse((await ct.must('ip -j -4 addr show dev v0')).stdout) as Array<{ addr_info: Array<{ local: string }> }>;
    expect(addr[0]?.addr_info.map((a) => a.local)).toContainEqual(expect.stringMatching(/^10\.99\.0\.1\d\d$/));
    const lease = (await trail(ct)).find((r) => r['op'] === 'dhcp4-lease' && r['name'] === 'wan');
    expect(lease).toMatchObject({ origin: 'daemon', cause: 'lease', args: 'bound', result: 'success' });
    await ct.must('netauditctl connection down wan && kill $(cat /run/dhcp-peer.pid) && ip netns del dhcp-peer');
  });

  it('records a change made with ip behind its back under the unit as shipped, attributed to the process (CAP_SYS_PTRACE, ProtectProc)', async () => {
    // ip -batch keeps its socket while the pipe stays open: the process is still there when the event is read.
    await ct.must('ip link add v9 type veth peer name v9p && (echo "address add 192.0.2.99/24 dev v9"; sleep 3) | ip -batch -', { timeoutMs: 30_000 });
    const records = await waitFor(async () => {
      // The veth pair is one link-add, named after whichever end the kernel numbered first.
      const r = (await trail(ct)).filter((x) => x['origin'] === 'external' && (x['iface'] === 'v9' || x['iface'] === 'v9p'));
      return r.some((x) => x['op'] === 'address-add') ? r : null;
    }, { what: 'the external records of v9' });
    expect(records.filter((r) => r['op'] === 'link-add')).toEqual([expect.objectContaining({ actor: { attribution: 'none' } })]);
    expect(records.find((r) => r['op'] === 'address-add')).toMatchObject({
      after: { local: '192.0.2.99', prefixlen: 24 }, uid: 0,
      actor: { attribution: 'netlink-portid', exe: expect.stringMatching(/\/ip$/), comm: 'ip' },
    });
    await ct.must('ip link del v9');
  });

  it('takes a DHCPv6 lease under the unit as shipped (udp6 on port 546, CAP_NET_BIND_SERVICE, IPAddressAllow=): ipv6.method dhcp', async () => {
    await ct.must([
      'ip netns add dhcp6-peer',
      'ip link add v6 type veth peer name v6p netns dhcp6-peer',
      'ip -n dhcp6-peer addr add fd99::1/64 dev v6p nodad',
      'ip -n dhcp6-peer link set v6p up',
      'ip netns exec dhcp6-peer dnsmasq --conf-file=/dev/null --port=0 --bind-interfaces --interface=v6p --dhcp-range=fd99::100,fd99::1ff,64,2m --dhcp-leasefile=/run/dhcp6-peer.leases --pid-file=/run/dhcp6-peer.pid',
    ].join(' && '));
    await ct.must('netauditctl connection add type ethernet ifname v6 con-name wan6 autoconnect no ipv4.method disabled ipv6.method dhcp && netauditctl connection up wan6', { timeoutMs: 60_000 });
    const addr = JSON.parse((await ct.must('ip -j -6 addr show dev v6 scope global')).stdout) as Array<{ addr_info: Array<{ local?: string; prefixlen?: number }> }>;
    expect(addr[0]?.addr_info.map((a) => `${a.local}/${a.prefixlen}`)).toContainEqual(expect.stringMatching(/^fd99::1[0-9a-f]{2}\/128$/));
    const lease = (await trail(ct)).find((r) => r['op'] === 'dhcp6-lease' && r['name'] === 'wan6');
    expect(lease).toMatchObject({ origin: 'daemon', cause: 'lease', args: 'bound', result: 'success' });
    // Deleted: the profiles kept at purge are the other tests' (below).
    await ct.must('netauditctl connection down wan6 && netauditctl connection delete wan6 && kill $(cat /run/dhcp6-peer.pid) && ip netns del dhcp6-peer');
  });

  it('fails systemctl reload on a bad configuration, naming the file and line, and keeps running; a good one is recorded', async () => {
    const pid = await mainPid(ct);
    await ct.must('cp /etc/netauditd/netauditd.conf /root/good.conf && printf "\\n[main]\\nauth=polkti\\n" >> /etc/netauditd/netauditd.conf');
    const lines = Number((await ct.must('wc -l < /etc/netauditd/netauditd.conf')).stdout.trim());
    const bad = await ct.exec('systemctl reload netauditd');
    expect(bad.code).not.toBe(0);
    const log = await ct.must('journalctl -u netauditd -o cat');
    expect(log.stdout).toContain(`/etc/netauditd/netauditd.conf:${lines}`);
    expect(await mainPid(ct)).toBe(pid);
    expect((await ct.must('systemctl is-active netauditd')).stdout.trim()).toBe('active');

    await ct.must('cp /root/good.conf /etc/netauditd/netauditd.conf');
    await ct.must('systemctl reload netauditd');
    expect(await mainPid(ct)).toBe(pid);
    const reloads = (await trail(ct)).filter((r) => r['op'] === 'reload');
    expect(reloads.map((r) => [r['result'], r['reason'], r['uid']])).toEqual([
      ['fail', 'invalid-config', 0],
      ['success', undefined, 0],
    ]);
  });

  it('is restarted by Restart= after a crash', async () => {
    const pid = await mainPid(ct);
    expect(pid).toBeGreaterThan(1); // never kill 0 or 1
    await ct.must(`kill -SEGV ${pid}`);
    const next = await waitFor(async () => {
      const show = (await ct.exec('systemctl show -P MainPID -P ActiveState netauditd')).stdout.trim().split('\n');
      return show[1] === 'active' && Number(show[0]) !== pid && Number(show[0]) > 0 ? Number(show[0]) : null;
    }, { timeoutMs: 30_000, what: 'the restarted service' });
    expect(next).not.toBe(pid);
    expect(Number((await ct.must('systemctl show -P NRestarts netauditd')).stdout.trim())).toBeGreaterThanOrEqual(1);
    // The restarted daemon took its profiles and its active bridge back.
    expect((await ct.must('netauditctl -t -e no -f NAME,DEVICE connection show --active')).stdout).toMatch(/lab-br\s*:?\s*br-lab/);
  });

  it('passes systemd-analyze security (2.5 or less) and verify', async () => {
    const security = await ct.must('systemd-analyze security --no-pager netauditd.service');
    const exposure = /Overall exposure level for netauditd\.service: (\d+\.\d+)/.exec(security.stdout);
    expect(exposure, security.stdout.slice(-500)).not.toBeNull();
    expect(Number(exposure![1])).toBeLessThanOrEqual(2.5);
    const verify = await ct.exec('systemd-analyze verify netauditd.service');
    expect({ code: verify.code, out: (verify.stdout + verify.stderr).trim() }).toEqual({ code: 0, out: '' });
  });

  it('apt remove keeps the configuration, the profiles, the state and the trail', async () => {
    await ct.must('apt-get remove -y netauditd', { timeoutMs: 2 * MINUTE });
    expect((await ct.exec('systemctl is-active netauditd')).stdout.trim()).not.toBe('active');
    await ct.must('! test -e /usr/lib/netauditd && ! test -e /usr/sbin/netauditd && ! test -e /usr/bin/netauditctl');
    await ct.must('! test -e /usr/share/dbus-1/system.d/org.netaudit1.conf && ! test -e /usr/share/polkit-1/actions/org.netaudit1.policy');
    await ct.must('test -f /etc/netauditd/netauditd.conf && test -f /etc/netauditd/system-connections/lab-br.nmconnection');
    await ct.must('ls /var/log/netauditd/audit/audit-*.jsonl && test -d /var/lib/netauditd');
  });

  it('apt purge removes the package\'s files and state, and keeps the trail and the profiles, as README.Debian says', async () => {
    await ct.must('apt-get purge -y netauditd', { timeoutMs: 2 * MINUTE });
    await ct.must('! test -e /etc/netauditd/netauditd.conf && ! test -e /var/lib/netauditd && ! test -e /run/netauditd');
    // Everything left that carries our name, anywhere: the trail's and the profiles' directories.
    // (Not counted: man-db's cache of formatted pages, which systemd-analyze verify filled and
    // man-db's own daily run clears of pages whose source is gone.)
    const left = await ct.must("find / -xdev \\( -path /proc -o -path /sys -o -path /mnt -o -path /dev -o -path /var/cache/man \\) -prune -o -name '*netaudit*' -print | sort");
    expect(left.stdout.trim().split('\n')).toEqual(['/etc/netauditd', '/var/log/netauditd']);
    const profiles = await ct.must('find /etc/netauditd -mindepth 1 | sort');
    expect(profiles.stdout.trim().split('\n')).toEqual([
      '/etc/netauditd/system-connections',
      '/etc/netauditd/system-connections/lab-br.nmconnection',
      '/etc/netauditd/system-connections/wan.nmconnection',
    ]);
    await ct.must('ls /var/log/netauditd/audit/audit-*.jsonl');
    const doc = await run('sh', ['-c', 'cat debian/netauditd.README.Debian README.md'], {});
    expect(doc.stdout).toContain('rm -rf /var/log/netauditd /etc/netauditd');
  });

  it('installs by hand as README says for other distributions, and takes up the kept profile and trail', async () => {
    await ct.must('node /mnt/src/scripts/install.mjs --system-files', { timeoutMs: 2 * MINUTE });
    await ct.must('systemctl enable --now netauditd', { timeoutMs: 2 * MINUTE });
    const owner = await ct.must('busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus GetConnectionUnixProcessID s org.netaudit1');
    expect(owner.stdout.trim()).toBe(`u ${await mainPid(ct)}`);
    expect((await ct.must('netauditctl -t -f NAME connection show')).stdout).toContain('lab-br');
    await ct.must('netauditctl audit verify');
  });
});
