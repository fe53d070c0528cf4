// BusPolkitAuthority: polkit's CheckAuthorization over our own bus
// connection, for the subject ("system-bus-name", {name: <unique name>}):
// polkit asks the bus itself who owns that name, so no pid is ever trusted.
// Any error reply (ServiceUnknown/NameHasNoOwner: no polkit; polkit's own
// errors, e.g. for a caller that has gone) rejects; so does an answer of
// another shape. The core's PolkitAuthorizer turns every rejection into a
// refusal.
import dbus from 'dbus-next';
import type { Action } from '../core/auth/authorizer.js';
import type { PolkitAnswer, PolkitAuthority } from '../core/auth/polkit.js';

const { Message, Variant } = dbus;
type Msg = InstanceType<typeof Message>;

const POLKIT = 'org.freedesktop.PolicyKit1';
const AUTHORITY_PATH = '/org/freedesktop/PolicyKit1/Authority';
const AUTHORITY_IFACE = 'org.freedesktop.PolicyKit1.Authority';
/** CheckAuthorizationFlags.AllowUserInteraction */
const ALLOW_USER_INTERACTION = 0x1;
const NO_REPLY_EXPECTED = 0x1;

export class BusPolkitAuthority implements PolkitAuthority {
  private checks = 0;

  constructor(private readonly bus: dbus.MessageBus) {}

  async check(busName: string, action: Action, interactive: boolean, signal: AbortSignal): Promise<PolkitAnswer> {
    if (signal.aborted) throw new Error('the check was abandoned before it was sent');
    const cancellationId = `netauditd-${process.pid}-${++this.checks}`;
    const call = new Message({
      destination: POLKIT,
      path: AUTHORITY_PATH,
      interface: AUTHORITY_IFACE,
      member: 'CheckAuthorization',
      signature: '(sa{sv})sa{ss}us',
      body: [
        ['system-bus-name', { name: new Variant('s', busName) }],
        action,
        {},
        interactive ? ALLOW_USER_INTERACTION : 0,
        cancellationId,
      ],
    });
    const pending = this.bus.call(call);
    signal.addEventListener('abort', () => this.abandon(call, cancellationId), { once: true });
    let reply: Msg | null;
    try {
      reply = await pending;
    } catch (e) {
      // DBusError: its type is the error name, its text the message.
      const err = e as { type?: unknown; text?: unknown; message?: unknown };
      if (typeof err.type === 'string') throw new Error(`${err.type}: ${typeof err.text === 'string' ? err.text : ''}`);
      throw e;
    }
    if (reply?.signature !== '(bba{ss})') throw new Error(`CheckAuthorization answered with the signature ${JSON.stringify(reply?.signature ?? null)}, not "(bba{ss})"`);
    const [result] = reply.body as [[unknown, unknown, unknown]];
    const [authorized, challenge] = result;
    if (typeof authorized !== 'boolean' || typeof challenge !== 'boolean') throw new Error('CheckAuthorization answered with no booleans');
    return { authorized, challenge };
  }

  /**
   * The answer is no longer wanted: ask polkit to cancel the check (its
   * error reply then ends the call) and forget the call, so that a reply that
   * never comes leaves nothing behind.
   */
  private abandon(call: Msg, cancellationId: string): void {
    const handlers = (this.bus as unknown as { _methodReturnHandlers?: Record<number, unknown> })._methodReturnHandlers;
    if (handlers && call.serial !== null) delete handlers[call.serial];
    const cancel = new Message({
      destination: POLKIT,
      path: AUTHORITY_PATH,
      interface: AUTHORITY_IFACE,
      member: 'CancelCheckAuthorization',
      signature: 's',
      body: [cancellationId],
      flags: NO_REPLY_EXPECTED,
    });
    try {
      void this.bus.call(cancel).catch(() => undefined);
    } catch {
      // the connection is gone: nothing to cancel
    }
  }
}
