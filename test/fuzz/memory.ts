// Resident memory of a process, sampled from /proc/PID/status (VmRSS), and
// its peak over a campaign.
import { readFileSync } from 'node:fs';

/** VmRSS of `pid` in KiB; NaN once the process is gone. */
export function rssKiB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\) [ZX]/.test(stat.slice(stat.lastIndexOf(')')));
  } catch {
    return false;
  }
}

export class RssSampler {
  readonly start: number;
  peak: number;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number, intervalMs = 250) {
    this.start = rssKiB(pid);
    this.peak = this.start;
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  sample(): number {
    const now = rssKiB(this.pid);
    if (now > this.peak) this.peak = now;
    return now;
  }

  stop(): number {
    clearInterval(this.timer);
    return this.sample();
  }
}
