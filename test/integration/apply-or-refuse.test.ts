// Every profile property the daemon accepts is applied when the profile is activated, or refused
// when it is saved: one row per property. An applied row saves its profiles through AddConnection,
// activates them in a namespace, reads the kernel back (`ip -d -j link`, `bridge -j link`,
// `ip -j route show table all`, `ip -j rule`) or the resolv.conf of DNS mode file (the harness's
// resolv-conf=, in the daemon's scratch dir), deactivates them and checks that what they did is
// gone or restored. A refused row checks the named error of AddConnection. The daemon runs in a
// namespace made for this file; veth peers go to a second one; the root namespace is never touched.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestBus } from '../helpers/bus.js';
import type { TestDaemon } from '../helpers/daemon.js';
import { dnsV4, dnsV6, resolvConfLines } from '../helpers/dns.js';
import { variant, type TestClient } from '../helpers/client.js';
import { deviceOnBus, vethOnBus, errorOf } from '../helpers/devices.js';
import { activate, activeConnections, addProfile, deactivate, linkDetails, manual, profile } from '../helpers/activation.js';
import { run } from '../helpers/exec.js';
import { createNetns, ip, linkNames, startDaemonInNetns, stopDaemonInNetns } from '../helpers/netns.js';
import { waitFor } from '../helpers/wait.js';

const NS = `na-apply-${process.pid}`;
const PEER = `${NS}-peer`;
const CONNECTION_IFACE = 'org.netaudit1.Settings.Connection';

type Dict = Record<string, Record<string, unknown>>;

let bus: TestBus;
let daemon: TestDaemon;
let client: TestClient;

beforeAll(async () => {
  await createNetns(NS, PEER);
  await ip('-n', NS, 'link', 'set', 'lo', 'up');
  ({ bus, daemon, client } = await startDaemonInNetns(NS));
});

afterAll(() => stopDaemonInNetns({ bus, client }, NS, PEER));

// ---- the kernel, read back ----

/** A veth `name` in NS, its peer in PEER up, `name` left down. */
const veth = (name: string): Promise<number> => vethOnBus(client, NS, PEER, name);

async function bridgeData(dev: string): Promise<Record<string, unknown>> {
  return (await linkDetails(NS, dev)).linkinfo!.info_data!;
}

/** `bridge -j link show dev` of a port: its priority and cost, and its master. */
async function port(dev: string): Promise<{ priority: number; cost: number; master?: string } | undefined> {
  const r = await run('bridge', ['-n', NS, '-j', 'link', 'show', 'dev', dev]);
  if (r.code !== 0) throw new Error(`bridge link show dev ${dev}: ${r.stderr.trim()}`);
  return (JSON.parse(r.stdout || '[]') as Array<{ priority: number; cost: number; master?: string }>)[0];
}

interface KernelRoute {
  dst: string;
  dev: string;
  gateway?: string;
  table?: string;
  metric?: number;
}

/** Every route of NS in every table for `dev` (IPv6 link-local, multicast and local ones left out). */
async function routes(dev: string, family: 4 | 6 = 4): Promise<KernelRoute[]> {
  const all = JSON.parse(await ip('-n', NS, '-j', `-${family}`, 'route', 'show', 'table', 'all')) as Array<KernelRoute & { type?: string }>;
  return all.filter((r) => r.dev === dev && r.type === undefined && !r.dst.startsWith('fe80:') && !r.dst.startsWith('ff00:'));
}

interface KernelRule {
  priority: number;
  src?: string;
  srclen?: number;
  dst?: string;
  dstlen?: number;
  table: string;
  not?: null;
  iif?: string;
  fwmark?: string;
}

/** The rules of NS that the test's profiles may add (all but the kernel's own three). */
async function rules(family: 4 | 6 = 4): Promise<KernelRule[]> {
  const all = JSON.parse(await ip('-n', NS, '-j', `-${family}`, 'rule')) as KernelRule[];
  return all.filter((r) => ![0, 32766, 32767].includes(r.priority));
}

const mac = (text: string): Buffer => Buffer.from(text.replace(/:/g, ''), 'hex');

// ---- the rows ----

interface AppliedRow {
  /** setting.property, and the type when the row is one of several */
  readonly property: string;
  /** veths made first (in NS, peers in PEER) and deleted after */
  readonly veths?: readonly string[];
  /** profiles activated in this order (bridge before its ports), deactivated in the reverse */
  readonly profiles: readonly Dict[];
  readonly applied: () => Promise<void>;
  readonly takenBack: () => Promise<void>;
}

const noIp = { ipv4: null, ipv6: null };
const bridgeProfile = (id: string, dev: string, bridge: Record<string, unknown> = {}, ethernet: Record<string, unknown> = {}): Dict =>
  profile(id, 'bridge', { ifname: dev, extra: { bridge, ...(Object.keys(ethernet).length > 0 ? { '802-3-ethernet': ethernet } : {}) } });
const portProfile = (id: string, dev: string, master: string, bridgePort: Record<string, unknown> = {}): Dict =>
  profile(id, '802-3-ethernet', { ifname: dev, ...noIp, extra: { connection: { master: variant('s', master), 'slave-type': variant('s', 'bridge') }, 'bridge-port': bridgePort } });
const lan = (id: string, dev: string, ipv4: Record<string, unknown>, ipv6: Record<string, unknown> | null = null, extra: Dict = {}): Dict =>
  profile(id, '802-3-ethernet', { ifname: dev, ipv4, ...(ipv6 ? { ipv6 } : {}), extra });
const gone = async (dev: string): Promise<void> => {
  expect(await linkNames(NS)).not.toContain(dev);
};

/** A bridge row: the option set, read back from the kernel's IFLA_BR_* (centiseconds), the bridge deleted after. */
function bridgeRow(property: string, dev: string, option: Record<string, unknown>, expected: Record<string, unknown>): AppliedRow {
  return {
    property,
    profiles: [bridgeProfile(`row-${dev}`, dev, option)],
    applied: async () => expect(await bridgeData(dev)).toMatchObject(expected),
    takenBack: () => gone(dev),
  };
}

/** A row of a type that creates its link (or a veth made by the test for ethernet), with `ethernet` options. */
function typeRow(type: string, dev: string, ethernet: Record<string, unknown>): { profiles: Dict[]; veths: string[] } {
  const e = { '802-3-ethernet': ethernet };
  switch (type) {
    case 'ethernet':
      return { veths: [dev], profiles: [profile(`row-${dev}`, '802-3-ethernet', { ifname: dev, extra: e })] };
    case 'bridge':
      return { veths: [], profiles: [profile(`row-${dev}`, 'bridge', { ifname: dev, extra: e })] };
    case 'veth':
      return { veths: [], profiles: [profile(`row-${dev}`, 'veth', { ifname: dev, extra: { ...e, veth: { peer: variant('s', `${dev}p`) } } })] };
    case 'macvlan':
      return { veths: [`${dev}u`], profiles: [profile(`row-${dev}`, 'macvlan', { ifname: dev, extra: { ...e, macvlan: { parent: variant('s', `${dev}u`), mode: variant('u', 2) } } })] };
    default:
      return { veths: [], profiles: [profile(`row-${dev}`, 'vxlan', { ifname: dev, extra: { ...e, vxlan: { id: variant('u', 42), remote: variant('s', '198.51.100.2') } } })] };
  }
}

const TYPES = ['ethernet', 'bridge', 'veth', 'macvlan', 'vxlan'] as const;

/** The lines of the resolv.conf the daemon links (dns=auto is mode file on a test bus); none when there is none. */
const dnsLines = (): Promise<string[]> => resolvConfLines(join(daemon.dir, 'resolv.conf')).catch(() => []);

/** A DNS row: `profiles` on veths `veths`, read back as the resolv.conf's lines; none left after. */
function dnsRow(property: string, veths: string[], profiles: Dict[], lines: string[]): AppliedRow {
  return {
    property,
    veths,
    profiles,
    applied: async () => expect(await dnsLines()).toEqual(lines),
    takenBack: async () => expect(await dnsLines()).toEqual([]),
  };
}

const v6 = (dev: string, i: number, dns: Record<string, unknown>): Dict => lan(`row-${dev}`, dev, { method: variant('s', 'disabled') }, { ...manual([`2001:db8:${i}::10/64`]), ...dns });

const APPLIED: AppliedRow[] = [
  // NetworkManager 1.42 applies every bridge option at activation, its default for one left out.
  bridgeRow('bridge (no options: NetworkManager\'s defaults)', 'brd0', {}, { stp_state: 1, priority: 32768, forward_delay: 1500, hello_time: 200, max_age: 2000 }),
  bridgeRow('bridge.stp', 'brs0', { stp: variant('b', false) }, { stp_state: 0 }),
  bridgeRow('bridge.priority', 'brp0', { priority: variant('u', 4096) }, { priority: 4096 }),
  bridgeRow('bridge.forward-delay', 'brf0', { 'forward-delay': variant('u', 4) }, { forward_delay: 400 }),
  bridgeRow('bridge.hello-time', 'brh0', { 'hello-time': variant('u', 3) }, { hello_time: 300 }),
  bridgeRow('bridge.max-age', 'brm0', { 'max-age': variant('u', 12) }, { max_age: 1200 }),
  {
    property: 'bridge.mac-address',
    profiles: [bridgeProfile('row-brmac0', 'brmac0', { 'mac-address': variant('ay', mac('02:42:00:00:00:01')) })],
    applied: async () => expect((await linkDetails(NS, 'brmac0')).address).toBe('02:42:00:00:00:01'),
    takenBack: () => gone('brmac0'),
  },
  {
    property: 'bridge-port.priority',
    veths: ['pp0'],
    profiles: [bridgeProfile('row-brpp0', 'brpp0'), portProfile('row-pp0', 'pp0', 'brpp0', { priority: variant('u', 7) })],
    applied: async () => expect(await port('pp0')).toMatchObject({ master: 'brpp0', priority: 7 }),
    takenBack: async () => {
      expect(await port('pp0')).toBeUndefined();
      await gone('brpp0');
    },
  },
  {
    property: 'bridge-port.path-cost',
    veths: ['pc0'],
    profiles: [bridgeProfile('row-brpc0', 'brpc0'), portProfile('row-pc0', 'pc0', 'brpc0', { 'path-cost': variant('u', 77) })],
    applied: async () => expect(await port('pc0')).toMatchObject({ master: 'brpc0', cost: 77 }),
    takenBack: async () => {
      expect(await port('pc0')).toBeUndefined();
      await gone('brpc0');
    },
  },
  {
    property: 'bridge-port (no options: NetworkManager\'s defaults, priority 32 and path cost 100)',
    veths: ['pd0'],
    profiles: [bridgeProfile('row-brpd0', 'brpd0'), portProfile('row-pd0', 'pd0', 'brpd0')],
    applied: async () => expect(await port('pd0')).toMatchObject({ master: 'brpd0', priority: 32, cost: 100 }),
    takenBack: async () => {
      expect(await port('pd0')).toBeUndefined();
    },
  },
  {
    property: 'ipv4.route-table',
    veths: ['rt0'],
    profiles: [lan('row-rt0', 'rt0', { ...manual(['192.0.2.10/24'], { gateway: '192.0.2.1', routes: [{ dest: '198.51.100.0', prefix: 24 }] }), 'route-table': variant('u', 100) })],
    applied: async () => {
      const found = await routes('rt0');
      expect(found).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '192.0.2.1', table: '100', metric: 100 }));
      expect(found).toContainEqual(expect.objectContaining({ dst: '198.51.100.0/24', table: '100', metric: 100 }));
    },
    takenBack: async () => expect((await routes('rt0')).filter((r) => r.table === '100')).toEqual([]),
  },
  {
    property: 'ipv4.route-metric',
    veths: ['rm0'],
    profiles: [lan('row-rm0', 'rm0', { ...manual(['192.0.2.20/24'], { gateway: '192.0.2.1', routes: [{ dest: '198.51.100.0', prefix: 24 }, { dest: '203.0.113.0', prefix: 24, metric: 9 }] }), 'route-metric': variant('u', 333) })],
    applied: async () => {
      const found = await routes('rm0');
      expect(found).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '192.0.2.1', metric: 333 }));
      expect(found).toContainEqual(expect.objectContaining({ dst: '198.51.100.0/24', metric: 333 }));
      expect(found).toContainEqual(expect.objectContaining({ dst: '203.0.113.0/24', metric: 9 }));
    },
    takenBack: async () => expect((await routes('rm0')).filter((r) => r.metric === 333 || r.metric === 9)).toEqual([]),
  },
  {
    property: 'ipv4.route-data table attribute (in a table above 255 too)',
    veths: ['rd0'],
    profiles: [lan('row-rd0', 'rd0', {
      ...manual(['192.0.2.30/24']),
      'route-data': variant('aa{sv}', [
        { dest: variant('s', '198.51.100.0'), prefix: variant('u', 24), table: variant('u', 300) },
        { dest: variant('s', '203.0.113.0'), prefix: variant('u', 24), 'next-hop': variant('s', '192.0.2.254'), table: variant('u', 5000) },
      ]),
    })],
    applied: async () => {
      const found = await routes('rd0');
      expect(found).toContainEqual(expect.objectContaining({ dst: '198.51.100.0/24', table: '300' }));
      expect(found).toContainEqual(expect.objectContaining({ dst: '203.0.113.0/24', gateway: '192.0.2.254', table: '5000' }));
    },
    takenBack: async () => expect((await routes('rd0')).filter((r) => r.table === '300' || r.table === '5000')).toEqual([]),
  },
  {
    property: 'ipv4.routing-rules',
    veths: ['rr0'],
    profiles: [lan('row-rr0', 'rr0', {
      ...manual(['192.0.2.40/24']),
      'routing-rules': variant('aa{sv}', [
        { priority: variant('u', 500), from: variant('s', '192.0.2.0'), 'from-len': variant('y', 24), table: variant('u', 100) },
        { priority: variant('u', 501), invert: variant('b', true), to: variant('s', '203.0.113.0'), 'to-len': variant('y', 24), iifname: variant('s', 'rr0'), fwmark: variant('u', 5), fwmask: variant('u', 255), table: variant('u', 1000) },
      ]),
    })],
    applied: async () => {
      expect(await rules()).toEqual([
        expect.objectContaining({ priority: 500, src: '192.0.2.0', srclen: 24, table: '100' }),
        expect.objectContaining({ priority: 501, not: null, dst: '203.0.113.0', dstlen: 24, iif: 'rr0', fwmark: '0x5', table: '1000' }),
      ]);
    },
    takenBack: async () => expect(await rules()).toEqual([]),
  },
  {
    property: 'ipv4.never-default',
    veths: ['nd0'],
    profiles: [lan('row-nd0', 'nd0', { ...manual(['192.0.2.50/24'], { gateway: '192.0.2.1' }), 'never-default': variant('b', true) })],
    applied: async () => expect((await routes('nd0')).filter((r) => r.dst === 'default')).toEqual([]),
    takenBack: async () => expect((await routes('nd0')).filter((r) => r.dst === 'default')).toEqual([]),
  },
  {
    property: 'ipv6.route-table',
    veths: ['r6t0'],
    profiles: [lan('row-r6t0', 'r6t0', { method: variant('s', 'disabled') }, { ...manual(['2001:db8:6::10/64'], { gateway: '2001:db8:6::1', routes: [{ dest: '2001:db8:99::', prefix: 48 }] }), 'route-table': variant('u', 106) })],
    applied: async () => {
      const found = await routes('r6t0', 6);
      expect(found).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '2001:db8:6::1', table: '106' }));
      expect(found).toContainEqual(expect.objectContaining({ dst: '2001:db8:99::/48', table: '106' }));
    },
    takenBack: async () => expect((await routes('r6t0', 6)).filter((r) => r.table === '106')).toEqual([]),
  },
  {
    property: 'ipv6.route-metric',
    veths: ['r6m0'],
    profiles: [lan('row-r6m0', 'r6m0', { method: variant('s', 'disabled') }, { ...manual(['2001:db8:7::10/64'], { gateway: '2001:db8:7::1' }), 'route-metric': variant('u', 666) })],
    applied: async () => expect(await routes('r6m0', 6)).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '2001:db8:7::1', metric: 666 })),
    takenBack: async () => expect((await routes('r6m0', 6)).filter((r) => r.metric === 666)).toEqual([]),
  },
  {
    property: 'ipv6.route-data table attribute',
    veths: ['r6d0'],
    profiles: [lan('row-r6d0', 'r6d0', { method: variant('s', 'disabled') }, {
      ...manual(['2001:db8:8::10/64']),
      'route-data': variant('aa{sv}', [{ dest: variant('s', '2001:db8:98::'), prefix: variant('u', 48), table: variant('u', 600) }]),
    })],
    applied: async () => expect(await routes('r6d0', 6)).toContainEqual(expect.objectContaining({ dst: '2001:db8:98::/48', table: '600' })),
    takenBack: async () => expect((await routes('r6d0', 6)).filter((r) => r.table === '600')).toEqual([]),
  },
  {
    property: 'ipv6.routing-rules',
    veths: ['r6r0'],
    profiles: [lan('row-r6r0', 'r6r0', { method: variant('s', 'disabled') }, {
      ...manual(['2001:db8:9::10/64']),
      'routing-rules': variant('aa{sv}', [{ priority: variant('u', 600), from: variant('s', '2001:db8:9::'), 'from-len': variant('y', 64), table: variant('u', 106) }]),
    })],
    applied: async () => expect(await rules(6)).toEqual([expect.objectContaining({ priority: 600, src: '2001:db8:9::', srclen: 64, table: '106' })]),
    takenBack: async () => expect(await rules(6)).toEqual([]),
  },
  // MTU and cloned MAC on every type that activates; a link the test made gets its old values back.
  ...TYPES.map((type, i): AppliedRow => {
    const dev = `mtu${i}`;
    const { profiles, veths } = typeRow(type, dev, { mtu: variant('u', 1280) });
    return {
      property: `802-3-ethernet.mtu (${type})`,
      veths,
      profiles,
      applied: async () => expect((await linkDetails(NS, dev)).mtu).toBe(1280),
      takenBack: async () => (type === 'ethernet' ? expect((await linkDetails(NS, dev)).mtu).toBe(1500) : gone(dev)),
    };
  }),
  ...TYPES.map((type, i): AppliedRow => {
    const dev = `cm${i}`;
    const wanted = `02:42:00:00:01:0${i}`;
    const { profiles, veths } = typeRow(type, dev, { 'cloned-mac-address': variant('ay', mac(wanted)) });
    return {
      property: `802-3-ethernet.cloned-mac-address (${type})`,
      veths,
      profiles,
      applied: async () => expect((await linkDetails(NS, dev)).address).toBe(wanted),
      takenBack: async () => (type === 'ethernet' ? expect((await linkDetails(NS, dev)).address).not.toBe(wanted) : gone(dev)),
    };
  }),
  dnsRow('ipv4.dns', ['dns40'], [lan('row-dns40', 'dns40', { ...manual(['192.0.2.60/24']), dns: dnsV4(['192.0.2.53', '192.0.2.54']) })], ['nameserver 192.0.2.53', 'nameserver 192.0.2.54']),
  dnsRow('ipv4.dns-search', ['dns41'], [lan('row-dns41', 'dns41', { ...manual(['192.0.2.61/24']), 'dns-search': variant('as', ['a.example', 'b.example']) })], ['search a.example b.example']),
  // The second profile's lower dns-priority puts its server first; without it, the first one's would be.
  dnsRow('ipv4.dns-priority', ['dns42', 'dns43'], [
    lan('row-dns42', 'dns42', { ...manual(['192.0.2.62/24']), dns: dnsV4(['192.0.2.53']) }),
    lan('row-dns43', 'dns43', { ...manual(['198.51.100.63/24']), dns: dnsV4(['198.51.100.53']), 'dns-priority': variant('i', 10) }),
  ], ['nameserver 198.51.100.53', 'nameserver 192.0.2.53']),
  dnsRow('ipv6.dns', ['dns60'], [v6('dns60', 60, { dns: dnsV6(['2001:db8:60::53']) })], ['nameserver 2001:db8:60::53']),
  dnsRow('ipv6.dns-search', ['dns61'], [v6('dns61', 61, { 'dns-search': variant('as', ['six.example']) })], ['search six.example']),
  dnsRow('ipv6.dns-priority', ['dns62', 'dns63'], [
    v6('dns62', 62, { dns: dnsV6(['2001:db8:62::53']) }),
    v6('dns63', 63, { dns: dnsV6(['2001:db8:63::53']), 'dns-priority': variant('i', 10) }),
  ], ['nameserver 2001:db8:63::53', 'nameserver 2001:db8:62::53']),
  {
    property: 'macvlan.tap',
    veths: ['mtpu'],
    profiles: [profile('row-mtp0', 'macvlan', { ifname: 'mtp0', extra: { macvlan: { parent: variant('s', 'mtpu'), mode: variant('u', 2), tap: variant('b', true) } } })],
    applied: async () => expect((await linkDetails(NS, 'mtp0')).linkinfo?.info_kind).toBe('macvtap'),
    takenBack: () => gone('mtp0'),
  },
];

describe('a property the daemon accepts is applied on activation and taken back on deactivation', () => {
  for (const row of APPLIED) {
    it(`${row.property}: read back from the kernel, then gone or restored`, async () => {
      for (const name of row.veths ?? []) await veth(name);
      const paths: string[] = [];
      const actives: string[] = [];
      try {
        for (const dict of row.profiles) paths.push(await addProfile(client, dict));
        for (const path of paths) actives.push(await activate(client, path));
        await row.applied();
        for (const active of [...actives].reverse()) await deactivate(client, active);
        actives.length = 0;
        await row.takenBack();
      } finally {
        for (const active of [...actives].reverse()) await deactivate(client, active).catch(() => undefined);
        for (const path of paths) await client.call(path, CONNECTION_IFACE, 'Delete').catch(() => undefined);
        for (const name of row.veths ?? []) await run('ip', ['-n', NS, 'link', 'del', name]);
      }
    });
  }

  it('bridge options on a bridge that exists already are restored on deactivation', async () => {
    await ip('-n', NS, 'link', 'add', 'brx0', 'type', 'bridge', 'stp_state', '0', 'priority', '1000', 'forward_delay', '1000');
    await deviceOnBus(client, NS, 'brx0');
    const path = await addProfile(client, bridgeProfile('row-brx0', 'brx0', { priority: variant('u', 8192), 'hello-time': variant('u', 4) }));
    try {
      const active = await activate(client, path);
      expect(await bridgeData('brx0')).toMatchObject({ stp_state: 1, priority: 8192, forward_delay: 1500, hello_time: 400, max_age: 2000 });
      await deactivate(client, active);
      expect(await bridgeData('brx0')).toMatchObject({ stp_state: 0, priority: 1000, forward_delay: 1000, hello_time: 200, max_age: 2000 });
    } finally {
      await client.call(path, CONNECTION_IFACE, 'Delete').catch(() => undefined);
      await run('ip', ['-n', NS, 'link', 'del', 'brx0']);
    }
  });

  it('bridge-port options on a port of a bridge that stays are restored when the port connection goes', async () => {
    await ip('-n', NS, 'link', 'add', 'bry0', 'type', 'bridge');
    await veth('py0');
    await ip('-n', NS, 'link', 'set', 'py0', 'master', 'bry0');
    await ip('-n', NS, 'link', 'set', 'dev', 'py0', 'type', 'bridge_slave', 'cost', '5', 'priority', '9');
    const path = await addProfile(client, portProfile('row-py0', 'py0', 'bry0', { 'path-cost': variant('u', 55), priority: variant('u', 3) }));
    try {
      const active = await activate(client, path);
      expect(await port('py0')).toMatchObject({ master: 'bry0', cost: 55, priority: 3 });
      await deactivate(client, active);
      expect(await port('py0')).toMatchObject({ master: 'bry0', cost: 5, priority: 9 });
    } finally {
      await client.call(path, CONNECTION_IFACE, 'Delete').catch(() => undefined);
      await run('ip', ['-n', NS, 'link', 'del', 'py0']);
      await run('ip', ['-n', NS, 'link', 'del', 'bry0']);
    }
  });
});

describe('802-3-ethernet.mac-address binds a profile to the link with that MAC', () => {
  it('activates on the link with that MAC; on another it is IncompatibleConnection and nothing changes', async () => {
    await veth('bm0');
    await ip('-n', NS, 'link', 'set', 'bm0', 'address', '02:42:00:00:02:01');
    const right = await addProfile(client, profile('row-bm0', '802-3-ethernet', { ifname: 'bm0', extra: { '802-3-ethernet': { 'mac-address': variant('ay', mac('02:42:00:00:02:01')), mtu: variant('u', 1300) } } }));
    const wrong = await addProfile(client, profile('row-bm0-other', '802-3-ethernet', { ifname: 'bm0', extra: { '802-3-ethernet': { 'mac-address': variant('ay', mac('02:42:00:00:02:99')), mtu: variant('u', 1400) } } }));
    try {
      const e = await errorOf(activate(client, wrong));
      expect(e.type).toBe('org.netaudit1.Error.IncompatibleConnection');
      expect(e.text).toContain('802-3-ethernet.mac-address');
      expect((await linkDetails(NS, 'bm0')).mtu).toBe(1500);
      const active = await activate(client, right);
      expect((await linkDetails(NS, 'bm0')).mtu).toBe(1300);
      await deactivate(client, active);
      expect((await linkDetails(NS, 'bm0')).mtu).toBe(1500);
    } finally {
      for (const p of [right, wrong]) await client.call(p, CONNECTION_IFACE, 'Delete').catch(() => undefined);
      await run('ip', ['-n', NS, 'link', 'del', 'bm0']);
    }
  });

  it('autoconnect skips a profile bound to another MAC, and connection.autoconnect-priority picks among the others', async () => {
    const auto = (id: string, dev: string, priority: number, boundTo?: string): Dict =>
      profile(id, '802-3-ethernet', {
        ifname: dev,
        autoconnect: true,
        extra: {
          connection: { 'autoconnect-priority': variant('i', priority) },
          ...(boundTo ? { '802-3-ethernet': { 'mac-address': variant('ay', mac(boundTo)) } } : {}),
        },
      });
    // On ac0: the bound profile has the highest priority but another MAC; of the two others the higher wins.
    const paths = [
      await addProfile(client, auto('row-ac-bound', 'ac0', 50, '02:42:00:00:03:99')),
      await addProfile(client, auto('row-ac-low', 'ac0', 1)),
      await addProfile(client, auto('row-ac-high', 'ac0', 9)),
      // ac1 comes after ac0: once its profile is active, every autoconnect attempt on ac0 is done.
      await addProfile(client, auto('row-ac-last', 'ac1', 0)),
    ];
    try {
      await veth('ac0');
      await veth('ac1');
      const idsActive = async (): Promise<string[]> =>
        Promise.all((await activeConnections(client)).map(async (a) => (await client.getProperty(a, 'org.netaudit1.Connection.Active', 'Id')) as string));
      await waitFor(async () => (await idsActive()).includes('row-ac-last'), { timeoutMs: 10_000, what: 'the autoconnect of ac1' });
      const ids = await idsActive();
      expect(ids).toContain('row-ac-high');
      expect(ids).not.toContain('row-ac-low');
      expect(ids).not.toContain('row-ac-bound');
    } finally {
      for (const a of await activeConnections(client)) await deactivate(client, a).catch(() => undefined);
      for (const p of paths) await client.call(p, CONNECTION_IFACE, 'Delete').catch(() => undefined);
      await run('ip', ['-n', NS, 'link', 'del', 'ac0']);
      await run('ip', ['-n', NS, 'link', 'del', 'ac1']);
    }
  });
});

interface RefusedRow {
  readonly property: string;
  readonly error: 'NotSupported' | 'InvalidArgument';
  readonly dict: Dict;
}

const REFUSED: RefusedRow[] = [
  { property: 'connection.zone', error: 'NotSupported', dict: profile('ref-zone', 'bridge', { ifname: 'rz0', extra: { connection: { zone: variant('s', 'public') } } }) },
  { property: 'connection.permissions', error: 'NotSupported', dict: profile('ref-perm', 'bridge', { ifname: 'rp0', extra: { connection: { permissions: variant('as', ['user:alice:']) } } }) },
  { property: '802-3-ethernet.mac-address', error: 'NotSupported', dict: profile('ref-mac', 'bridge', { ifname: 'rm0', extra: { '802-3-ethernet': { 'mac-address': variant('ay', mac('02:42:00:00:04:01')) } } }) },
  { property: 'macvlan.promiscuous', error: 'InvalidArgument', dict: profile('ref-promisc', 'macvlan', { ifname: 'rpm0', extra: { macvlan: { parent: variant('s', 'lo'), mode: variant('u', 2), promiscuous: variant('b', false) } } }) },
  { property: 'ipv4.routing-rules', error: 'InvalidArgument', dict: lan('ref-rule', 'rr9', { ...manual(['192.0.2.9/24']), 'routing-rules': variant('aa{sv}', [{ from: variant('s', '192.0.2.0'), table: variant('u', 100) }]) }) },
  // Nothing taken from router advertisements but the kernel's SLAAC and their DNS, and DHCPv6 sends
  // no host name (docs/dhcp.md, docs/dhcp6.md): ipv6.ignore-auto-dns is applied, with a real router
  // advertiser in slaac.test.ts, and ipv6.dhcp-timeout with a real DHCPv6 server in dhcp6.test.ts.
  ...['ignore-auto-routes', 'dhcp-send-hostname'].map((prop) => ({
    property: `ipv6.${prop}`,
    error: 'InvalidArgument' as const,
    dict: profile(`ref-v6-${prop}`, 'bridge', { ifname: 'rv6', ipv6: { method: variant('s', 'auto'), [prop]: variant('b', true) } }),
  })),
  { property: 'ipv6.dhcp-hostname', error: 'InvalidArgument', dict: profile('ref-v6-host', 'bridge', { ifname: 'rv6', ipv6: { method: variant('s', 'auto'), 'dhcp-hostname': variant('s', 'box') } }) },
];

describe('a property the daemon cannot apply is refused when saved, by name', () => {
  for (const row of REFUSED) {
    it(`${row.property}: AddConnection is ${row.error} naming it, and no profile is stored`, async () => {
      const before = await client.call('/org/netaudit1/Settings', 'org.netaudit1.Settings', 'ListConnections');
      const e = await errorOf(addProfile(client, row.dict));
      expect(e.type).toBe(`org.netaudit1.Error.${row.error}`);
      expect(e.text).toContain(row.property);
      expect(await client.call('/org/netaudit1/Settings', 'org.netaudit1.Settings', 'ListConnections')).toEqual(before);
    });
  }
});

// The DHCPv4 properties (ipv4.ignore-auto-dns, ignore-auto-routes, may-fail, never-default, dad-timeout,
// dhcp-timeout, dhcp-client-id, dhcp-hostname, dhcp-send-hostname) are applied with a real DHCP
// server in dhcp.test.ts; the IPv6 ones of router advertisements (ignore-auto-dns, ip6-privacy,
// addr-gen-mode, may-fail with ra-timeout, never-default) with a real router advertiser in slaac.test.ts.
