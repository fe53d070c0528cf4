// Property writes: the value of a written property arrives as a variant of
// the caller's choosing, so its type is checked in the core, after
// authorization (the order of docs/api.md), and a wrong one is a recorded attempt.
import { NetauditError, quote } from './errors.js';

/** The boolean a caller wrote to `property`, or InvalidArgument when the variant is not `b`. */
export function booleanValue(property: string, signature: string, value: unknown): boolean {
  if (signature !== 'b' || typeof value !== 'boolean') {
    throw new NetauditError('InvalidArgument', `${property} takes a boolean (a variant of signature "b"), not one of signature ${quote(signature)}.`);
  }
  return value;
}

/** The record's `args` for a boolean write: on/off; absent when the value is not a boolean. */
export function onOff(signature: string, value: unknown): { args?: string } {
  return signature === 'b' && typeof value === 'boolean' ? { args: value ? 'on' : 'off' } : {};
}
