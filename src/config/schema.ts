// Config schema: every key of netauditd.conf (netauditd.conf(5)) with its default, how
// its text becomes a value, and whether a change applies live or needs a
// restart. config.ts walks this table; no other file knows the key names.
//
// Value rules, decided here once:
//  - Every value is first GLib-unescaped (\s \n \t \r \\), as in profiles.
//  - Names (auth, level, domains, backends) and yes/no are matched in any
//    case; like GLib's boolean parser, trailing whitespace is ignored for
//    everything but paths, which are taken as written.
//  - Lists are split at ',' with GLib's list rules (a trailing ',' is
//    allowed); spaces around items are trimmed; an empty item is an error;
//    an empty value is the empty list.
//  - A relative path is resolved against the directory of the file that set
//    it, so a conf.d snippet means the same whichever --config names it.
import path from 'node:path';
import { quote } from '../core/errors.js';
import type { BackendName } from '../core/audit/record.js';
import { LOG_DOMAINS, LOG_LEVELS, type LogDomain } from '../log/logger.js';
import type { Config } from './config.js';
import { parseList, unescapeString } from './ini.js';

type Sections = Omit<Config, 'files'>;
export type ConfigGroup = keyof Sections;
export const CONFIG_GROUPS: readonly ConfigGroup[] = ['main', 'logging', 'audit'];

export type Applies = 'live' | 'restart';

/** [main] dns: how the active connections' DNS reaches the system (docs/dns.md) */
export const DNS_MODES = ['auto', 'resolved', 'file', 'none'] as const;
export type DnsMode = (typeof DNS_MODES)[number];

/**
 * [audit] watch: what changes made by others are watched and recorded when
 * they happen (docs/profile-edits.md for profiles); what is not watched is
 * found at the next reload or start, as before.
 */
export const WATCH_TARGETS = ['links', 'addresses', 'routes', 'rules', 'profiles'] as const;
export type WatchTarget = (typeof WATCH_TARGETS)[number];

export interface ConfigKey {
  readonly group: ConfigGroup;
  /** the name in the file, e.g. "profiles-dir" */
  readonly name: string;
  /** the property in Config[group], e.g. "profilesDir" */
  readonly field: string;
  readonly applies: Applies;
  readonly defaultValue: unknown;
  /** Reads the raw (still escaped) value; throws an Error saying what is accepted. */
  parse(raw: string, baseDir: string): unknown;
}

interface KeyDefinition<G extends ConfigGroup, F extends keyof Sections[G] & string> {
  readonly group: G;
  readonly name: string;
  readonly field: F;
  readonly applies: Applies;
  readonly defaultValue: Sections[G][F];
  parse(raw: string, baseDir: string): Sections[G][F];
}

// The generic ties each key's default and parser to the type of its field in
// Config; the table itself then holds them as plain ConfigKeys.
function key<G extends ConfigGroup, F extends keyof Sections[G] & string>(definition: KeyDefinition<G, F>): ConfigKey {
  return Object.freeze(definition);
}

// A Record over BackendName makes the compiler catch a backend added to the
// type but not here.
const BACKEND_NAMES: Readonly<Record<BackendName, true>> = { libaudit: true, journal: true, log: true, file: true };
const BACKENDS = Object.keys(BACKEND_NAMES) as BackendName[];

const MAX_RETENTION_DAYS = 1_000_000; // keeps "now minus retention" a valid Date

function scalar(raw: string): string {
  return unescapeString(raw).replace(/[ \t\n\v\f\r]+$/, '');
}

function oneOf<T extends string>(accepted: readonly T[]): (raw: string) => T {
  return (raw) => {
    const text = scalar(raw);
    const found = accepted.find((name) => name.toLowerCase() === text.toLowerCase());
    if (found === undefined) throw new Error(`expected one of ${accepted.join(', ')} (any case)`);
    return found;
  };
}

function yesNo(raw: string): boolean {
  const text = scalar(raw).toLowerCase();
  if (['yes', 'true', '1'].includes(text)) return true;
  if (['no', 'false', '0'].includes(text)) return false;
  throw new Error('expected yes or no (also true/false, 1/0; any case)');
}

function directory(raw: string, baseDir: string): string {
  const text = unescapeString(raw);
  if (text === '') throw new Error('expected a path; a relative one is taken from the directory of this file');
  return path.resolve(baseDir, text);
}

function filePath(raw: string, baseDir: string): string {
  const text = unescapeString(raw);
  if (text === '') throw new Error('expected the path of a file; a relative one is taken from the directory of this file');
  return path.resolve(baseDir, text);
}

function days(raw: string): number {
  const text = scalar(raw);
  const n = Number(text);
  if (!/^[0-9]+$/.test(text) || n > MAX_RETENTION_DAYS) {
    throw new Error(`expected a whole number of days from 0 to ${MAX_RETENTION_DAYS}`);
  }
  return n;
}

function listItems(raw: string): string[] {
  const items = parseList(raw, ',').map((item) => item.trim());
  // Only whitespace after the last ',' (or in the whole value) is no item.
  if (items.at(-1) === '') items.pop();
  if (items.includes('')) throw new Error('the list has an empty item');
  return items;
}

function domains(raw: string): LogDomain[] {
  const chosen = new Set<LogDomain>();
  for (const item of listItems(raw)) {
    if (item.toUpperCase() === 'ALL') {
      LOG_DOMAINS.forEach((d) => chosen.add(d));
      continue;
    }
    const domain = LOG_DOMAINS.find((d) => d === item.toUpperCase());
    if (domain === undefined) {
      throw new Error(`unknown domain ${quote(item)}: expected a comma-separated list of ${LOG_DOMAINS.join(', ')} or ALL`);
    }
    chosen.add(domain);
  }
  // Naming a domain twice, or with ALL, is harmless; the order is the logger's.
  return LOG_DOMAINS.filter((d) => chosen.has(d));
}

function watchTargets(raw: string): WatchTarget[] {
  const chosen = new Set<WatchTarget>();
  for (const item of listItems(raw)) {
    const target = WATCH_TARGETS.find((t) => t === item.toLowerCase());
    if (target === undefined) throw new Error(`unknown target ${quote(item)}: expected a comma-separated list of ${WATCH_TARGETS.join(', ')}, or nothing`);
    chosen.add(target);
  }
  // A set: naming a target twice is harmless, and the order is the table's.
  return WATCH_TARGETS.filter((t) => chosen.has(t));
}

function backends(raw: string): BackendName[] {
  const chosen: BackendName[] = [];
  for (const item of listItems(raw)) {
    const backend = BACKENDS.find((b) => b === item.toLowerCase());
    if (backend === undefined) {
      throw new Error(`unknown backend ${quote(item)}: expected a comma-separated list of ${BACKENDS.join(', ')}, or nothing`);
    }
    // A repeated backend would suggest two outputs where there is one.
    if (chosen.includes(backend)) throw new Error(`${quote(backend)} is listed twice`);
    chosen.push(backend);
  }
  return chosen;
}

export const CONFIG_KEYS: readonly ConfigKey[] = Object.freeze([
  key({ group: 'main', name: 'auth', field: 'auth', applies: 'live', defaultValue: 'polkit', parse: oneOf(['polkit', 'root-only'] as const) }),
  key({
    group: 'main',
    name: 'profiles-dir',
    field: 'profilesDir',
    applies: 'restart',
    defaultValue: '/etc/netauditd/system-connections',
    parse: directory,
  }),
  // NetworkManager's name and place: yes loads a profile file edited on disk as soon as its record
  // is made; no (the default) leaves loading to a reload, as NetworkManager does (docs/profile-edits.md).
  key({ group: 'main', name: 'monitor-connection-files', field: 'monitorConnectionFiles', applies: 'live', defaultValue: false, parse: yesNo }),
  key({ group: 'main', name: 'run-dir', field: 'runDir', applies: 'restart', defaultValue: '/run/netauditd', parse: directory }),
  key({ group: 'main', name: 'state-dir', field: 'stateDir', applies: 'restart', defaultValue: '/var/lib/netauditd', parse: directory }),
  // A reload switches DNS at once: the mode left puts back what it replaced (docs/dns.md).
  key({ group: 'main', name: 'dns', field: 'dns', applies: 'live', defaultValue: 'auto', parse: oneOf(DNS_MODES) }),
  key({ group: 'main', name: 'resolv-conf', field: 'resolvConf', applies: 'live', defaultValue: '/etc/resolv.conf', parse: filePath }),
  key({ group: 'logging', name: 'level', field: 'level', applies: 'live', defaultValue: 'INFO', parse: oneOf(LOG_LEVELS) }),
  key({ group: 'logging', name: 'domains', field: 'domains', applies: 'live', defaultValue: Object.freeze([...LOG_DOMAINS]), parse: domains }),
  key({ group: 'logging', name: 'audit', field: 'audit', applies: 'live', defaultValue: true, parse: yesNo }),
  key({ group: 'audit', name: 'backends', field: 'backends', applies: 'live', defaultValue: Object.freeze([...BACKENDS]), parse: backends }),
  key({ group: 'audit', name: 'dir', field: 'dir', applies: 'restart', defaultValue: '/var/log/netauditd/audit', parse: directory }),
  key({ group: 'audit', name: 'watch', field: 'watch', applies: 'live', defaultValue: Object.freeze([...WATCH_TARGETS]), parse: watchTargets }),
  key({ group: 'audit', name: 'retention-days', field: 'retentionDays', applies: 'live', defaultValue: 30, parse: days }),
]);

export function findConfigKey(group: string, name: string): ConfigKey | undefined {
  return CONFIG_KEYS.find((k) => k.group === group && k.name === name);
}

export function keysOfGroup(group: ConfigGroup): string[] {
  return CONFIG_KEYS.filter((k) => k.group === group).map((k) => k.name);
}
