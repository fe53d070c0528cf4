// Routing rules of the ipv4 and ipv6 settings (routing-rules), in
// NetworkManager's two forms: the D-Bus one, a list of dictionaries whose
// keys are NetworkManager's (family, priority, invert, from, from-len, to,
// to-len, table, fwmark, fwmask, iifname, oifname), and the text of the
// keyfile's routing-ruleN keys ("priority 5 from 192.0.2.0/24 table 100",
// nm_ip_routing_rule_from_string()). Pure; every problem names the rule.
import { isIPv4, isIPv6 } from 'node:net';
import { invalidArgument, quote } from '../errors.js';
import { checkAddress, type Family } from './validate-ip.js';
import { checkVariant } from './validate-variant.js';
import { value, type Value } from './value.js';
import type { Rule } from '../platform/platform.js';

/** One rule in the form the daemon applies (what the kernel calls a rule with action "to table"): the Platform's Rule. */
export type RoutingRule = Rule;

/** AF_INET and AF_INET6, as NetworkManager's "family" key holds them. */
const AF: Readonly<Record<Family, number>> = { 4: 2, 6: 10 };

const KEYS: ReadonlyArray<readonly [string, string]> = [
  ['family', 'i'], ['priority', 'u'], ['invert', 'b'], ['from', 's'], ['from-len', 'y'], ['to', 's'], ['to-len', 'y'],
  ['table', 'u'], ['fwmark', 'u'], ['fwmask', 'u'], ['iifname', 's'], ['oifname', 's'],
];

const IFNAME = /^[^\s/:]{1,15}$/;

/** Checks the parts every rule needs, whichever form it came in. */
function finish(at: string, family: Family, r: Omit<RoutingRule, 'family'>): RoutingRule {
  const max = family === 4 ? 32 : 128;
  if (r.priority < 1 || r.priority > 0xffffffff) throw invalidArgument(`${at}: the priority is missing; a rule needs "priority" 1 to 4294967295`);
  if (r.table < 1 || r.table > 0xffffffff) throw invalidArgument(`${at}: the table is missing; a rule needs "table" 1 to 4294967295`);
  for (const [name, address, len] of [['from', r.from, r.fromLen], ['to', r.to, r.toLen]] as const) {
    if (address === null) {
      if (len !== 0) throw invalidArgument(`${at}: "${name}-len" needs "${name}"`);
      continue;
    }
    if (len > max) throw invalidArgument(`${at}: ${name}-len ${len} is out of range; accepted: 0 to ${max}`);
  }
  if (r.fwmask !== null && r.fwmark === null) throw invalidArgument(`${at}: "fwmask" needs "fwmark"`);
  for (const [name, ifname] of [['iifname', r.iifname], ['oifname', r.oifname]] as const) {
    if (ifname !== null && !IFNAME.test(ifname)) throw invalidArgument(`${at}: ${name} ${quote(ifname)} is not an interface name`);
  }
  return { family, ...r };
}

/** A rule of `setting` (ipv4, ipv6) from its D-Bus dictionary, checked; `at` names it in errors. */
export function ruleFromDict(at: string, family: Family, dict: Map<string, Value>): RoutingRule {
  for (const k of dict.keys()) {
    if (!KEYS.some(([name]) => name === k)) throw invalidArgument(`${at}: unknown key ${quote(k)}; accepted: ${KEYS.map(([name]) => name).join(', ')}`);
  }
  for (const [name, signature] of KEYS) {
    const v = dict.get(name);
    if (v) checkVariant(`${at}.${name}`, signature, v);
  }
  const get = <T>(k: string): T | undefined => dict.get(k)?.value as T | undefined;
  const fam = get<number>('family');
  if (fam !== undefined && fam !== AF[family]) throw invalidArgument(`${at}.family: ${fam} is not the family of this setting (${AF[family]})`);
  const address = (k: string): string | null => {
    const text = get<string>(k);
    return text === undefined ? null : checkAddress(`${at}.${k}`, family, text);
  };
  const from = address('from');
  const to = address('to');
  return finish(at, family, {
    priority: get<number>('priority') ?? 0,
    table: get<number>('table') ?? 0,
    invert: get<boolean>('invert') ?? false,
    from,
    fromLen: get<number>('from-len') ?? (from === null ? 0 : family === 4 ? 32 : 128),
    to,
    toLen: get<number>('to-len') ?? (to === null ? 0 : family === 4 ? 32 : 128),
    fwmark: get<number>('fwmark') ?? null,
    fwmask: get<number>('fwmask') ?? null,
    iifname: get<string>('iifname') ?? null,
    oifname: get<string>('oifname') ?? null,
  });
}

/** The D-Bus dictionary of a rule, keys as NetworkManager sends them (those with a value). */
export function ruleToDict(r: RoutingRule): Map<string, Value> {
  const out = new Map<string, Value>([['family', value('i', AF[r.family])], ['priority', value('u', r.priority)]]);
  if (r.invert) out.set('invert', value('b', true));
  if (r.from !== null) out.set('from', value('s', r.from)).set('from-len', value('y', r.fromLen));
  if (r.to !== null) out.set('to', value('s', r.to)).set('to-len', value('y', r.toLen));
  out.set('table', value('u', r.table));
  if (r.fwmark !== null) out.set('fwmark', value('u', r.fwmark));
  if (r.fwmask !== null) out.set('fwmask', value('u', r.fwmask));
  if (r.iifname !== null) out.set('iifname', value('s', r.iifname));
  if (r.oifname !== null) out.set('oifname', value('s', r.oifname));
  return out;
}

function number(at: string, word: string | undefined, what: string, max: number): number {
  if (word === undefined || !/^(0x[0-9a-f]+|[0-9]+)$/i.test(word) || Number(word) > max) {
    throw invalidArgument(`${at}: ${what} ${word === undefined ? 'is missing' : `${quote(word)} is not a number from 0 to ${max}`}`);
  }
  return Number(word);
}

/**
 * A rule from its text ("priority 5 [not] from A[/LEN]|all to B[/LEN]|all
 * fwmark M[/MASK] iif NAME oif NAME table T", words in any order, as
 * NetworkManager's keyfile and nmcli write them); the family is the
 * setting's unless an address says otherwise, which is an error.
 */
export function parseRoutingRule(at: string, family: Family, text: string): RoutingRule {
  const words = text.trim().split(/\s+/).filter((w) => w !== '');
  let priority = 0;
  let table = 0;
  let invert = false;
  let from: string | null = null;
  let fromLen = 0;
  let to: string | null = null;
  let toLen = 0;
  let fwmark: number | null = null;
  let fwmask: number | null = null;
  let iifname: string | null = null;
  let oifname: string | null = null;
  const network = (word: string | undefined, what: string): [string | null, number] => {
    if (word === undefined) throw invalidArgument(`${at}: ${what} needs an address`);
    if (word === 'all') return [null, 0];
    const [address = '', len] = word.split('/');
    const of = isIPv4(address) ? 4 : isIPv6(address) ? 6 : null;
    if (of !== family) throw invalidArgument(`${at}: ${what} ${quote(word)} is not an IPv${family} address${len === undefined ? '' : ' with a prefix length'}`);
    const max = family === 4 ? 32 : 128;
    return [checkAddress(at, family, address), len === undefined ? max : number(at, len, `the prefix length of ${what}`, max)];
  };
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    const next = (): string | undefined => words[++i];
    switch (word) {
      case 'priority':
        priority = number(at, next(), 'priority', 0xffffffff);
        break;
      case 'table':
        table = number(at, next(), 'table', 0xffffffff);
        break;
      case 'not':
        invert = true;
        break;
      case 'from':
        [from, fromLen] = network(next(), 'from');
        break;
      case 'to':
        [to, toLen] = network(next(), 'to');
        break;
      case 'fwmark': {
        const [mark, mask] = (next() ?? '').split('/');
        fwmark = number(at, mark || undefined, 'fwmark', 0xffffffff);
        fwmask = mask === undefined ? null : number(at, mask, 'the fwmark mask', 0xffffffff);
        break;
      }
      case 'iif':
        iifname = next() ?? '';
        break;
      case 'oif':
        oifname = next() ?? '';
        break;
      default:
        throw invalidArgument(`${at}: ${quote(word)} is not understood; accepted: priority, not, from, to, fwmark, iif, oif, table`);
    }
  }
  return finish(at, family, { priority, table, invert, from, fromLen, to, toLen, fwmark, fwmask, iifname, oifname });
}

/** The text of a rule, as NetworkManager's keyfile writes it. */
export function formatRoutingRule(r: RoutingRule): string {
  const parts = [`priority ${r.priority}`];
  if (r.invert) parts.push('not');
  parts.push(`from ${r.from === null ? 'all' : `${r.from}/${r.fromLen}`}`);
  if (r.to !== null) parts.push(`to ${r.to}/${r.toLen}`);
  if (r.fwmark !== null) parts.push(`fwmark 0x${r.fwmark.toString(16)}${r.fwmask !== null ? `/0x${r.fwmask.toString(16)}` : ''}`);
  if (r.iifname !== null) parts.push(`iif ${r.iifname}`);
  if (r.oifname !== null) parts.push(`oif ${r.oifname}`);
  parts.push(`table ${r.table}`);
  return parts.join(' ');
}
