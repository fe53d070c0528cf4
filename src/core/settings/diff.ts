// Diff: which setting.property keys an update changed, for the audit
// record's `changed` field (docs/record-format.md): names only, never values, so a changed
// secret shows as its key and nothing more.
import { isStringDict, type Settings, type Value } from './value.js';

function sameData(a: unknown, b: unknown): boolean {
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return a instanceof Uint8Array && b instanceof Uint8Array && Buffer.compare(a, b) === 0;
  }
  if (a instanceof Map || b instanceof Map) {
    if (!(a instanceof Map && b instanceof Map) || a.size !== b.size) return false;
    for (const [k, v] of a) if (!b.has(k) || !sameValue(v as Value, b.get(k) as Value)) return false;
    return true;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((e, i) => sameData(e, b[i]));
  }
  if (isStringDict(a) || isStringDict(b)) {
    if (!(isStringDict(a) && isStringDict(b))) return false;
    const ea = Object.entries(a);
    return ea.length === Object.keys(b).length && ea.every(([k, v]) => Object.hasOwn(b, k) && b[k] === v);
  }
  return Object.is(a, b);
}

function sameValue(a: Value, b: Value): boolean {
  return a.signature === b.signature && sameData(a.value, b.value);
}

/**
 * Keys whose values differ: those of `next` in its order, then those only in
 * `previous`. A setting added or removed without any property shows as its
 * bare name, so that no change goes unrecorded.
 */
export function changedKeys(previous: Settings, next: Settings): string[] {
  const out: string[] = [];
  for (const [name, props] of next) {
    const before = previous.get(name);
    if (!before && props.size === 0) out.push(name);
    for (const [prop, v] of props) {
      const old = before?.get(prop);
      if (!old || !sameValue(old, v)) out.push(`${name}.${prop}`);
    }
    for (const prop of before?.keys() ?? []) if (!props.has(prop)) out.push(`${name}.${prop}`);
  }
  for (const [name, props] of previous) {
    if (next.has(name)) continue;
    if (props.size === 0) out.push(name);
    for (const prop of props.keys()) out.push(`${name}.${prop}`);
  }
  return out;
}
