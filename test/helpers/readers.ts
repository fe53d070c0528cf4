// Readers of the four audit backends as their users read them (docs/record-format.md): the log line's
// key="value" form, `journalctl -o json --all`, and auditd's log through `ausearch` (raw, and
// interpreted with `-i --escape shell`) and `aureport`. Each parser fails on what it cannot parse.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './exec.js';
import { waitFor } from './wait.js';

// ---- the log line -------------------------------------------------------------------------

/**
 * A quoted log value cut to its first 1024 characters: the escaped head, then the marker
 * `\...[N more characters]`. Read left to right over whole escapes, so that a value's own `\\`
 * followed by `...[` is not taken for the marker.
 */
const LOG_CUT = /^((?:[^\\]|\\(?:x[0-9a-f]{2}|u\{[0-9a-f]+\}|["\\nrt]))*)\\\.\.\.\[(\d+) more characters\]$/s;

/** The escaped head of a cut value and the number of characters cut, or null for a whole value. */
export function logValueCut(raw: string): { head: string; more: number } | null {
  const m = LOG_CUT.exec(raw);
  return m ? { head: m[1]!, more: Number(m[2]) } : null;
}

/** Undoes the log line's escaping: \" \\ \n \r \t \xHH \u{H…}; fails on any other escape. */
export function unescapeLogValue(text: string): string {
  return text.replace(/\\(x[0-9a-f]{2}|u\{[0-9a-f]+\}|.)/gs, (_m, e: string) => {
    if (e.length === 3 && e.startsWith('x')) return String.fromCodePoint(parseInt(e.slice(1), 16));
    if (e.startsWith('u{')) return String.fromCodePoint(parseInt(e.slice(2, -1), 16));
    const simple: Record<string, string> = { n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\' };
    if (simple[e] === undefined) throw new Error(`an escape the log does not write: \\${e}`);
    return simple[e];
  });
}

/**
 * The fields of an audit line (the text after `audit: `): `key=token` or `key="escaped"`, split
 * the way a reader splits them; quoted values are returned raw (still escaped). Fails on leftovers.
 */
export function parseLogLine(line: string): Array<[key: string, raw: string, quoted: boolean]> {
  const out: Array<[string, string, boolean]> = [];
  const re = /([a-z_]+)=(?:"((?:[^"\\]|\\.)*)"|([^\s"]+))(?: |$)/gsy;
  let consumed = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line)) !== null) {
    out.push([m[1]!, m[2] ?? m[3]!, m[2] !== undefined]);
    consumed = re.lastIndex;
    if (consumed === line.length) break;
  }
  if (consumed !== line.length) throw new Error(`audit line does not parse after character ${consumed}: ${JSON.stringify(line)}`);
  return out;
}

/** A log line's daemon prefix: `<info>  [1795359215.2990] domain: `. */
export const LOG_LINE_PREFIX = /^<(info|warn|error|debug|trace)> ?\s\[\d+\.\d{4}\] [a-z]+: /;

/** The audit lines of a daemon log, the text after `audit: `. */
export function logAuditLines(log: string): string[] {
  return log
    .split('\n')
    .filter((l) => /^<info> +\[\d+\.\d{4}\] audit: op=/.test(l))
    .map((l) => l.slice(l.indexOf(' audit: ') + ' audit: '.length));
}

// ---- the journal --------------------------------------------------------------------------

export type JournalEntry = Record<string, unknown>;

/**
 * One field of a `journalctl -o json` entry as bytes: a string (valid, printable UTF-8), or an
 * array of byte values (anything else). Fails when the field is missing, cut (null) or repeated.
 */
export function journalBytes(entry: JournalEntry, field: string): Buffer {
  const value = entry[field];
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (Array.isArray(value) && value.every((b) => typeof b === 'number')) return Buffer.from(value as number[]);
  throw new Error(`${field} is not one value: ${JSON.stringify(value)?.slice(0, 200)}`);
}

/** `journalctl -o json --all --since SINCE MATCH…`, one parsed object per entry. */
export async function journalEntries(since: string, matches: string[]): Promise<JournalEntry[]> {
  const { code, stdout, stderr } = await run('journalctl', ['--no-pager', '-o', 'json', '--all', '--since', since, ...matches], { timeoutMs: 60_000 });
  if (code !== 0 && !/No entries/.test(stderr)) throw new Error(`journalctl ${matches.join(' ')} failed (${code}): ${stderr}`);
  return stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as JournalEntry);
}

// ---- auditd's log -------------------------------------------------------------------------

// ausearch, aureport and auditctl live in /usr/sbin.
const SBIN = { PATH: `${process.env.PATH ?? '/usr/bin:/bin'}:/usr/sbin:/sbin` };

/** One USYS_CONFIG record: its event serial, the kernel's header fields, and the fields of msg='…' in order. */
export interface AuditLogRecord {
  readonly serial: number;
  readonly header: Map<string, string>;
  readonly fields: Array<[string, Buffer]>;
}

/** Every value of `key` in `record`'s message, as text. */
export function auditValues(record: AuditLogRecord, key: string): string[] {
  return record.fields.filter(([k]) => k === key).map(([, v]) => v.toString('utf8'));
}

function keyValue(part: string): [string, string] {
  const eq = part.indexOf('=');
  if (eq <= 0) throw new Error(`not a key=value field: ${JSON.stringify(part)}`);
  return [part.slice(0, eq), part.slice(eq + 1)];
}

/** `ausearch --format raw` (auditd's log lines; the ENRICHED part after \x1d is left out). */
export function parseRawAudit(stdout: string): AuditLogRecord[] {
  return stdout.split('\n').filter((l) => l.startsWith('type=USYS_CONFIG ')).map((line) => {
    const m = /^type=USYS_CONFIG msg=audit\(\d+\.\d+:(\d+)\): (.*?) msg='([^']*)'(?:\x1d.*)?$/s.exec(line);
    if (!m) throw new Error(`a USYS_CONFIG line that does not parse: ${line}`);
    return {
      serial: Number(m[1]),
      header: new Map(m[2]!.split(' ').map(keyValue)),
      fields: m[3]!.split(' ').map((p) => {
        const [k, v] = keyValue(p);
        return [k, Buffer.from(v, 'latin1')] as [string, Buffer];
      }),
    };
  });
}

/** Undoes auparse's shell escaping: `\ooo` for a control byte, a backslash before "'`$\!()| and space. */
export function unescapeAuparseShell(value: string): Buffer {
  const bytes: number[] = [];
  const raw = Buffer.from(value, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === 0x5c && /^[0-7]{3}$/.test(raw.subarray(i + 1, i + 4).toString('latin1'))) {
      bytes.push(parseInt(raw.subarray(i + 1, i + 4).toString('latin1'), 8));
      i += 3;
    } else if (raw[i] === 0x5c && i + 1 < raw.length) {
      bytes.push(raw[++i]!);
    } else {
      bytes.push(raw[i]!);
    }
  }
  return Buffer.from(bytes);
}

/**
 * `ausearch -i --escape shell`: hex decoded in the fields auparse knows (name, device, acct…),
 * every value escaped, so that fields split at unescaped spaces.
 */
export function parseInterpretedAudit(stdout: string): AuditLogRecord[] {
  return stdout.split('\n').filter((l) => l.startsWith('type=USYS_CONFIG ')).map((line) => {
    // dotAll: auparse leaves non-ASCII bytes as they are, U+2028 and U+2029 among them.
    const m = /^type=USYS_CONFIG msg=audit\([^)]*:(\d+)\) : (.*?) msg=\\?'(.*)$/s.exec(line);
    if (!m) throw new Error(`an interpreted USYS_CONFIG line that does not parse: ${line}`);
    const body = m[3]!.replace(/\\?' *$/, '');
    const parts = body.match(/(?:\\[0-7]{3}|\\.|[^ \\])+/g) ?? [];
    return {
      serial: Number(m[1]),
      header: new Map(m[2]!.split(' ').map(keyValue)),
      fields: parts.map((p) => {
        const [k, v] = keyValue(p);
        return [k, unescapeAuparseShell(v)] as [string, Buffer];
      }),
    };
  });
}

/** `date +%x %T`: a time in the form ausearch -ts reads (it parses %x in the same locale). */
export async function ausearchNow(): Promise<[string, string]> {
  const { stdout } = await run('date', ['+%x %T']);
  const [d, t] = stdout.trim().split(' ');
  return [d!, t!];
}

/** The USYS_CONFIG records of one daemon process (its pid) since a time, as ausearch and aureport show them. */
export class AuditLogReader {
  constructor(
    private readonly pid: () => number,
    private readonly since: () => readonly [string, string],
  ) {}

  async ausearch(args: string[]): Promise<string> {
    const result = await run('ausearch', ['-m', 'USYS_CONFIG', '-p', String(this.pid()), '-ts', ...this.since(), ...args], { env: SBIN, timeoutMs: 60_000 });
    if (result.code === 1 && result.stderr.includes('<no matches>')) return '';
    if (result.code !== 0) throw new Error(`ausearch ${args.join(' ')} exited with ${result.code}: ${result.stderr}`);
    return result.stdout;
  }

  async raw(args: string[] = []): Promise<AuditLogRecord[]> {
    return parseRawAudit(await this.ausearch([...args, '--format', 'raw']));
  }

  async interpreted(args: string[] = []): Promise<AuditLogRecord[]> {
    return parseInterpretedAudit(await this.ausearch([...args, '-i', '--escape', 'shell']));
  }

  /** `aureport ARGS` over these records (ausearch --raw's output as its input file: aureport reads stdin only from a FIFO). */
  async aureport(args: string[]): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'netaudit-aureport-'));
    try {
      const input = join(dir, 'records.log');
      await writeFile(input, await this.ausearch(['--raw']));
      const result = await run('aureport', ['--input', input, ...args], { env: SBIN, timeoutMs: 60_000 });
      if (result.code !== 0) throw new Error(`aureport ${args.join(' ')} exited with ${result.code}: ${result.stderr}`);
      return result.stdout;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** The config changes `aureport -c ARGS` lists: event serial → its success column (yes/no). */
  async configChanges(args: string[] = []): Promise<Map<number, string>> {
    const rows = new Map<number, string>();
    for (const line of (await this.aureport(['-c', ...args])).split('\n')) {
      const m = /^\d+\. \S+ \S+ USYS_CONFIG \S+ (yes|no) (\d+)$/.exec(line.trim());
      if (m) rows.set(Number(m[2]), m[1]!);
    }
    return rows;
  }
}

/**
 * The journal entry and the kernel audit log line of the trail record `boot`/`seq`, once both
 * backends have it (the journal's NETAUDIT_BOOT and NETAUDIT_SEQ, the audit line's boot= and seq=).
 */
export async function recordInJournalAndAuditLog(boot: string, seq: number): Promise<{ journal: Record<string, string>; audit: string }> {
  const journal = await waitFor(async () => {
    const { stdout } = await run('journalctl', ['--no-pager', '-o', 'json', `NETAUDIT_BOOT=${boot}`, `NETAUDIT_SEQ=${seq}`]);
    return stdout.trim() === '' ? null : (JSON.parse(stdout.trim().split('\n')[0]!) as Record<string, string>);
  }, { timeoutMs: 15_000, what: `record ${boot}/${seq} in the journal` });
  const audit = await waitFor(async () => {
    for (const f of (await readdir('/var/log/audit')).filter((n) => n.startsWith('audit.log'))) {
      const line = (await readFile(`/var/log/audit/${f}`, 'utf8')).split('\n').find((l) => l.includes(` boot=${boot} `) && l.includes(` seq=${seq} `));
      if (line) return line;
    }
    return null;
  }, { timeoutMs: 15_000, what: `record ${boot}/${seq} in the kernel audit log` });
  return { journal, audit };
}
