// DNS mode resolved through the real daemon (docs/dns.md), against a stand-in that owns
// org.freedesktop.resolve1 on the test's own bus and records the calls it gets: per-link DNS,
// domains and default route on activation, RevertLink at deactivation; dns=auto picking resolved
// when the name has an owner at start and file when it has none; a failing resolved failing no
// activation; and a reload to dns=file reverting the links. The host's resolver is never involved.
import { readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startBus, type TestBus } from '../helpers/bus.js';
import { connect, variant, type TestClient } from '../helpers/client.js';
import { defaultConfig, startDaemon, toIni, type TestDaemon } from '../helpers/daemon.js';
import { vethOnBus } from '../helpers/devices.js';
import { activate, activeConnections, addProfile, deactivate, manual, profile } from '../helpers/activation.js';
import { dnsV4, dnsV6, startResolvedStandIn, type ResolvedStandIn } from '../helpers/dns.js';
import { MANAGER, MANAGER_IFACE } from '../helpers/profiles.js';
import { createNetns, deleteNetns, ip } from '../helpers/netns.js';
import { waitFor } from '../helpers/wait.js';

const NS = `na-dnsr-${process.pid}`;
const PEER = `${NS}-peer`;
const CONNECTION_IFACE = 'org.netaudit1.Settings.Connection';

let bus: TestBus;
let client: TestClient;
let standIn: ResolvedStandIn;
let r0: number;
let r1: number;

beforeAll(async () => {
  await createNetns(NS, PEER);
  await ip('-n', NS, 'link', 'set', 'lo', 'up');
  bus = await startBus();
  standIn = await startResolvedStandIn(bus);
  client = await connect(bus.address);
});

afterAll(async () => {
  client?.close();
  await bus?.stop();
  await deleteNetns(NS, PEER);
});

/** r0: a default route, IPv4 and IPv6 servers, a search and a routing-only domain. */
const lan = (): Record<string, Record<string, unknown>> =>
  profile('dnsr-lan', '802-3-ethernet', {
    ifname: 'r0',
    ipv4: { ...manual(['192.0.2.10/24'], { gateway: '192.0.2.1' }), dns: dnsV4(['192.0.2.53']), 'dns-search': variant('as', ['lan.example', '~corp.example']) },
    ipv6: { ...manual(['2001:db8:1::10/64']), dns: dnsV6(['2001:db8:1::53']) },
  });

/** r1: no default route, and dns-priority -1: the exclusive one. */
const vpn = (): Record<string, Record<string, unknown>> =>
  profile('dnsr-vpn', '802-3-ethernet', {
    ifname: 'r1',
    ipv4: { ...manual(['198.51.100.10/24']), dns: dnsV4(['198.51.100.53']), 'dns-search': variant('as', ['vpn.example']), 'dns-priority': variant('i', -1) },
  });

describe('DNS mode resolved, dns=resolved', () => {
  let daemon: TestDaemon;
  const paths: string[] = [];

  beforeAll(async () => {
    daemon = await startDaemon(bus, { netns: NS, config: { main: { dns: 'resolved' } } });
    r0 = await vethOnBus(client, NS, PEER, 'r0');
    r1 = await vethOnBus(client, NS, PEER, 'r1');
  });

  afterAll(() => daemon?.stop());

  beforeEach(async () => {
    for (const a of await activeConnections(client)) await deactivate(client, a).catch(() => undefined);
    for (const p of paths.splice(0)) await client.call(p, CONNECTION_IFACE, 'Delete').catch(() => undefined);
    standIn.failWith = null;
    standIn.calls.length = 0;
  });

  async function add(dict: Record<string, Record<string, unknown>>): Promise<string> {
    const path = await addProfile(client, dict);
    paths.push(path);
    return path;
  }

  it('sets the link\'s servers, domains and default route on activation, and reverts it at deactivation', async () => {
    const active = await activate(client, await add(lan()));
    expect(standIn.calls).toEqual([
      `SetLinkDNS ${r0} 192.0.2.53,2001:db8:1::53`,
      `SetLinkDomains ${r0} lan.example,~corp.example`,
      `SetLinkDefaultRoute ${r0} true`,
    ]);
    await daemon.waitForLog(/DNS of the active connections goes to systemd-resolved$/);
    standIn.calls.length = 0;
    await deactivate(client, active);
    expect(standIn.calls).toEqual([`RevertLink ${r0}`]);
  });

  it('gives a negative dns-priority\'s link the default route and takes the other link\'s domains away', async () => {
    await activate(client, await add(lan()));
    standIn.calls.length = 0;
    await activate(client, await add(vpn()));
    expect(standIn.calls).toEqual([
      `SetLinkDNS ${r1} 198.51.100.53`,
      `SetLinkDomains ${r1} vpn.example`,
      `SetLinkDefaultRoute ${r1} true`,
      `SetLinkDNS ${r0} 192.0.2.53,2001:db8:1::53`,
      `SetLinkDomains ${r0} `,
      `SetLinkDefaultRoute ${r0} false`,
    ]);
  });

  it('fails no activation when resolved refuses: one warning, and the DNS goes again at the next change', async () => {
    standIn.failWith = 'org.freedesktop.resolve1.TestRefusal';
    const offset = daemon.log().length;
    const active = await activate(client, await add(lan()));
    await activate(client, await add(vpn()));
    expect(await activeConnections(client)).toHaveLength(2);
    standIn.failWith = null;
    standIn.calls.length = 0;
    await deactivate(client, active);
    expect(standIn.calls).toContain(`SetLinkDNS ${r1} 198.51.100.53`);
    expect(standIn.calls).toContain(`RevertLink ${r0}`);
    // The log is written in order, and may lag behind the replies: once this line is there, the warnings are too.
    await waitFor(() => daemon.log().slice(offset).includes('systemd-resolved takes the DNS of the active connections again'), { what: 'the log line of resolved taking DNS again' });
    const warnings = daemon.log().slice(offset).split('\n').filter((l) => l.includes('systemd-resolved did not take the DNS'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('org.freedesktop.resolve1.TestRefusal');
    expect(warnings[0]).toContain('tries again at the next DNS change');
  });

  it('reverts the links on a reload to dns=file, which then links resolv-conf', async () => {
    await activate(client, await add(lan()));
    standIn.calls.length = 0;
    const config = defaultConfig(daemon.dir);
    config.main = { ...config.main, dns: 'file' };
    await writeFile(daemon.configFile, toIni(config));
    await client.call(MANAGER, MANAGER_IFACE, 'Reload', 'u', [1]);
    const resolvConf = join(daemon.dir, 'resolv.conf');
    await waitFor(async () => (await readlink(resolvConf).catch(() => '')) === join(daemon.runDir, 'resolv.conf'), { what: `${resolvConf} linked after dns=file` });
    expect(standIn.calls).toEqual([`RevertLink ${r0}`]);
  });
});

describe('dns=auto', () => {
  it('is resolved when org.freedesktop.resolve1 has an owner at start, file when it has none', async () => {
    const daemon = await startDaemon(bus, { netns: NS });
    try {
      await daemon.waitForLog(/DNS of the active connections goes to systemd-resolved \(dns=auto: org\.freedesktop\.resolve1 is on the bus\)/);
      await daemon.stop();
      await standIn.stop();
      await daemon.start();
      await daemon.waitForLog(/DNS of the active connections is written to .*resolv\.conf, linked from .*resolv\.conf \(dns=auto: org\.freedesktop\.resolve1 is not on the bus\)/);
    } finally {
      await daemon.stop();
    }
  });
});
