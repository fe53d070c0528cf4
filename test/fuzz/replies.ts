// ReplyCheck: what every answer of the daemon must be — a method return, or
// an error named org.netaudit1.Error.* (errors.ts's errorReply), or a
// standard org.freedesktop.DBus.Error.* sent by the bus itself (a limit, a
// policy) — with a message that holds no stack trace or source path.
import dbus from 'dbus-next';

const { DBusError } = dbus;
export const BUS_NAME = 'org.freedesktop.DBus';

export type Outcome =
  | { kind: 'return'; body: unknown[] }
  /** `fromBus`: the bus (not the daemon) sent it */
  | { kind: 'error'; name: string; text: string; fromBus: boolean }
  /** no answer within the bound */
  | { kind: 'timeout' }
  /** the connection closed before an answer */
  | { kind: 'closed'; reason: string }
  /** dbus-next would not marshal the arguments: nothing was sent */
  | { kind: 'unsent'; reason: string };

export function outcomeOf(error: unknown): Outcome {
  if (error instanceof DBusError) {
    const sender = (error as unknown as { reply?: { sender?: string } }).reply?.sender;
    return { kind: 'error', name: error.type, text: error.text ?? '', fromBus: sender === BUS_NAME };
  }
  return { kind: 'unsent', reason: error instanceof Error ? error.message : String(error) };
}

/** The generic answer to an exception the daemon did not expect (errors.ts): a bug the log explains. */
export const UNEXPECTED_FAILURE = 'The daemon failed to handle this call; its log has the details.';

/** What is wrong with an answer, or null. */
export function problemWith(outcome: Outcome): string | null {
  switch (outcome.kind) {
    case 'return':
    case 'unsent':
      return null;
    case 'timeout':
      return 'no reply within the bound';
    case 'closed':
      return `the connection closed: ${outcome.reason}`;
    case 'error': {
      const named = outcome.name.startsWith('org.netaudit1.Error.') || (outcome.fromBus && outcome.name.startsWith('org.freedesktop.DBus.Error.'));
      if (!named) return `unexpected error name ${outcome.name}${outcome.fromBus ? ' from the bus' : ''}`;
      if (/\n\s+at |\bdist\/|\.js:\d|node_modules/.test(outcome.text)) return `the message of ${outcome.name} holds a stack trace or a source path: ${JSON.stringify(outcome.text.slice(0, 300))}`;
      if (outcome.text === UNEXPECTED_FAILURE) return `${outcome.name}: an exception the daemon did not expect (see its log)`;
      return null;
    }
  }
}
