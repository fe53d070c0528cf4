// Value and Settings: a connection's settings as the core sees them, the
// NetworkManager dictionary a{sa{sv}} without any D-Bus library type.
// A Value carries its D-Bus signature so validation can check variant types:
//   s → string, b → boolean, u/i → number, ay → Uint8Array, as → string[],
//   au → number[], aay → Uint8Array[], aa{sv} → Array<Map<string, Value>>,
//   a{ss} → StringDict.

export interface Value {
  readonly signature: string;
  readonly value: unknown;
}

/** setting name → property name → value; Maps so that no caller key can reach a prototype. */
export type Settings = Map<string, Map<string, Value>>;

/**
 * An a{ss} (vpn.data, vpn.secrets): a frozen plain object of own string
 * properties, the form the D-Bus layer hands over and sends back. It is
 * built with Object.fromEntries, which defines keys such as "__proto__" as
 * own properties, and read only through Object.entries.
 */
export type StringDict = Readonly<Record<string, string>>;

export function stringDict(entries: Iterable<readonly [string, string]>): StringDict {
  return Object.freeze(Object.fromEntries(entries) as Record<string, string>);
}

export function isStringDict(v: unknown): v is StringDict {
  return v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype && Object.values(v).every((x) => typeof x === 'string');
}

export function value(signature: string, v: unknown): Value {
  return { signature, value: v };
}

export function getProp(settings: Settings, setting: string, prop: string): Value | undefined {
  return settings.get(setting)?.get(prop);
}

export function getString(settings: Settings, setting: string, prop: string): string | undefined {
  const v = getProp(settings, setting, prop);
  return v && typeof v.value === 'string' ? v.value : undefined;
}

export function cloneSettings(settings: Settings): Settings {
  const out: Settings = new Map();
  for (const [name, props] of settings) out.set(name, new Map(props));
  return out;
}

/**
 * Settings as a caller sent them, not yet decoded: decoding is validation,
 * which comes after authorization (docs/api.md), while the uuid and id the
 * caller sent are known at once for the record of a refused attempt.
 */
export interface SettingsInput {
  readonly sent: { readonly uuid?: string; readonly name?: string };
  decode(): Settings;
}
