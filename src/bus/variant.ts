// Conversion between dbus-next's unmarshalled a{sa{sv}} and the core's
// Settings (Maps of signature-tagged values), both directions.
import dbus from 'dbus-next';
import { NetauditError, quote } from '../core/errors.js';
import type { Settings, SettingsInput, Value } from '../core/settings/value.js';

const { Variant } = dbus;

/**
 * Where a value sits in the caller's dictionary, for an error message: built only when one is
 * thrown (quoting every setting and key of every call cost more than reading them).
 */
type Where = () => string;

/** A plain dictionary as dbus-next builds it; a key like "__proto__" would have replaced its prototype. */
function dictEntries(dict: unknown, where: Where): Array<[string, unknown]> {
  if (dict === null || typeof dict !== 'object' || Object.getPrototypeOf(dict) !== Object.prototype) {
    throw new NetauditError('InvalidArgument', `${where()}: a dictionary key is not acceptable (e.g. "__proto__").`);
  }
  return Object.entries(dict as Record<string, unknown>);
}

function fromWire(signature: string, v: unknown, where: Where): unknown {
  if (signature === 'ay') return Uint8Array.from(v as Uint8Array);
  if (signature === 'aay') return (v as Uint8Array[]).map((b) => Uint8Array.from(b));
  if (signature === 'aa{sv}') {
    return (v as unknown[]).map((entry, i) => dictToMap(entry, () => `${where()}[${i}]`));
  }
  if (signature === 'a{sv}') return dictToMap(v, where);
  if (Array.isArray(v)) return [...v];
  return v;
}

function variantToValue(v: unknown, where: Where): Value {
  if (!(v instanceof Variant)) throw new NetauditError('InvalidArgument', `${where()}: expected a variant.`);
  if (v.signature === 'v') throw new NetauditError('InvalidArgument', `${where()}: nested variants are not accepted.`);
  return { signature: v.signature, value: fromWire(v.signature, v.value, where) };
}

function dictToMap(dict: unknown, where: Where): Map<string, Value> {
  const out = new Map<string, Value>();
  for (const [k, v] of dictEntries(dict, where)) out.set(k, variantToValue(v, () => `${where()}.${k}`));
  return out;
}

export function settingsFromWire(body: unknown): Settings {
  const settings: Settings = new Map();
  for (const [setting, props] of dictEntries(body, () => 'settings')) {
    const map = new Map<string, Value>();
    for (const [prop, v] of dictEntries(props, () => quote(setting))) map.set(prop, variantToValue(v, () => quote(`${setting}.${prop}`)));
    settings.set(setting, map);
  }
  return settings;
}

function toWire(value: Value): unknown {
  const { signature, value: v } = value;
  if (signature === 'ay') return Buffer.from(v as Uint8Array);
  if (signature === 'aay') return (v as Uint8Array[]).map((b) => Buffer.from(b));
  if (signature === 'aa{sv}') return (v as Array<Map<string, Value>>).map(mapToDict);
  if (signature === 'a{sv}') return mapToDict(v as Map<string, Value>);
  return v;
}

function mapToDict(map: Map<string, Value>): Record<string, InstanceType<typeof Variant>> {
  const out: Record<string, InstanceType<typeof Variant>> = {};
  for (const [k, v] of map) out[k] = new Variant(v.signature, toWire(v));
  return out;
}

export function settingsToWire(settings: Settings): Record<string, Record<string, InstanceType<typeof Variant>>> {
  const out: Record<string, Record<string, InstanceType<typeof Variant>>> = {};
  for (const [setting, props] of settings) out[setting] = mapToDict(props);
  return out;
}

/** The caller's a{sa{sv}} as a SettingsInput: decoded only when the core asks, after authorization. */
export function settingsInput(body: unknown): SettingsInput {
  const sent: { uuid?: string; name?: string } = {};
  const connection = body !== null && typeof body === 'object' && Object.getPrototypeOf(body) === Object.prototype ? (body as Record<string, unknown>)['connection'] : undefined;
  if (connection !== null && typeof connection === 'object' && Object.getPrototypeOf(connection) === Object.prototype) {
    const { uuid, id } = connection as Record<string, unknown>;
    if (uuid instanceof Variant && typeof uuid.value === 'string') sent.uuid = uuid.value;
    if (id instanceof Variant && typeof id.value === 'string') sent.name = id.value;
  }
  return { sent, decode: () => settingsFromWire(body) };
}
