// The fields of `connection list` (one row per profile) and of `connection
// show ID` (every setting.property of the profile, nmcli's names, secrets
// `<hidden>` unless fetched, plus GENERAL.* about its activation).
import { isSecret, keyfileTypeName, settingNames, settingSpec } from '../core/settings/schema.js';
import type { Cell, Column } from './format/render.js';
import { displayName } from './property-names.js';
import { activeStateName, stateColor } from './state-names.js';
import { valueCell } from './settings-text.js';
import { stringOf, type ProfileSettings } from './settings-value.js';

export const HIDDEN = '<hidden>';

/** What the daemon says of a profile beyond its settings. */
export interface ProfileStatus {
  readonly path: string;
  readonly settings: ProfileSettings;
  /** its active connection, if any */
  readonly active?: { readonly path: string; readonly state: number; readonly devices: readonly string[] };
  readonly filename?: string;
  readonly unsaved?: boolean;
}

export const LIST_COLUMNS: readonly Column[] = [
  { name: 'NAME' },
  { name: 'UUID' },
  { name: 'TYPE' },
  { name: 'DEVICE' },
  { name: 'AUTOCONNECT', default: false },
  { name: 'AUTOCONNECT-PRIORITY', default: false },
  { name: 'INTERFACE-NAME', default: false },
  { name: 'ACTIVE', default: false },
  { name: 'STATE', default: false, colorOf: stateColor },
  { name: 'DBUS-PATH', default: false },
  { name: 'ACTIVE-PATH', default: false },
];

function prop(settings: ProfileSettings, setting: string, property: string): unknown {
  return settings.get(setting)?.get(property)?.value;
}

export function listRow(p: ProfileStatus): Record<string, Cell> {
  const type = stringOf(p.settings, 'connection', 'type');
  const autoconnect = prop(p.settings, 'connection', 'autoconnect');
  const priority = prop(p.settings, 'connection', 'autoconnect-priority');
  return {
    NAME: stringOf(p.settings, 'connection', 'id') ?? null,
    UUID: stringOf(p.settings, 'connection', 'uuid') ?? null,
    TYPE: type === undefined ? null : keyfileTypeName(type),
    DEVICE: p.active?.devices.length ? p.active.devices.join(',') : null,
    // NetworkManager's default: a profile autoconnects unless it says no.
    AUTOCONNECT: typeof autoconnect === 'boolean' ? autoconnect : true,
    'AUTOCONNECT-PRIORITY': typeof priority === 'number' ? priority : 0,
    'INTERFACE-NAME': stringOf(p.settings, 'connection', 'interface-name') ?? null,
    ACTIVE: p.active !== undefined,
    STATE: p.active === undefined ? null : activeStateName(p.active.state),
    'DBUS-PATH': p.path,
    'ACTIVE-PATH': p.active?.path ?? null,
  };
}

const GENERAL = ['GENERAL.NAME', 'GENERAL.UUID', 'GENERAL.DBUS-PATH', 'GENERAL.STATE', 'GENERAL.DEVICES', 'GENERAL.ACTIVE-PATH', 'GENERAL.FILENAME', 'GENERAL.UNSAVED'];

/** The settings a profile shows: the schema's that it holds, in schema order, then any the schema does not know. */
function shownSettings(settings: ProfileSettings): string[] {
  const known = settingNames().filter((s) => settings.has(s));
  return [...known, ...[...settings.keys()].filter((s) => !known.includes(s))];
}

/** The columns and the one row of `connection show` for a profile. */
export function showFields(p: ProfileStatus): { columns: Column[]; row: Record<string, Cell>; settings: string[] } {
  const columns: Column[] = [];
  const row: Record<string, Cell> = {};
  const settings = shownSettings(p.settings);
  for (const setting of settings) {
    const spec = settingSpec(setting);
    const props = p.settings.get(setting)!;
    const names = spec === undefined ? [...props.keys()] : [...spec.properties.keys(), ...[...props.keys()].filter((k) => !spec.properties.has(k))];
    for (const property of names) {
      const name = displayName(setting, property);
      const v = props.get(property);
      columns.push({ name });
      if (v !== undefined) row[name] = valueCell(v, spec?.properties.get(property));
      else row[name] = isSecret(setting, property) ? HIDDEN : null;
    }
  }
  const active = p.active;
  const general: Record<string, Cell> = {
    'GENERAL.NAME': stringOf(p.settings, 'connection', 'id') ?? null,
    'GENERAL.UUID': stringOf(p.settings, 'connection', 'uuid') ?? null,
    'GENERAL.DBUS-PATH': p.path,
    'GENERAL.STATE': active === undefined ? null : activeStateName(active.state),
    'GENERAL.DEVICES': active?.devices.length ? [...active.devices] : null,
    'GENERAL.ACTIVE-PATH': active?.path ?? null,
    'GENERAL.FILENAME': p.filename ? p.filename : null,
    'GENERAL.UNSAVED': p.unsaved ?? false,
  };
  for (const name of GENERAL) {
    columns.push({ name, ...(name === 'GENERAL.STATE' ? { colorOf: stateColor } : {}) });
    row[name] = general[name]!;
  }
  return { columns, row, settings: [...settings, 'GENERAL'] };
}

/** -f for `connection show`: a setting's name (or GENERAL) stands for all its fields. */
export function expandShowFields(fields: readonly string[] | null, columns: readonly Column[]): string[] | null {
  if (fields === null) return null;
  return fields.flatMap((f) => {
    const lower = f.toLowerCase();
    if (columns.some((c) => c.name.toLowerCase() === lower) || lower === 'all' || lower === 'common') return [f];
    const group = columns.filter((c) => c.name.toLowerCase().startsWith(`${lower}.`)).map((c) => c.name);
    return group.length > 0 ? group : [f];
  });
}
