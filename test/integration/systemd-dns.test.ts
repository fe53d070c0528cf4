// DNS under a real systemd (docs/dns.md): the Debian package built from this checkout, installed
// with apt in booted containers (test/helpers/container.ts, docs/testing-under-systemd.md). In one
// whose image adds systemd-resolved, dns=auto picks resolved, a profile's static DNS shows in
// resolvectl for its link, and connection down reverts it. In one without, dns=auto is mode file,
// and the unit's read-only /etc makes it one warning with the ln -sf to run: /etc/resolv.conf stays
// as it is and /run/netauditd/resolv.conf holds the DNS.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Container, buildPackage, cannotBoot, ensureImage } from '../helpers/container.js';
import { waitFor } from '../helpers/wait.js';

const MINUTE = 60_000;
let debDir = '';
let removePackage = (): void => undefined;
afterAll(() => removePackage());

let image = '';
let baseImage = '';
let deb = '';

const LAB_DNS =
  "netauditctl connection add type ethernet con-name lab-dns ifname r0 ipv4.method manual ipv4.addresses 192.0.2.10/24 ipv4.gateway 192.0.2.1 ipv4.dns '192.0.2.53, 192.0.2.54' ipv4.dns-search lab.example ipv6.method ignore";

beforeAll(async () => {
  const why = await cannotBoot();
  if (why) throw new Error(`this machine cannot run the systemd container test: ${why}`);
  const built = await buildPackage();
  ({ dir: debDir, deb } = built);
  removePackage = built.remove;
  image = await ensureImage(['systemd-resolved']);
  baseImage = await ensureImage();
}, 20 * MINUTE);

describe('the package with systemd-resolved under a real systemd', () => {
  let ct: Container;
  beforeAll(async () => {
    ct = await Container.boot(image, { bindRo: [[debDir, '/mnt/deb']] });
    await ct.must('systemctl is-active systemd-resolved');
    await ct.must(`apt-get install -y /mnt/deb/${deb}`, { timeoutMs: 5 * MINUTE });
  }, 10 * MINUTE);
  afterAll(async () => ct?.poweroff(), 2 * MINUTE);

  it('picks resolved with dns=auto, sets a profile\'s static DNS on its link, and reverts it at connection down', async () => {
    await waitFor(async () => (await ct.exec('journalctl -u netauditd -o cat')).stdout.includes('goes to systemd-resolved (dns=auto: org.freedesktop.resolve1 is on the bus)'), {
      timeoutMs: 30_000,
      what: 'the DNS mode in the unit\'s log',
    });
    await ct.must('ip link add r0 type veth peer name r0p && ip link set r0p up');
    await ct.must(LAB_DNS);
    await ct.must('netauditctl connection up lab-dns');
    expect((await ct.must('resolvectl dns r0')).stdout.trim()).toMatch(/^Link \d+ \(r0\): 192\.0\.2\.53 192\.0\.2\.54$/);
    expect((await ct.must('resolvectl domain r0')).stdout.trim()).toMatch(/^Link \d+ \(r0\): lab\.example$/);
    expect((await ct.must('resolvectl default-route r0')).stdout.trim()).toMatch(/^Link \d+ \(r0\): yes$/);
    // resolv.conf is resolved's, not the daemon's: mode resolved leaves /etc alone.
    expect((await ct.must('readlink /etc/resolv.conf')).stdout).toContain('systemd/resolve');

    await ct.must('netauditctl connection down lab-dns');
    expect((await ct.must('resolvectl dns r0')).stdout.trim()).toMatch(/^Link \d+ \(r0\):$/);
    expect((await ct.must('resolvectl domain r0')).stdout.trim()).toMatch(/^Link \d+ \(r0\):$/);
  });
});

describe('the package without systemd-resolved under a real systemd', () => {
  let ct: Container;
  beforeAll(async () => {
    ct = await Container.boot(baseImage, { bindRo: [[debDir, '/mnt/deb']] });
    await ct.must(`apt-get install -y /mnt/deb/${deb}`, { timeoutMs: 5 * MINUTE });
  }, 10 * MINUTE);
  afterAll(async () => ct?.poweroff(), 2 * MINUTE);

  it('writes /run/netauditd/resolv.conf, and warns once with the ln -sf to run, /etc being read-only for the unit', async () => {
    const journal = async (): Promise<string> => (await ct.exec('journalctl -u netauditd -o cat')).stdout;
    await waitFor(async () => (await journal()).includes('is written to /run/netauditd/resolv.conf, linked from /etc/resolv.conf (dns=auto: org.freedesktop.resolve1 is not on the bus)'), {
      timeoutMs: 30_000,
      what: 'the DNS mode in the unit\'s log',
    });
    const etc = async (): Promise<string> => (await ct.exec('stat -c "%F %i %Y" /etc/resolv.conf')).stdout.trim();
    const before = await etc();
    await ct.must('ip link add r0 type veth peer name r0p && ip link set r0p up');
    await ct.must(LAB_DNS);
    await ct.must('netauditctl connection up lab-dns');
    const file = (await ct.must('cat /run/netauditd/resolv.conf')).stdout;
    expect(file).toContain('search lab.example\nnameserver 192.0.2.53\nnameserver 192.0.2.54\n');
    expect((await ct.must('stat -c %a /run/netauditd/resolv.conf')).stdout.trim()).toBe('644');
    expect(await etc()).toBe(before);
    // A second change: no second warning.
    await ct.must('netauditctl connection down lab-dns && netauditctl connection up lab-dns');
    await waitFor(async () => (await journal()).includes('ln -sf'), { timeoutMs: 10_000, what: 'the warning with the command to run' });
    const warnings = (await journal()).split('\n').filter((l) => l.includes('cannot be replaced'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/\/etc\/resolv\.conf cannot be replaced \(EROFS: .*run: ln -sf \/run\/netauditd\/resolv\.conf \/etc\/resolv\.conf$/);
    expect(await etc()).toBe(before);
  });
});
