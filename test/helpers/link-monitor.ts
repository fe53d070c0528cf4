// `ip -n NS monitor link` for the length of an action: every link event the kernel sent, so a test
// can show that a link never went down (or away) while the daemon changed it.
import { spawn } from 'node:child_process';
import { ip, link } from './netns.js';
import { waitFor } from './wait.js';

export interface LinkMonitor {
  /** the event lines seen so far */
  readonly lines: string[];
  /** stops the monitor once an event made after the action has been seen, so nothing in flight is lost */
  stop(): Promise<string[]>;
}

/**
 * Starts the monitor and returns once it is known to listen: it has reported a change made to the
 * loopback's MTU for that purpose (a link no test looks at; its MTU is put back at the end).
 */
export async function monitorLinks(ns: string): Promise<LinkMonitor> {
  const child = spawn('ip', ['-n', ns, '-o', 'monitor', 'link'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let rest = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const text = rest + chunk;
    const parts = text.split('\n');
    rest = parts.pop()!;
    lines.push(...parts.filter((l) => l.trim() !== ''));
  });
  let marks = 0;
  const loMtu = (await link(ns, 'lo')).mtu;
  // Each try sets a new value: setting the same one again would send no event.
  const mark = (): Promise<unknown> =>
    waitFor(
      async () => {
        const mtu = 60_000 + ++marks;
        await ip('-n', ns, 'link', 'set', 'dev', 'lo', 'mtu', String(mtu));
        return waitFor(() => lines.some((l) => /^\d+: lo: /.test(l) && l.includes(` mtu ${mtu} `)), { timeoutMs: 300, what: `the loopback's MTU ${mtu}` });
      },
      { timeoutMs: 5_000, intervalMs: 10, what: "ip monitor reporting a change of the loopback's MTU" },
    );
  try {
    await mark();
  } catch (e) {
    child.kill();
    throw e;
  }
  return {
    lines,
    async stop() {
      await mark();
      child.kill();
      await ip('-n', ns, 'link', 'set', 'dev', 'lo', 'mtu', String(loMtu));
      return lines.filter((l) => !/^\d+: lo: /.test(l));
    },
  };
}
