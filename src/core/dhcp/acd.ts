// Acd: IPv4 address conflict detection for an address a server offered,
// before the client takes it — ARP probes that ask who has it, with no
// address of our own in them, and any answer from another hardware address
// is a conflict — and the announcements once the address is ours
// (docs/dhcp4.md). The probe is short by design: links come up waiting on it.
import type { Clock, TimerHandle } from './clock.js';
import { ARP_REQUEST, type ArpPacket, type ArpTransport } from './dhcp4-transport.js';

const PROBES = 3;
const ANNOUNCEMENTS = 2;
const ANNOUNCE_INTERVAL_MS = 2000;
const ZERO_MAC = '00:00:00:00:00:00';

export const DEFAULT_ACD_TIMEOUT_MS = 200;

export type ProbeResult =
  | { readonly outcome: 'free' }
  | { readonly outcome: 'conflict'; readonly mac: string }
  /** stop() was called while it ran */
  | { readonly outcome: 'cancelled' };

export interface AcdOptions {
  readonly arp: ArpTransport;
  readonly clock: Clock;
  /** our own hardware address, lower-case colon hex: what we hear from it is not a conflict */
  readonly mac: string;
  readonly log: { debug(m: string): void; warn(m: string): void };
}

export class Acd {
  private timers = new Set<TimerHandle>();
  private settle: ((r: ProbeResult) => void) | null = null;

  constructor(private readonly o: AcdOptions) {}

  /**
   * Probes `address` for `timeoutMs` in all: PROBES probes spread over it,
   * listening from the first until the time is up. Resolves as soon as
   * another host claims the address or probes for it too.
   */
  probe(address: string, timeoutMs: number): Promise<ProbeResult> {
    this.stop();
    return new Promise<ProbeResult>((resolve) => {
      const done = (r: ProbeResult): void => {
        if (this.settle !== done) return;
        this.settle = null;
        this.o.arp.listen(null);
        this.clearTimers();
        resolve(r);
      };
      this.settle = done;
      this.o.arp.listen((p) => {
        const mac = this.conflictOf(p, address);
        if (mac !== null) done({ outcome: 'conflict', mac });
      });
      const probe: ArpPacket = { op: ARP_REQUEST, senderMac: this.o.mac, senderIp: '0.0.0.0', targetMac: ZERO_MAC, targetIp: address };
      for (let i = 0; i < PROBES; i++) this.after((timeoutMs * i) / PROBES, () => this.send(probe, 'probe'));
      this.after(timeoutMs, () => done({ outcome: 'free' }));
    });
  }

  /** Tells the link that `address` is ours now: ANNOUNCEMENTS announcements, ANNOUNCE_INTERVAL_MS apart. */
  announce(address: string): void {
    const announcement: ArpPacket = { op: ARP_REQUEST, senderMac: this.o.mac, senderIp: address, targetMac: ZERO_MAC, targetIp: address };
    for (let i = 0; i < ANNOUNCEMENTS; i++) this.after(i * ANNOUNCE_INTERVAL_MS, () => this.send(announcement, 'announcement'));
  }

  /** Stops what runs: a probe resolves as cancelled, announcements not yet sent are not. */
  stop(): void {
    this.clearTimers();
    this.settle?.({ outcome: 'cancelled' });
  }

  /**
   * The hardware address that claims `address` in `p`, or null: a host that
   * has it (its sender address), or another host probing for it at the same
   * time (sender 0.0.0.0, target the address).
   */
  private conflictOf(p: ArpPacket, address: string): string | null {
    if (p.senderMac === this.o.mac) return null;
    if (p.senderIp === address) return p.senderMac;
    if (p.senderIp === '0.0.0.0' && p.targetIp === address && p.op === ARP_REQUEST) return p.senderMac;
    return null;
  }

  private send(p: ArpPacket, what: string): void {
    try {
      this.o.arp.send(p);
    } catch (e) {
      // Nothing heard is taken as free: a link that cannot send ARP cannot have a conflict found on it either.
      this.o.log.warn(`ARP ${what} for ${p.targetIp} not sent: ${(e as Error).message}`);
    }
  }

  private after(ms: number, fn: () => void): void {
    const t = this.o.clock.setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private clearTimers(): void {
    for (const t of this.timers) this.o.clock.clearTimeout(t);
    this.timers.clear();
  }
}
