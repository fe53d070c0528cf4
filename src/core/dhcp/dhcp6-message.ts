// The DHCPv6 codec (RFC 8415): a message is its type, a 3-byte transaction id
// and options (code and length, 16 bits each), some of which nest options of
// their own (IA_NA holds IAADDR, both may hold STATUS_CODE). Pure: encoding
// what the client sends, and decoding what servers send without ever
// throwing. docs/dhcp6.md says which options the client uses and why.
import { ipv6String } from '../../native/rtnetlink-codec.js';
import { decodeDomainSearch, isDomainName } from './dhcp4-message.js';

export const DHCP6_CLIENT_PORT = 546;
export const DHCP6_SERVER_PORT = 547;
/** All_DHCP_Relay_Agents_and_Servers: where a client sends everything */
export const ALL_DHCP_SERVERS = 'ff02::1:2';

export const MSG = {
  solicit: 1,
  advertise: 2,
  request: 3,
  confirm: 4,
  renew: 5,
  rebind: 6,
  reply: 7,
  release: 8,
  decline: 9,
  reconfigure: 10,
  'information-request': 11,
} as const;

export type Dhcp6MessageType = keyof typeof MSG;

export const OPT6 = {
  CLIENTID: 1,
  SERVERID: 2,
  IA_NA: 3,
  IAADDR: 5,
  ORO: 6,
  PREFERENCE: 7,
  ELAPSED_TIME: 8,
  STATUS_CODE: 13,
  RAPID_COMMIT: 14,
  DNS_SERVERS: 23,
  DOMAIN_LIST: 24,
  INFORMATION_REFRESH_TIME: 32,
} as const;

export const STATUS = {
  Success: 0,
  UnspecFail: 1,
  NoAddrsAvail: 2,
  NoBinding: 3,
  NotOnLink: 4,
  UseMulticast: 5,
} as const;

/** A lifetime of all ones: for ever */
export const INFINITE_LIFETIME = 0xffffffff;

export interface Status {
  readonly code: number;
  readonly message: string;
}

export interface IaAddress {
  readonly address: string;
  /** seconds */
  readonly preferred: number;
  readonly valid: number;
}

export interface IaNa {
  readonly iaid: number;
  readonly t1: number;
  readonly t2: number;
  readonly addresses: readonly IaAddress[];
  readonly status: Status | null;
}

export interface Dhcp6Message {
  readonly type: Dhcp6MessageType | null;
  readonly xid: number;
  readonly clientId: Buffer | null;
  readonly serverId: Buffer | null;
  readonly iaNa: readonly IaNa[];
  /** OPTION_PREFERENCE, 0 when absent */
  readonly preference: number;
  readonly rapidCommit: boolean;
  readonly status: Status | null;
  /** option 23; addresses that do not read are left out */
  readonly dns: readonly string[];
  /** option 24; names a resolver configuration must not get are left out */
  readonly domains: readonly string[];
  /** option 32, seconds */
  readonly informationRefresh: number | null;
}

/** What the client sends. */
export interface Dhcp6ClientMessage {
  readonly type: Dhcp6MessageType;
  readonly xid: number;
  readonly clientId: Buffer;
  readonly serverId?: Buffer | null;
  /** an IA_NA with these addresses (none: asks for any); lifetimes and T1/T2 are sent as 0, the server's to choose */
  readonly iaNa?: { readonly iaid: number; readonly addresses: readonly string[] } | null;
  /** option codes asked for (ORO) */
  readonly oro?: readonly number[];
  /** centiseconds since the exchange began */
  readonly elapsed: number;
  readonly rapidCommit?: boolean;
}

function option(code: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(code, 0);
  head.writeUInt16BE(payload.length, 2);
  return Buffer.concat([head, payload]);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n, 0);
  return b;
}

/** An IPv6 address as its 16 bytes; throws on text that is not one (only the daemon's own values come here). */
export function ipv6Bytes(text: string): Buffer {
  const [head, tail] = text.includes('::') ? text.split('::') : [text, null];
  const groups = (s: string | undefined): number[] => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const h = groups(head);
  const t = tail === null ? [] : groups(tail);
  const all = tail === null ? h : [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t];
  if (all.length !== 8 || all.some((g) => !Number.isInteger(g) || g < 0 || g > 0xffff)) throw new Error(`not an IPv6 address: ${JSON.stringify(text)}`);
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

export function encodeDhcp6(m: Dhcp6ClientMessage): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(((MSG[m.type] << 24) | (m.xid & 0xffffff)) >>> 0, 0);
  const parts: Buffer[] = [head, option(OPT6.CLIENTID, m.clientId)];
  if (m.serverId) parts.push(option(OPT6.SERVERID, m.serverId));
  if (m.iaNa) {
    const addresses = m.iaNa.addresses.map((a) => option(OPT6.IAADDR, Buffer.concat([ipv6Bytes(a), u32(0), u32(0)])));
    parts.push(option(OPT6.IA_NA, Buffer.concat([u32(m.iaNa.iaid), u32(0), u32(0), ...addresses])));
  }
  if (m.oro && m.oro.length > 0) parts.push(option(OPT6.ORO, Buffer.concat(m.oro.map(u16))));
  parts.push(option(OPT6.ELAPSED_TIME, u16(Math.min(0xffff, Math.max(0, Math.floor(m.elapsed))))));
  if (m.rapidCommit) parts.push(option(OPT6.RAPID_COMMIT, Buffer.alloc(0)));
  return Buffer.concat(parts);
}

/** Options from `at` to the end, by code in order; null when one runs past the end. */
function readOptions(b: Buffer, at: number): Array<{ code: number; value: Buffer }> | null {
  const out: Array<{ code: number; value: Buffer }> = [];
  while (at < b.length) {
    if (at + 4 > b.length) return null;
    const code = b.readUInt16BE(at);
    const len = b.readUInt16BE(at + 2);
    if (at + 4 + len > b.length) return null;
    out.push({ code, value: b.subarray(at + 4, at + 4 + len) });
    at += 4 + len;
  }
  return out;
}

function readStatus(v: Buffer): Status | null {
  if (v.length < 2) return null;
  // The message is UTF-8 for people; control characters never reach a log line.
  return { code: v.readUInt16BE(0), message: v.subarray(2).toString('utf8').replace(/[\u0000-\u001f\u007f]/g, '?') };
}

function readIaNa(v: Buffer): IaNa | null {
  if (v.length < 12) return null;
  const inner = readOptions(v, 12);
  if (!inner) return null;
  const addresses: IaAddress[] = [];
  let status: Status | null = null;
  for (const o of inner) {
    if (o.code === OPT6.STATUS_CODE) status = readStatus(o.value);
    if (o.code !== OPT6.IAADDR || o.value.length < 24) continue;
    const addressStatus = readOptions(o.value, 24)?.find((x) => x.code === OPT6.STATUS_CODE);
    // An address the server says something went wrong with is not one to take.
    if (addressStatus && readStatus(addressStatus.value)?.code !== STATUS.Success) continue;
    addresses.push({ address: ipv6String(o.value.subarray(0, 16)), preferred: o.value.readUInt32BE(16), valid: o.value.readUInt32BE(20) });
  }
  return { iaid: v.readUInt32BE(0), t1: v.readUInt32BE(4), t2: v.readUInt32BE(8), addresses, status };
}

const TYPES = new Map<number, Dhcp6MessageType>(Object.entries(MSG).map(([k, v]) => [v, k as Dhcp6MessageType]));

/** A server's message, or null when it does not read (too short, an option past the end). */
export function decodeDhcp6(b: Buffer): Dhcp6Message | null {
  if (b.length < 4) return null;
  const options = readOptions(b, 4);
  if (!options) return null;
  let clientId: Buffer | null = null;
  let serverId: Buffer | null = null;
  let preference = 0;
  let rapidCommit = false;
  let status: Status | null = null;
  let informationRefresh: number | null = null;
  const iaNa: IaNa[] = [];
  const dns: string[] = [];
  const domains: string[] = [];
  for (const o of options) {
    switch (o.code) {
      case OPT6.CLIENTID:
        clientId = Buffer.from(o.value);
        break;
      case OPT6.SERVERID:
        serverId = Buffer.from(o.value);
        break;
      case OPT6.IA_NA: {
        const ia = readIaNa(o.value);
        if (ia) iaNa.push(ia);
        break;
      }
      case OPT6.PREFERENCE:
        if (o.value.length === 1) preference = o.value[0]!;
        break;
      case OPT6.RAPID_COMMIT:
        rapidCommit = true;
        break;
      case OPT6.STATUS_CODE:
        status = readStatus(o.value);
        break;
      case OPT6.DNS_SERVERS:
        // A length that is not a multiple of 16 is not a list of addresses: the option does not read.
        if (o.value.length % 16 === 0) for (let i = 0; i < o.value.length; i += 16) dns.push(ipv6String(o.value.subarray(i, i + 16)));
        break;
      case OPT6.DOMAIN_LIST:
        for (const name of decodeDomainSearch(o.value) ?? []) if (isDomainName(name)) domains.push(name);
        break;
      case OPT6.INFORMATION_REFRESH_TIME:
        if (o.value.length === 4) informationRefresh = o.value.readUInt32BE(0);
        break;
    }
  }
  return { type: TYPES.get(b[0]!) ?? null, xid: b.readUInt32BE(0) & 0xffffff, clientId, serverId, iaNa, preference, rapidCommit, status, dns, domains, informationRefresh };
}

/** What the client knows of each status code, by name, for log lines. */
export function statusName(code: number): string {
  return (Object.entries(STATUS).find(([, v]) => v === code)?.[0] ?? `status ${code}`);
}

/** Encodes an IA_NA for a server's reply (the unit tests' fake servers use it). */
export function encodeIaNa(ia: { iaid: number; t1: number; t2: number; addresses: readonly IaAddress[]; status?: Status }): Buffer {
  const addresses = ia.addresses.map((a) => option(OPT6.IAADDR, Buffer.concat([ipv6Bytes(a.address), u32(a.preferred), u32(a.valid)])));
  const status = ia.status ? [option(OPT6.STATUS_CODE, Buffer.concat([u16(ia.status.code), Buffer.from(ia.status.message)]))] : [];
  return option(OPT6.IA_NA, Buffer.concat([u32(ia.iaid), u32(ia.t1), u32(ia.t2), ...addresses, ...status]));
}

/** A server message from raw options (the unit tests' fake servers use it). */
export function encodeServerMessage(type: Dhcp6MessageType, xid: number, options: ReadonlyArray<{ code: number; value: Buffer } | Buffer>): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(((MSG[type] << 24) | (xid & 0xffffff)) >>> 0, 0);
  return Buffer.concat([head, ...options.map((o) => (Buffer.isBuffer(o) ? o : option(o.code, o.value)))]);
}

/** The DUID as lower-case colon hex, as NetworkManager shows it. */
export function duidText(duid: Buffer): string {
  return [...duid].map((x) => x.toString(16).padStart(2, '0')).join(':');
}
