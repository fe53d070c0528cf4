// The options that audit list, export, follow and stats share (netauditctl(1)): the
// trail's directory (--dir / --config) and the record filter (--since
// --until --op --uuid --name --uid --result --iface), turned into a
// RecordFilter; with the uid ⇄ user name lookups they need.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { DEFAULT_CONFIG_FILE } from '../../config/config.js';
import { AUDIT_OPS, createFilter, isPattern, type RecordFilter } from '../../core/audit/trail/filter.js';
import { parseTimeSpec, TimeSpecError } from '../../core/audit/trail/time-spec.js';
import type { UsageError } from '../exit-codes.js';
import { trailDir } from './trail-dir.js';
import type { AuditOrigin } from '../../core/audit/record.js';

const ORIGINS: readonly string[] = ['caller', 'daemon', 'external'] satisfies readonly AuditOrigin[];

/** parseArgs options of every trail-reading command. */
export const FILTER_OPTIONS = {
  dir: { type: 'string' },
  config: { type: 'string' },
  since: { type: 'string', short: 'S' },
  until: { type: 'string', short: 'U' },
  op: { type: 'string', multiple: true },
  uuid: { type: 'string' },
  name: { type: 'string' },
  uid: { type: 'string' },
  result: { type: 'string' },
  origin: { type: 'string' },
  iface: { type: 'string' },
  utc: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const FILTER_SYNOPSIS = '[--dir DIR | --config FILE] [--since TIME] [--until TIME] [--op OP] [--uuid UUID] [--name NAME] [--uid UID] [--result success|fail] [--origin ORIGIN] [--iface IFACE] [--utc]';

/** The options' part of each command's --help. */
export const FILTER_HELP = `Where the trail is:
  --dir DIR            the trail's directory
  --config FILE        take the directory from [audit] dir of FILE and of the
                       conf.d/*.conf beside it (default ${DEFAULT_CONFIG_FILE})

Which records (all conditions must hold):
  -S, --since TIME     records at or after TIME
  -U, --until TIME     records at or before TIME
  --op OP[,OP]...      records of these ops (repeatable); a pattern with * or ?
                       matches several, e.g. 'connection-*'
  --uuid UUID          records of this connection (case does not matter)
  --name NAME          records of the connection with this id, exactly; a
                       pattern when it holds * or ? ('office*')
  --uid UID|USER       records of this caller: a uid or a user name
  --result success|fail
  --origin caller|daemon|external
                       records of changes a bus caller asked for, the daemon
                       made on its own, or someone made without netauditd
  --iface IFACE        records of this device, exactly, or a pattern with * ?
  --utc                read TIME, and show times, in UTC rather than local time

TIME is like journalctl's: 'YYYY-MM-DD' (midnight), 'YYYY-MM-DD HH:MM[:SS]'
(local time, or UTC with ' UTC' after it or with --utc), RFC 3339
('2026-11-20T10:00:00Z', '…+01:00'), 'HH:MM[:SS]' (today), 'now', 'today',
'yesterday', 'tomorrow', or relative to now: '-1h', '-30min', '+5m', '-2d',
'-1h30min', '2 days ago'.`;

export interface FilterValues {
  readonly dir?: string;
  readonly config?: string;
  readonly since?: string;
  readonly until?: string;
  readonly op?: string[];
  readonly uuid?: string;
  readonly name?: string;
  readonly uid?: string;
  readonly result?: string;
  readonly origin?: string;
  readonly iface?: string;
  readonly utc?: boolean;
}

export interface TrailQuery {
  readonly dir: string;
  readonly filter: RecordFilter;
}

interface PasswdEntry {
  readonly name: string;
  readonly uid: number;
}

let passwd: PasswdEntry[] | null = null;

// /etc/passwd first; getent then asks NSS (LDAP, sssd…) for what it lacks.
function localUsers(): PasswdEntry[] {
  if (passwd !== null) return passwd;
  try {
    passwd = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .map((line) => line.split(':'))
      .filter((f) => f.length >= 3 && /^\d+$/.test(f[2]!))
      .map((f) => ({ name: f[0]!, uid: Number(f[2]) }));
  } catch {
    passwd = [];
  }
  return passwd;
}

function getent(key: string): PasswdEntry | null {
  try {
    const fields = execFileSync('getent', ['passwd', key], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).split(':');
    return fields.length >= 3 && /^\d+$/.test(fields[2]!) ? { name: fields[0]!, uid: Number(fields[2]) } : null;
  } catch {
    return null;
  }
}

const names = new Map<number, string | null>();

/** The user name of a uid, or null when it has none here. */
export function userName(uid: number): string | null {
  if (!names.has(uid)) names.set(uid, localUsers().find((u) => u.uid === uid)?.name ?? getent(String(uid))?.name ?? null);
  return names.get(uid)!;
}

function parseUid(text: string, usageError: (message: string) => UsageError): number {
  if (/^\d+$/.test(text)) {
    const uid = Number(text);
    if (uid > 0xffffffff) throw usageError(`--uid: ${text} is not a uid (0 to 4294967295)`);
    return uid;
  }
  const user = localUsers().find((u) => u.name === text) ?? (text !== '' && !text.startsWith('-') ? getent(text) : null);
  if (user === null) throw usageError(`--uid: no user ${JSON.stringify(text)} here; give a uid or a user name`);
  return user.uid;
}

function parseOps(values: readonly string[], usageError: (message: string) => UsageError): string[] {
  const ops = values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
  if (ops.length === 0) throw usageError('--op needs an op');
  for (const op of ops) {
    if (!isPattern(op) && !AUDIT_OPS.includes(op)) throw usageError(`--op: unknown op ${JSON.stringify(op)}; ops: ${AUDIT_OPS.join(', ')}`);
  }
  return ops;
}

function time(option: string, text: string | undefined, now: number, utc: boolean, usageError: (message: string) => UsageError): number | undefined {
  if (text === undefined) return undefined;
  try {
    return parseTimeSpec(text, { now, utc });
  } catch (error) {
    if (error instanceof TimeSpecError) throw usageError(`--${option}: ${error.message}`);
    throw error;
  }
}

/** The trail's directory and the record filter the options name; usage errors for bad values. */
export async function trailQuery(values: FilterValues, usageError: (message: string) => UsageError, now = Date.now()): Promise<TrailQuery> {
  const utc = values.utc ?? false;
  const since = time('since', values.since, now, utc, usageError);
  const until = time('until', values.until, now, utc, usageError);
  if (since !== undefined && until !== undefined && since > until) {
    throw usageError(`--since (${new Date(since).toISOString()}) is after --until (${new Date(until).toISOString()})`);
  }
  if (values.result !== undefined && values.result !== 'success' && values.result !== 'fail') {
    throw usageError(`--result: ${JSON.stringify(values.result)} is not success or fail`);
  }
  if (values.origin !== undefined && !ORIGINS.includes(values.origin)) {
    throw usageError(`--origin: ${JSON.stringify(values.origin)} is not ${ORIGINS.join(', ')}`);
  }
  for (const option of ['uuid', 'name', 'iface'] as const) {
    if (values[option] === '') throw usageError(`--${option} needs a value`);
  }
  const filter = createFilter({
    since,
    until,
    ops: values.op === undefined ? undefined : parseOps(values.op, usageError),
    uuid: values.uuid,
    name: values.name,
    uid: values.uid === undefined ? undefined : parseUid(values.uid, usageError),
    result: values.result as 'success' | 'fail' | undefined,
    origin: values.origin as AuditOrigin | undefined,
    iface: values.iface,
  });
  return { dir: await trailDir(values.dir, values.config, usageError), filter };
}

const TIME_OPTIONS: Readonly<Record<string, string>> = { '--since': 'since', '-S': 'since', '--until': 'until', '-U': 'until' };

/**
 * The arguments with each --since/--until and its value made one word
 * (--since=-1h), so that a relative time such as -1h is taken as the value
 * it is, as journalctl takes it, not as an option.
 */
export function joinTimeValues(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const name = TIME_OPTIONS[args[i]!];
    if (name !== undefined && i + 1 < args.length) out.push(`--${name}=${args[++i]}`);
    else out.push(args[i]!);
  }
  return out;
}

/** A count option (-n N): a whole number. */
export function parseCount(option: string, text: string | undefined, usageError: (message: string) => UsageError): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) throw usageError(`${option}: ${JSON.stringify(text)} is not a whole number`);
  return Number(text);
}
