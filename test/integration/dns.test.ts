// DNS mode file through the real daemon (docs/dns.md), in a namespace made for this file, with
// resolv-conf= a path in the daemon's scratch dir: activation links it to run-dir/resolv.conf with
// the servers and search domains in dns-priority order, deactivation removes them and puts back what
// was there, Reapply rewrites it and is recorded, the file is not rewritten when its content stays,
// a restart adopts it as it is, and a reload to dns=none puts back what was there. The host's
// /etc/resolv.conf is checked to be untouched.
import { lstat, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startBus, type TestBus } from '../helpers/bus.js';
import { connect, type TestClient } from '../helpers/client.js';
import { defaultConfig, startDaemon, toIni, type TestDaemon } from '../helpers/daemon.js';
import { DEVICE_IFACE, newRecords, pathOf, vethOnBus } from '../helpers/devices.js';
import { activate, activeConnections, addProfile, deactivate, manual, profile } from '../helpers/activation.js';
import { dnsV4, dnsV6, resolvConfLines } from '../helpers/dns.js';
import { variant } from '../helpers/client.js';
import { MANAGER, MANAGER_IFACE } from '../helpers/profiles.js';
import { createNetns, deleteNetns, ip } from '../helpers/netns.js';
import { waitFor } from '../helpers/wait.js';

const NS = `na-dns-${process.pid}`;
const PEER = `${NS}-peer`;
const CONNECTION_IFACE = 'org.netaudit1.Settings.Connection';
const PREVIOUS = '# the resolv.conf that was there before\nnameserver 203.0.113.99\n';

type Dict = Record<string, Record<string, unknown>>;

let bus: TestBus;
let daemon: TestDaemon;
let client: TestClient;
let resolvConf: string;
let runFile: string;
let hostBefore: string;
/** d0's ifindex */
let d0: number;

/** What the host's /etc/resolv.conf is: kind, target or content, inode and mtime. */
async function hostResolvConf(): Promise<string> {
  const l = await lstat('/etc/resolv.conf').catch(() => null);
  if (!l) return 'absent';
  const what = l.isSymbolicLink() ? `-> ${await readlink('/etc/resolv.conf')}` : await readFile('/etc/resolv.conf', 'utf8');
  return JSON.stringify([what, l.ino, l.mtimeMs]);
}

beforeAll(async () => {
  hostBefore = await hostResolvConf();
  await createNetns(NS, PEER);
  await ip('-n', NS, 'link', 'set', 'lo', 'up');
  bus = await startBus();
  daemon = await startDaemon(bus, { netns: NS, config: { main: { dns: 'file' } } });
  client = await connect(bus.address);
  resolvConf = join(daemon.dir, 'resolv.conf');
  runFile = join(daemon.runDir, 'resolv.conf');
  d0 = await vethOnBus(client, NS, PEER, 'd0');
  await vethOnBus(client, NS, PEER, 'd1');
});

afterAll(async () => {
  client?.close();
  await bus?.stop();
  await deleteNetns(NS, PEER);
  expect(await hostResolvConf()).toBe(hostBefore);
});

const paths: string[] = [];

beforeEach(async () => {
  for (const a of await activeConnections(client)) await deactivate(client, a).catch(() => undefined);
  for (const p of paths.splice(0)) await client.call(p, CONNECTION_IFACE, 'Delete').catch(() => undefined);
  await rm(resolvConf, { force: true });
  await writeFile(resolvConf, PREVIOUS, { mode: 0o644 });
});

async function add(dict: Dict): Promise<string> {
  const path = await addProfile(client, dict);
  paths.push(path);
  return path;
}

/** d0: a default route, two IPv4 servers and a search domain, an IPv6 server. */
const lanA = (ipv4: Record<string, unknown> = {}): Dict =>
  profile('dns-a', '802-3-ethernet', {
    ifname: 'd0',
    ipv4: { ...manual(['192.0.2.10/24'], { gateway: '192.0.2.1' }), dns: dnsV4(['192.0.2.53', '192.0.2.54']), 'dns-search': variant('as', ['a.example']), ...ipv4 },
    ipv6: { ...manual(['2001:db8:a::10/64']), dns: dnsV6(['2001:db8:a::53']) },
  });

/** d1: dns-priority 50, preferred to d0's default of 100. */
const lanB = (): Dict =>
  profile('dns-b', '802-3-ethernet', {
    ifname: 'd1',
    ipv4: { ...manual(['198.51.100.10/24']), dns: dnsV4(['198.51.100.53']), 'dns-search': variant('as', ['b.example']), 'dns-priority': variant('i', 50) },
  });

const A_LINES = ['search a.example', 'nameserver 192.0.2.53', 'nameserver 192.0.2.54', 'nameserver 2001:db8:a::53'];

async function isPrevious(): Promise<boolean> {
  const l = await lstat(resolvConf);
  return l.isFile() && (await readFile(resolvConf, 'utf8')) === PREVIOUS;
}

describe('DNS mode file', () => {
  it('links resolv-conf to run-dir/resolv.conf on activation, orders by dns-priority, and puts the old file back when none is left', async () => {
    const a = await add(lanA());
    const b = await add(lanB());
    const { records, result: activeA } = await newRecords(daemon, () => activate(client, a));
    expect(await readlink(resolvConf)).toBe(runFile);
    expect(await resolvConfLines(resolvConf)).toEqual(A_LINES);
    expect(records[0]).toMatchObject({
      op: 'connection-activate',
      result: 'success',
      after: { ipv4: { dns: ['192.0.2.53', '192.0.2.54'], 'dns-search': ['a.example'] }, ipv6: { dns: ['2001:db8:a::53'] } },
    });
    expect((await readFile(runFile, 'utf8')).split('\n')[0]).toMatch(/^# Generated by netauditd /);
    expect((await stat(runFile)).mode & 0o777).toBe(0o644);

    const activeB = await activate(client, b);
    expect(await resolvConfLines(resolvConf)).toEqual([
      'search b.example a.example',
      'nameserver 198.51.100.53',
      'nameserver 192.0.2.53',
      'nameserver 192.0.2.54',
      'nameserver 2001:db8:a::53',
    ]);
    await deactivate(client, activeB);
    expect(await resolvConfLines(resolvConf)).toEqual(A_LINES);
    await deactivate(client, activeA);
    expect(await isPrevious()).toBe(true);
    await expect(stat(runFile)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a negative dns-priority leaves only its own servers', async () => {
    const a = await add(lanA());
    const exclusive = profile('dns-x', '802-3-ethernet', {
      ifname: 'd1',
      ipv4: { ...manual(['198.51.100.10/24']), dns: dnsV4(['198.51.100.99']), 'dns-priority': variant('i', -1) },
    });
    await activate(client, a);
    await activate(client, await add(exclusive));
    expect(await resolvConfLines(resolvConf)).toEqual(['nameserver 198.51.100.99']);
  });

  it('does not rewrite the file when its content stays, and Reapply of other DNS rewrites it and is recorded', async () => {
    const a = await add(lanA());
    await activate(client, a);
    const before = await stat(runFile);
    // Another connection without DNS, and a Reapply that changes nothing: the same content.
    await activate(client, await add(profile('dns-none', '802-3-ethernet', { ifname: 'd1', ipv4: manual(['198.51.100.10/24']) })));
    await client.call(pathOf(d0), DEVICE_IFACE, 'Reapply', 'a{sa{sv}}tu', [{}, 0n, 0]);
    const same = await stat(runFile);
    expect([same.ino, same.mtimeMs]).toEqual([before.ino, before.mtimeMs]);

    const changed = lanA({ dns: dnsV4(['192.0.2.153']), 'dns-search': variant('as', ['new.example', 'a.example']) });
    const { records } = await newRecords(daemon, () => client.call(pathOf(d0), DEVICE_IFACE, 'Reapply', 'a{sa{sv}}tu', [changed, 0n, 0]));
    expect(await resolvConfLines(resolvConf)).toEqual(['search new.example a.example', 'nameserver 192.0.2.153', 'nameserver 2001:db8:a::53']);
    expect((await stat(runFile)).ino).not.toBe(before.ino);
    expect(records).toEqual([expect.objectContaining({ op: 'device-reapply', result: 'success', iface: 'd0' })]);
    expect(String(records[0]!.changed).split(',')).toEqual(expect.arrayContaining(['ipv4.dns', 'ipv4.dns-search']));
    expect(records[0]).toMatchObject({
      before: { ipv4: { dns: ['192.0.2.53', '192.0.2.54'], 'dns-search': ['a.example'] } },
      after: { ipv4: { dns: ['192.0.2.153'], 'dns-search': ['new.example', 'a.example'] } },
    });
  });

  it('leaves the file and the symlink at a stop, and the next daemon adopts them without a rewrite', async () => {
    await activate(client, await add(lanA()));
    const before = await stat(runFile);
    expect(await daemon.stop()).toBe(0);
    expect(await readlink(resolvConf)).toBe(runFile);
    expect(await resolvConfLines(resolvConf)).toEqual(A_LINES);
    const offset = daemon.log().length;
    await daemon.start();
    await waitFor(() => daemon.log().slice(offset).includes(`is written to ${runFile}`), { what: 'the DNS backend of the restarted daemon' });
    const [adopted] = await activeConnections(client);
    expect(adopted).toBeDefined();
    const after = await stat(runFile);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    await deactivate(client, adopted!);
    expect(await isPrevious()).toBe(true);
  });

  it('puts the old file back on a reload to dns=none, and links it again on a reload to dns=file', async () => {
    await activate(client, await add(lanA()));
    const reload = async (dns: string): Promise<void> => {
      const config = defaultConfig(daemon.dir);
      config.main = { ...config.main, dns };
      await writeFile(daemon.configFile, toIni(config));
      await client.call(MANAGER, MANAGER_IFACE, 'Reload', 'u', [1]);
    };
    try {
      await reload('none');
      await waitFor(() => isPrevious(), { what: `${resolvConf} put back after dns=none` });
      await waitFor(async () => (await stat(runFile).then(() => false, (e: NodeJS.ErrnoException) => e.code === 'ENOENT')), { timeoutMs: 5000, what: `${runFile} removed after dns=none` });
      await reload('file');
      await waitFor(async () => (await readlink(resolvConf).catch(() => '')) === runFile, { what: `${resolvConf} linked again after dns=file` });
      expect(await resolvConfLines(resolvConf)).toEqual(A_LINES);
    } finally {
      await reload('file');
    }
  });
});
