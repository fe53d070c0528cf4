// DHCPv4 messages: the BOOTP header and its options, encoded for what the
// client sends and decoded from what servers send. Pure: no I/O, no clock.
// A reply comes from anyone on the link, so decoding never throws: a
// message that cannot be read is null, an option that cannot be read is
// absent. docs/dhcp4.md lists the options and their display names.
import type { Dhcp4Route } from './dhcp4-lease.js';

export const DHCP4_SERVER_PORT = 67;
export const DHCP4_CLIENT_PORT = 68;

export const BOOTREQUEST = 1;
export const BOOTREPLY = 2;

export type Dhcp4MessageType = 'discover' | 'offer' | 'request' | 'decline' | 'ack' | 'nak' | 'release' | 'inform';
const TYPES: readonly Dhcp4MessageType[] = ['discover', 'offer', 'request', 'decline', 'ack', 'nak', 'release', 'inform'];

export const OPT = {
  PAD: 0,
  SUBNET_MASK: 1,
  ROUTER: 3,
  DNS: 6,
  HOSTNAME: 12,
  DOMAIN_NAME: 15,
  MTU: 26,
  BROADCAST: 28,
  NTP: 42,
  REQUESTED_ADDRESS: 50,
  LEASE_TIME: 51,
  OVERLOAD: 52,
  MESSAGE_TYPE: 53,
  SERVER_ID: 54,
  PARAMETER_REQUEST_LIST: 55,
  MESSAGE: 56,
  MAX_MESSAGE_SIZE: 57,
  RENEWAL_TIME: 58,
  REBINDING_TIME: 59,
  CLIENT_ID: 61,
  DOMAIN_SEARCH: 119,
  CLASSLESS_ROUTES: 121,
  END: 255,
} as const;

/** The fixed header up to the options: op … file (236 bytes), then the magic cookie. */
const HEADER = 236;
const COOKIE = 0x63825363;
const OPTIONS_AT = HEADER + 4;
const SNAME_AT = 44;
const FILE_AT = 108;
/** Old BOOTP relays drop shorter messages; the options are padded up to it. */
const BOOTP_MIN_LENGTH = 300;
const BROADCAST_FLAG = 0x8000;

export interface Dhcp4Message {
  readonly op: number;
  readonly xid: number;
  readonly secs: number;
  readonly broadcast: boolean;
  readonly ciaddr: string;
  readonly yiaddr: string;
  readonly siaddr: string;
  readonly giaddr: string;
  /** the client hardware address, hlen bytes of it */
  readonly chaddr: Buffer;
  /** option 53; null when missing or unknown (a BOOTP message) */
  readonly type: Dhcp4MessageType | null;
  /** every option by code, the values of repeated ones concatenated in order */
  readonly options: ReadonlyMap<number, Buffer>;
}

// --- addresses ---

export function ipText(b: Buffer, at = 0): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/** 4 bytes of a dotted IPv4 address; throws on anything else (a caller's mistake: the client's own values). */
export function ipBytes(text: string): Buffer {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw new Error(`not an IPv4 address: ${JSON.stringify(text)}`);
  }
  return Buffer.from(parts.map(Number));
}

export function ipNumber(text: string): number {
  return ipBytes(text).readUInt32BE(0);
}

export function ipFromNumber(n: number): string {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0, 0);
  return ipText(b);
}

/** The prefix length of a contiguous netmask, or null when it is not one. */
export function maskPrefix(mask: string): number | null {
  const n = ipNumber(mask);
  const inverted = ~n >>> 0;
  // the host bits must be all ones below all zeros: 2^k - 1
  if ((inverted & (inverted + 1)) !== 0) return null;
  return Math.clz32(inverted);
}

// --- encoding what the client sends ---

export interface ClientMessage {
  readonly type: 'discover' | 'request' | 'decline' | 'release' | 'inform';
  readonly xid: number;
  /** seconds since the client began this exchange */
  readonly secs?: number;
  /** asks the server to answer to the broadcast address: the client cannot take unicast before it has its address */
  readonly broadcast?: boolean;
  /** the client's hardware address (6 bytes for Ethernet) */
  readonly mac: Buffer;
  /** the client's address, when it has one it may use (renewing, rebinding, release, inform) */
  readonly ciaddr?: string | null;
  readonly clientId?: Buffer | null;
  /** option 50 */
  readonly requestedAddress?: string | null;
  /** option 54 */
  readonly serverId?: string | null;
  /** option 51, in seconds */
  readonly leaseTime?: number | null;
  /** option 12 */
  readonly hostname?: string | null;
  /** option 55 */
  readonly parameterRequestList?: readonly number[] | null;
  /** option 57 */
  readonly maxMessageSize?: number | null;
  /** option 56: why, in a DECLINE */
  readonly message?: string | null;
}

const TYPE_CODE = (type: Dhcp4MessageType): number => TYPES.indexOf(type) + 1;

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0, 0);
  return b;
}

function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v, 0);
  return b;
}

/** Options longer than 255 bytes are split into several of the same code, which the receiver joins. */
function putOption(out: Buffer[], code: number, value: Buffer): void {
  if (value.length === 0) {
    out.push(Buffer.from([code, 0]));
    return;
  }
  for (let at = 0; at < value.length; at += 255) {
    const part = value.subarray(at, at + 255);
    out.push(Buffer.from([code, part.length]), part);
  }
}

/** The header and options of a message: any type, so that tests can play the server. */
export interface Dhcp4Fields {
  readonly op: number;
  readonly type: Dhcp4MessageType | null;
  readonly xid: number;
  readonly secs?: number;
  readonly broadcast?: boolean;
  readonly ciaddr?: string;
  readonly yiaddr?: string;
  readonly siaddr?: string;
  readonly giaddr?: string;
  readonly chaddr: Buffer;
  /** in order; the message type (53) is put first from `type` */
  readonly options: ReadonlyArray<readonly [number, Buffer]>;
}

export function encodeDhcp4(m: Dhcp4Fields): Buffer {
  if (m.chaddr.length > 16) throw new Error(`a hardware address of ${m.chaddr.length} bytes does not fit chaddr`);
  const header = Buffer.alloc(OPTIONS_AT);
  header[0] = m.op;
  header[1] = m.chaddr.length === 6 ? 1 : 0; // htype: Ethernet
  header[2] = m.chaddr.length;
  header.writeUInt32BE(m.xid >>> 0, 4);
  header.writeUInt16BE(Math.min(Math.max(0, Math.floor(m.secs ?? 0)), 0xffff), 8);
  header.writeUInt16BE(m.broadcast ? BROADCAST_FLAG : 0, 10);
  ipBytes(m.ciaddr ?? '0.0.0.0').copy(header, 12);
  ipBytes(m.yiaddr ?? '0.0.0.0').copy(header, 16);
  ipBytes(m.siaddr ?? '0.0.0.0').copy(header, 20);
  ipBytes(m.giaddr ?? '0.0.0.0').copy(header, 24);
  m.chaddr.copy(header, 28);
  header.writeUInt32BE(COOKIE, HEADER);
  const parts: Buffer[] = [header];
  if (m.type !== null) putOption(parts, OPT.MESSAGE_TYPE, Buffer.from([TYPE_CODE(m.type)]));
  for (const [code, value] of m.options) putOption(parts, code, value);
  parts.push(Buffer.from([OPT.END]));
  const body = Buffer.concat(parts);
  return body.length >= BOOTP_MIN_LENGTH ? body : Buffer.concat([body, Buffer.alloc(BOOTP_MIN_LENGTH - body.length)]);
}

/** Which options a client message of each type carries (the others must not be in it). */
const CARRIES_PARAMETERS = new Set(['discover', 'request', 'inform']);

/** What the client sends: a DISCOVER, REQUEST, DECLINE, RELEASE or INFORM. */
export function encodeClientMessage(m: ClientMessage): Buffer {
  const options: Array<[number, Buffer]> = [];
  if (m.requestedAddress && m.type !== 'release' && m.type !== 'inform') options.push([OPT.REQUESTED_ADDRESS, ipBytes(m.requestedAddress)]);
  if (m.serverId && m.type !== 'discover' && m.type !== 'inform') options.push([OPT.SERVER_ID, ipBytes(m.serverId)]);
  if (m.clientId && m.clientId.length >= 2) options.push([OPT.CLIENT_ID, m.clientId]);
  if (CARRIES_PARAMETERS.has(m.type)) {
    if (m.maxMessageSize) options.push([OPT.MAX_MESSAGE_SIZE, u16(Math.min(Math.max(576, m.maxMessageSize), 0xffff))]);
    if (m.hostname) {
      const name = Buffer.from(m.hostname, 'utf8');
      if (name.length > 0 && name.length <= 255) options.push([OPT.HOSTNAME, name]);
    }
    if (m.leaseTime && m.type !== 'inform') options.push([OPT.LEASE_TIME, u32(m.leaseTime)]);
    if (m.parameterRequestList && m.parameterRequestList.length > 0) {
      options.push([OPT.PARAMETER_REQUEST_LIST, Buffer.from(m.parameterRequestList.filter((c) => c > 0 && c < 255))]);
    }
  }
  if (m.message && m.type === 'decline') options.push([OPT.MESSAGE, Buffer.from(m.message, 'utf8')]);
  return encodeDhcp4({
    op: BOOTREQUEST,
    type: m.type,
    xid: m.xid,
    secs: m.secs ?? 0,
    broadcast: m.broadcast ?? false,
    ciaddr: m.ciaddr ?? '0.0.0.0',
    chaddr: m.mac,
    options,
  });
}

// --- decoding ---

/** Reads the options between `start` and `end` into `into`; false when one runs past the end. */
function readOptionArea(b: Buffer, start: number, end: number, into: Map<number, Buffer[]>): boolean {
  for (let i = start; i < end; ) {
    const code = b[i]!;
    if (code === OPT.PAD) {
      i++;
      continue;
    }
    if (code === OPT.END) return true;
    if (i + 1 >= end) return false;
    const len = b[i + 1]!;
    if (i + 2 + len > end) return false;
    const list = into.get(code);
    const value = b.subarray(i + 2, i + 2 + len);
    if (list) list.push(value);
    else into.set(code, [value]);
    i += 2 + len;
  }
  return true;
}

/**
 * The message in `b`, or null when it is not one: too short, without the
 * magic cookie, or with an option that runs past the end of the message.
 * Options the sname and file fields carry (option 52) are read too, when
 * they can be; when they cannot they are left out.
 */
export function decodeDhcp4(b: Buffer): Dhcp4Message | null {
  try {
    if (b.length < OPTIONS_AT || b.readUInt32BE(HEADER) !== COOKIE) return null;
    const op = b[0]!;
    if (op !== BOOTREQUEST && op !== BOOTREPLY) return null;
    const hlen = b[2]!;
    if (hlen > 16) return null;
    const areas = new Map<number, Buffer[]>();
    if (!readOptionArea(b, OPTIONS_AT, b.length, areas)) return null;
    const overload = areas.get(OPT.OVERLOAD)?.[0];
    if (overload && overload.length === 1) {
      // file first, then sname, each only when it reads whole
      const extra = new Map<number, Buffer[]>();
      const fileOk = !(overload[0]! & 1) || readOptionArea(b, FILE_AT, HEADER, extra);
      const snameOk = !(overload[0]! & 2) || readOptionArea(b, SNAME_AT, FILE_AT, extra);
      if (fileOk && snameOk) {
        for (const [code, values] of extra) areas.set(code, [...(areas.get(code) ?? []), ...values]);
      }
    }
    const options = new Map<number, Buffer>();
    for (const [code, values] of areas) options.set(code, Buffer.from(Buffer.concat(values)));
    const typeOption = options.get(OPT.MESSAGE_TYPE);
    const type = typeOption && typeOption.length === 1 ? TYPES[typeOption[0]! - 1] ?? null : null;
    return {
      op,
      xid: b.readUInt32BE(4),
      secs: b.readUInt16BE(8),
      broadcast: (b.readUInt16BE(10) & BROADCAST_FLAG) !== 0,
      ciaddr: ipText(b, 12),
      yiaddr: ipText(b, 16),
      siaddr: ipText(b, 20),
      giaddr: ipText(b, 24),
      chaddr: Buffer.from(b.subarray(28, 28 + hlen)),
      type,
      options,
    };
  } catch {
    // Every read above is bounded; this is a last guard, not a path.
    return null;
  }
}

// --- the options a lease is made of ---

/** What a server's OFFER, ACK or NAK says, each option read on its own; one that cannot be read is null or empty. */
export interface Dhcp4Parameters {
  readonly subnetMask: string | null;
  readonly routers: string[];
  readonly dns: string[];
  readonly hostname: string | null;
  readonly domainName: string | null;
  readonly domainSearch: string[];
  readonly mtu: number | null;
  readonly broadcast: string | null;
  readonly ntp: string[];
  readonly leaseTime: number | null;
  readonly serverId: string | null;
  readonly renewalTime: number | null;
  readonly rebindingTime: number | null;
  /** option 121; null when absent or unreadable (then option 3 counts) */
  readonly classlessRoutes: Dhcp4Route[] | null;
  /** option 56, a NAK's reason */
  readonly message: string | null;
}

function addresses(v: Buffer | undefined): string[] {
  if (!v || v.length === 0 || v.length % 4 !== 0) return [];
  const out: string[] = [];
  for (let i = 0; i < v.length; i += 4) out.push(ipText(v, i));
  return out;
}

function oneAddress(v: Buffer | undefined): string | null {
  return v && v.length === 4 ? ipText(v) : null;
}

function seconds(v: Buffer | undefined): number | null {
  return v && v.length === 4 ? v.readUInt32BE(0) : null;
}

/** A host or domain name as it may be written into a resolver's configuration: letters, digits, '-', '_' and dots. */
const NAME = /^(?=.{1,253}\.?$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

export function isDomainName(text: string): boolean {
  return NAME.test(text);
}

/** Text options end at a NUL when servers add one; anything but a plain name is refused. */
function nameOption(v: Buffer | undefined): string | null {
  if (!v) return null;
  const nul = v.indexOf(0);
  const text = v.subarray(0, nul < 0 ? v.length : nul).toString('latin1').trim();
  // Some servers put several domains into option 15, separated by spaces.
  return text !== '' && text.split(/ +/).every(isDomainName) ? text : null;
}

function printable(v: Buffer | undefined): string | null {
  if (!v || v.length === 0) return null;
  const nul = v.indexOf(0);
  const text = v.subarray(0, nul < 0 ? v.length : nul).toString('utf8');
  return text.replace(/[\u0000-\u001f\u007f]/g, '?');
}

/**
 * Option 121: (prefix length, the significant octets of the destination,
 * router) after one another. An option with any entry that does not read is
 * refused whole, as a partial route table is worse than none.
 */
export function decodeClasslessRoutes(v: Buffer): Dhcp4Route[] | null {
  const routes: Dhcp4Route[] = [];
  for (let i = 0; i < v.length; ) {
    const prefix = v[i]!;
    if (prefix > 32) return null;
    const significant = Math.ceil(prefix / 8);
    if (i + 1 + significant + 4 > v.length) return null;
    const dest = Buffer.alloc(4);
    v.copy(dest, 0, i + 1, i + 1 + significant);
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    dest.writeUInt32BE((dest.readUInt32BE(0) & mask) >>> 0, 0);
    routes.push({ dest: ipText(dest), prefix, gateway: ipText(v, i + 1 + significant) });
    i += 1 + significant + 4;
  }
  return routes;
}

export function encodeClasslessRoutes(routes: readonly Dhcp4Route[]): Buffer {
  return Buffer.concat(
    routes.map((r) => Buffer.concat([Buffer.from([r.prefix]), ipBytes(r.dest).subarray(0, Math.ceil(r.prefix / 8)), ipBytes(r.gateway)])),
  );
}

const MAX_NAME = 255;
const MAX_JUMPS = 64;

/**
 * Option 119: domain names in DNS wire format one after the other, where a
 * name may end in a pointer to a suffix earlier in the option. A pointer must
 * point before everything the name has read so far, so that a hostile option
 * cannot loop. Null when the option does not read whole.
 */
export function decodeDomainSearch(v: Buffer): string[] | null {
  const names: string[] = [];
  for (let at = 0; at < v.length; ) {
    const read = readName(v, at);
    if (!read) return null;
    if (read.name !== '') names.push(read.name);
    at = read.next;
  }
  return names;
}

function readName(v: Buffer, start: number): { name: string; next: number } | null {
  const labels: string[] = [];
  let p = start;
  let lowest = start;
  let next: number | null = null;
  let length = 0;
  for (let jumps = 0; ; ) {
    if (p >= v.length) return null;
    const len = v[p]!;
    if (len === 0) {
      next ??= p + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (p + 1 >= v.length || ++jumps > MAX_JUMPS) return null;
      const target = ((len & 0x3f) << 8) | v[p + 1]!;
      if (target >= lowest) return null;
      next ??= p + 2;
      lowest = target;
      p = target;
      continue;
    }
    if (len & 0xc0) return null; // extended label types are not used here
    if (p + 1 + len > v.length) return null;
    length += len + 1;
    if (length > MAX_NAME) return null;
    labels.push(v.subarray(p + 1, p + 1 + len).toString('latin1'));
    p += 1 + len;
  }
  return { name: labels.join('.'), next };
}

/** Option 119 written with the suffixes it shares with the names before it compressed. */
export function encodeDomainSearch(names: readonly string[]): Buffer {
  const out: number[] = [];
  const suffixes = new Map<string, number>();
  for (const name of names) {
    const labels = name.replace(/\.$/, '').split('.').filter((l) => l !== '');
    let i = 0;
    for (; i < labels.length; i++) {
      const suffix = labels.slice(i).join('.').toLowerCase();
      const at = suffixes.get(suffix);
      if (at !== undefined) {
        out.push(0xc0 | (at >> 8), at & 0xff);
        break;
      }
      if (out.length < 0x3fff) suffixes.set(suffix, out.length);
      const bytes = Buffer.from(labels[i]!, 'latin1');
      out.push(bytes.length, ...bytes);
    }
    if (i === labels.length) out.push(0);
  }
  return Buffer.from(out);
}

/** The options of `m` a lease is made of, each read on its own. */
export function readParameters(m: Dhcp4Message): Dhcp4Parameters {
  const o = m.options;
  const classless = o.get(OPT.CLASSLESS_ROUTES);
  const search = o.get(OPT.DOMAIN_SEARCH);
  const mtu = o.get(OPT.MTU);
  const mask = oneAddress(o.get(OPT.SUBNET_MASK));
  return {
    subnetMask: mask !== null && maskPrefix(mask) !== null ? mask : null,
    routers: addresses(o.get(OPT.ROUTER)),
    dns: addresses(o.get(OPT.DNS)),
    hostname: nameOption(o.get(OPT.HOSTNAME)),
    domainName: nameOption(o.get(OPT.DOMAIN_NAME)),
    domainSearch: (search && decodeDomainSearch(search)?.filter(isDomainName)) || [],
    // 68: the smallest MTU an IPv4 link may have
    mtu: mtu && mtu.length === 2 && mtu.readUInt16BE(0) >= 68 ? mtu.readUInt16BE(0) : null,
    broadcast: oneAddress(o.get(OPT.BROADCAST)),
    ntp: addresses(o.get(OPT.NTP)),
    leaseTime: seconds(o.get(OPT.LEASE_TIME)),
    serverId: oneAddress(o.get(OPT.SERVER_ID)),
    renewalTime: seconds(o.get(OPT.RENEWAL_TIME)),
    rebindingTime: seconds(o.get(OPT.REBINDING_TIME)),
    classlessRoutes: classless ? decodeClasslessRoutes(classless) : null,
    message: printable(o.get(OPT.MESSAGE)),
  };
}

/** A lease time of all ones: the lease does not end. */
export const INFINITE_LEASE = 0xffffffff;

/**
 * The options of an ACK as text under the names NetworkManager shows for
 * DHCP4 (docs/dhcp4.md), for display only: `obtainedAt` (epoch ms) gives
 * `expiry`, in epoch seconds.
 */
export function optionsText(m: Dhcp4Message, obtainedAt: number): Record<string, string> {
  const p = readParameters(m);
  const out: Record<string, string> = {};
  const put = (name: string, value: string | number | null | undefined): void => {
    if (value !== null && value !== undefined && value !== '') out[name] = String(value);
  };
  put('ip_address', m.yiaddr);
  put('subnet_mask', p.subnetMask);
  put('broadcast_address', p.broadcast);
  put('routers', p.routers.join(' '));
  put('domain_name_servers', p.dns.join(' '));
  put('host_name', p.hostname);
  put('domain_name', p.domainName);
  put('domain_search', p.domainSearch.join(' '));
  put('interface_mtu', p.mtu);
  put('ntp_servers', p.ntp.join(' '));
  put('dhcp_lease_time', p.leaseTime);
  put('dhcp_renewal_time', p.renewalTime);
  put('dhcp_rebinding_time', p.rebindingTime);
  put('dhcp_server_identifier', p.serverId);
  if (p.classlessRoutes) put('classless_static_routes', p.classlessRoutes.map((r) => `${r.dest}/${r.prefix} ${r.gateway}`).join(' '));
  if (m.siaddr !== '0.0.0.0') put('next_server', m.siaddr);
  if (p.leaseTime !== null && p.leaseTime !== INFINITE_LEASE) put('expiry', Math.floor(obtainedAt / 1000) + p.leaseTime);
  return out;
}
