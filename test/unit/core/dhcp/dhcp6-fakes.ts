// Fakes for the DHCPv6 client's unit tests: a transport that records what the client sends and
// hands it what a test delivers, and a server's replies built from the codec's own pieces.
import { encodeDomainSearch } from '../../../../src/core/dhcp/dhcp4-message.js';
import { encodeIaNa, encodeServerMessage, ipv6Bytes, MSG, OPT6, type Dhcp6MessageType, type IaAddress, type Status } from '../../../../src/core/dhcp/dhcp6-message.js';
import type { Dhcp6Datagram, Dhcp6Transport } from '../../../../src/core/dhcp/dhcp6-transport.js';
import type { FakeClock } from './fakes.js';

/** A message the client sent, its options by code (the last of each). */
export interface Sent6 {
  readonly type: Dhcp6MessageType;
  readonly xid: number;
  readonly options: ReadonlyMap<number, Buffer>;
  readonly at: number;
}

export function parseSent(b: Buffer, at: number): Sent6 {
  const type = (Object.entries(MSG).find(([, v]) => v === b[0])?.[0] ?? 'solicit') as Dhcp6MessageType;
  const options = new Map<number, Buffer>();
  for (let i = 4; i + 4 <= b.length; ) {
    const len = b.readUInt16BE(i + 2);
    options.set(b.readUInt16BE(i), b.subarray(i + 4, i + 4 + len));
    i += 4 + len;
  }
  return { type, xid: b.readUInt32BE(0) & 0xffffff, options, at };
}

export class FakeDhcp6Transport implements Dhcp6Transport {
  readonly sent: Sent6[] = [];
  closed = false;
  private handler: ((d: Dhcp6Datagram) => void) | null = null;

  constructor(private readonly clock: FakeClock) {}

  send(payload: Buffer): void {
    if (this.closed) throw new Error('closed');
    this.sent.push(parseSent(payload, this.clock.now()));
  }

  listen(handler: ((d: Dhcp6Datagram) => void) | null): void {
    this.handler = handler;
  }

  close(): void {
    this.closed = true;
    this.handler = null;
  }

  get last(): Sent6 {
    return this.sent.at(-1)!;
  }

  get listening(): boolean {
    return this.handler !== null;
  }

  async deliver(payload: Buffer, source = 'fe80::1'): Promise<void> {
    this.handler?.({ payload, source });
    for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
  }
}

export const SERVER_DUID = Buffer.from('000300010200000000ff', 'hex');

export interface Reply6Spec {
  xid: number;
  clientId: Buffer;
  serverId?: Buffer | null;
  iaid?: number;
  t1?: number;
  t2?: number;
  addresses?: IaAddress[];
  iaStatus?: Status;
  status?: Status;
  dns?: string[];
  domains?: string[];
  preference?: number;
  refresh?: number;
}

/** A server's Advertise or Reply. */
export function serverMessage(type: 'advertise' | 'reply', s: Reply6Spec): Buffer {
  const options: Array<{ code: number; value: Buffer } | Buffer> = [{ code: OPT6.CLIENTID, value: s.clientId }];
  if (s.serverId !== null) options.push({ code: OPT6.SERVERID, value: s.serverId ?? SERVER_DUID });
  if (s.iaid !== undefined) options.push(encodeIaNa({ iaid: s.iaid, t1: s.t1 ?? 0, t2: s.t2 ?? 0, addresses: s.addresses ?? [], ...(s.iaStatus ? { status: s.iaStatus } : {}) }));
  if (s.status) {
    const v = Buffer.alloc(2);
    v.writeUInt16BE(s.status.code, 0);
    options.push({ code: OPT6.STATUS_CODE, value: Buffer.concat([v, Buffer.from(s.status.message)]) });
  }
  if (s.dns) options.push({ code: OPT6.DNS_SERVERS, value: Buffer.concat(s.dns.map(ipv6Bytes)) });
  if (s.domains) options.push({ code: OPT6.DOMAIN_LIST, value: encodeDomainSearch(s.domains) });
  if (s.preference !== undefined) options.push({ code: OPT6.PREFERENCE, value: Buffer.from([s.preference]) });
  if (s.refresh !== undefined) {
    const v = Buffer.alloc(4);
    v.writeUInt32BE(s.refresh, 0);
    options.push({ code: OPT6.INFORMATION_REFRESH_TIME, value: v });
  }
  return encodeServerMessage(type, s.xid, options);
}
