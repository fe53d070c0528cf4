// A profile between dbus-next's a{sa{sv}} (objects of Variants) and
// netauditctl's ProfileSettings, both directions.
import dbus from 'dbus-next';
import { typed, type ProfileSettings, type Typed } from '../settings-value.js';

const { Variant } = dbus;
type Variant = InstanceType<typeof Variant>;

function fromVariant(v: Variant): Typed {
  const { signature, value } = v;
  if (signature === 'ay') return typed(signature, Uint8Array.from(value as Buffer));
  if (signature === 'aay') return typed(signature, (value as Buffer[]).map((b) => Uint8Array.from(b)));
  if (signature === 'aa{sv}') {
    return typed(
      signature,
      (value as Array<Record<string, Variant>>).map((entry) => Object.fromEntries(Object.entries(entry).map(([k, x]) => [k, fromVariant(x)]))),
    );
  }
  if (signature === 'a{sv}') return typed(signature, Object.fromEntries(Object.entries(value as Record<string, Variant>).map(([k, x]) => [k, fromVariant(x)])));
  return typed(signature, value);
}

function toVariant(t: Typed): Variant {
  const { signature, value } = t;
  if (signature === 'ay') return new Variant(signature, Buffer.from(value as Uint8Array));
  if (signature === 'aay') return new Variant(signature, (value as Uint8Array[]).map((b) => Buffer.from(b)));
  if (signature === 'aa{sv}') {
    return new Variant(
      signature,
      (value as Array<Record<string, Typed>>).map((entry) => Object.fromEntries(Object.entries(entry).map(([k, x]) => [k, toVariant(x)]))),
    );
  }
  if (signature === 'a{sv}') return new Variant(signature, Object.fromEntries(Object.entries(value as Record<string, Typed>).map(([k, x]) => [k, toVariant(x)])));
  return new Variant(signature, value);
}

export function profileFromWire(body: unknown): ProfileSettings {
  const out: ProfileSettings = new Map();
  for (const [setting, props] of Object.entries(body as Record<string, Record<string, Variant>>)) {
    out.set(setting, new Map(Object.entries(props).map(([k, v]) => [k, fromVariant(v)])));
  }
  return out;
}

export function profileToWire(settings: ProfileSettings): Record<string, Record<string, Variant>> {
  const out: Record<string, Record<string, Variant>> = {};
  for (const [setting, props] of settings) out[setting] = Object.fromEntries([...props].map(([k, v]) => [k, toVariant(v)]));
  return out;
}
