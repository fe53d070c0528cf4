// Packet sockets (compiled, dist/: `npm run build` first) on veth pairs in a namespace made here:
// one poll thread for the sockets of a dozen links, each datagram to port 68 delivered to its own
// link's socket with the sender's hardware address, other UDP dropped in the kernel by the filter,
// ARP heard only while listening, the process free to exit once they are closed, and errors that
// say what to do. The root namespace's links are never touched.
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../helpers/exec.js';
import { createNetns, deleteNetns, ip } from '../helpers/netns.js';
import { repoPath } from '../helpers/repo.js';

const NS = `na-pkt-${process.pid}`;
const LINKS = 12;

const SCRIPT = String.raw`
import { readdirSync, readFileSync } from 'node:fs';
const { Udp4PacketSocket, ArpPacketSocket } = await import(process.argv[1]);
const { encodeArp } = await import(process.argv[2]);
const links = JSON.parse(process.argv[3]);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const got = [], invalid = [], errors = [], arps = [];
const rx = links.map((l, i) => {
  const s = Udp4PacketSocket.open(l.a, 68);
  s.listen({ datagram: (d) => got.push({ i, port: d.destinationPort, payload: d.payload.toString(), mac: d.sourceMac, source: d.source }),
    invalid: (r) => invalid.push({ i, r }), error: (e) => errors.push(e.message) });
  return s;
});
const arpRx = links.map((l, i) => {
  const s = ArpPacketSocket.open(l.a);
  s.listen({ frame: (f) => arps.push({ i, mac: f.sourceMac, target: f.data.subarray(24, 28).join('.') }), error: (e) => errors.push(e.message) });
  return s;
});
await sleep(100);
// threads of this process blocked in poll(2)
const pollThreads = readdirSync('/proc/self/task').filter((t) => readFileSync('/proc/self/task/' + t + '/wchan', 'utf8').startsWith('poll_schedule_timeout')).length;
const tx = links.map((l) => Udp4PacketSocket.open(l.b, 67));
const arpTx = links.map((l) => ArpPacketSocket.open(l.b));
const probe = (l, target) => encodeArp({ op: 1, senderMac: l.bMac, senderIp: '0.0.0.0', targetMac: '00:00:00:00:00:00', targetIp: target });
links.forEach((l, i) => {
  tx[i].send({ source: '192.0.2.1', destination: '255.255.255.255', sourcePort: 67, destinationPort: 68, payload: Buffer.from('to-' + i) }, null);
  tx[i].send({ source: '192.0.2.1', destination: '255.255.255.255', sourcePort: 67, destinationPort: 69, payload: Buffer.from('not-for-us') }, null);
  tx[i].send({ source: '192.0.2.1', destination: '192.0.2.7', sourcePort: 67, destinationPort: 68, payload: Buffer.from('unicast-' + i) }, l.aMac);
  arpTx[i].send(probe(l, '192.0.2.' + (100 + i)));
});
await sleep(300);
const before = arps.length;
arpRx[0].listen(null);
arpTx[0].send(probe(links[0], '192.0.2.250'));
await sleep(100);
const afterUnlisten = arps.length - before;
for (const s of [...rx, ...arpRx, ...tx, ...arpTx]) s.close();
process.stdout.write(JSON.stringify({ pollThreads, got, invalid, errors, arps, afterUnlisten }));
// no process.exit: the process must end by itself once every socket is closed
`;

// Sockets opened, listened on, left and closed over and over on one link while another link's
// socket waits: a descriptor closed under a waiting poll would come back as another socket's.
const CHURN = String.raw`
const { Udp4PacketSocket, ArpPacketSocket } = await import(process.argv[1]);
const [a0, a1, b1] = JSON.parse(process.argv[2]);
const errors = [], got = [];
const handlers = { datagram: (d) => got.push(d.payload.toString()), invalid() {}, error: (e) => errors.push(e.message) };
const steady = Udp4PacketSocket.open(a1, 68);
steady.listen(handlers);
for (let i = 0; i < 300; i++) {
  const u = Udp4PacketSocket.open(a0, 68);
  const arp = ArpPacketSocket.open(a0);
  u.listen({ ...handlers, datagram() {} });
  arp.listen({ frame() {}, error: (e) => errors.push(e.message) });
  if (i % 3 === 0) await new Promise((r) => setImmediate(r));
  arp.listen(null);
  u.listen(null);
  u.close();
  arp.close();
  if (i % 7 === 0) await new Promise((r) => setTimeout(r, 1));
}
const tx = Udp4PacketSocket.open(b1, 67);
tx.send({ source: '192.0.2.1', destination: '255.255.255.255', sourcePort: 67, destinationPort: 68, payload: Buffer.from('still here') }, null);
await new Promise((r) => setTimeout(r, 200));
steady.close();
tx.close();
process.stdout.write(JSON.stringify({ errors, got }));
`;

const ERRORS = String.raw`
const { Udp4PacketSocket } = await import(process.argv[1]);
const out = [];
for (const ifindex of [Number(process.argv[2])]) {
  try { Udp4PacketSocket.open(ifindex, 68); out.push('opened'); } catch (e) { out.push(e.name + ': ' + e.message); }
}
process.stdout.write(JSON.stringify(out));
`;

const PACKET_JS = pathToFileURL(repoPath('dist', 'native', 'packet-socket.js')).href;
const ARP_JS = pathToFileURL(repoPath('dist', 'core', 'dhcp', 'arp-packet.js')).href;

interface Link { a: number; b: number; aMac: string; bMac: string }
let links: Link[];

beforeAll(async () => {
  await createNetns(NS);
  links = [];
  for (let i = 0; i < LINKS; i++) {
    await ip('-n', NS, 'link', 'add', `pa${i}`, 'type', 'veth', 'peer', 'name', `pb${i}`);
    await ip('-n', NS, 'link', 'set', `pa${i}`, 'up');
    await ip('-n', NS, 'link', 'set', `pb${i}`, 'up');
    const [a] = JSON.parse(await ip('-n', NS, '-j', 'link', 'show', 'dev', `pa${i}`)) as Array<{ ifindex: number; address: string }>;
    const [b] = JSON.parse(await ip('-n', NS, '-j', 'link', 'show', 'dev', `pb${i}`)) as Array<{ ifindex: number; address: string }>;
    links.push({ a: a!.ifindex, b: b!.ifindex, aMac: a!.address, bMac: b!.address });
  }
});

afterAll(async () => {
  await deleteNetns(NS);
});

describe('packet sockets', () => {
  it('share one poll thread, deliver to the right link, filter in the kernel, and let the process end', async () => {
    const r = await run('ip', ['netns', 'exec', NS, process.execPath, '--input-type=module', '-e', SCRIPT, PACKET_JS, ARP_JS, JSON.stringify(links)], { timeoutMs: 15_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as {
      pollThreads: number; got: Array<{ i: number; port: number; payload: string; mac: string; source: string }>;
      invalid: unknown[]; errors: string[]; arps: Array<{ i: number; mac: string; target: string }>; afterUnlisten: number;
    };
    expect(out.pollThreads).toBe(1);
    expect(out.errors).toEqual([]);
    // port 69 never reached JS: the kernel's filter dropped it (JS would have called it invalid)
    expect(out.invalid).toEqual([]);
    const sorted = [...out.got].sort((x, y) => x.i - y.i || x.payload.localeCompare(y.payload));
    expect(sorted).toEqual(links.flatMap((l, i) => [
      { i, port: 68, payload: `to-${i}`, mac: l.bMac, source: '192.0.2.1' },
      { i, port: 68, payload: `unicast-${i}`, mac: l.bMac, source: '192.0.2.1' },
    ]));
    expect([...out.arps].sort((x, y) => x.i - y.i)).toEqual(links.map((l, i) => ({ i, mac: l.bMac, target: `192.0.2.${100 + i}` })));
    expect(out.afterUnlisten).toBe(0);
  });

  it('never close a descriptor a poll still holds, however fast they come and go', async () => {
    const r = await run('ip', ['netns', 'exec', NS, process.execPath, '--input-type=module', '-e', CHURN, PACKET_JS, JSON.stringify([links[0]!.a, links[1]!.a, links[1]!.b])], { timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ errors: [], got: ['still here'] });
  });

  it('say which link failed and what is missing', async () => {
    const gone = await run('ip', ['netns', 'exec', NS, process.execPath, '--input-type=module', '-e', ERRORS, PACKET_JS, '99999']);
    expect(JSON.parse(gone.stdout)).toEqual(['PacketSocketError: bind(AF_PACKET) on ifindex 99999: ENODEV (the link is gone)']);
    const unprivileged = await run('ip', ['netns', 'exec', NS, 'setpriv', '--reuid=nauser', '--regid=nauser', '--clear-groups', '--inh-caps=-all',
      process.execPath, '--input-type=module', '-e', ERRORS, PACKET_JS, String(links[0]!.a)]);
    expect(JSON.parse(unprivileged.stdout)).toEqual([`PacketSocketError: socket(AF_PACKET) on ifindex ${links[0]!.a}: EPERM (packet sockets need CAP_NET_RAW)`]);
  });
});
