// Event-loop delay statistics for measurement, off unless NETAUDITD_LOOP_STATS names a file.
//
// Imported first by main.ts, so that the histogram covers the daemon's start from module loading
// on. On each SIGUSR2 the figures since the last report are written to that file (atomically:
// a temporary file renamed over it) and the histogram is reset. The first report's figures are
// kept as `startup` and repeated in every later report: send the first SIGUSR2 as soon as the
// daemon owns its bus name (bench/compare.ts does) and `startup` covers the start-up alone.
//
//   {"startup": {"max": 41.2, "p99": 1.1, "p50": 1.0, "mean": 1.3},
//    "sinceLastReset": {"max": 3.4, "p99": 1.2, "p50": 1.0, "mean": 1.05}}     (milliseconds)
//
// Without the variable nothing is installed: SIGUSR2 keeps its default action.
import { renameSync, writeFileSync } from 'node:fs';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

export const LOOP_STATS_ENV = 'NETAUDITD_LOOP_STATS';

/** Event-loop delay over an interval, in milliseconds. */
export interface LoopDelay {
  readonly max: number;
  readonly p99: number;
  readonly p50: number;
  readonly mean: number;
}

export interface LoopStatsReport {
  readonly startup?: LoopDelay;
  readonly sinceLastReset: LoopDelay;
}

let started = false;

const ms = (ns: number): number => (Number.isFinite(ns) ? Math.round(ns / 1e3) / 1e3 : 0);

/** The histogram's figures in ms (0 for an interval with no sample). */
export function summarize(h: IntervalHistogram): LoopDelay {
  if (h.count === 0) return { max: 0, p99: 0, p50: 0, mean: 0 };
  return { max: ms(h.max), p99: ms(h.percentile(99)), p50: ms(h.percentile(50)), mean: ms(h.mean) };
}

/**
 * Starts the histogram and the SIGUSR2 handler when `env` names a file; returns whether it did.
 * Idempotent: a second call does nothing.
 */
export function startLoopStats(env: NodeJS.ProcessEnv = process.env): boolean {
  const file = env[LOOP_STATS_ENV];
  if (!file || started) return false;
  started = true;
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  let startup: LoopDelay | undefined;
  process.on('SIGUSR2', () => {
    const now = summarize(histogram);
    histogram.reset();
    startup ??= now;
    const report: LoopStatsReport = { startup, sinceLastReset: now };
    const tmp = `${file}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, `${JSON.stringify(report)}\n`, { mode: 0o644 });
      renameSync(tmp, file);
    } catch (e) {
      process.stderr.write(`netauditd: cannot write event-loop statistics to ${file}: ${(e as Error).message}\n`);
    }
  });
  return true;
}

startLoopStats();
