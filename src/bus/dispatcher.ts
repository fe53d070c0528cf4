// Dispatcher: the one method handler on the bus. For every call it checks
// the signature, hands the caller (as the bus knows it) and the arguments
// to the member's core operation, and replies when the operation is done —
// with its result or a named org.netaudit1.Error.* (the order of docs/api.md:
// signature → caller and authorization → validation → state → change →
// record → reply; the steps after the signature run in the core). A write
// to a writable property goes the same way: Properties.Set hands the
// variant's value and signature to the property's core operation, which
// checks the type after authorization and records the attempt.
import { readFileSync } from 'node:fs';
import dbus from 'dbus-next';
import type { AuditOp } from '../core/audit/record.js';
import type { CallerRef } from '../core/caller.js';
import { OPERATIONS, type OperationKey } from '../core/operations.js';
import type { DomainLogger } from '../log/logger.js';
import type { BusCallers } from './caller.js';
import { BusError, errorReply } from './errors.js';
import { introspect } from './introspection.js';
import { signatureOf, type BusObject, type InterfaceSpec, type MethodSpec, type ObjectTree } from './object-tree.js';

const { Message, Variant, MessageType } = dbus;
type Msg = InstanceType<typeof Message>;

/**
 * Set by the connection on a call whose body dbus-next could not read (its
 * value: why): it arrives with its header and an empty body, and is refused
 * as a malformed call is.
 */
export const UNREADABLE = Symbol('unreadable body');

const NO_REPLY_EXPECTED = 0x1;
/** the D-Bus header flag ALLOW_INTERACTIVE_AUTHORIZATION (dbus-next has no name for it; msg.flags is the raw byte) */
const ALLOW_INTERACTIVE_AUTHORIZATION = 0x4;
const PROPERTIES = 'org.freedesktop.DBus.Properties';
const INTROSPECTABLE = 'org.freedesktop.DBus.Introspectable';
const PEER = 'org.freedesktop.DBus.Peer';

export interface DispatcherOptions {
  readonly bus: dbus.MessageBus;
  readonly tree: ObjectTree;
  readonly callers: BusCallers;
  readonly log: DomainLogger;
  /** records a malformed call to a changing method as the failed attempt it is */
  readonly rejectMalformed: (caller: CallerRef, op: AuditOp, error: Error) => Promise<never>;
}

function machineId(): string {
  try {
    return readFileSync('/etc/machine-id', 'utf8').trim();
  } catch {
    return '';
  }
}

export class Dispatcher {
  private readonly handler = (msg: Msg): boolean => this.accept(msg);

  constructor(private readonly options: DispatcherOptions) {}

  start(): void {
    this.options.bus.addMethodHandler(this.handler);
  }

  stop(): void {
    this.options.bus.removeMethodHandler(this.handler);
  }

  private accept(msg: Msg): boolean {
    if (msg.type !== MessageType.METHOD_CALL) return false;
    this.handle(msg).then(
      (reply) => this.reply(msg, reply),
      (e: unknown) => this.reply(msg, errorReply(msg, e, this.options.log)),
    );
    return true;
  }

  private reply(msg: Msg, reply: Msg): void {
    if (msg.flags & NO_REPLY_EXPECTED) return;
    try {
      this.options.bus.send(reply);
    } catch (e) {
      this.options.log.warn(`could not send the reply to ${msg.sender ?? '?'}: ${(e as Error).message}`);
    }
  }

  private async handle(msg: Msg): Promise<Msg> {
    const path = msg.path ?? '/';
    const found = this.options.tree.lookup(path);
    const iface = msg.interface ?? '';
    const member = msg.member ?? '';
    const signature = msg.signature ?? '';
    const body = (msg.body ?? []) as unknown[];

    if (iface === INTROSPECTABLE || (iface === '' && member === 'Introspect')) {
      if (member !== 'Introspect') throw new BusError('UnknownMethod', `${INTROSPECTABLE} has no method ${JSON.stringify(member)}.`);
      const children = this.options.tree.children(path);
      if (!found?.exists && children.length === 0) throw this.unknownObject(path);
      return Message.newMethodReturn(msg, 's', [introspect(found?.exists ? found.object.interfaces : null, children)]);
    }
    if (iface === PEER) {
      if (member === 'Ping') return Message.newMethodReturn(msg, '', []);
      if (member === 'GetMachineId') return Message.newMethodReturn(msg, 's', [machineId()]);
      throw new BusError('UnknownMethod', `${PEER} has no method ${JSON.stringify(member)}.`);
    }
    if (!found) throw this.unknownObject(path);
    const unreadable = (msg as Msg & { [UNREADABLE]?: string })[UNREADABLE];
    if (iface === PROPERTIES && unreadable !== undefined) {
      throw new BusError('InvalidArgument', `The arguments of ${PROPERTIES}.${member} could not be read: ${unreadable}.`);
    }
    if (iface === PROPERTIES) return this.properties(msg, found.object, found.exists, member, signature, body);

    const method = this.findMethod(found.object, iface, member);
    const caller = this.callerOf(msg);
    const expected = signatureOf(method.in);
    if (signature !== expected || unreadable !== undefined) {
      const error = new BusError(
        'InvalidArgument',
        unreadable !== undefined
          ? `The arguments of ${method.name} could not be read: ${unreadable}.`
          : `${method.name} takes arguments of signature "${expected}", not "${signature}".`,
      );
      if (method.operation !== undefined) await this.options.rejectMalformed(caller, OPERATIONS[method.operation].op, error);
      throw error;
    }
    const out = await method.handler({ caller, path }, body);
    return Message.newMethodReturn(msg, signatureOf(method.out), out);
  }

  private callerOf(msg: Msg): CallerRef {
    return this.options.callers.ref(msg.sender ?? '', (msg.flags & ALLOW_INTERACTIVE_AUTHORIZATION) !== 0);
  }

  private findMethod(object: BusObject, iface: string, member: string): MethodSpec {
    const candidates: InterfaceSpec[] = iface === '' ? [...object.interfaces] : object.interfaces.filter((i) => i.name === iface);
    if (candidates.length === 0) throw new BusError('UnknownMethod', `${object.path} has no interface ${JSON.stringify(iface)}.`);
    for (const i of candidates) {
      const m = i.methods.find((x) => x.name === member);
      if (m) return m;
    }
    throw new BusError('UnknownMethod', `${iface || object.path} has no method ${JSON.stringify(member)}.`);
  }

  private async properties(msg: Msg, object: BusObject, exists: boolean, member: string, signature: string, body: unknown[]): Promise<Msg> {
    const expect = (sig: string): void => {
      if (signature !== sig) throw new BusError('InvalidArgument', `${PROPERTIES}.${member} takes arguments of signature "${sig}", not "${signature}".`);
    };
    // A write to a writable property, even malformed, is an attempted change: it is recorded, and
    // one to a vanished object still reaches the core, which refuses and records it.
    const target = member === 'Set' ? this.writable(object, signature, body) : undefined;
    if (!exists && !target) throw this.unknownObject(object.path);
    const ifaceOf = (name: string): InterfaceSpec => {
      const found = object.interfaces.find((i) => i.name === name);
      if (!found) throw new BusError('UnknownMethod', `${object.path} has no interface ${JSON.stringify(name)}.`);
      return found;
    };
    switch (member) {
      case 'Get': {
        expect('ss');
        const [ifaceName, propName] = body as [string, string];
        const prop = ifaceOf(ifaceName).properties.find((p) => p.name === propName);
        if (!prop) throw new BusError('InvalidArgument', `${ifaceName} has no property ${JSON.stringify(propName)}.`);
        return Message.newMethodReturn(msg, 'v', [new Variant(prop.signature, prop.get())]);
      }
      case 'GetAll': {
        expect('s');
        const [ifaceName] = body as [string];
        const all: Record<string, InstanceType<typeof Variant>> = {};
        // An interface without properties (or a standard one) answers with an empty dictionary.
        const spec = object.interfaces.find((i) => i.name === ifaceName);
        if (!spec && ![PROPERTIES, INTROSPECTABLE, PEER].includes(ifaceName)) ifaceOf(ifaceName);
        for (const p of spec?.properties ?? []) all[p.name] = new Variant(p.signature, p.get());
        return Message.newMethodReturn(msg, 'a{sv}', [all]);
      }
      case 'Set': {
        if (target && signature !== 'ssv') {
          const error = new BusError('InvalidArgument', `${PROPERTIES}.Set takes arguments of signature "ssv", not "${signature}".`);
          await this.options.rejectMalformed(this.callerOf(msg), OPERATIONS[target.operation].op, error);
        }
        expect('ssv');
        const [ifaceName, propName, value] = body as [string, string, InstanceType<typeof Variant>];
        const prop = ifaceOf(ifaceName).properties.find((p) => p.name === propName);
        if (!prop) throw new BusError('InvalidArgument', `${ifaceName} has no property ${JSON.stringify(propName)}.`);
        if (!prop.set) throw new BusError('PropertyReadOnly', `${ifaceName}.${propName} is read-only.`);
        // The variant's type is the core's to check, after authorization (the order of docs/api.md).
        const caller = this.callerOf(msg);
        await prop.set.handler({ caller, path: object.path }, value.value, value.signature);
        return Message.newMethodReturn(msg, '', []);
      }
      default:
        throw new BusError('UnknownMethod', `${PROPERTIES} has no method ${JSON.stringify(member)}.`);
    }
  }

  /** The write a Set names (its first two arguments, whatever follows them): a writable property of `object`, else undefined. */
  private writable(object: BusObject, signature: string, body: unknown[]): { readonly operation: OperationKey } | undefined {
    if (!signature.startsWith('ss')) return undefined;
    const [ifaceName, propName] = body as [string, string];
    return object.interfaces.find((i) => i.name === ifaceName)?.properties.find((p) => p.name === propName)?.set;
  }

  private unknownObject(path: string): BusError {
    return new BusError('UnknownObject', `No object at ${JSON.stringify(path)}; introspect /org/netaudit1 to see what exists.`);
  }
}
