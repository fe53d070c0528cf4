// Changes made behind the daemon's back (docs/external-changes.md): links, addresses, routes and
// rules changed with ip and bridge in the daemon's namespace are recorded with origin external,
// once per request, with before/after as ip -j names them, and attributed to the sending
// process when the kernel names its socket and the process still holds it: exactly for a
// long-lived `ip -batch` run as a known uid, by port id alone for a process already gone, and
// not at all (attribution none) for the events the kernel sends without a port id. The daemon's
// own changes are never external. Everything runs in namespaces made for this file.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestBus } from '../helpers/bus.js';
import { startBus } from '../helpers/bus.js';
import type { TestClient } from '../helpers/client.js';
import { connect, variant } from '../helpers/client.js';
import type { TestDaemon } from '../helpers/daemon.js';
import { startDaemon } from '../helpers/daemon.js';
import { activate, addProfile, deactivate, profile } from '../helpers/activation.js';
import { createNetns, deleteNetns, ifindexOf, ip } from '../helpers/netns.js';
import { journalEntries, logAuditLines, AuditLogReader, ausearchNow, auditValues } from '../helpers/readers.js';
import { ensureAuditd, ensureJournald } from '../helpers/system-services.js';
import { run } from '../helpers/exec.js';
import { waitFor } from '../helpers/wait.js';

const NS = `na-ext-${process.pid}`;
const PEER = `${NS}-p`;
const IP = realpathSync('/usr/bin/ip') === realpathSync('/usr/sbin/ip') ? realpathSync('/usr/sbin/ip') : realpathSync('/usr/bin/ip');

let bus: TestBus;
let daemon: TestDaemon;
let client: TestClient;
let since: string;
let auditSince: [string, string];

type Rec = Record<string, unknown>;
const external = async (): Promise<Rec[]> => (await daemon.trail()).filter((r) => r['origin'] === 'external');

/** Waits until the external records number `count` more than `before`, then a little longer to see that no more come. */
async function newExternal(before: number, count: number): Promise<Rec[]> {
  const found = await waitFor(async () => {
    const all = await external();
    return all.length >= before + count ? all.slice(before) : null;
  }, { timeoutMs: 5000, what: `${count} external record(s)` });
  await new Promise((resolve) => setTimeout(resolve, 400));
  const all = await external();
  expect(all.slice(before)).toHaveLength(found.length);
  return found;
}

/** A long-lived `ip -batch -` (one netlink socket for all its commands) in the daemon's namespace, as uid 1001 with CAP_NET_ADMIN. */
class IpBatch {
  private readonly child: ChildProcessWithoutNullStreams;
  constructor() {
    this.child = spawn('ip', ['netns', 'exec', NS, 'setpriv', '--reuid=1001', '--regid=1001', '--clear-groups', '--inh-caps=+net_admin', '--ambient-caps=+net_admin', 'ip', '-force', '-batch', '-']);
    this.child.stderr.setEncoding('utf8');
  }
  get pid(): number {
    return this.child.pid!;
  }
  send(command: string): void {
    this.child.stdin.write(`${command}\n`);
  }
  async close(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin.end();
    await exited;
  }
}

/** The pid of the `ip` process under setpriv and ip netns exec (each execs the next: the same pid). */
const batchPid = (b: IpBatch): number => b.pid;

beforeAll(async () => {
  await createNetns(NS, PEER);
  await ip('-n', NS, 'link', 'set', 'lo', 'up');
  await ip('-n', NS, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v0p', 'netns', PEER);
  await ip('-n', NS, 'link', 'set', 'v0', 'up');
  await ensureJournald();
  await ensureAuditd();
  since = new Date(Date.now() - 1000).toISOString().replace('T', ' ').slice(0, 19);
  auditSince = await ausearchNow();
  bus = await startBus();
  daemon = await startDaemon(bus, { netns: NS, config: { audit: { backends: 'libaudit,journal,log,file' } } });
  client = await connect(bus.address);
}, 60_000);

afterAll(async () => {
  client?.close();
  await bus?.stop();
  await deleteNetns(NS, PEER);
});

describe('a long-lived process with its own socket, as uid 1001', () => {
  let batch: IpBatch;
  beforeAll(() => {
    batch = new IpBatch();
  });
  afterAll(async () => {
    await batch.close();
  });

  it('an IPv4 address: one address-add, attributed exactly (pid, uid, exe, comm, portid), in all four backends', async () => {
    const before = (await external()).length;
    batch.send('address add 192.0.2.99/24 dev v0');
    const [record] = await newExternal(before, 1);
    const v0 = await ifindexOf(NS, 'v0');
    expect(record).toMatchObject({
      op: 'address-add', origin: 'external', iface: 'v0', ifindex: v0, result: 'success',
      after: { ifname: 'v0', family: 'inet', local: '192.0.2.99', prefixlen: 24 },
      pid: batchPid(batch), uid: 1001,
      actor: { attribution: 'netlink-portid', portid: batchPid(batch), exe: IP, comm: 'ip' },
    });
    expect(record).not.toHaveProperty('before');
    // The log line, the journal and the kernel audit log say the same.
    const line = logAuditLines(daemon.log()).find((l) => l.includes('op="address-add"'))!;
    expect(line).toContain('origin="external"');
    expect(line).toContain(`pid=${batchPid(batch)} uid=1001`);
    const entries = await waitFor(async () => {
      const e = await journalEntries(since, [`NETAUDIT_BOOT=${record!['boot'] as string}`, 'NETAUDIT_OP=address-add']);
      return e.length > 0 ? e : null;
    }, { timeoutMs: 15_000, what: 'the journal entry' });
    expect(entries[0]).toMatchObject({ NETAUDIT_ORIGIN: 'external', NETAUDIT_CALLER_PID: String(batchPid(batch)), NETAUDIT_CALLER_UID: '1001' });
    expect(JSON.parse(entries[0]!['NETAUDIT_AFTER'] as string)).toMatchObject({ local: '192.0.2.99' });
    const reader = new AuditLogReader(() => daemon.pid, () => auditSince);
    const audit = await waitFor(async () => {
      const r = (await reader.raw()).filter((x) => auditValues(x, 'op').includes('address-add'));
      return r.length > 0 ? r : null;
    }, { timeoutMs: 15_000, what: 'the USYS_CONFIG record' });
    expect(auditValues(audit[0]!, 'origin')).toEqual(['external']);
    expect(auditValues(audit[0]!, 'attribution')).toEqual(['"netlink-portid"']);
    expect(auditValues(audit[0]!, 'caller_pid')).toEqual([String(batchPid(batch))]);
  });

  it('a route and a rule: one record each, attributed', async () => {
    const before = (await external()).length;
    batch.send('route add 198.51.100.0/24 via 192.0.2.1 dev v0');
    const [route] = await newExternal(before, 1);
    expect(route).toMatchObject({ op: 'route-add', after: { dst: '198.51.100.0/24', gateway: '192.0.2.1', dev: 'v0', table: 'main' }, pid: batchPid(batch), uid: 1001 });
    batch.send('rule add from 198.51.100.7 table 100 priority 1234');
    const [rule] = await newExternal(before + 1, 1);
    expect(rule).toMatchObject({ op: 'rule-add', after: { priority: 1234, src: '198.51.100.7', table: '100' }, pid: batchPid(batch), actor: { attribution: 'netlink-portid' } });
    batch.send('rule del from 198.51.100.7 table 100 priority 1234');
    batch.send('route del 198.51.100.0/24 via 192.0.2.1 dev v0');
    const gone = await newExternal(before + 2, 2);
    expect(gone.map((r) => r['op'])).toEqual(['rule-delete', 'route-delete']);
    expect(gone[1]).toMatchObject({ before: { dst: '198.51.100.0/24' } });
  });
});

describe('pyroute2, a long-lived netlink client of another project', () => {
  it('a route it adds is attributed to its process', async () => {
    const script = [
      'import sys',
      'from pyroute2 import IPRoute',
      'ipr = IPRoute()',
      "idx = ipr.link_lookup(ifname='v0')[0]",
      'for line in sys.stdin:',
      '    dst, gw = line.split()',
      "    ipr.route('add', dst=dst, gateway=gw, oif=idx)",
      "    print('ok', flush=True)",
    ].join('\n');
    await ip('-n', NS, 'addr', 'add', '198.18.0.40/24', 'dev', 'v0');
    await new Promise((resolve) => setTimeout(resolve, 400));
    const child = spawn('ip', ['netns', 'exec', NS, '/usr/bin/python3', '-c', script]);
    try {
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
      const before = (await external()).length;
      child.stdin.write('203.0.113.0/24 198.18.0.1\n');
      await waitFor(() => out.includes('ok'), { what: 'pyroute2 to add the route' });
      const [record] = await newExternal(before, 1);
      expect(record).toMatchObject({
        op: 'route-add', after: { dst: '203.0.113.0/24', gateway: '198.18.0.1', dev: 'v0' },
        pid: child.pid, uid: 0,
        actor: { attribution: 'netlink-portid', exe: expect.stringMatching(/\/python3(\.\d+)?$/), comm: 'python3' },
      });
    } finally {
      child.stdin.end();
      await new Promise((resolve) => child.once('exit', resolve));
    }
  });
});

describe('a process gone before its change was seen, and changes the kernel names no sender of', () => {
  it('ip addr del: address-delete with the port id alone (netlink-portid-gone), or the process when it was still there; never a guessed pid', async () => {
    const before = (await external()).length;
    await ip('-n', NS, 'addr', 'del', '192.0.2.99/24', 'dev', 'v0');
    const [record] = await newExternal(before, 1);
    expect(record).toMatchObject({ op: 'address-delete', before: { local: '192.0.2.99', prefixlen: 24 } });
    const actor = record!['actor'] as Record<string, unknown>;
    expect(['netlink-portid', 'netlink-portid-gone']).toContain(actor['attribution']);
    expect(typeof actor['portid']).toBe('number');
    if (actor['attribution'] === 'netlink-portid-gone') expect(record).not.toHaveProperty('pid');
    else {
      // Caught as it exited: what could still be read of it, and nothing else.
      expect(record).toMatchObject({ uid: 0 });
      if (actor['exe'] !== undefined) expect(actor['exe']).toBe(IP);
    }
  });

  it('an IPv6 address and an MTU: recorded, with attribution none and no pid or uid', async () => {
    const before = (await external()).length;
    await ip('-n', NS, 'addr', 'add', '2001:db8:e::5/64', 'dev', 'v0', 'nodad');
    await ip('-n', NS, 'link', 'set', 'v0', 'mtu', '1400');
    const records = await newExternal(before, 2);
    expect(records[0]).toMatchObject({ op: 'address-add', after: { family: 'inet6', local: '2001:db8:e::5', prefixlen: 64 }, actor: { attribution: 'none' } });
    expect(records[1]).toMatchObject({ op: 'link-change', iface: 'v0', before: { ifname: 'v0', mtu: 1500 }, after: { ifname: 'v0', mtu: 1400 }, actor: { attribution: 'none' } });
    for (const r of records) {
      expect(r).not.toHaveProperty('pid');
      expect(r).not.toHaveProperty('uid');
    }
    await ip('-n', NS, 'link', 'set', 'v0', 'mtu', '1500');
    await newExternal(before + 2, 1);
  });

  it('a veth pair added and deleted: one link-add and one link-delete, the peer and the addresses in them', async () => {
    const before = (await external()).length;
    await ip('-n', NS, 'link', 'add', 'x0', 'type', 'veth', 'peer', 'name', 'x1');
    const [added] = await newExternal(before, 1);
    expect(added).toMatchObject({ op: 'link-add', after: { kind: 'veth', 'added-with': [expect.stringMatching(/^x[01]$/)] } });
    await ip('-n', NS, 'addr', 'add', '203.0.113.1/24', 'dev', 'x1');
    await newExternal(before + 1, 1);
    await ip('-n', NS, 'link', 'del', 'x0');
    const [deleted] = await newExternal(before + 2, 1);
    expect(deleted).toMatchObject({ op: 'link-delete', before: { kind: 'veth', 'deleted-with': [expect.stringMatching(/^x[01]$/)] } });
  });

  it('a bridge with ports deleted: one link-delete naming its ports', async () => {
    await ip('-n', NS, 'link', 'add', 'br9', 'type', 'bridge');
    await ip('-n', NS, 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p0p', 'netns', PEER);
    await ip('-n', NS, 'link', 'add', 'p1', 'type', 'veth', 'peer', 'name', 'p1p', 'netns', PEER);
    await ip('-n', NS, 'link', 'set', 'p0', 'master', 'br9');
    await ip('-n', NS, 'link', 'set', 'p1', 'master', 'br9');
    await ip('-n', NS, 'addr', 'add', '203.0.113.9/24', 'dev', 'br9');
    await ip('-n', NS, 'link', 'set', 'br9', 'up');
    await new Promise((resolve) => setTimeout(resolve, 800));
    const before = (await external()).length;
    await ip('-n', NS, 'link', 'del', 'br9');
    const [deleted] = await newExternal(before, 1);
    expect(deleted).toMatchObject({ op: 'link-delete', iface: 'br9', before: { kind: 'bridge', addresses: ['203.0.113.9/24'] } });
    expect(((deleted!['before'] as Rec)['ports'] as string[]).sort()).toEqual(['p0', 'p1']);
  });
});

describe('bridge and port options', () => {
  it('bridge link set (cost) and ip link set type bridge (stp_state): one link-change each, with the options as ip -j -d names them', async () => {
    await ip('-n', NS, 'link', 'add', 'br7', 'type', 'bridge');
    await ip('-n', NS, 'link', 'add', 'q0', 'type', 'veth', 'peer', 'name', 'q0p', 'netns', PEER);
    await ip('-n', NS, 'link', 'set', 'q0', 'master', 'br7');
    // The kernel announces a bridge option changed only on a link that is up.
    await ip('-n', NS, 'link', 'set', 'br7', 'up');
    await new Promise((resolve) => setTimeout(resolve, 800));
    const before = (await external()).length;
    await run('bridge', ['-n', NS, 'link', 'set', 'dev', 'q0', 'cost', '42']);
    const [cost] = await newExternal(before, 1);
    expect(cost).toMatchObject({ op: 'link-change', iface: 'q0', after: { ifname: 'q0', bridge_slave: { cost: 42 } }, actor: { attribution: 'none' } });
    expect((cost!['before'] as Rec)['bridge_slave']).not.toMatchObject({ cost: 42 });
    await ip('-n', NS, 'link', 'set', 'br7', 'type', 'bridge', 'stp_state', '1');
    const [stp] = await newExternal(before + 1, 1);
    expect(stp).toMatchObject({ op: 'link-change', iface: 'br7', before: { bridge: { stp_state: 0 } }, after: { bridge: { stp_state: 1 } } });
    await ip('-n', NS, 'link', 'del', 'br7');
    await ip('-n', NS, 'link', 'del', 'q0');
    await new Promise((resolve) => setTimeout(resolve, 800));
  });
});

describe('the daemon\'s own changes', () => {
  it('an activation and a deactivation with an address, a route and a rule give no external record', async () => {
    const before = (await external()).length;
    const conn = await addProfile(client, profile('own', 'bridge', {
      ifname: 'own0',
      ipv4: {
        method: variant('s', 'manual'),
        'address-data': variant('aa{sv}', [{ address: variant('s', '192.0.2.77'), prefix: variant('u', 24) }]),
        'route-data': variant('aa{sv}', [{ dest: variant('s', '198.51.100.0'), prefix: variant('u', 24), 'next-hop': variant('s', '192.0.2.1') }]),
        'routing-rules': variant('aa{sv}', [{ priority: variant('u', 4321), from: variant('s', '192.0.2.77'), 'from-len': variant('y', 32), table: variant('u', 77) }]),
      },
      ipv6: { method: variant('s', 'manual'), 'address-data': variant('aa{sv}', [{ address: variant('s', '2001:db8:77::1'), prefix: variant('u', 64) }]) },
    }));
    const active = await activate(client, conn);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await deactivate(client, active);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect((await external()).slice(before)).toEqual([]);
  });
});

describe('a running connection whose link others change', () => {
  it('follows: an address removed and an MTU changed are logged, and deactivation takes back neither', async () => {
    await ip('-n', NS, 'link', 'add', 'd0', 'type', 'veth', 'peer', 'name', 'd0p', 'netns', PEER);
    const conn = await addProfile(client, profile('drift', 'ethernet', {
      ifname: 'd0',
      ipv4: { method: variant('s', 'manual'), 'address-data': variant('aa{sv}', [{ address: variant('s', '192.0.2.60'), prefix: variant('u', 24) }, { address: variant('s', '192.0.2.61'), prefix: variant('u', 24) }]) },
      extra: { '802-3-ethernet': { mtu: variant('u', 1400) } },
    }));
    const active = await activate(client, conn);
    const before = (await external()).length;
    await ip('-n', NS, 'addr', 'del', '192.0.2.60/24', 'dev', 'd0');
    await ip('-n', NS, 'link', 'set', 'd0', 'mtu', '1300');
    await newExternal(before, 2);
    await daemon.waitForLog(/connection-external-change: "drift" .*the address 192\.0\.2\.60\/24 it applied was removed by others/);
    await daemon.waitForLog(/connection-external-change: "drift" .*the link was changed by others: mtu 1400 → 1300/);
    await deactivate(client, active);
    // The profile's other address is taken back; the MTU others set stays theirs.
    const link = JSON.parse(await ip('-n', NS, '-j', 'addr', 'show', 'dev', 'd0'))[0] as { mtu: number; addr_info: Array<{ local?: string }> };
    expect(link.mtu).toBe(1300);
    expect(link.addr_info.map((a) => a.local).filter((a) => a?.startsWith('192.0.2.'))).toEqual([]);
    expect(daemon.log()).not.toMatch(/"drift".*(could not|failed)/);
  });
});

describe('a flood', () => {
  it('2,000 routes from one script: coalesced into records that give the counts, and the daemon keeps answering', async () => {
    const before = (await external()).length;
    await ip('-n', NS, 'addr', 'add', '10.99.0.1/16', 'dev', 'v0');
    await newExternal(before, 1);
    const commands = Array.from({ length: 2000 }, (_, i) => `route add 172.${16 + (i >> 8)}.${i & 255}.0/24 via 10.99.0.2 dev v0`).join('\n');
    const started = Date.now();
    const batchRun = run('ip', ['-n', NS, '-batch', '-'], { input: `${commands}\n`, timeoutMs: 60_000 });
    // Ping stays quick while the flood is written.
    const pings: number[] = [];
    while (Date.now() - started < 3000) {
      const t = Date.now();
      await client.call('/org/netaudit1', 'org.freedesktop.DBus.Peer', 'Ping');
      pings.push(Date.now() - t);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect((await batchRun).code).toBe(0);
    const records = await waitFor(async () => {
      const all = (await external()).slice(before + 1).filter((r) => r['op'] === 'route-add');
      const counted = all.reduce((n, r) => n + (r['args'] === 'coalesced' ? ((r['after'] as Rec)['count'] as number) : 1), 0);
      return counted >= 2000 ? all : null;
    }, { timeoutMs: 20_000, what: 'all 2,000 routes counted in the trail' });
    const coalesced = records.filter((r) => r['args'] === 'coalesced');
    expect(coalesced.length).toBeGreaterThan(0);
    expect(records.length).toBeLessThan(2000);
    expect(records.reduce((n, r) => n + (r['args'] === 'coalesced' ? ((r['after'] as Rec)['count'] as number) : 1), 0)).toBe(2000);
    expect(daemon.log()).toMatch(/route-add changes made without netauditd in \d+ s: recorded as one record with their count/);
    expect(Math.max(...pings)).toBeLessThan(1000);
  }, 60_000);
});
