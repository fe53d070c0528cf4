// Dhcp4Client: the DHCPv4 client of one link. It finds a server and takes a
// lease (DISCOVER, OFFER, REQUEST, ACK), checks that the address is free on
// the link (acd.ts), renews the lease at T1 from its server and at T2 from
// any, and tells the daemon each time what it should have applied, waiting
// until the daemon did. Time and I/O come in through Clock and the
// transports, so that the whole of it runs in unit tests with fakes.
// The states, timers and their reasons: docs/dhcp4.md.
import { randomBytes } from 'node:crypto';
import { Acd, DEFAULT_ACD_TIMEOUT_MS } from './acd.js';
import { ClientCore } from './client-core.js';
import type { Clock, TimerHandle } from './clock.js';
import { leaseChanged, leaseExpiresAt, leaseFromAck, leaseRenewsAt, type Dhcp4Lease } from './dhcp4-lease.js';
import { BOOTREPLY, decodeDhcp4, encodeClientMessage, OPT, readParameters, type ClientMessage, type Dhcp4Message } from './dhcp4-message.js';
import type { ArpTransport, Dhcp4Datagram, Dhcp4Transport } from './dhcp4-transport.js';

export { openDhcp4Transports } from './packet-transports.js';
export type { Clock } from './clock.js';
export type { ArpTransport, Dhcp4Transport } from './dhcp4-transport.js';

export type Dhcp4EventKind = 'bound' | 'renewed' | 'changed' | 'expired' | 'nak' | 'declined';

/**
 * What happened, and the lease the link should have now (null: none, take
 * away what the last one gave):
 * - 'bound': a first lease (also after INIT-REBOOT succeeds);
 * - 'renewed': an ACK at renewal or rebinding that changes nothing leaseChanged() sees;
 * - 'changed': an ACK at renewal or rebinding with a different lease;
 * - 'expired': the lease ended without an ACK (lease null);
 * - 'nak': a NAK made the client drop its lease, or refused its INIT-REBOOT (lease null);
 * - 'declined': the offered address is in use on the link and the client sent DECLINE
 *   (lease null, previous the declined offer).
 */
export interface Dhcp4Event {
  kind: Dhcp4EventKind;
  lease: Dhcp4Lease | null;
  previous: Dhcp4Lease | null;
  /** the server that answered, when one did */
  server: string | null;
}

export interface Dhcp4ClientOptions {
  ifindex: number;
  iface: string;
  /** 6-byte hardware address */
  mac: Buffer;
  /** option 61 as sent; default: type 1 + mac */
  clientId?: Buffer | null;
  /** option 12, when sending the hostname */
  hostname?: string | null;
  /** INIT-REBOOT when still valid */
  lastLease?: Dhcp4Lease | null;
  /** parameter request list; default DEFAULT_REQUESTED_OPTIONS */
  requestedOptions?: number[];
  /** 0 disables ACD; default 200 */
  acdTimeoutMs?: number;
  /** first retransmission interval; default 4000 */
  retransmitMs?: number;
  /** the client owns both transports from start() on: stop() closes them */
  transport: Dhcp4Transport;
  arp: ArpTransport | null;
  clock: Clock;
  log: { debug(m: string): void; info(m: string): void; warn(m: string): void };
  /** awaited: the client does not move on until the daemon applied it */
  onEvent(e: Dhcp4Event): Promise<void>;
}

export const DEFAULT_REQUESTED_OPTIONS: readonly number[] = [
  OPT.SUBNET_MASK, OPT.ROUTER, OPT.DNS, OPT.HOSTNAME, OPT.DOMAIN_NAME, OPT.MTU, OPT.BROADCAST, OPT.NTP,
  OPT.LEASE_TIME, OPT.SERVER_ID, OPT.RENEWAL_TIME, OPT.REBINDING_TIME, OPT.DOMAIN_SEARCH, OPT.CLASSLESS_ROUTES,
];

export const DEFAULT_RETRANSMIT_MS = 4000;
/** The back-off doubles up to this many times the first interval (64 s from 4 s). */
const MAX_BACKOFF_FACTOR = 16;
/** Sends of a REQUEST for an offer before starting over with DISCOVER. */
const REQUEST_SENDS = 4;
/** Sends of an INIT-REBOOT REQUEST before giving up on the last lease. */
const REBOOT_SENDS = 3;
/** Renewing and rebinding send again after half the time left, but no sooner than this. */
const RENEW_MIN_INTERVAL_MS = 60_000;
/** After a DECLINE the client waits before it asks again; after many conflicts, longer. */
const DECLINE_WAIT_MS = 10_000;
const MAX_CONFLICTS = 10;
const CONFLICT_RATE_LIMIT_MS = 60_000;
/**
 * What the client says it can take (option 57). It does not know the link's
 * MTU; 576 is what every IPv4 host must take, so no answer is fragmented.
 */
const MAX_MESSAGE_SIZE = 576;

type State = 'idle' | 'init' | 'selecting' | 'requesting' | 'init-reboot' | 'probing' | 'bound' | 'renewing' | 'rebinding' | 'stopped';

/** One exchange with its xid: what is sent again until an answer comes. */
interface Exchange {
  readonly xid: number;
  /** epoch ms when it began, for the secs field */
  readonly began: number;
  sends: number;
}

export class Dhcp4Client extends ClientCore<Dhcp4Lease, Dhcp4Event, State> {
  /** grows at each transition: an async step that finds it changed has been overtaken */
  private epoch = 0;
  private exchange: Exchange | null = null;
  private retransmitTimer: TimerHandle | null = null;
  private leaseTimer: TimerHandle | null = null;
  private waitTimer: TimerHandle | null = null;
  /** the offer being requested, in REQUESTING */
  private offer: { address: string; server: string } | null = null;
  /** the address to ask for again in a DISCOVER */
  private hint: string | null;
  private naks = 0;
  private conflicts = 0;
  private readonly acd: Acd | null;
  private readonly macText: string;
  private readonly clientId: Buffer;
  private readonly retransmitMs: number;
  private readonly acdTimeoutMs: number;

  constructor(private readonly o: Dhcp4ClientOptions) {
    super(o, 'idle');
    if (o.mac.length !== 6) throw new Error(`${o.iface}: a DHCP client needs a 6-byte hardware address, not ${o.mac.length} bytes`);
    this.macText = [...o.mac].map((x) => x.toString(16).padStart(2, '0')).join(':');
    this.clientId = o.clientId ?? Buffer.concat([Buffer.from([1]), o.mac]);
    this.retransmitMs = o.retransmitMs ?? DEFAULT_RETRANSMIT_MS;
    this.acdTimeoutMs = o.acdTimeoutMs ?? DEFAULT_ACD_TIMEOUT_MS;
    this.acd = o.arp && this.acdTimeoutMs > 0 ? new Acd({ arp: o.arp, clock: o.clock, mac: this.macText, log: o.log }) : null;
    this.hint = o.lastLease?.address ?? null;
  }

  start(): void {
    this.assertIdle('idle');
    this.o.transport.listen((d) => this.received(d));
    const last = this.o.lastLease;
    if (last && leaseExpiresAt(last) > this.o.clock.now()) this.initReboot(last);
    else this.init(0);
  }

  /** Stops timers and I/O; with release=true sends RELEASE for a bound lease first. */
  async stop(release: boolean): Promise<void> {
    if (this.st === 'stopped') return;
    this.transition('stopped');
    this.acd?.stop();
    const lease = this.current;
    // A lease is held in bound, renewing and rebinding, and while a renewal's new address is probed.
    if (release && lease) {
      this.send(
        { type: 'release', xid: newXid(), ciaddr: lease.address, serverId: lease.server },
        { sourceIp: lease.address, destinationIp: lease.server, destinationMac: lease.serverMac },
      );
      this.o.log.info(`${this.o.iface}: released ${lease.address} to ${lease.server}`);
      this.current = null;
    }
    this.o.transport.listen(null);
    this.o.transport.close();
    this.o.arp?.listen(null);
    this.o.arp?.close();
  }

  // --- states ---

  /** Leaves the current state: its timers and exchange end with it. */
  private transition(to: State): number {
    this.st = to;
    this.exchange = null;
    for (const t of [this.retransmitTimer, this.leaseTimer, this.waitTimer]) if (t !== null) this.o.clock.clearTimeout(t);
    this.retransmitTimer = this.leaseTimer = this.waitTimer = null;
    return ++this.epoch;
  }

  /** INIT, after `delayMs`: then SELECTING with a DISCOVER. */
  private init(delayMs: number): void {
    const epoch = this.transition('init');
    this.offer = null;
    const go = (): void => {
      if (this.epoch !== epoch) return;
      this.st = 'selecting';
      this.begin(Infinity, () => this.discover());
    };
    if (delayMs > 0) this.waitTimer = this.o.clock.setTimeout(go, delayMs);
    else go();
  }

  private initReboot(last: Dhcp4Lease): void {
    this.transition('init-reboot');
    this.o.log.info(`${this.o.iface}: asking again for ${last.address}, the last lease`);
    this.begin(REBOOT_SENDS, () =>
      this.request({ broadcast: true, requestedAddress: last.address }, broadcastTo()),
    );
  }

  private discover(): void {
    this.send(
      {
        type: 'discover', xid: this.exchange!.xid, secs: this.secs(), broadcast: true, requestedAddress: this.hint,
        clientId: this.clientId, hostname: this.o.hostname ?? null, parameterRequestList: this.requestedOptions(), maxMessageSize: MAX_MESSAGE_SIZE,
      },
      broadcastTo(),
    );
  }

  private request(fields: Partial<Omit<ClientMessage, 'type' | 'mac'>>, to: Destination): void {
    this.send(
      {
        type: 'request', xid: this.exchange!.xid, secs: this.secs(), clientId: this.clientId, hostname: this.o.hostname ?? null,
        parameterRequestList: this.requestedOptions(), maxMessageSize: MAX_MESSAGE_SIZE, ...fields,
      },
      to,
    );
  }

  /**
   * An exchange: sends now, then again with the back-off until an answer or
   * `maxSends` sends, after which the state gives up (giveUp). `continuing`
   * keeps the xid and start of the exchange before it (a REQUEST for an
   * offer is matched by the server to its DISCOVER).
   */
  private begin(maxSends: number, sendOne: () => void, continuing: Exchange | null = null): void {
    this.exchange = { xid: continuing?.xid ?? newXid(), began: continuing?.began ?? this.o.clock.now(), sends: 0 };
    const epoch = this.epoch;
    const tick = (): void => {
      if (this.epoch !== epoch) return;
      const ex = this.exchange!;
      if (ex.sends >= maxSends) return this.giveUp();
      sendOne();
      ex.sends++;
      const base = Math.min(this.retransmitMs * 2 ** (ex.sends - 1), this.retransmitMs * MAX_BACKOFF_FACTOR);
      // ±1 s at the default 4 s: clients that started together do not stay in step
      const jitter = (Math.random() * 2 - 1) * (this.retransmitMs / 4);
      this.retransmitTimer = this.o.clock.setTimeout(tick, Math.max(0, base + jitter));
    };
    tick();
  }

  private giveUp(): void {
    if (this.st === 'requesting') {
      this.o.log.info(`${this.o.iface}: no answer to the request for ${this.offer?.address}; looking for a server again`);
      this.init(0);
    } else if (this.st === 'init-reboot') {
      this.o.log.info(`${this.o.iface}: no server answered for the last lease; looking for a server`);
      this.init(0);
    }
  }

  /** Renewing (from the lease's server, unicast) or rebinding (from any, broadcast) until the next deadline. */
  private renew(kind: 'renewing' | 'rebinding'): void {
    const lease = this.current!;
    this.transition(kind);
    this.scheduleLeaseTimer();
    const epoch = this.epoch;
    const { t2 } = leaseRenewsAt(lease);
    const deadline = kind === 'renewing' ? t2 : leaseExpiresAt(lease);
    this.exchange = { xid: newXid(), began: this.o.clock.now(), sends: 0 };
    this.o.log.info(`${this.o.iface}: ${kind === 'renewing' ? `renewing ${lease.address} with ${lease.server}` : `rebinding ${lease.address} with any server`}`);
    const tick = (): void => {
      if (this.epoch !== epoch) return;
      if (kind === 'renewing') {
        this.request({ ciaddr: lease.address }, { sourceIp: lease.address, destinationIp: lease.server, destinationMac: lease.serverMac });
      } else {
        this.request({ ciaddr: lease.address }, { sourceIp: lease.address, destinationIp: '255.255.255.255', destinationMac: null });
      }
      this.exchange!.sends++;
      const left = deadline - this.o.clock.now();
      const wait = Math.max(left / 2, RENEW_MIN_INTERVAL_MS);
      // The deadline's own timer moves the state on; a send at it would be the next state's.
      if (wait < left) this.retransmitTimer = this.o.clock.setTimeout(tick, wait);
    };
    tick();
  }

  /**
   * One timer for the deadline that ends the current state: T1 when bound,
   * T2 when renewing, the lease's end when rebinding. When it fires, the
   * state follows from the time it is then.
   */
  private scheduleLeaseTimer(): void {
    const lease = this.current!;
    const { t1, t2 } = leaseRenewsAt(lease);
    const due = this.st === 'bound' ? t1 : this.st === 'renewing' ? t2 : leaseExpiresAt(lease);
    if (!Number.isFinite(due)) return;
    const epoch = this.epoch;
    this.leaseTimer = this.o.clock.setTimeout(() => {
      if (this.epoch === epoch) this.leaseDeadline();
    }, Math.max(0, due - this.o.clock.now()));
  }

  private leaseDeadline(): void {
    this.leaseTimer = null;
    const lease = this.current!;
    const now = this.o.clock.now();
    // The timer may fire late (the host slept): the state is whatever the time says.
    if (now >= leaseExpiresAt(lease)) void this.expire();
    else if (now >= leaseRenewsAt(lease).t2) this.renew('rebinding');
    else this.renew('renewing');
  }

  private async expire(): Promise<void> {
    const previous = this.current!;
    this.transition('init');
    this.current = null;
    this.hint = previous.address;
    this.o.log.warn(`${this.o.iface}: the lease of ${previous.address} from ${previous.server} expired without a renewal`);
    const epoch = this.epoch;
    await this.emit({ kind: 'expired', lease: null, previous, server: null });
    if (this.epoch === epoch) this.init(0);
  }

  // --- what comes in ---

  private received(d: Dhcp4Datagram): void {
    // Replies to other clients on the link are broadcast too: their xid is looked at before anything is decoded.
    if (!this.exchange || d.payload.length < 8 || d.payload.readUInt32BE(4) !== this.exchange.xid) return;
    const m = decodeDhcp4(d.payload);
    if (!m) return this.o.log.debug(`${this.o.iface}: a datagram from ${d.sourceIp} is not a DHCP message; ignored`);
    if (m.op !== BOOTREPLY || !this.exchange || m.xid !== this.exchange.xid || !m.chaddr.equals(this.o.mac)) return;
    switch (this.st) {
      case 'selecting':
        if (m.type === 'offer') this.offered(m, d);
        return;
      case 'requesting':
      case 'init-reboot':
      case 'renewing':
      case 'rebinding':
        if (m.type === 'ack') void this.acked(m, d);
        else if (m.type === 'nak') void this.naked(m, d);
        return;
      default:
        return;
    }
  }

  private offered(m: Dhcp4Message, d: Dhcp4Datagram): void {
    const p = readParameters(m);
    const server = p.serverId;
    if (!server) return this.o.log.warn(`${this.o.iface}: the offer from ${d.sourceIp} names no server (option 54); ignored`);
    const probe = leaseFromAck(m, { obtainedAt: this.o.clock.now(), serverMac: d.sourceMac, fallbackServer: server });
    if ('refused' in probe) return this.o.log.warn(`${this.o.iface}: the offer from ${server} is ignored: ${probe.refused}`);
    const ex = this.exchange!;
    this.o.log.debug(`${this.o.iface}: ${server} offers ${m.yiaddr}`);
    // The same xid and secs as the DISCOVER: the server matches the REQUEST to its offer.
    this.transition('requesting');
    this.offer = { address: m.yiaddr, server };
    this.begin(REQUEST_SENDS, () => this.request({ broadcast: true, requestedAddress: m.yiaddr, serverId: server }, broadcastTo()), ex);
  }

  private async acked(m: Dhcp4Message, d: Dhcp4Datagram): Promise<void> {
    const from = this.st;
    const lease = leaseFromAck(m, {
      obtainedAt: this.o.clock.now(),
      serverMac: d.sourceMac,
      fallbackServer: this.offer?.server ?? this.current?.server ?? d.sourceIp,
    });
    if ('refused' in lease) {
      this.o.log.warn(`${this.o.iface}: the ACK from ${d.sourceIp} is ignored: ${lease.refused}`);
      return;
    }
    const previous = this.current;
    const fresh = previous === null || previous.address !== lease.address;
    if (fresh && this.acd) {
      this.transition('probing');
      const epoch = this.epoch;
      const result = await this.acd.probe(lease.address, this.acdTimeoutMs);
      if (this.epoch !== epoch) return;
      if (result.outcome === 'conflict') return this.decline(lease, result.mac);
    }
    this.transition('bound');
    this.current = lease;
    this.hint = lease.address;
    this.naks = 0;
    const kind = previous === null ? 'bound' : leaseChanged(previous, lease) ? 'changed' : 'renewed';
    this.o.log.info(
      kind === 'renewed'
        ? `${this.o.iface}: ${lease.server} renewed ${lease.address} for ${lease.leaseTime} s`
        : `${this.o.iface}: ${lease.address}/${lease.prefix} from ${lease.server} for ${lease.leaseTime} s (${from === 'init-reboot' ? 'the last lease, confirmed' : kind})`,
    );
    const epoch = this.epoch;
    await this.emit({ kind, lease, previous, server: lease.server });
    if (this.epoch !== epoch) return;
    if (fresh) this.acd?.announce(lease.address);
    this.scheduleLeaseTimer();
  }

  private async decline(offer: Dhcp4Lease, mac: string): Promise<void> {
    this.o.log.warn(`${this.o.iface}: ${offer.address} from ${offer.server} is in use by ${mac} on the link; declining it`);
    this.send(
      { type: 'decline', xid: newXid(), requestedAddress: offer.address, serverId: offer.server, clientId: this.clientId, message: `address in use by ${mac}` },
      broadcastTo(),
    );
    this.transition('init');
    this.current = null;
    this.hint = null;
    this.conflicts++;
    const epoch = this.epoch;
    // A lease still applied while its renewal offered another address goes too: lease null says so.
    await this.emit({ kind: 'declined', lease: null, previous: offer, server: offer.server });
    if (this.epoch !== epoch) return;
    this.init(this.conflicts >= MAX_CONFLICTS ? CONFLICT_RATE_LIMIT_MS : DECLINE_WAIT_MS);
  }

  private async naked(m: Dhcp4Message, d: Dhcp4Datagram): Promise<void> {
    const from = this.st;
    const reason = readParameters(m).message;
    const server = readParameters(m).serverId ?? d.sourceIp;
    const dropped = from === 'init-reboot' ? (this.o.lastLease ?? null) : this.current;
    this.o.log.warn(`${this.o.iface}: ${server} refused ${dropped?.address ?? this.offer?.address ?? 'the request'}${reason ? ` (${reason})` : ''}; looking for a server again`);
    this.transition('init');
    this.current = null;
    this.hint = null;
    this.naks++;
    // Repeated NAKs wait longer each time, so that a server that refuses everything is not flooded.
    const delay = Math.min((this.retransmitMs / 4) * 2 ** (this.naks - 1), this.retransmitMs * MAX_BACKOFF_FACTOR);
    const epoch = this.epoch;
    if (from !== 'requesting') await this.emit({ kind: 'nak', lease: null, previous: dropped, server });
    if (this.epoch === epoch) this.init(delay);
  }

  // --- helpers ---

  private send(m: Omit<ClientMessage, 'mac'>, to: Destination): void {
    try {
      this.o.transport.send(encodeClientMessage({ mac: this.o.mac, ...m }), to);
      this.o.log.debug(`${this.o.iface}: sent ${m.type.toUpperCase()} to ${to.destinationIp}`);
    } catch (e) {
      // Sent again by the back-off; a link that stays down shows in the log each time.
      this.o.log.warn(`${this.o.iface}: ${m.type.toUpperCase()} not sent: ${(e as Error).message}`);
    }
  }

  private secs(): number {
    return this.exchange ? Math.floor((this.o.clock.now() - this.exchange.began) / 1000) : 0;
  }

  private requestedOptions(): number[] {
    return [...(this.o.requestedOptions ?? DEFAULT_REQUESTED_OPTIONS)];
  }
}

type Destination = { sourceIp: string; destinationIp: string; destinationMac: string | null };

function broadcastTo(): Destination {
  return { sourceIp: '0.0.0.0', destinationIp: '255.255.255.255', destinationMac: null };
}

function newXid(): number {
  return randomBytes(4).readUInt32BE(0);
}
