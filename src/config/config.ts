// Config: netauditd.conf and conf.d/*.conf (netauditd.conf(5)) read into one
// deep-frozen snapshot. A reload builds a new snapshot and the caller swaps
// it in, so a bad file leaves the last good configuration in place.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { quote } from '../core/errors.js';
import type { BackendName } from '../core/audit/record.js';
import type { LogDomain, LogLevel } from '../log/logger.js';
import { KeyfileSyntaxError, parseKeyfile, type Keyfile } from './ini.js';
import { CONFIG_GROUPS, CONFIG_KEYS, findConfigKey, keysOfGroup, type ConfigGroup, type ConfigKey, type DnsMode, type WatchTarget } from './schema.js';

export interface Config {
  readonly main: {
    readonly auth: 'polkit' | 'root-only';
    readonly profilesDir: string;
    /** load a profile file edited on disk as soon as the edit is recorded, not at the next reload */
    readonly monitorConnectionFiles: boolean;
    readonly runDir: string;
    readonly stateDir: string;
    readonly dns: DnsMode;
    /** the path made a symlink to run-dir/resolv.conf in DNS mode file */
    readonly resolvConf: string;
  };
  readonly logging: { readonly level: LogLevel; readonly domains: readonly LogDomain[]; readonly audit: boolean };
  readonly audit: {
    readonly backends: readonly BackendName[];
    readonly dir: string;
    readonly retentionDays: number;
    /** what changes made by others are watched, each target once, in WATCH_TARGETS order */
    readonly watch: readonly WatchTarget[];
  };
  /** the files read, in order */
  readonly files: readonly string[];
}

export class ConfigError extends Error {
  readonly file: string;
  readonly line: number | null;

  constructor(file: string, line: number | null, detail: string) {
    super(`${file}${line === null ? '' : `:${line}`}: ${detail}`);
    this.name = 'ConfigError';
    this.file = file;
    this.line = line;
  }
}

export const DEFAULT_CONFIG_FILE = '/etc/netauditd/netauditd.conf';

type Draft = Record<ConfigGroup, Record<string, unknown>>;

function draftOfDefaults(): Draft {
  const draft: Draft = { main: {}, logging: {}, audit: {} };
  for (const k of CONFIG_KEYS) draft[k.group][k.field] = k.defaultValue;
  return draft;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

// The one place where the untyped draft becomes a Config: schema.ts ties each
// key's parser to its field's type, and every field starts from its default.
function snapshot(draft: Draft, files: readonly string[]): Config {
  return deepFreeze({ ...draft, files: [...files] } as unknown as Config);
}

export function defaultConfig(): Config {
  return snapshot(draftOfDefaults(), []);
}

function errnoCode(err: unknown): string | undefined {
  return err instanceof Error ? (err as NodeJS.ErrnoException).code : undefined;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

// Keyfiles are UTF-8, as GLib requires of its strings; a byte order mark is
// accepted and dropped (TextDecoder's default).
function decode(bytes: Buffer, file: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    let start = 0;
    for (let line = 1; ; line++) {
      const end = bytes.indexOf(0x0a, start);
      try {
        utf8.decode(bytes.subarray(start, end === -1 ? bytes.length : end));
      } catch {
        throw new ConfigError(file, line, 'the line is not valid UTF-8');
      }
      start = end + 1;
    }
  }
}

// Returns null when reading fails with one of the `absent` codes.
async function readKeyfile(file: string, absent: readonly string[]): Promise<Keyfile | null> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    const code = errnoCode(err);
    if (code !== undefined && absent.includes(code)) return null;
    throw new ConfigError(file, null, `cannot read the file (${code ?? String(err)})`);
  }
  try {
    return parseKeyfile(decode(bytes, file), file);
  } catch (err) {
    if (err instanceof KeyfileSyntaxError) throw new ConfigError(err.file, err.line, err.detail);
    throw err;
  }
}

// `*.conf` as the shell expands it (dot files excluded), in byte order so
// that the order does not depend on the locale.
async function confDFiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw new ConfigError(dir, null, `cannot list the directory (${errnoCode(err) ?? String(err)})`);
  }
  return names
    .filter((name) => name.endsWith('.conf') && !name.startsWith('.'))
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    .map((name) => path.join(dir, name));
}

function parseValue(k: ConfigKey, raw: string, file: string, line: number): unknown {
  try {
    return k.parse(raw, path.dirname(file));
  } catch (err) {
    if (!(err instanceof Error)) throw err;
    throw new ConfigError(file, line, `invalid value ${quote(raw)} for ${quote(k.name)} in [${k.group}]: ${err.message}`);
  }
}

// Within a file and across files a later value overrides an earlier one, as
// GLib's lookup returns the last of repeated keys; every value is checked,
// overridden or not, so that a mistake never waits for the day it matters.
function apply(draft: Draft, keyfile: Keyfile): void {
  for (const group of keyfile.groups) {
    const groupName = CONFIG_GROUPS.find((g) => g === group.name);
    if (groupName === undefined) {
      const accepted = CONFIG_GROUPS.map((g) => `[${g}]`).join(', ');
      throw new ConfigError(keyfile.file, group.line, `unknown group ${quote(group.name)}: accepted ${accepted}`);
    }
    for (const entry of group.entries) {
      const k = findConfigKey(groupName, entry.key);
      if (k === undefined) {
        const accepted = keysOfGroup(groupName).join(', ');
        throw new ConfigError(keyfile.file, entry.line, `unknown key ${quote(entry.key)} in [${groupName}]: accepted ${accepted}`);
      }
      draft[groupName][k.field] = parseValue(k, entry.value, keyfile.file, entry.line);
    }
  }
}

// The main file is optional unless the caller says otherwise (an explicit
// --config must exist); conf.d beside it is read either way, as
// NetworkManager reads its conf.d without a main file.
export async function loadConfig(mainFile: string, options: { required: boolean }): Promise<Config> {
  // Absolute, so that file names in errors and relative paths stay right
  // whatever the working directory is at the next reload.
  const main = path.resolve(mainFile);
  const draft = draftOfDefaults();
  const files: string[] = [];

  const mainKeyfile = await readKeyfile(main, ['ENOENT']);
  if (mainKeyfile === null && options.required) {
    throw new ConfigError(main, null, 'the config file does not exist (ENOENT); --config must name an existing file');
  }
  if (mainKeyfile !== null) {
    apply(draft, mainKeyfile);
    files.push(main);
  }

  for (const file of await confDFiles(path.join(path.dirname(main), 'conf.d'))) {
    // Skipped: removed since the directory was listed (ENOENT), or not a
    // file at all (a directory named x.conf), like any non-config entry.
    const keyfile = await readKeyfile(file, ['ENOENT', 'EISDIR']);
    if (keyfile === null) continue;
    apply(draft, keyfile);
    files.push(file);
  }
  return snapshot(draft, files);
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => v === b[i]);
  return a === b;
}

export function restartOnlyChanges(oldC: Config, newC: Config): string[] {
  const read = (c: Config, k: ConfigKey): unknown => (c[k.group] as Record<string, unknown>)[k.field];
  return CONFIG_KEYS.filter((k) => k.applies === 'restart' && !sameValue(read(oldC, k), read(newC, k))).map(
    (k) => `${k.group}.${k.name}`,
  );
}
