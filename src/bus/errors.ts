// D-Bus errors: the only place that turns failures into replies. Every
// error is a named org.netaudit1.Error.*; nothing else reaches a caller.
import dbus from 'dbus-next';
import { NetauditError } from '../core/errors.js';
import type { DomainLogger } from '../log/logger.js';

const { Message } = dbus;

export const ERROR_PREFIX = 'org.netaudit1.Error.';

/** Bus-level errors that have no core counterpart. */
export class BusError extends Error {
  constructor(
    readonly code: 'UnknownObject' | 'UnknownMethod' | 'InvalidArgument' | 'PropertyReadOnly',
    message: string,
  ) {
    super(message);
  }
}

// dbus-next's typings declare newError's first parameter as a string; it takes the call.
const newError = Message.newError as unknown as (msg: InstanceType<typeof Message>, name: string, text: string) => InstanceType<typeof Message>;

export function errorReply(msg: InstanceType<typeof Message>, e: unknown, log: DomainLogger): InstanceType<typeof Message> {
  if (e instanceof NetauditError || e instanceof BusError) return newError(msg, ERROR_PREFIX + e.code, e.message);
  log.err(`unexpected error in ${msg.interface ?? '?'}.${msg.member ?? '?'}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  return newError(msg, `${ERROR_PREFIX}Failed`, 'The daemon failed to handle this call; its log has the details.');
}
