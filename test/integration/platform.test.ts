// RtnetlinkPlatform's changes against the real kernel: creating links (bridge, veth, macvlan, vxlan,
// dummy, vlan), changing them (MTU, address, up/down, master), adding and removing addresses and
// routes, and the kernel's refusals as KernelRefusals. The compiled platform (dist/, `npm run
// build` first) runs in a small script inside a network namespace made for this file; what it did
// is then read back with `ip -n NS -j …`. The root namespace's links are never touched.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../helpers/exec.js';
import { createNetns, deleteNetns, ifindexOf, ip, link, linkNames } from '../helpers/netns.js';
import { repoPath } from '../helpers/repo.js';

const NS = `na-plat-${process.pid}`;
const PLATFORM_JS = repoPath('dist', 'core', 'platform', 'rtnetlink-platform.js');

/** Opens the platform, makes the calls read from standard input one after the other, prints their outcomes as JSON. */
const RUNNER = `
import { RtnetlinkPlatform } from ${JSON.stringify(pathToFileURL(PLATFORM_JS).href)};
let input = '';
for await (const chunk of process.stdin) input += chunk;
const say = (text) => process.stderr.write(text + '\\n');
const log = { err: say, warn: say, info() {}, debug() {}, trace() {} };
const platform = await RtnetlinkPlatform.open({ log });
const announced = [];
platform.on('link-added', (l) => announced.push(l.ifindex));
const results = [];
for (const { method, args } of JSON.parse(input)) {
  try {
    const value = (await platform[method](...args)) ?? null;
    const result = { ok: true, value };
    if (method === 'createLink') {
      // checked as the promise resolves: the contract says both happened before
      result.announced = announced.includes(value.ifindex);
      result.listed = (await platform.links()).some((l) => l.ifindex === value.ifindex && l.name === value.name);
    }
    results.push(result);
  } catch (e) {
    results.push({ ok: false, name: e.name, code: e.code ?? null, detail: e.detail ?? null, message: e.message });
  }
}
await platform.close();
process.stdout.write(JSON.stringify(results));
`;

interface Done {
  ok: true;
  value: Record<string, unknown> | null;
  announced?: boolean;
  listed?: boolean;
}
interface Refused {
  ok: false;
  name: string;
  code: string | null;
  detail: string | null;
  message: string;
}
type Outcome = Done | Refused;
type Call = { method: string; args: unknown[] };

let dir: string;
let runner: string;

/** Runs `calls` through RtnetlinkPlatform inside the namespace; one outcome for each. */
async function platform(...calls: Call[]): Promise<Outcome[]> {
  const r = await run('ip', ['netns', 'exec', NS, process.execPath, runner], { input: JSON.stringify(calls) });
  if (r.code !== 0) throw new Error(`the platform script failed (${r.code}): ${r.stderr}`);
  const outcomes = JSON.parse(r.stdout) as Outcome[];
  expect(outcomes).toHaveLength(calls.length);
  return outcomes;
}

/** One call that must succeed: its value. */
async function done(method: string, ...args: unknown[]): Promise<Done> {
  const [outcome] = await platform({ method, args });
  if (!outcome!.ok) throw new Error(`${method} was refused: ${outcome!.message}`);
  return outcome!;
}

/** One call that must be refused: the refusal. */
async function refused(method: string, ...args: unknown[]): Promise<Refused> {
  const [outcome] = await platform({ method, args });
  if (outcome!.ok) throw new Error(`${method} succeeded: ${JSON.stringify(outcome!.value)}`);
  expect(outcome!.name).toBe('KernelRefusal');
  return outcome!;
}

/** What `ip` gave as the kernel's extended-ack text ("Error: TEXT."), or null when it gave none. */
function ipExtAck(stderr: string): string | null {
  const m = /^Error: (.*)\.$/m.exec(stderr.trim());
  return m ? m[1]! : null;
}

// `ip -j -d link` fields this file reads
interface IpLinkDetail {
  ifindex: number;
  ifname: string;
  link?: string;
  master?: string;
  flags: string[];
  mtu: number;
  address: string;
  linkinfo?: { info_kind: string; info_data?: Record<string, unknown> };
}

async function detail(name: string): Promise<IpLinkDetail> {
  const [found] = JSON.parse(await ip('-n', NS, '-d', '-j', 'link', 'show', 'dev', name)) as IpLinkDetail[];
  return found!;
}

interface IpAddrInfo { family: string; local: string; prefixlen: number }
async function addressesOf(name: string): Promise<IpAddrInfo[]> {
  const [found] = JSON.parse(await ip('-n', NS, '-j', 'addr', 'show', 'dev', name)) as Array<{ addr_info: IpAddrInfo[] }>;
  return found!.addr_info.map(({ family, local, prefixlen }) => ({ family, local, prefixlen }));
}

interface IpRoute { dst: string; gateway?: string; dev: string; protocol?: string; metric?: number; scope?: string }
async function routes(family: 4 | 6): Promise<IpRoute[]> {
  return JSON.parse(await ip('-n', NS, `-${family}`, '-j', 'route', 'show', 'table', 'main')) as IpRoute[];
}

beforeAll(async () => {
  if (!existsSync(PLATFORM_JS)) throw new Error(`${PLATFORM_JS} is missing: run \`npm run build\` first`);
  dir = await mkdtemp(join(tmpdir(), 'na-plat-'));
  runner = join(dir, 'platform.mjs');
  await writeFile(runner, RUNNER);
  await createNetns(NS);
  await ip('-n', NS, 'link', 'set', 'lo', 'up');
});

afterAll(async () => {
  await deleteNetns(NS);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('createLink', () => {
  it('creates a bridge and resolves with it, known and announced before it resolves', async () => {
    const r = await done('createLink', { kind: 'bridge', name: 'br0' });
    expect(r.value).toMatchObject({ name: 'br0', kind: 'bridge', ifindex: await ifindexOf(NS, 'br0'), arphrd: 1, up: false, master: null });
    expect([r.announced, r.listed]).toEqual([true, true]);
    expect((await detail('br0')).linkinfo?.info_kind).toBe('bridge');
  });

  it('creates a veth pair: both ends appear, and it resolves with the end asked for', async () => {
    const r = await done('createLink', { kind: 'veth', name: 'v0', peer: 'v1' });
    expect(r.value).toMatchObject({ name: 'v0', kind: 'veth', ifindex: await ifindexOf(NS, 'v0') });
    expect(await linkNames(NS)).toEqual(expect.arrayContaining(['v0', 'v1']));
    expect((await detail('v1')).link).toBe('v0');
  });

  it('creates a macvlan on a veth in the mode asked for', async () => {
    await done('createLink', { kind: 'veth', name: 'w0', peer: 'w1' });
    const parent = await ifindexOf(NS, 'w0');
    const r = await done('createLink', { kind: 'macvlan', name: 'mv0', parent, mode: 4 });
    expect(r.value).toMatchObject({ name: 'mv0', kind: 'macvlan', ifindex: await ifindexOf(NS, 'mv0') });
    const mv0 = await detail('mv0');
    expect(mv0.link).toBe('w0');
    expect(mv0.linkinfo).toMatchObject({ info_kind: 'macvlan', info_data: { mode: 'bridge' } });
  });

  it('creates a vxlan with its id, remote and destination port', async () => {
    const r = await done('createLink', { kind: 'vxlan', name: 'vx0', id: 42, parent: null, local: null, remote: '198.51.100.2', port: 4789 });
    expect(r.value).toMatchObject({ name: 'vx0', kind: 'vxlan', ifindex: await ifindexOf(NS, 'vx0') });
    expect((await detail('vx0')).linkinfo).toMatchObject({ info_kind: 'vxlan', info_data: { id: 42, remote: '198.51.100.2', port: 4789 } });
  });

  it('creates an IPv6 vxlan over a link, with local and remote', async () => {
    const parent = await ifindexOf(NS, 'w0');
    await done('createLink', { kind: 'vxlan', name: 'vx6', id: 7, parent, local: '2001:db8::1', remote: '2001:db8::2', port: 8472 });
    expect((await detail('vx6')).linkinfo).toMatchObject({
      info_kind: 'vxlan', info_data: { id: 7, link: 'w0', local6: '2001:db8::1', remote6: '2001:db8::2', port: 8472 },
    });
  });

  // This kernel may have no dummy or 8021q driver at all: then `ip` fails too, and the platform must say EOPNOTSUPP.
  for (const { kind, spec, probe } of [
    { kind: 'dummy', spec: { kind: 'dummy', name: 'd0' }, probe: ['link', 'add', 'dprobe', 'type', 'dummy'] },
    { kind: 'vlan', spec: { kind: 'vlan', name: 'w0.5', id: 5 }, probe: ['link', 'add', 'link', 'w0', 'name', 'vprobe', 'type', 'vlan', 'id', '6'] },
  ]) {
    it(`creates a ${kind} link where the kernel has the driver, and is refused with EOPNOTSUPP where it has not`, async () => {
      const withIp = await run('ip', ['-n', NS, ...probe]);
      const parent = await ifindexOf(NS, 'w0');
      const [outcome] = await platform({ method: 'createLink', args: [{ ...spec, ...(kind === 'vlan' ? { parent } : {}) }] });
      if (withIp.code === 0) {
        await ip('-n', NS, 'link', 'del', probe[2] === 'link' ? 'vprobe' : 'dprobe');
        expect(outcome!.ok).toBe(true);
        expect((outcome as Done).value).toMatchObject({ name: spec.name, kind, ifindex: await ifindexOf(NS, spec.name) });
        expect((await detail(spec.name)).linkinfo?.info_kind).toBe(kind);
        if (kind === 'vlan') expect((await detail(spec.name)).linkinfo?.info_data).toMatchObject({ id: 5 });
      } else {
        expect(outcome).toMatchObject({ ok: false, name: 'KernelRefusal', code: 'EOPNOTSUPP' });
        expect(await linkNames(NS)).not.toContain(spec.name);
      }
    });
  }

  it('is refused with EEXIST for a name that is taken, and leaves the link as it was', async () => {
    const before = await link(NS, 'br0');
    const r = await refused('createLink', { kind: 'bridge', name: 'br0' });
    expect(r.code).toBe('EEXIST');
    expect(await link(NS, 'br0')).toEqual(before);
  });

  it('is refused with ENODEV for a macvlan on a missing parent', async () => {
    expect((await refused('createLink', { kind: 'macvlan', name: 'mv9', parent: 99999, mode: 4 })).code).toBe('ENODEV');
    expect(await linkNames(NS)).not.toContain('mv9');
  });
});

describe('setLink', () => {
  it('sets the MTU', async () => {
    await done('setLink', await ifindexOf(NS, 'v0'), { mtu: 1400 });
    expect((await link(NS, 'v0')).mtu).toBe(1400);
  });

  it('is refused with EINVAL and the kernel\'s text for an MTU the link cannot take, which stays as it was', async () => {
    const br0 = await ifindexOf(NS, 'br0');
    const withIp = await run('ip', ['-n', NS, 'link', 'set', 'dev', 'br0', 'mtu', '70000']);
    expect(withIp.code).not.toBe(0);
    const r = await refused('setLink', br0, { mtu: 70000 });
    expect(r.code).toBe('EINVAL');
    expect(r.detail).toBe(ipExtAck(withIp.stderr));
    expect(r.message).toContain(`set link ${br0}`);
    expect((await link(NS, 'br0')).mtu).toBe(1500);
    const low = await refused('setLink', br0, { mtu: 60 });
    expect(low.code).toBe('EINVAL');
    expect(low.detail === null || /mtu/i.test(low.detail)).toBe(true);
  });

  it('sets the hardware address', async () => {
    await done('setLink', await ifindexOf(NS, 'v0'), { hwAddress: '02:00:5E:00:53:01' });
    expect((await link(NS, 'v0')).address).toBe('02:00:5e:00:53:01');
  });

  it('takes a link up and down', async () => {
    const v0 = await ifindexOf(NS, 'v0');
    await done('setLink', v0, { up: true });
    expect((await link(NS, 'v0')).flags).toContain('UP');
    await done('setLink', v0, { up: false });
    expect((await link(NS, 'v0')).flags).not.toContain('UP');
  });

  it('makes a link a port of a bridge and takes it out again with master 0', async () => {
    const [v1, br0] = [await ifindexOf(NS, 'v1'), await ifindexOf(NS, 'br0')];
    await done('setLink', v1, { master: br0 });
    expect((await detail('v1')).master).toBe('br0');
    await done('setLink', v1, { master: 0 });
    expect((await detail('v1')).master).toBeUndefined();
  });

  it('changes several things in one request', async () => {
    const v1 = await ifindexOf(NS, 'v1');
    await done('setLink', v1, { mtu: 1280, up: true, hwAddress: '02:00:5e:00:53:02' });
    expect(await link(NS, 'v1')).toMatchObject({ mtu: 1280, address: '02:00:5e:00:53:02', flags: expect.arrayContaining(['UP']) });
  });

  it('is refused with ENODEV for a missing link', async () => {
    expect((await refused('setLink', 99999, { up: true })).code).toBe('ENODEV');
  });
});

describe('addresses', () => {
  it('adds and deletes an IPv4 address; a duplicate is EEXIST, a missing one EADDRNOTAVAIL', async () => {
    const a = { ifindex: await ifindexOf(NS, 'w1'), family: 4, address: '192.0.2.10', prefix: 24 };
    const [added, again] = await platform({ method: 'addAddress', args: [a] }, { method: 'addAddress', args: [a] });
    expect(added).toMatchObject({ ok: true });
    expect(again).toMatchObject({ ok: false, name: 'KernelRefusal', code: 'EEXIST' });
    expect(await addressesOf('w1')).toContainEqual({ family: 'inet', local: '192.0.2.10', prefixlen: 24 });
    const [deleted, missing] = await platform({ method: 'deleteAddress', args: [a] }, { method: 'deleteAddress', args: [a] });
    expect(deleted).toMatchObject({ ok: true });
    expect(missing).toMatchObject({ ok: false, code: 'EADDRNOTAVAIL' });
    expect((await addressesOf('w1')).filter((x) => x.family === 'inet')).toEqual([]);
  });

  it('adds and deletes an IPv6 address; a duplicate is EEXIST, a missing one EADDRNOTAVAIL', async () => {
    const a = { ifindex: await ifindexOf(NS, 'w1'), family: 6, address: '2001:db8:5::10', prefix: 64 };
    await done('addAddress', a);
    expect((await refused('addAddress', a)).code).toBe('EEXIST');
    expect(await addressesOf('w1')).toContainEqual({ family: 'inet6', local: '2001:db8:5::10', prefixlen: 64 });
    await done('deleteAddress', a);
    expect(await addressesOf('w1')).not.toContainEqual(expect.objectContaining({ local: '2001:db8:5::10' }));
    expect((await refused('deleteAddress', a)).code).toBe('EADDRNOTAVAIL');
  });
});

describe('routes', () => {
  let w0: number;
  const via = (over: Record<string, unknown>) => ({ family: 4, gateway: '192.0.2.254', ifindex: w0, metric: 0, ...over });

  beforeAll(async () => {
    // routes through a gateway need a link that is up, with an address on the gateway's subnet
    await ip('-n', NS, 'link', 'set', 'w1', 'up');
    await ip('-n', NS, 'link', 'set', 'w0', 'up');
    await ip('-n', NS, 'addr', 'add', '192.0.2.1/24', 'dev', 'w0');
    await ip('-n', NS, 'addr', 'add', '2001:db8:1::1/64', 'dev', 'w0', 'nodad');
    w0 = await ifindexOf(NS, 'w0');
  });

  it('adds a route through a gateway and a default route, static, in the main table; deletes them', async () => {
    const net = via({ dest: '203.0.113.0', prefix: 24, metric: 10 });
    const def = via({ dest: '0.0.0.0', prefix: 0 });
    await done('addRoute', net);
    await done('addRoute', def);
    const added = await routes(4);
    expect(added).toContainEqual(expect.objectContaining({ dst: '203.0.113.0/24', gateway: '192.0.2.254', dev: 'w0', protocol: 'static', metric: 10 }));
    expect(added).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '192.0.2.254', dev: 'w0', protocol: 'static' }));
    expect((await refused('addRoute', net)).code).toBe('EEXIST');
    await done('deleteRoute', net);
    await done('deleteRoute', def);
    const left = await routes(4);
    expect(left.filter((r) => r.protocol === 'static')).toEqual([]);
    expect(left).toContainEqual(expect.objectContaining({ dst: '192.0.2.0/24', protocol: 'kernel' })); // the subnet's own route stays
    expect((await refused('deleteRoute', net)).code).toBe('ESRCH');
  });

  it('adds a directly connected route with scope link', async () => {
    const direct = { family: 4, dest: '198.18.0.0', prefix: 15, gateway: null, ifindex: w0, metric: 5 };
    await done('addRoute', direct);
    expect(await routes(4)).toContainEqual(expect.objectContaining({ dst: '198.18.0.0/15', dev: 'w0', scope: 'link', protocol: 'static', metric: 5 }));
    await done('deleteRoute', direct);
    expect(await routes(4)).not.toContainEqual(expect.objectContaining({ dst: '198.18.0.0/15' }));
  });

  it('adds and deletes IPv6 routes, the default one through a link-local gateway too', async () => {
    const net = { family: 6, dest: '2001:db8:2::', prefix: 48, gateway: '2001:db8:1::fe', ifindex: w0, metric: 100 };
    // IPv6 has no metric 0: the kernel makes it 1024, and a delete with metric 0 matches any metric
    const def = { family: 6, dest: '::', prefix: 0, gateway: 'fe80::1', ifindex: w0, metric: 0 };
    await done('addRoute', net);
    await done('addRoute', def);
    const added = await routes(6);
    expect(added).toContainEqual(expect.objectContaining({ dst: '2001:db8:2::/48', gateway: '2001:db8:1::fe', dev: 'w0', protocol: 'static', metric: 100 }));
    expect(added).toContainEqual(expect.objectContaining({ dst: 'default', gateway: 'fe80::1', dev: 'w0', protocol: 'static', metric: 1024 }));
    expect((await refused('addRoute', net)).code).toBe('EEXIST');
    await done('deleteRoute', net);
    await done('deleteRoute', def);
    expect((await routes(6)).filter((r) => r.protocol === 'static')).toEqual([]);
    expect((await refused('deleteRoute', def)).code).toBe('ESRCH');
  });
});

describe('deleteLink', () => {
  it('deletes a created link, a veth with its peer', async () => {
    await done('deleteLink', await ifindexOf(NS, 'v0'));
    const names = await linkNames(NS);
    expect(names).not.toContain('v0');
    expect(names).not.toContain('v1');
  });
});
