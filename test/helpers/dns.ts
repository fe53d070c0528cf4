// DNS for tests (docs/dns.md): profile values for ipv4.dns and ipv6.dns, the resolv.conf that mode
// file writes as its lines, and a stand-in for systemd-resolved that owns org.freedesktop.resolve1
// on a test bus and records the calls it gets. The host's resolver is never involved.
import { readFile, writeFile } from 'node:fs/promises';
import { SocketAddress } from 'node:net';
import { join } from 'node:path';
import dbus from 'dbus-next';
import type { Message } from 'dbus-next';
import { onBusStop, type TestBus } from './bus.js';
import { connect, variant, type TestClient } from './client.js';

export const RESOLVED_NAME = 'org.freedesktop.resolve1';
const RESOLVED_PATH = '/org/freedesktop/resolve1';
const RESOLVED_IFACE = 'org.freedesktop.resolve1.Manager';

/** ipv4.dns: NetworkManager's uint32s, each holding the address's bytes in memory order. */
export function dnsV4(servers: string[]): ReturnType<typeof variant> {
  return variant('au', servers.map((s) => new Uint32Array(Uint8Array.from(s.split('.').map(Number)).buffer)[0]));
}

/** ipv6.dns: 16 bytes each. */
export function dnsV6(servers: string[]): ReturnType<typeof variant> {
  return variant('aay', servers.map(ipv6Bytes));
}

function ipv6Bytes(text: string): Buffer {
  const [head, tail] = text.split('::');
  const words = (s: string | undefined): number[] => (s ? s.split(':').map((h) => parseInt(h, 16)) : []);
  const left = words(head);
  const right = words(tail);
  const all = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  return Buffer.from(all.flatMap((w) => [w >> 8, w & 0xff]));
}

/** The lines of a resolv.conf that are not comments. */
export async function resolvConfLines(path: string): Promise<string[]> {
  return (await readFile(path, 'utf8')).split('\n').filter((l) => l !== '' && !l.startsWith('#'));
}

export interface ResolvedStandIn {
  /** Every call, as text: "SetLinkDNS 5 192.0.2.53,2001:db8::53", "SetLinkDomains 5 a.example,~corp.example", … */
  readonly calls: string[];
  /** Answers every call with this error name until set back to null. */
  failWith: string | null;
  /** Gives up the name and disconnects. */
  stop(): Promise<void>;
}

function addressText([family, bytes]: [number, Buffer]): string {
  if (family === 2) return [...bytes].join('.');
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return new SocketAddress({ address: words.join(':'), family: 'ipv6' }).address;
}

function callText(msg: Message): string {
  const [ifindex, arg] = msg.body as [number, unknown];
  switch (msg.member) {
    case 'SetLinkDNS':
      return `SetLinkDNS ${ifindex} ${(arg as Array<[number, Buffer]>).map(addressText).join(',')}`;
    case 'SetLinkDomains':
      return `SetLinkDomains ${ifindex} ${(arg as Array<[string, boolean]>).map(([d, routeOnly]) => (routeOnly ? `~${d}` : d)).join(',')}`;
    case 'SetLinkDefaultRoute':
      return `SetLinkDefaultRoute ${ifindex} ${String(arg)}`;
    default:
      return `${msg.member ?? '?'} ${ifindex}`;
  }
}

/**
 * Owns org.freedesktop.resolve1 on `bus` and answers its Manager's link calls; a policy file in the
 * bus's own system.d lets root own the name and call it. Stopped by `stop()` or, at the latest, by
 * `bus.stop()`.
 */
export async function startResolvedStandIn(bus: TestBus): Promise<ResolvedStandIn> {
  await writeFile(
    join(bus.dir, 'system.d', 'resolve1-stand-in.conf'),
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <policy user="root">
    <allow own="${RESOLVED_NAME}"/>
    <allow send_destination="${RESOLVED_NAME}"/>
  </policy>
</busconfig>
`,
    { mode: 0o644 },
  );
  const owner: TestClient = await connect(bus.address);
  await owner.callBus('ReloadConfig');
  const standIn: ResolvedStandIn = {
    calls: [],
    failWith: null,
    stop: async () => {
      await owner.callBus('ReleaseName', 's', [RESOLVED_NAME]).catch(() => undefined);
      owner.close();
    },
  };
  owner.bus.addMethodHandler((msg: Message) => {
    if (msg.destination !== RESOLVED_NAME || msg.path !== RESOLVED_PATH || msg.interface !== RESOLVED_IFACE) return false;
    standIn.calls.push(callText(msg));
    // (dbus-next's typings give newError a string where it takes the call.)
    owner.bus.send(standIn.failWith ? dbus.Message.newError(msg as unknown as string, standIn.failWith, 'the stand-in refuses') : dbus.Message.newMethodReturn(msg, '', []));
    return true;
  });
  const reply = await owner.bus.requestName(RESOLVED_NAME, dbus.NameFlag.DO_NOT_QUEUE);
  if (reply !== dbus.RequestNameReply.PRIMARY_OWNER) throw new Error(`the resolve1 stand-in could not own ${RESOLVED_NAME} (reply ${reply})`);
  onBusStop(bus, () => standIn.stop());
  return standIn;
}
