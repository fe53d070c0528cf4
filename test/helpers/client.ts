// A dbus-next client for tests, on the low-level Message API: calls, properties, signals.
import type { EventEmitter } from 'node:events';
import dbus from 'dbus-next';
import type { Message as DBusMessage, MessageBus } from 'dbus-next';

const { Message, MessageType, DBusError, Variant } = dbus;
export { DBusError, Variant };

export const SERVICE = 'org.netaudit1';

export interface CallOptions {
  /** Destination bus name; default org.netaudit1. */
  destination?: string;
  /** Reject with org.freedesktop.DBus.Error.NoReply after this long; default 25 s (libdbus's). */
  timeoutMs?: number;
}

export type SignalHandler = (body: unknown[], message: DBusMessage) => void;

export interface TestClient {
  /** The underlying dbus-next connection, for what this wrapper lacks. */
  readonly bus: MessageBus;
  /** This connection's unique name, ":1.N". */
  readonly uniqueName: string;
  /**
   * Calls a method (on org.netaudit1 unless options.destination says otherwise) and resolves
   * with the reply's body. An error reply rejects with a DBusError whose `.type` is the error
   * name and `.text` its message.
   */
  call(path: string, iface: string, member: string, signature?: string, body?: unknown[], options?: CallOptions): Promise<unknown[]>;
  /** Calls a method of the bus itself (org.freedesktop.DBus), e.g. GetNameOwner. */
  callBus(member: string, signature?: string, body?: unknown[]): Promise<unknown[]>;
  /** org.freedesktop.DBus.Properties.Get, with the variant unwrapped. */
  getProperty(path: string, iface: string, name: string): Promise<unknown>;
  /** org.freedesktop.DBus.Properties.GetAll, with the variants unwrapped. */
  getAllProperties(path: string, iface: string): Promise<Record<string, unknown>>;
  /** org.freedesktop.DBus.Properties.Set with a value of the given signature. */
  setProperty(path: string, iface: string, name: string, signature: string, value: unknown): Promise<void>;
  /**
   * Subscribes (AddMatch, sender org.netaudit1) to a signal; `path` null matches any path.
   * Resolves once the bus has the match rule, with a function that unsubscribes.
   */
  onSignal(path: string | null, iface: string, member: string, cb: SignalHandler): Promise<() => Promise<void>>;
  /** Disconnects; pending calls reject with org.freedesktop.DBus.Error.Disconnected. */
  close(): void;
}

/** Connects to the bus at `address` (e.g. "unix:path=/tmp/…/system_bus_socket") and waits for Hello. */
export async function connect(address: string, timeoutMs = 10_000): Promise<TestClient> {
  const bus = dbus.sessionBus({ busAddress: address });
  const client = new Client(bus);
  await client.ready(timeoutMs);
  return client;
}

/** A new Variant; `variant('u', 24)`. */
export function variant(signature: string, value: unknown): InstanceType<typeof Variant> {
  return new Variant(signature, value);
}

/** Replaces every Variant in a reply value by its value, deeply (a{sa{sv}} becomes plain objects). */
export function unwrap(value: unknown): unknown {
  if (value instanceof Variant) return unwrap(value.value);
  if (Array.isArray(value)) return value.map(unwrap);
  if (Buffer.isBuffer(value) || value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrap(v)]));
}

class Client implements TestClient {
  readonly bus: MessageBus;
  private readonly pending = new Set<(err: Error) => void>();
  private closedBecause: string | null = null;
  private lastError = '';

  constructor(bus: MessageBus) {
    this.bus = bus;
    // dbus-next throws on an 'error' event nobody listens to. Not every error ends the
    // connection (a message it cannot parse is one too); the socket's 'close' does, and
    // dbus-next does not forward it, nor does it ever fail the calls still waiting.
    bus.on('error', (err: unknown) => { this.lastError = String(err); });
    const { stream } = (bus as unknown as { _connection: { stream: EventEmitter } })._connection;
    stream.on('close', () => {
      this.closed(`the connection to the bus closed${this.lastError ? ` (${this.lastError})` : ''}`);
    });
  }

  get uniqueName(): string {
    const name = (this.bus as unknown as { name: string | null }).name;
    if (!name) throw new Error('not connected yet');
    return name;
  }

  ready(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`no Hello reply within ${timeoutMs} ms`)), timeoutMs);
      const fail = (err: unknown) => {
        clearTimeout(timer);
        this.bus.off('connect', ok);
        this.close();
        reject(err instanceof Error ? err : new Error(String(err)));
      };
      const ok = () => {
        clearTimeout(timer);
        this.bus.off('error', fail);
        resolve();
      };
      this.bus.once('connect', ok);
      this.bus.once('error', fail);
    });
  }

  call(path: string, iface: string, member: string, signature = '', body: unknown[] = [], options: CallOptions = {}): Promise<unknown[]> {
    const { destination = SERVICE, timeoutMs = 25_000 } = options;
    return this.send(new Message({ destination, path, interface: iface, member, signature, body }), timeoutMs);
  }

  callBus(member: string, signature = '', body: unknown[] = []): Promise<unknown[]> {
    return this.call('/org/freedesktop/DBus', 'org.freedesktop.DBus', member, signature, body, {
      destination: 'org.freedesktop.DBus',
    });
  }

  async getProperty(path: string, iface: string, name: string): Promise<unknown> {
    const [value] = await this.call(path, 'org.freedesktop.DBus.Properties', 'Get', 'ss', [iface, name]);
    return unwrap(value);
  }

  async getAllProperties(path: string, iface: string): Promise<Record<string, unknown>> {
    const [values] = await this.call(path, 'org.freedesktop.DBus.Properties', 'GetAll', 's', [iface]);
    return unwrap(values) as Record<string, unknown>;
  }

  async setProperty(path: string, iface: string, name: string, signature: string, value: unknown): Promise<void> {
    await this.call(path, 'org.freedesktop.DBus.Properties', 'Set', 'ssv', [iface, name, new Variant(signature, value)]);
  }

  async onSignal(path: string | null, iface: string, member: string, cb: SignalHandler): Promise<() => Promise<void>> {
    const rule = [
      "type='signal'",
      `sender='${SERVICE}'`,
      ...(path === null ? [] : [`path='${path}'`]),
      `interface='${iface}'`,
      `member='${member}'`,
    ].join(',');
    const listener = (msg: DBusMessage) => {
      if (msg.type !== MessageType.SIGNAL || msg.interface !== iface || msg.member !== member) return;
      if (path !== null && msg.path !== path) return;
      cb(msg.body, msg);
    };
    await this.callBus('AddMatch', 's', [rule]);
    this.bus.on('message', listener);
    return async () => {
      this.bus.off('message', listener);
      if (this.closedBecause === null) await this.callBus('RemoveMatch', 's', [rule]);
    };
  }

  close(): void {
    if (this.closedBecause === null) {
      this.closed('closed by the test');
      this.bus.disconnect();
    }
  }

  private send(msg: DBusMessage, timeoutMs: number): Promise<unknown[]> {
    if (this.closedBecause !== null) {
      return Promise.reject(new DBusError('org.freedesktop.DBus.Error.Disconnected', this.closedBecause));
    }
    return new Promise((resolve, reject) => {
      const abort = (err: Error) => {
        clearTimeout(timer);
        this.pending.delete(abort);
        reject(err);
      };
      const timer = setTimeout(() => abort(new DBusError('org.freedesktop.DBus.Error.NoReply',
        `no reply to ${msg.interface}.${msg.member} on ${msg.path} within ${timeoutMs} ms`)), timeoutMs);
      this.pending.add(abort);
      this.bus.call(msg).then((reply) => {
        clearTimeout(timer);
        this.pending.delete(abort);
        resolve(reply?.body ?? []);
      }, (err: unknown) => abort(err instanceof Error ? err : new Error(String(err))));
    });
  }

  private closed(reason: string): void {
    if (this.closedBecause !== null) return;
    this.closedBecause = reason;
    for (const abort of [...this.pending]) {
      abort(new DBusError('org.freedesktop.DBus.Error.Disconnected', reason));
    }
  }
}
