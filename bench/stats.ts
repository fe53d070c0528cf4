// Small helpers of the side-by-side bench: spreads of samples, /proc readers, cell formatting.
import { readFileSync, readdirSync } from 'node:fs';

/** median [min..max] of a row's per-round values */
export interface Spread3 {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly values: readonly number[];
}

export function spread3(values: readonly number[]): Spread3 | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, values };
}

/** The q-quantile (0..1) of `values` (nearest rank), NaN when empty. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** utime + stime of a process (all its threads) or a kernel thread, in ms; 0 when it is gone. */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is the state (field 3): utime and stime are fields 14 and 15, in clock ticks (USER_HZ = 100).
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return 0;
  }
}

/** VmRSS of a process in KiB. */
export function rssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]);
}

/** Pids whose comm is `comm` and that are not zombies (kernel threads included). */
export function pidsByComm(comm: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trimEnd() !== comm) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const state = stat.charAt(stat.lastIndexOf(')') + 2);
      if (state !== 'Z' && state !== 'X') out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

export type Unit = 'ms' | 'calls/s' | 'MiB' | '%' | 'ms/change';

export function formatValue(v: number, unit: Unit): string {
  switch (unit) {
    case 'calls/s':
      return v.toFixed(0);
    case 'MiB':
      return v.toFixed(1);
    case '%':
      return v.toFixed(1);
    default:
      return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);
  }
}

export function formatSpread(s: Spread3 | null, unit: Unit): string {
  if (s === null) return '—';
  if (s.values.length === 1) return formatValue(s.median, unit);
  return `${formatValue(s.median, unit)} [${formatValue(s.min, unit)}..${formatValue(s.max, unit)}]`;
}
