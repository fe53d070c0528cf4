// Keyfile reader: a NetworkManager keyfile profile → settings, following
// libnm-core-impl/nm-keyfile.c (the parsers of nm_keyfile_read()), the older
// forms it still reads included. Groups and keys we do not know are kept
// raw as ExtraKeys so that a rewrite loses nothing; a known key whose value
// does not parse (keyfile-values.ts) is dropped with a warning naming its
// file:line, as NetworkManager's reader drops it (read_handle_warn()), and
// the rest of the file is read.
import { posix } from 'node:path';
import { escapeString, type Keyfile, type KeyfileEntry } from '../../config/ini.js';
import { NetauditError, quote } from '../errors.js';
import { parseRoutingRule, ruleToDict } from './routing-rule.js';
import { bool, cert, integer, ipItem, lenientStr, ipv4ToU32, ipv6ToBytes, isAddress, list, mac, Problem, splitAttributes, ssid, str } from './keyfile-values.js';
import { settingForGroup, settingNames, settingSpec, type PropertySpec, type SettingSpec } from './schema.js';
import { stringDict, value, type Settings, type Value } from './value.js';

// Keyfile group name (NetworkManager's alias for known settings) → its
// unknown keys, values raw as found, in file order.
export type ExtraKeys = Map<string, Array<{ key: string; value: string }>>;

export interface KeyfileRead {
  readonly settings: Settings;
  readonly extra: ExtraKeys;
  /** one line per dropped value, "FILE:LINE: [group] key: problem; …", never quoting a secret */
  readonly warnings: string[];
}

// Special cloned-mac-address values (NM_CLONED_MAC_*): meaningful to
// NetworkManager, but not a MAC address our byte-array property can hold.
const CLONED_MAC_WORDS = ['preserve', 'permanent', 'random', 'stable', 'stable-ssid'];
const ADDRESS_KEY = /^(address|addresses)(0|[1-9][0-9]*)?$/;
const ROUTE_KEY = /^(route|routes)(0|[1-9][0-9]*)?$/;
// routing-rule1, routing-rule2…: the m[1]/m[2] shape of the other list keys, for collect()
const RULE_KEY = /^(routing-rule)([1-9][0-9]*)$/;
const ROUTE_OPTIONS_KEY = /^(route|routes)(0|[1-9][0-9]*)?_options$/;
// Names NetworkManager 1.46 writes for master and slave-type.
const RENAMED: ReadonlyMap<string, string> = new Map([['controller', 'master'], ['port-type', 'slave-type']]);

interface Context {
  readonly file: string;
  readonly baseDir: string;
  readonly extra: ExtraKeys;
  readonly warnings: string[];
}

function drop(ctx: Context, group: string, entry: KeyfileEntry, problem: string): void {
  ctx.warnings.push(`${ctx.file}:${entry.line}: [${group}] ${entry.key}: ${problem}; the value is ignored, as NetworkManager ignores it`);
}

// What attemptRead returns for a value dropped with a warning (undefined
// means a value NetworkManager reads that we keep as an extra key).
const DROPPED = Symbol('dropped');

// The problem of a secret's value is named without the value or any part of
// it (an escape sequence quoted would be a piece of the secret).
const SECRET_PROBLEM = 'the secret value is not a valid keyfile string (it holds an escape other than \\s \\n \\t \\r \\\\, or ends with a lone "\\"); it is not shown';


interface Group {
  readonly name: string;
  readonly spec?: SettingSpec;
  readonly entries: Map<string, KeyfileEntry>;
}

// GLib merges repeated groups and takes the last of repeated keys; a group
// named by its alias and by its D-Bus name is one setting.
function mergeGroups(kf: Keyfile): Group[] {
  const groups = new Map<string, Group>();
  for (const g of kf.groups) {
    const spec = settingForGroup(g.name);
    const name = spec?.keyfileGroup ?? g.name;
    let group = groups.get(name);
    if (!group) groups.set(name, (group = { name, ...(spec ? { spec } : {}), entries: new Map() }));
    for (const entry of g.entries) group.entries.set(entry.key, entry);
  }
  return [...groups.values()];
}

function readIp(ctx: Context, group: Group, props: Map<string, Value>, extra: Array<{ key: string; value: string }>): Set<string> {
  const family = group.spec!.name === 'ipv6' ? 6 : 4;
  const used = new Set<string>();
  const collect = (pattern: RegExp): KeyfileEntry[] =>
    [...group.entries.values()]
      .filter((e) => pattern.test(e.key))
      .map((e) => ({ e, m: pattern.exec(e.key)! }))
      // _build_list_create(): by index (none before 0, 1, …), then "address" before "addresses".
      .sort((a, b) => (a.m[2] === undefined ? -1 : Number(a.m[2])) - (b.m[2] === undefined ? -1 : Number(b.m[2])) || a.m[1].length - b.m[1].length)
      .map(({ e }) => e);
  // read_one_ip_address_or_route(): an item that does not parse is dropped, the others are read.
  const attempt = <T>(entry: KeyfileEntry, f: () => T): T | undefined => {
    used.add(entry.key);
    try {
      return f();
    } catch (e) {
      if (!(e instanceof Problem)) throw e;
      drop(ctx, group.name, entry, e.message);
      return undefined;
    }
  };

  const addresses: Map<string, Value>[] = [];
  let gatewayFromAddress: string | undefined;
  for (const entry of collect(ADDRESS_KEY)) {
    const item = attempt(entry, () => ipItem(family, false, entry.value));
    if (!item) continue;
    addresses.push(item.entry);
    gatewayFromAddress ??= item.gateway;
  }
  if (addresses.length > 0) props.set('address-data', value('aa{sv}', addresses));
  // The "gateway" key wins over one given with an address (gateway_parser()).
  if (gatewayFromAddress !== undefined && !group.entries.has('gateway')) props.set('gateway', value('s', gatewayFromAddress));

  const routes: Map<string, Value>[] = [];
  for (const entry of collect(ROUTE_KEY)) {
    const item = attempt(entry, () => ipItem(family, true, entry.value));
    const options = group.entries.get(`${entry.key}_options`);
    if (!item) {
      if (options) used.add(options.key);
      continue;
    }
    const route = item.entry;
    if (options) {
      const unknown = attempt(options, () => {
        const rest: string[] = [];
        for (const attr of splitAttributes(str(options.value))) {
          const eq = attr.indexOf('=');
          if (attr.slice(0, eq) === 'table') route.set('table', value('u', integer(attr.slice(eq + 1), 0, 0xffffffff)));
          else rest.push(attr);
        }
        return rest;
      });
      // Attributes we do not know follow the route to the number the writer gives it.
      if (unknown !== undefined && unknown.length > 0) extra.push({ key: `route${routes.length + 1}_options`, value: escapeString(unknown.join(',')) });
    }
    routes.push(route);
  }
  if (routes.length > 0) props.set('route-data', value('aa{sv}', routes));

  const rules: Map<string, Value>[] = [];
  for (const entry of collect(RULE_KEY)) {
    // A rule that does not parse is dropped with a warning, as NetworkManager's reader drops it.
    const rule = attempt(entry, () => {
      try {
        return ruleToDict(parseRoutingRule(`[${group.name}] ${entry.key}`, family, str(entry.value)));
      } catch (e) {
        throw e instanceof NetauditError ? new Problem(e.message) : e;
      }
    });
    if (rule) rules.push(rule);
  }
  if (rules.length > 0) props.set('routing-rules', value('aa{sv}', rules));
  // Options of a route that is not there: NetworkManager ignores them; we keep them.
  for (const e of group.entries.values()) {
    if (!ROUTE_OPTIONS_KEY.test(e.key) || used.has(e.key)) continue;
    used.add(e.key);
    extra.push({ key: e.key, value: e.value });
  }
  return used;
}

// One known property; undefined when the value is NetworkManager's but not
// representable here, so that the key is kept as an extra one.
function readProperty(ctx: Context, setting: string, spec: PropertySpec, raw: string, dropItem: (problem: string) => void): Value | undefined {
  const v = (x: unknown): Value => value(spec.signature, x);
  switch (spec.kind) {
    case 'connection-type':
      return v(settingForGroup(str(raw))?.name ?? str(raw));
    case 'mac':
      return v(mac(raw));
    case 'cloned-mac':
      return CLONED_MAC_WORDS.includes(str(raw)) ? undefined : v(mac(raw));
    case 'ssid':
      return v(ssid(raw));
    case 'cert':
      return v(cert(ctx.baseDir, raw));
    case 'string-dict':
      // Its items are the keys of a group (fromKeyfile); a key of the property's own name is not one.
      return undefined;
    case 'enum': {
      // nm_utils_enum_from_str(): the name, or the number as text.
      const text = str(raw).trim();
      const at = spec.choices!.indexOf(text);
      if (at >= 0) return v(at);
      if (!/^\d+$/.test(text)) throw new Problem(`${quote(text)} is not one of ${spec.choices!.join(', ')}`);
      return v(integer(text, ...spec.range!));
    }
    case 'dns': {
      const servers = list(raw);
      // DNS-over-TLS URIs and "ADDR#SNI" forms of newer NetworkManager.
      if (servers.some((s) => s.includes('#') || s.includes('://'))) return undefined;
      // ip_dns_parser(): a server that does not parse is dropped, the others are read.
      const family = setting === 'ipv6' ? 6 : 4;
      const good = servers.filter((s) => isAddress(family, s) || (dropItem(`${quote(s)} is not an IPv${family} address`), false));
      return v(family === 4 ? good.map(ipv4ToU32) : good.map(ipv6ToBytes));
    }
    default:
      break;
  }
  switch (spec.signature) {
    case 's':
      return v(spec.name === 'slave-type' ? (settingForGroup(str(raw))?.name ?? str(raw)) : str(raw));
    case 'b':
      return v(bool(raw));
    // A number outside the property's range is refused by its GParamSpec, so NetworkManager drops it.
    case 'u':
      return v(integer(raw, ...(spec.range ?? [0, 0xffffffff])));
    case 'i':
      return v(integer(raw, ...(spec.range ?? [-0x80000000, 0x7fffffff])));
    case 'as':
      return v(list(raw));
    default:
      throw new Problem(`no keyfile form for D-Bus type ${spec.signature}`);
  }
}

/** The string-dict property of `spec` whose items are the keys of `group`, if any. */
function dictOfGroup(spec: SettingSpec, group: string): PropertySpec | undefined {
  return [...spec.properties.values()].find((p) => p.kind === 'string-dict' && p.keyfileGroup === group);
}

// read_hash_of_string() reads items leniently (lenientStr): none is dropped.
function readDictItem(entry: KeyfileEntry): Array<[string, string]> {
  return [[entry.key, lenientStr(entry.value)]];
}

export function fromKeyfile(kf: Keyfile): KeyfileRead {
  const ctx: Context = { file: kf.file, baseDir: posix.dirname(kf.file), extra: new Map(), warnings: [] };
  const settings: Settings = new Map();
  const groups = mergeGroups(kf);
  for (const group of groups) {
    const extra: Array<{ key: string; value: string }> = [];
    if (!group.spec) {
      ctx.extra.set(group.name, [...group.entries.values()].map(({ key, value: raw }) => ({ key, value: raw })));
      continue;
    }
    const props = new Map<string, Value>();
    const setting = group.spec.name;
    const used = setting === 'ipv4' || setting === 'ipv6' ? readIp(ctx, group, props, extra) : new Set<string>();
    // read_hash_of_string(): the keys of [vpn] that are no property are data items.
    const ownDict = dictOfGroup(group.spec, group.name);
    const items: Array<[string, string]> = [];
    for (const entry of group.entries.values()) {
      if (used.has(entry.key)) continue;
      let prop = entry.key;
      if (setting === 'connection' && RENAMED.has(prop)) {
        if (group.entries.has(RENAMED.get(prop)!)) continue;
        prop = RENAMED.get(prop)!;
      }
      const spec = group.spec.properties.get(prop);
      if (!spec && ownDict) {
        items.push(...readDictItem(entry));
        continue;
      }
      const read = spec && !(spec.kind === 'address-data' || spec.kind === 'route-data' || spec.kind === 'routing-rules') ? attemptRead(ctx, group, entry, setting, spec) : undefined;
      if (read === DROPPED) continue;
      if (read) props.set(prop, read);
      else extra.push({ key: entry.key, value: entry.value });
    }
    if (ownDict && items.length > 0) props.set(ownDict.name, value('a{ss}', stringDict(items)));
    settings.set(setting, props);
    if (extra.length > 0) ctx.extra.set(group.name, extra);
  }
  // read_vpn_secrets(): the keys of [vpn-secrets] are the vpn setting's
  // secrets; without a [vpn] group NetworkManager ignores them, and we keep them as they are.
  for (const name of settingNames()) {
    const props = settings.get(name);
    if (!props) continue;
    const spec = settingSpec(name)!;
    for (const pspec of spec.properties.values()) {
      if (pspec.kind !== 'string-dict' || pspec.keyfileGroup === undefined || pspec.keyfileGroup === spec.keyfileGroup) continue;
      const group = groups.find((g) => g.name === pspec.keyfileGroup && !g.spec);
      if (!group) continue;
      ctx.extra.delete(group.name);
      const items = [...group.entries.values()].flatMap((entry) => readDictItem(entry));
      if (items.length > 0) props.set(pspec.name, value('a{ss}', stringDict(items)));
    }
  }
  return { settings, extra: ctx.extra, warnings: ctx.warnings };
}

function attemptRead(ctx: Context, group: Group, entry: KeyfileEntry, setting: string, spec: PropertySpec): Value | undefined | typeof DROPPED {
  const problem = (message: string): string => (spec.secret ? SECRET_PROBLEM : message);
  try {
    return readProperty(ctx, setting, spec, entry.value, (message) => drop(ctx, group.name, entry, problem(message)));
  } catch (e) {
    if (!(e instanceof Problem)) throw e;
    drop(ctx, group.name, entry, problem(e.message));
    return DROPPED;
  }
}
