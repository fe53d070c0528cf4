// Fakes for the DHCP client's unit tests: a clock whose time moves only when a test moves it, and
// transports that record what the client sends and hand it what a test delivers.
import type { Clock, TimerHandle } from '../../../../src/core/dhcp/clock.js';
import { decodeDhcp4, type Dhcp4Message } from '../../../../src/core/dhcp/dhcp4-message.js';
import type { ArpPacket, ArpTransport, Dhcp4Datagram, Dhcp4Destination, Dhcp4Transport } from '../../../../src/core/dhcp/dhcp4-transport.js';

interface Timer {
  readonly id: number;
  readonly due: number;
  readonly fn: () => void;
}

/** Lets every promise chain that can settle now settle (the client awaits its onEvent). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
}

export class FakeClock implements Clock {
  private t: number;
  private timers: Timer[] = [];
  private nextId = 1;

  constructor(start = 1_700_000_000_000) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = { id: this.nextId++, due: this.t + Math.max(0, ms), fn };
    this.timers.push(timer);
    return timer.id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  /** Moves the time on by `ms`, firing each timer due on the way at its own time, in order. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await settle();
    for (;;) {
      const next = this.timers.filter((t) => t.due <= end).sort((a, b) => a.due - b.due || a.id - b.id)[0];
      if (!next) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.t = Math.max(this.t, next.due);
      next.fn();
      await settle();
    }
    this.t = end;
  }

  /** The host slept: the time jumps by `ms` and no timer fires until the next advance. */
  sleep(ms: number): void {
    this.t += ms;
  }

  get pending(): number {
    return this.timers.length;
  }
}

export interface Sent {
  readonly message: Dhcp4Message;
  readonly to: Dhcp4Destination;
  /** the fake clock's time when it was sent */
  readonly at: number;
}

export const SERVER_MAC = '02:00:00:00:00:01';

export class FakeDhcpTransport implements Dhcp4Transport {
  readonly sent: Sent[] = [];
  closed = false;
  /** makes send() throw this while set */
  failWith: Error | null = null;
  private handler: ((d: Dhcp4Datagram) => void) | null = null;

  constructor(private readonly clock: FakeClock) {}

  send(payload: Buffer, to: Dhcp4Destination): void {
    if (this.failWith) throw this.failWith;
    const message = decodeDhcp4(payload);
    if (!message) throw new Error('the client sent something that does not decode');
    this.sent.push({ message, to, at: this.clock.now() });
  }

  listen(handler: ((d: Dhcp4Datagram) => void) | null): void {
    this.handler = handler;
  }

  close(): void {
    this.closed = true;
  }

  get listening(): boolean {
    return this.handler !== null;
  }

  get last(): Sent {
    const s = this.sent[this.sent.length - 1];
    if (!s) throw new Error('the client sent nothing');
    return s;
  }

  /** Hands `payload` to the client as if a server sent it, then lets it act on it. */
  async deliver(payload: Buffer, from: { sourceIp?: string; sourceMac?: string } = {}): Promise<void> {
    this.handler?.({ payload, sourceIp: from.sourceIp ?? '192.0.2.1', sourceMac: from.sourceMac ?? SERVER_MAC });
    await settle();
  }
}

export class FakeArp implements ArpTransport {
  readonly sent: Array<ArpPacket & { at: number }> = [];
  closed = false;
  /** addresses another host on the link has, and its hardware address: it answers probes for them */
  readonly taken = new Map<string, string>();
  private handler: ((p: ArpPacket) => void) | null = null;

  constructor(private readonly clock: FakeClock) {}

  send(packet: ArpPacket): void {
    this.sent.push({ ...packet, at: this.clock.now() });
    const owner = this.taken.get(packet.targetIp);
    if (owner && packet.senderIp === '0.0.0.0') {
      queueMicrotask(() => this.deliver({ op: 2, senderMac: owner, senderIp: packet.targetIp, targetMac: packet.senderMac, targetIp: '0.0.0.0' }));
    }
  }

  listen(handler: ((p: ArpPacket) => void) | null): void {
    this.handler = handler;
  }

  close(): void {
    this.closed = true;
  }

  get listening(): boolean {
    return this.handler !== null;
  }

  deliver(p: ArpPacket): void {
    this.handler?.(p);
  }
}

export interface LogLines {
  debug: string[];
  info: string[];
  warn: string[];
}

export function memoryLog(): { log: { debug(m: string): void; info(m: string): void; warn(m: string): void }; lines: LogLines } {
  const lines: LogLines = { debug: [], info: [], warn: [] };
  return {
    lines,
    log: { debug: (m) => lines.debug.push(m), info: (m) => lines.info.push(m), warn: (m) => lines.warn.push(m) },
  };
}
