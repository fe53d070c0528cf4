// Helpers for the settings tests: settings literals without the Map noise.
import { value, type Settings, type Value } from '../../../../src/core/settings/value.js';
import { validateSettings } from '../../../../src/core/settings/validate.js';

export const UUID = '4e80a56d-c99f-4aad-a6dd-b449bc398c57';

export const s = (x: string): Value => value('s', x);
export const b = (x: boolean): Value => value('b', x);
export const u = (x: number): Value => value('u', x);
export const i = (x: number): Value => value('i', x);
export const ay = (x: ArrayLike<number> | string): Value => value('ay', typeof x === 'string' ? Buffer.from(x) : Uint8Array.from(x));
export const as = (...x: string[]): Value => value('as', x);
export const au = (...x: number[]): Value => value('au', x);
export const aay = (...x: ArrayLike<number>[]): Value => value('aay', x.map((a) => Uint8Array.from(a)));
export const dict = (entries: Record<string, Value>): Map<string, Value> => new Map(Object.entries(entries));
export const aasv = (...x: Record<string, Value>[]): Value => value('aa{sv}', x.map(dict));

export function build(obj: Record<string, Record<string, Value>>): Settings {
  return new Map(Object.entries(obj).map(([name, props]) => [name, dict(props)]));
}

export function validate(obj: Record<string, Record<string, Value>>): Settings {
  return validateSettings(build(obj), { generateUuid: () => UUID });
}

export function ethernet(extra: Record<string, Record<string, Value>> = {}): Record<string, Record<string, Value>> {
  return { connection: { id: s('lan0'), uuid: s(UUID), type: s('802-3-ethernet') }, ...extra };
}

/** Plain objects for toEqual: Maps, byte arrays and nested values made comparable. */
export function plain(settings: Settings): unknown {
  const conv = (x: unknown): unknown => {
    if (x instanceof Uint8Array) return [...x];
    if (x instanceof Map) return Object.fromEntries([...x].map(([k, v]) => [k, conv(v)]));
    if (Array.isArray(x)) return x.map(conv);
    if (x && typeof x === 'object' && 'signature' in x) return { [(x as Value).signature]: conv((x as Value).value) };
    return x;
  };
  return conv(settings);
}
