// BusCallers: who is calling, from the bus itself (GetConnectionCredentials
// of the sender), cached per unique name and dropped when the name goes away.
import { readlink } from 'node:fs/promises';
import dbus from 'dbus-next';
import type { Caller, CallerRef } from '../core/caller.js';

const { Message } = dbus;
type MessageBus = dbus.MessageBus;

const CACHE_LIMIT = 4096;

export class BusCallers {
  private readonly cache = new Map<string, Promise<Caller>>();

  constructor(private readonly bus: MessageBus) {}

  /** Subscribes to NameOwnerChanged so that departed callers leave the cache. */
  async start(): Promise<void> {
    this.bus.on('message', (msg: InstanceType<typeof Message>) => {
      if (msg.type === dbus.MessageType.SIGNAL && msg.sender === 'org.freedesktop.DBus' && msg.member === 'NameOwnerChanged') {
        const [name, , newOwner] = msg.body as [string, string, string];
        if (name.startsWith(':') && newOwner === '') this.cache.delete(name);
      }
    });
    await this.bus.call(
      new Message({
        destination: 'org.freedesktop.DBus',
        path: '/org/freedesktop/DBus',
        interface: 'org.freedesktop.DBus',
        member: 'AddMatch',
        signature: 's',
        body: ["type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',member='NameOwnerChanged'"],
      }),
    );
  }

  /**
   * The caller of one call. `interactive`: that call's message allowed
   * interactive authorization; the credentials are cached per name, the
   * flag never is.
   */
  ref(sender: string, interactive = false): CallerRef {
    return {
      busName: sender,
      interactive,
      resolve: async () => ({ ...(await this.lookup(sender)), interactive }),
    };
  }

  private lookup(sender: string): Promise<Caller> {
    const cached = this.cache.get(sender);
    if (cached) return cached;
    const pending = this.fetch(sender);
    this.cache.set(sender, pending);
    // A failed lookup is never cached: the next call asks again.
    pending.catch(() => this.cache.delete(sender));
    if (this.cache.size > CACHE_LIMIT) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    return pending;
  }

  private async fetch(sender: string): Promise<Caller> {
    const reply = await this.bus.call(
      new Message({
        destination: 'org.freedesktop.DBus',
        path: '/org/freedesktop/DBus',
        interface: 'org.freedesktop.DBus',
        member: 'GetConnectionCredentials',
        signature: 's',
        body: [sender],
      }),
    );
    const creds = (reply?.body[0] ?? {}) as Record<string, InstanceType<typeof dbus.Variant>>;
    const pid = creds.ProcessID?.value;
    const uid = creds.UnixUserID?.value;
    if (typeof pid !== 'number' || typeof uid !== 'number') {
      throw new Error(`the bus gave no ProcessID/UnixUserID for ${sender}`);
    }
    const exe = await readlink(`/proc/${pid}/exe`).catch(() => undefined);
    return exe === undefined ? { busName: sender, pid, uid } : { busName: sender, pid, uid, exe };
  }
}
