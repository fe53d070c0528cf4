// Signals: sends our signals and PropertiesChanged on the bus.
import dbus from 'dbus-next';
import type { DomainLogger } from '../log/logger.js';
import type { BusObject } from './object-tree.js';

const { Message, Variant } = dbus;

export class SignalEmitter {
  constructor(
    private readonly bus: dbus.MessageBus,
    private readonly log: DomainLogger,
  ) {}

  emit(path: string, iface: string, name: string, signature = '', body: unknown[] = []): void {
    try {
      this.bus.send(Message.newSignal(path, iface, name, signature, body));
    } catch (e) {
      this.log.warn(`could not send signal ${iface}.${name} for ${path}: ${(e as Error).message}`);
    }
  }

  /** PropertiesChanged with the current values of the named properties of `object`. */
  propertiesChanged(object: BusObject, iface: string, names: readonly string[]): void {
    const spec = object.interfaces.find((i) => i.name === iface);
    if (!spec) return;
    const changed: Record<string, InstanceType<typeof Variant>> = {};
    const invalidated: string[] = [];
    for (const p of spec.properties) {
      if (!names.includes(p.name)) continue;
      if (p.emitsChanged === 'invalidates') invalidated.push(p.name);
      else changed[p.name] = new Variant(p.signature, p.get());
    }
    this.emit(object.path, 'org.freedesktop.DBus.Properties', 'PropertiesChanged', 'sa{sv}as', [iface, changed, invalidated]);
  }
}
