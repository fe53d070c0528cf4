// netauditctl's connection to netauditd: the bus named by --bus-address, else
// DBUS_SYSTEM_BUS_ADDRESS, else the system bus; method calls and properties
// with -w/--wait as the deadline of each reply; failures as DaemonError,
// DaemonTimeout or DaemonNotRunning (daemon-error.ts). dbus-next's low-level
// Message API: the CLI knows the daemon's interfaces and needs no proxies.
import type { EventEmitter } from 'node:events';
import dbus from 'dbus-next';
import type { Message as DBusMessage, MessageBus } from 'dbus-next';
import { DaemonError, DaemonNotRunning, DaemonTimeout, isNoOwner } from './daemon-error.js';
import { DEFAULT_SYSTEM_BUS, PROPERTIES_IFACE, SERVICE } from './names.js';

const { Message, Variant, DBusError } = dbus;

export type Variant = InstanceType<typeof Variant>;
export { Variant as VariantClass };

// D-Bus header flag: the caller may wait for an authentication dialog (polkit).
const ALLOW_INTERACTIVE_AUTHORIZATION = 0x4;

export interface ClientOptions {
  readonly busAddress: string | undefined;
  /** Deadline of each reply; 0: none. */
  readonly waitSeconds: number;
  /** Let polkit ask the user (stdin is a terminal). */
  readonly interactive?: boolean;
}

/** The address netauditctl connects to. */
export function busAddressOf(busAddress: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return busAddress ?? (env['DBUS_SYSTEM_BUS_ADDRESS'] || DEFAULT_SYSTEM_BUS);
}

/** Replaces every Variant in a reply value by its value, deeply. */
export function unwrap(value: unknown): unknown {
  if (value instanceof Variant) return unwrap(value.value);
  if (Array.isArray(value)) return value.map(unwrap);
  if (Buffer.isBuffer(value) || value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrap(v)]));
}

export class DaemonClient {
  readonly address: string;
  private readonly bus: MessageBus;
  private readonly timeoutMs: number;
  private readonly flags: number;
  private closedBecause: string | null = null;
  private readonly pending = new Set<(error: Error) => void>();

  private constructor(bus: MessageBus, address: string, options: ClientOptions) {
    this.bus = bus;
    this.address = address;
    this.timeoutMs = options.waitSeconds * 1000;
    this.flags = options.interactive ? ALLOW_INTERACTIVE_AUTHORIZATION : 0;
  }

  /** Connects and waits for the bus's Hello; fails with DaemonNotRunning when the bus cannot be reached. */
  static async connect(options: ClientOptions): Promise<DaemonClient> {
    const address = busAddressOf(options.busAddress);
    let bus: MessageBus;
    try {
      bus = dbus.sessionBus({ busAddress: address });
    } catch (error) {
      throw new DaemonNotRunning(address, `The bus address ${JSON.stringify(address)} is not usable: ${(error as Error).message}.`);
    }
    const client = new DaemonClient(bus, address, options);
    await client.ready();
    return client;
  }

  private ready(): Promise<void> {
    return new Promise((resolve, reject) => {
      let lastError = '';
      let connected = false;
      let settled = false;
      const timer = this.timeoutMs > 0 ? setTimeout(() => fail(new DaemonTimeout(`Timeout expired (${this.timeoutMs / 1000} seconds) connecting to the bus at ${this.address}.`)), this.timeoutMs) : undefined;
      const fail = (error: Error): void => {
        if (connected || settled) return;
        settled = true;
        clearTimeout(timer);
        this.closed('connection failed');
        this.bus.disconnect();
        reject(error);
      };
      const unreachable = (detail: string): DaemonNotRunning => new DaemonNotRunning(this.address, `Cannot reach the bus at ${this.address}: ${detail}.`);
      // dbus-next throws on an 'error' event nobody listens to; the socket's
      // 'close' is not forwarded, and nothing fails the calls still waiting.
      this.bus.on('error', (error: unknown) => {
        const code = (error as NodeJS.ErrnoException).code;
        lastError = code ?? String(error);
        if (!connected) fail(unreachable(code ?? String(error)));
      });
      const { stream } = (this.bus as unknown as { _connection: { stream: EventEmitter } })._connection;
      stream.on('close', () => {
        if (!connected) fail(unreachable(`the bus closed the connection${lastError ? ` (${lastError})` : ''}`));
        this.closed(`the bus closed the connection${lastError ? ` (${lastError})` : ''}`);
      });
      this.bus.on('connect', () => {
        if (settled) return;
        connected = true;
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Calls `member` on the daemon; resolves with the reply's body. */
  call(path: string, iface: string, member: string, signature = '', body: unknown[] = []): Promise<unknown[]> {
    const message = new Message({ destination: SERVICE, path, interface: iface, member, signature, body });
    message.flags = this.flags;
    return this.send(message, `${member}`);
  }

  /** Properties.GetAll of `iface`, variants unwrapped. */
  async getAll(path: string, iface: string): Promise<Record<string, unknown>> {
    const [values] = await this.call(path, PROPERTIES_IFACE, 'GetAll', 's', [iface]);
    return unwrap(values) as Record<string, unknown>;
  }

  async get(path: string, iface: string, name: string): Promise<unknown> {
    const [value] = await this.call(path, PROPERTIES_IFACE, 'Get', 'ss', [iface, name]);
    return unwrap(value);
  }

  async set(path: string, iface: string, name: string, signature: string, value: unknown): Promise<void> {
    await this.call(path, PROPERTIES_IFACE, 'Set', 'ssv', [iface, name, new Variant(signature, value)]);
  }

  close(): void {
    if (this.closedBecause !== null) return;
    this.closed('closed');
    this.bus.disconnect();
  }

  private send(message: DBusMessage, what: string): Promise<unknown[]> {
    if (this.closedBecause !== null) return Promise.reject(new DaemonNotRunning(this.address, `The connection to the bus at ${this.address} is gone: ${this.closedBecause}.`));
    return new Promise((resolve, reject) => {
      const abort = (error: Error): void => {
        clearTimeout(timer);
        this.pending.delete(abort);
        reject(error);
      };
      const timer =
        this.timeoutMs > 0
          ? setTimeout(() => abort(new DaemonTimeout(`Timeout expired (${this.timeoutMs / 1000} seconds) waiting for netauditd to answer ${what}.`)), this.timeoutMs)
          : undefined;
      this.pending.add(abort);
      this.bus.call(message).then(
        (reply) => {
          clearTimeout(timer);
          this.pending.delete(abort);
          resolve(reply?.body ?? []);
        },
        (error: unknown) => {
          if (error instanceof DBusError) {
            const failure = new DaemonError(error.type, error.text);
            abort(isNoOwner(failure) ? new DaemonNotRunning(this.address, `Nobody owns ${SERVICE} on the bus at ${this.address}.`) : failure);
          } else abort(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }

  private closed(reason: string): void {
    if (this.closedBecause !== null) return;
    this.closedBecause = reason;
    for (const abort of [...this.pending]) abort(new DaemonNotRunning(this.address, `The connection to the bus at ${this.address} closed: ${reason}.`));
  }
}

/** Runs `work` with a connection to the daemon, closed afterwards. */
export async function withDaemon<T>(options: ClientOptions, work: (client: DaemonClient) => Promise<T>): Promise<T> {
  const client = await DaemonClient.connect(options);
  try {
    return await work(client);
  } finally {
    client.close();
  }
}

/** The client options of a command: the global options' bus and wait, polkit may ask when stdin is a terminal. */
export function clientOptionsOf(context: { readonly busAddress: string | undefined; readonly waitSeconds: number }): ClientOptions {
  return { busAddress: context.busAddress, waitSeconds: context.waitSeconds, interactive: process.stdin.isTTY === true };
}
