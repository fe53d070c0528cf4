// A small DHCPv6 server for what dnsmasq will not do: leases of seconds (dnsmasq gives 2 minutes at
// the least), so that a renewal and an expiry happen within a test. It runs with node's dgram in the
// server's namespace, on [::]:547 joined to ff02::1:2 on one interface, and answers a Solicit with
// an Advertise of preference 255, and a Request, Renew or Rebind with a Reply giving `address` for
// the lifetimes configured. It encodes and decodes with its own few lines, not the client's codec.
// Every message it gets is printed as a JSON line.
import { spawn, type ChildProcess } from 'node:child_process';
import { waitFor } from './wait.js';

export interface Test6ServerConfig {
  readonly iface: string;
  readonly address: string;
  readonly preferred: number;
  readonly valid: number;
  readonly t1: number;
  readonly t2: number;
  readonly dns: readonly string[];
}

const SCRIPT = String.raw`
import dgram from 'node:dgram';
const config = JSON.parse(process.argv[1]);
const TYPES = ['', 'solicit', 'advertise', 'request', 'confirm', 'renew', 'rebind', 'reply', 'release', 'decline', 'reconfigure', 'information-request'];
const SERVER_ID = Buffer.from('00030001020000000099', 'hex');
const opt = (code, value) => { const h = Buffer.alloc(4); h.writeUInt16BE(code, 0); h.writeUInt16BE(value.length, 2); return Buffer.concat([h, value]); };
const u32 = (v) => { const b = Buffer.alloc(4); b.writeUInt32BE(v >>> 0); return b; };
const v6 = (t) => {
  const [a, b] = t.split('::');
  const g = (s) => (s ? s.split(':').map((x) => parseInt(x, 16)) : []);
  const h = g(a), l = b === undefined ? [] : g(b);
  const all = b === undefined ? h : [...h, ...Array(8 - h.length - l.length).fill(0), ...l];
  const out = Buffer.alloc(16);
  all.forEach((x, i) => out.writeUInt16BE(x, i * 2));
  return out;
};
const s = dgram.createSocket({ type: 'udp6', reuseAddr: true });
s.on('message', (m, r) => {
  const type = TYPES[m[0]] ?? String(m[0]);
  const options = new Map();
  for (let i = 4; i + 4 <= m.length; ) { const len = m.readUInt16BE(i + 2); options.set(m.readUInt16BE(i), m.subarray(i + 4, i + 4 + len)); i += 4 + len; }
  const clientId = options.get(1);
  const ia = options.get(3);
  const answer = type === 'solicit' ? 2 : ['request', 'renew', 'rebind'].includes(type) ? 7 : null;
  console.log(JSON.stringify({ type, from: r.address, answered: answer === null ? null : TYPES[answer] }));
  if (answer === null || !clientId || !ia) return;
  const iaaddr = opt(5, Buffer.concat([v6(config.address), u32(config.preferred), u32(config.valid)]));
  const parts = [Buffer.from([answer, m[1], m[2], m[3]]), opt(1, clientId), opt(2, SERVER_ID), opt(3, Buffer.concat([ia.subarray(0, 4), u32(config.t1), u32(config.t2), iaaddr])), opt(23, Buffer.concat(config.dns.map(v6)))];
  if (answer === 2) parts.push(opt(7, Buffer.from([255])));
  s.send(Buffer.concat(parts), r.port, r.address);
});
s.bind(547, '::', () => {
  s.addMembership('ff02::1:2', '::%' + config.iface);
  console.log('listening');
});
`;

export class TestDhcp6Server {
  readonly saw: Array<{ type: string; from: string; answered: string | null }> = [];

  private constructor(private readonly child: ChildProcess) {}

  /** Starts it in namespace `netns` and waits until it listens. */
  static async start(netns: string, config: Test6ServerConfig): Promise<TestDhcp6Server> {
    const child = spawn('ip', ['netns', 'exec', netns, process.execPath, '--input-type=module', '-e', SCRIPT, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const server = new TestDhcp6Server(child);
    let listening = false;
    let errors = '';
    let rest = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      rest += chunk;
      const lines = rest.split('\n');
      rest = lines.pop()!;
      for (const line of lines) {
        if (line === 'listening') listening = true;
        else if (line.startsWith('{')) server.saw.push(JSON.parse(line) as TestDhcp6Server['saw'][number]);
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (errors += c));
    await waitFor(() => {
      if (child.exitCode !== null) throw new Error(`the test DHCPv6 server exited: ${errors}`);
      return listening || null;
    }, { timeoutMs: 10_000, what: 'the test DHCPv6 server to listen' });
    return server;
  }

  /** How many messages of `type` it got. */
  count(type: string): number {
    return this.saw.filter((m) => m.type === type).length;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    await exited;
  }
}
