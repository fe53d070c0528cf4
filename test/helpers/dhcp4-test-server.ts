// A small DHCPv4 server for the client's integration tests, for what dnsmasq will not do on
// demand: NAK a renewal or a reboot, leases of a few seconds, another address at renewal, a
// rebinding answered as another server. It runs with node's dgram in the server's namespace:
// one socket on 0.0.0.0:67 for broadcasts and one on each server address for unicast, so it can
// tell a renewal (unicast) from a rebinding (broadcast). Replies go to 255.255.255.255:68. It
// encodes and decodes with its own few lines, not the client's codec. Every message it gets is
// printed as a JSON line; its behaviour can be changed while it runs (set()).
import { spawn, type ChildProcess } from 'node:child_process';
import { waitFor } from './wait.js';

export interface TestServerConfig {
  /** the server identifier of the OFFERs and ACKs (54); each of `addresses` gets a unicast socket */
  serverId: string;
  addresses: string[];
  /** offered to a DISCOVER */
  offer: string;
  mask: string;
  routers: string[];
  dns: string[];
  leaseTime: number;
  t1?: number;
  t2?: number;
  /** to a REQUEST with no server id and no ciaddr (INIT-REBOOT) */
  initReboot: 'ack' | 'nak' | 'ignore';
  /** to a unicast REQUEST with ciaddr (RENEWING) */
  renew: 'ack' | 'nak' | 'ignore';
  /** the address an ACK at renewal gives; default the client's own */
  renewAddress?: string;
  /** to a broadcast REQUEST with ciaddr (REBINDING) */
  rebind: 'ack' | 'nak' | 'ignore';
  /** the server identifier of an ACK at rebinding; default serverId */
  rebindServerId?: string;
}

export interface ServerSaw {
  type: string;
  xid: number;
  mac: string;
  ciaddr: string;
  requested: string | null;
  serverId: string | null;
  /** 'broadcast', or the server address the datagram was sent to */
  via: string;
  /** the reply sent: 'offer', 'ack', 'nak' or null */
  answered: string | null;
}

const SCRIPT = String.raw`
import dgram from 'node:dgram';
import { createInterface } from 'node:readline';
let config = JSON.parse(process.argv[1]);
const TYPES = ['', 'discover', 'offer', 'request', 'decline', 'ack', 'nak', 'release', 'inform'];
const ip = (b, at) => b[at] + '.' + b[at + 1] + '.' + b[at + 2] + '.' + b[at + 3];
const ipb = (t) => Buffer.from(t.split('.').map(Number));
const u32 = (v) => { const b = Buffer.alloc(4); b.writeUInt32BE(v >>> 0); return b; };

function parse(b) {
  if (b.length < 240 || b.readUInt32BE(236) !== 0x63825363) return null;
  const o = new Map();
  for (let i = 240; i < b.length && b[i] !== 255; ) {
    if (b[i] === 0) { i++; continue; }
    o.set(b[i], b.subarray(i + 2, i + 2 + b[i + 1]));
    i += 2 + b[i + 1];
  }
  return { xid: b.readUInt32BE(4), ciaddr: ip(b, 12), chaddr: b.subarray(28, 34), type: TYPES[o.get(53)?.[0]] ?? '?',
    requested: o.has(50) ? ip(o.get(50), 0) : null, serverId: o.has(54) ? ip(o.get(54), 0) : null };
}

function reply(m, type, yiaddr, serverId) {
  const h = Buffer.alloc(240);
  h[0] = 2; h[1] = 1; h[2] = 6;
  h.writeUInt32BE(m.xid, 4);
  ipb(yiaddr).copy(h, 16);
  m.chaddr.copy(h, 28);
  h.writeUInt32BE(0x63825363, 236);
  const opts = [[53, Buffer.from([TYPES.indexOf(type)])], [54, ipb(serverId)]];
  if (type !== 'nak') {
    opts.push([51, u32(config.leaseTime)], [1, ipb(config.mask)]);
    if (config.t1 !== undefined) opts.push([58, u32(config.t1)]);
    if (config.t2 !== undefined) opts.push([59, u32(config.t2)]);
    if (config.routers.length) opts.push([3, Buffer.concat(config.routers.map(ipb))]);
    if (config.dns.length) opts.push([6, Buffer.concat(config.dns.map(ipb))]);
  }
  return Buffer.concat([h, ...opts.map(([c, v]) => Buffer.concat([Buffer.from([c, v.length]), v])), Buffer.from([255])]);
}

function answer(m, via) {
  const c = config;
  if (m.type === 'discover') return ['offer', c.offer, c.serverId];
  if (m.type !== 'request') return null;
  if (m.serverId !== null) return m.serverId === c.serverId ? ['ack', m.requested ?? c.offer, c.serverId] : null;
  if (m.ciaddr === '0.0.0.0') return c.initReboot === 'ignore' ? null : [c.initReboot, m.requested ?? '0.0.0.0', c.serverId];
  if (via !== 'broadcast') return c.renew === 'ignore' ? null : [c.renew, c.renewAddress ?? m.ciaddr, c.serverId];
  return c.rebind === 'ignore' ? null : [c.rebind, m.ciaddr, c.rebindServerId ?? c.serverId];
}

const out = dgram.createSocket({ type: 'udp4', reuseAddr: true });
function listen(address, via) {
  const s = address === '0.0.0.0' ? out : dgram.createSocket({ type: 'udp4', reuseAddr: true });
  s.on('message', (b) => {
    const m = parse(b);
    if (!m) return;
    const a = answer(m, via);
    if (a) {
      const [type, yiaddr, serverId] = a;
      out.send(reply(m, type, type === 'nak' ? '0.0.0.0' : yiaddr, serverId), 68, '255.255.255.255');
    }
    const mac = [...m.chaddr].map((x) => x.toString(16).padStart(2, '0')).join(':');
    console.log(JSON.stringify({ saw: { type: m.type, xid: m.xid, mac, ciaddr: m.ciaddr, requested: m.requested, serverId: m.serverId, via, answered: a ? a[0] : null } }));
  });
  return new Promise((resolve) => s.bind(67, address, () => { if (s === out) s.setBroadcast(true); resolve(); }));
}
await listen('0.0.0.0', 'broadcast');
for (const a of config.addresses) await listen(a, a);
createInterface({ input: process.stdin }).on('line', (line) => {
  config = { ...config, ...JSON.parse(line) };
  console.log(JSON.stringify({ set: true }));
});
console.log(JSON.stringify({ ready: true }));
`;

export const TEST_SERVER_DEFAULTS: TestServerConfig = {
  serverId: '192.0.2.1',
  addresses: ['192.0.2.1'],
  offer: '192.0.2.100',
  mask: '255.255.255.0',
  routers: ['192.0.2.1'],
  dns: ['192.0.2.53'],
  leaseTime: 3600,
  initReboot: 'ack',
  renew: 'ack',
  rebind: 'ack',
};

export class TestDhcpServer {
  readonly saw: ServerSaw[] = [];
  private sets = 0;
  private stderr = '';

  private constructor(private readonly child: ChildProcess) {}

  /** Starts the server in namespace `ns`, whose link must have `config.addresses` and a route to 255.255.255.255. */
  static async start(ns: string, config: Partial<TestServerConfig> = {}): Promise<TestDhcpServer> {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--input-type=module', '-e', SCRIPT, JSON.stringify({ ...TEST_SERVER_DEFAULTS, ...config })], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const server = new TestDhcpServer(child);
    let ready = false;
    let buffered = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = JSON.parse(buffered.slice(0, nl)) as { ready?: true; set?: true; saw?: ServerSaw };
        buffered = buffered.slice(nl + 1);
        if (line.ready) ready = true;
        if (line.set) server.sets++;
        if (line.saw) server.saw.push(line.saw);
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (server.stderr += chunk));
    await waitFor(() => ready || child.exitCode !== null, { what: 'the test DHCP server to listen' });
    if (!ready) throw new Error(`the test DHCP server did not start: ${server.stderr}`);
    return server;
  }

  /** Changes its behaviour from the next message on. */
  async set(change: Partial<TestServerConfig>): Promise<void> {
    const before = this.sets;
    this.child.stdin!.write(JSON.stringify(change) + '\n');
    await waitFor(() => this.sets > before, { what: 'the test DHCP server to take its new settings' });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    await exited;
  }
}
