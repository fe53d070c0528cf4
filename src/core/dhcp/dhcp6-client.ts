// Dhcp6Client: the DHCPv6 client of one link (RFC 8415). Stateful, it finds
// a server and takes an address of an IA_NA (Solicit, Advertise, Request,
// Reply), renews it at T1 from its server and at T2 from any (Renew, Rebind),
// and gives it back on request (Release). Stateless, it asks for DNS only
// (Information-request) and asks again when the server says. It tells the
// daemon each time what the link should have, and waits until the daemon
// applied it. Time and I/O come in through Clock and Dhcp6Transport, so that
// the whole of it runs in unit tests with fakes. docs/dhcp6.md.
import { randomBytes } from 'node:crypto';
import { ClientCore } from './client-core.js';
import type { Clock, TimerHandle } from './clock.js';
import { lease6Changed, lease6ExpiresAt, lease6FromReply, lease6RenewsAt, type Dhcp6Lease } from './dhcp6-lease.js';
import { decodeDhcp6, encodeDhcp6, OPT6, STATUS, statusName, type Dhcp6ClientMessage, type Dhcp6Message } from './dhcp6-message.js';
import type { Dhcp6Datagram, Dhcp6Transport } from './dhcp6-transport.js';

export type Dhcp6Mode = 'stateful' | 'stateless';

export type Dhcp6EventKind = 'bound' | 'renewed' | 'changed' | 'expired';

/**
 * What happened, and the lease the link should have now (null: none):
 * 'bound' a first lease; 'renewed' a Reply at renewal, rebinding or a new
 * Information-request that changes nothing lease6Changed() sees; 'changed'
 * one that does; 'expired' the address's valid lifetime ended (lease null).
 */
export interface Dhcp6Event {
  kind: Dhcp6EventKind;
  lease: Dhcp6Lease | null;
  previous: Dhcp6Lease | null;
}

export interface Dhcp6ClientOptions {
  iface: string;
  mode: Dhcp6Mode;
  /** CLIENTID: the host's DUID (duid-store.ts) */
  duid: Buffer;
  /** the IA_NA's IAID */
  iaid: number;
  /** stateful: renewed (Renew) rather than asked for anew while it is valid */
  lastLease?: Dhcp6Lease | null;
  /** the client owns it from start() on: stop() closes it */
  transport: Dhcp6Transport;
  clock: Clock;
  /** [0, 1): the retransmissions' jitter and the first message's delay; Math.random by default */
  random?: () => number;
  log: { debug(m: string): void; info(m: string): void; warn(m: string): void };
  /** awaited: the client does not move on until the daemon applied it */
  onEvent(e: Dhcp6Event): Promise<void>;
}

/** RFC 8415 §7.6, in ms: initial and maximum retransmission times, maximum sends. */
interface Timing {
  readonly irt: number;
  readonly mrt: number;
  readonly mrc: number;
}
const SOL_MAX_DELAY = 1_000;
const SOLICIT: Timing = { irt: 1_000, mrt: 3_600_000, mrc: 0 };
const REQUEST: Timing = { irt: 1_000, mrt: 30_000, mrc: 10 };
const RENEW: Timing = { irt: 10_000, mrt: 600_000, mrc: 0 };
const REBIND: Timing = { irt: 10_000, mrt: 600_000, mrc: 0 };
const INF_MAX_DELAY = 1_000;
const INFORMATION: Timing = { irt: 1_000, mrt: 3_600_000, mrc: 0 };
/** The preference that makes a client take an Advertise at once (RFC 8415 §18.2.1). */
const MAX_PREFERENCE = 255;
/** What the client asks for: DNS servers and the domain list. */
const ORO: readonly number[] = [OPT6.DNS_SERVERS, OPT6.DOMAIN_LIST];

type State = 'idle' | 'soliciting' | 'requesting' | 'bound' | 'renewing' | 'rebinding' | 'informing' | 'informed' | 'stopped';

interface Exchange {
  readonly xid: number;
  /** epoch ms of its first send, for ELAPSED_TIME */
  began: number | null;
  sends: number;
}

export class Dhcp6Client extends ClientCore<Dhcp6Lease, Dhcp6Event, State> {
  private epoch = 0;
  private exchange: Exchange | null = null;
  private retransmitTimer: TimerHandle | null = null;
  private leaseTimer: TimerHandle | null = null;
  /** the Advertise to request: the best heard while soliciting */
  private best: { message: Dhcp6Message; address: string; source: string } | null = null;
  /** the first retransmission of a Solicit has passed: the next usable Advertise is taken */
  private collectEnded = false;
  private readonly random: () => number;

  constructor(private readonly o: Dhcp6ClientOptions) {
    super(o, 'idle');
    this.random = o.random ?? Math.random;
  }

  start(): void {
    this.assertIdle('idle');
    this.o.transport.listen((d) => this.received(d));
    const last = this.o.lastLease;
    const now = this.o.clock.now();
    if (this.o.mode === 'stateful' && last?.address && lease6ExpiresAt(last) > now) {
      // A kept lease is renewed, not asked for anew: the server keeps its binding, and the link its address.
      this.current = last;
      this.o.log.info(`${this.o.iface}: renewing ${last.address}, the last lease`);
      this.renew(now >= lease6RenewsAt(last).t2 ? 'rebinding' : 'renewing');
    } else if (this.o.mode === 'stateful') {
      this.solicit();
    } else {
      this.inform();
    }
  }

  /** Stops timers and I/O; with release=true gives a stateful lease back first (Release). */
  async stop(release: boolean): Promise<void> {
    if (this.st === 'stopped') return;
    this.transition('stopped');
    const lease = this.current;
    if (release && lease?.address) {
      // Sent once, not retransmitted: the daemon is taking the address off the link anyway.
      this.send({ type: 'release', xid: newXid(), clientId: this.o.duid, serverId: Buffer.from(lease.server.replace(/:/g, ''), 'hex'), iaNa: { iaid: this.o.iaid, addresses: [lease.address] }, elapsed: 0 });
      this.o.log.info(`${this.o.iface}: released ${lease.address}`);
      this.current = null;
    }
    this.o.transport.listen(null);
    this.o.transport.close();
  }

  // --- states ---

  private transition(to: State): number {
    this.st = to;
    this.exchange = null;
    for (const t of [this.retransmitTimer, this.leaseTimer]) if (t !== null) this.o.clock.clearTimeout(t);
    this.retransmitTimer = this.leaseTimer = null;
    return ++this.epoch;
  }

  /**
   * An exchange of RFC 8415 §15: sends after `delayMs`, then again at RT,
   * where RT starts near IRT and doubles up to MRT, each moved by ±10 %
   * (the first Solicit's only upwards), until an answer, MRC sends, or
   * `deadline` (MRD as an epoch ms), when `giveUp` runs.
   */
  private begin(t: Timing, sendOne: () => void, o: { delayMs?: number; deadline?: number; giveUp?: () => void; firstRt?: () => void } = {}): void {
    const ex: Exchange = { xid: newXid(), began: null, sends: 0 };
    this.exchange = ex;
    const epoch = this.epoch;
    let rt = 0;
    const rand = (): number => this.random() * 0.2 - 0.1;
    const tick = (): void => {
      if (this.epoch !== epoch) return;
      if (ex.sends === 1) o.firstRt?.();
      if (this.epoch !== epoch) return;
      if (t.mrc > 0 && ex.sends >= t.mrc) return o.giveUp?.();
      ex.began ??= this.o.clock.now();
      sendOne();
      ex.sends++;
      if (rt === 0) rt = t === SOLICIT ? t.irt + this.random() * 0.1 * t.irt : t.irt + rand() * t.irt;
      else rt = 2 * rt + rand() * rt;
      if (rt > t.mrt) rt = t.mrt + rand() * t.mrt;
      let wait = rt;
      if (o.deadline !== undefined) {
        const left = o.deadline - this.o.clock.now();
        // The deadline's own timer moves the state on.
        if (left <= 0) return;
        wait = Math.min(wait, left);
        if (wait === left) return;
      }
      this.retransmitTimer = this.o.clock.setTimeout(tick, Math.max(0, wait));
    };
    const delay = o.delayMs ?? 0;
    if (delay > 0) this.retransmitTimer = this.o.clock.setTimeout(tick, delay);
    else tick();
  }

  private solicit(): void {
    this.transition('soliciting');
    this.best = null;
    this.collectEnded = false;
    this.begin(
      SOLICIT,
      () => this.send({ type: 'solicit', xid: this.exchange!.xid, clientId: this.o.duid, iaNa: { iaid: this.o.iaid, addresses: [] }, oro: ORO, elapsed: this.elapsed() }),
      {
        // RFC 8415 §18.2.1: the first Solicit waits a random time up to SOL_MAX_DELAY, so that hosts started together do not send together.
        delayMs: this.random() * SOL_MAX_DELAY,
        firstRt: () => {
          this.collectEnded = true;
          if (this.best) this.request();
        },
      },
    );
  }

  private request(): void {
    const chosen = this.best!;
    this.transition('requesting');
    this.o.log.debug(`${this.o.iface}: ${chosen.source} advertises ${chosen.address}; requesting it`);
    this.begin(
      REQUEST,
      () =>
        this.send({ type: 'request', xid: this.exchange!.xid, clientId: this.o.duid, serverId: chosen.message.serverId, iaNa: { iaid: this.o.iaid, addresses: [chosen.address] }, oro: ORO, elapsed: this.elapsed() }),
      {
        giveUp: () => {
          this.o.log.info(`${this.o.iface}: no answer to the request for ${chosen.address}; soliciting again`);
          this.solicit();
        },
      },
    );
  }

  private inform(): void {
    this.transition('informing');
    this.begin(
      INFORMATION,
      () => this.send({ type: 'information-request', xid: this.exchange!.xid, clientId: this.o.duid, oro: ORO, elapsed: this.elapsed() }),
      // RFC 8415 §18.2.6: the first Information-request waits up to INF_MAX_DELAY.
      { delayMs: this.random() * INF_MAX_DELAY },
    );
  }

  /** Renewing (from the lease's server) until T2, or rebinding (from any) until the address's valid lifetime ends. */
  private renew(kind: 'renewing' | 'rebinding'): void {
    const lease = this.current!;
    this.transition(kind);
    this.scheduleLeaseTimer();
    const { t2 } = lease6RenewsAt(lease);
    const deadline = kind === 'renewing' ? t2 : lease6ExpiresAt(lease);
    this.o.log.info(`${this.o.iface}: ${kind === 'renewing' ? `renewing ${lease.address} with ${lease.serverAddress}` : `rebinding ${lease.address} with any server`}`);
    const serverId = kind === 'renewing' ? Buffer.from(lease.server.replace(/:/g, ''), 'hex') : null;
    this.begin(
      kind === 'renewing' ? RENEW : REBIND,
      () =>
        this.send({ type: kind === 'renewing' ? 'renew' : 'rebind', xid: this.exchange!.xid, clientId: this.o.duid, serverId, iaNa: { iaid: this.o.iaid, addresses: [lease.address!] }, oro: ORO, elapsed: this.elapsed() }),
      Number.isFinite(deadline) ? { deadline } : {},
    );
  }

  /** One timer for the deadline that ends the current state: T1 when bound, T2 when renewing, the end when rebinding. */
  private scheduleLeaseTimer(): void {
    const lease = this.current!;
    const { t1, t2 } = lease6RenewsAt(lease);
    const due = this.st === 'bound' || this.st === 'informed' ? t1 : this.st === 'renewing' ? t2 : lease6ExpiresAt(lease);
    if (!Number.isFinite(due)) return;
    const epoch = this.epoch;
    this.leaseTimer = this.o.clock.setTimeout(() => {
      if (this.epoch === epoch) this.leaseDeadline();
    }, Math.max(0, due - this.o.clock.now()));
  }

  private leaseDeadline(): void {
    this.leaseTimer = null;
    const lease = this.current!;
    if (this.st === 'informed') return this.inform();
    const now = this.o.clock.now();
    // The timer may fire late (the host slept): the state is whatever the time says.
    if (now >= lease6ExpiresAt(lease)) void this.expire();
    else if (now >= lease6RenewsAt(lease).t2) this.renew('rebinding');
    else this.renew('renewing');
  }

  private async expire(): Promise<void> {
    const previous = this.current!;
    this.transition('soliciting');
    this.current = null;
    this.o.log.warn(`${this.o.iface}: the lease of ${previous.address} from ${previous.serverAddress} expired without a renewal`);
    const epoch = this.epoch;
    await this.emit({ kind: 'expired', lease: null, previous });
    if (this.epoch === epoch) this.solicit();
  }

  // --- what comes in ---

  private received(d: Dhcp6Datagram): void {
    const ex = this.exchange;
    if (!ex || d.payload.length < 4 || (d.payload.readUInt32BE(0) & 0xffffff) !== ex.xid) return;
    const m = decodeDhcp6(d.payload);
    if (!m) return this.o.log.debug(`${this.o.iface}: a datagram from ${d.source} is not a DHCPv6 message; ignored`);
    // RFC 8415 §16: a reply must carry our DUID as it was sent.
    if (!m.clientId?.equals(this.o.duid)) return;
    if (this.st === 'soliciting' && m.type === 'advertise') return this.advertised(m, d);
    if (m.type !== 'reply') return;
    if (this.st === 'requesting' || this.st === 'renewing' || this.st === 'rebinding' || this.st === 'informing') void this.replied(m, d);
  }

  private advertised(m: Dhcp6Message, d: Dhcp6Datagram): void {
    // RFC 8415 §18.2.9: an Advertise with NoAddrsAvail, or without an address for our IA, is ignored.
    if (m.status?.code === STATUS.NoAddrsAvail) return this.o.log.debug(`${this.o.iface}: ${d.source} has no address to give (NoAddrsAvail)`);
    const ia = m.iaNa.find((i) => i.iaid === this.o.iaid && (i.status === null || i.status.code === STATUS.Success));
    const address = ia?.addresses.find((a) => a.valid > 0 && a.preferred <= a.valid)?.address;
    if (!m.serverId || !address) return this.o.log.debug(`${this.o.iface}: the advertisement from ${d.source} gives no address; ignored`);
    if (!this.best || m.preference > this.best.message.preference) this.best = { message: m, address, source: d.source };
    // The best server says so, or the wait for more advertisements is over: take it.
    if (m.preference === MAX_PREFERENCE || this.collectEnded) this.request();
  }

  private async replied(m: Dhcp6Message, d: Dhcp6Datagram): Promise<void> {
    const from = this.st;
    const stateless = from === 'informing';
    const lease = lease6FromReply(m, { iaid: stateless ? null : this.o.iaid, obtainedAt: this.o.clock.now(), serverAddress: d.source });
    if ('refused' in lease) {
      const code = m.status?.code ?? m.iaNa.find((i) => i.iaid === this.o.iaid)?.status?.code;
      this.o.log.warn(`${this.o.iface}: the reply from ${d.source} is not taken: ${lease.refused}`);
      // NoBinding at a renewal: the server forgot us; NoAddrsAvail, NotOnLink: ask anew. Otherwise the exchange goes on.
      if (from !== 'informing' && (code === STATUS.NoBinding || code === STATUS.NoAddrsAvail || code === STATUS.NotOnLink)) {
        this.o.log.info(`${this.o.iface}: ${d.source} says ${statusName(code)}; soliciting again`);
        // A lease still valid stays on the link until it ends or a new one comes.
        const epoch = this.epoch;
        this.solicit();
        if (this.current && this.epoch === epoch + 1) this.scheduleExpiry();
      }
      return;
    }
    const previous = this.current;
    this.transition(stateless ? 'informed' : 'bound');
    this.current = lease;
    const kind = previous === null ? 'bound' : lease6Changed(previous, lease) ? 'changed' : 'renewed';
    this.o.log.info(
      stateless
        ? `${this.o.iface}: DNS from ${d.source} (${kind})`
        : kind === 'renewed'
          ? `${this.o.iface}: ${d.source} renewed ${lease.address} for ${lease.valid} s`
          : `${this.o.iface}: ${lease.address} from ${d.source} for ${lease.valid} s (${kind})`,
    );
    const epoch = this.epoch;
    await this.emit({ kind, lease, previous });
    if (this.epoch === epoch) this.scheduleLeaseTimer();
  }

  /** While soliciting with a lease still valid: it ends at its time. */
  private scheduleExpiry(): void {
    const lease = this.current!;
    const due = lease6ExpiresAt(lease);
    if (!Number.isFinite(due)) return;
    const epoch = this.epoch;
    this.leaseTimer = this.o.clock.setTimeout(() => {
      if (this.epoch !== epoch) return;
      const previous = this.current!;
      this.current = null;
      this.o.log.warn(`${this.o.iface}: the lease of ${previous.address} expired while soliciting`);
      void this.emit({ kind: 'expired', lease: null, previous });
    }, Math.max(0, due - this.o.clock.now()));
  }

  // --- helpers ---

  private send(m: Dhcp6ClientMessage): void {
    try {
      this.o.transport.send(encodeDhcp6(m));
      this.o.log.debug(`${this.o.iface}: sent ${m.type.toUpperCase()}`);
    } catch (e) {
      this.o.log.warn(`${this.o.iface}: ${m.type.toUpperCase()} not sent: ${(e as Error).message}`);
    }
  }

  /** ELAPSED_TIME: centiseconds since the exchange's first send (0 for that one). */
  private elapsed(): number {
    const began = this.exchange?.began;
    return began === null || began === undefined ? 0 : (this.o.clock.now() - began) / 10;
  }
}

function newXid(): number {
  return randomBytes(3).readUIntBE(0, 3);
}

/** The IAID of a link: the last 4 bytes of its hardware address (stable while the MAC is), else its ifindex. */
export function iaidOf(mac: Buffer, ifindex: number): number {
  return mac.length >= 4 ? mac.readUInt32BE(mac.length - 4) : ifindex >>> 0;
}

