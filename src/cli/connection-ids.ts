// How a command names connection profiles, nmcli's way: `ID`, `UUID` or a
// D-Bus PATH (or its number), optionally after a qualifier `id`, `uuid` or
// `path`. Unqualified, a word is tried as a uuid, then an id, then a path.
import { stringOf, type ProfileSettings } from './settings-value.js';

export type Qualifier = 'id' | 'uuid' | 'path';

export interface ConnectionRef {
  readonly qualifier: Qualifier | null;
  readonly value: string;
}

export interface NamedProfile {
  readonly path: string;
  readonly settings: ProfileSettings;
}

const QUALIFIERS: readonly Qualifier[] = ['id', 'uuid', 'path'];
const CONNECTION_PREFIX = '/org/netaudit1/Settings/';

/** One reference from the head of `args`; returns it and how many words it took, or null when `args` is empty or a qualifier lacks its value. */
export function takeRef(args: readonly string[]): { ref: ConnectionRef; used: number } | null {
  const [first, second] = args;
  if (first === undefined) return null;
  if ((QUALIFIERS as readonly string[]).includes(first)) {
    if (second === undefined) return null;
    return { ref: { qualifier: first as Qualifier, value: second }, used: 2 };
  }
  return { ref: { qualifier: null, value: first }, used: 1 };
}

function pathMatches(path: string, value: string): boolean {
  return path === value || (/^\d+$/.test(value) && path === `${CONNECTION_PREFIX}${value}`);
}

/** The profiles `ref` names, in the order given. */
export function matchProfiles<T extends NamedProfile>(ref: ConnectionRef, profiles: readonly T[]): T[] {
  const byUuid = (): T[] => profiles.filter((p) => stringOf(p.settings, 'connection', 'uuid')?.toLowerCase() === ref.value.toLowerCase());
  const byId = (): T[] => profiles.filter((p) => stringOf(p.settings, 'connection', 'id') === ref.value);
  const byPath = (): T[] => profiles.filter((p) => pathMatches(p.path, ref.value));
  switch (ref.qualifier) {
    case 'id':
      return byId();
    case 'uuid':
      return byUuid();
    case 'path':
      return byPath();
    default: {
      for (const found of [byUuid(), byId(), byPath()]) if (found.length > 0) return found;
      return [];
    }
  }
}
