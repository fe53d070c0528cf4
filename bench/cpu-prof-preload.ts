// A CPU profile of the daemon's main thread over a window the bench chooses, for
// `NODE_OPTIONS=--import=…/cpu-prof-preload.js`: the first SIGUSR2 starts V8's profiler,
// the second stops it and writes $NETAUDIT_CPU_PROF_DIR/main-N.cpuprofile synchronously.
//
// `node --cpu-prof` is no use on the daemon: it writes its profile when the process exits
// through Node, and netauditd ends with _exit(2) (src/native/libc.ts exitNow) after a
// SIGTERM, so no profile is ever written. This preload needs no exit at all.
import { renameSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';

const dir = process.env.NETAUDIT_CPU_PROF_DIR;
if (isMainThread && dir) {
  const session = new Session();
  session.connect();
  // 100 µs, --cpu-prof-interval's default is 1000 µs: calls take well under a millisecond
  session.post('Profiler.setSamplingInterval', { interval: Number(process.env.NETAUDIT_CPU_PROF_INTERVAL_US ?? 100) });
  session.post('Profiler.enable');
  let running = false;
  let written = 0;
  process.on('SIGUSR2', () => {
    if (!running) {
      running = true;
      session.post('Profiler.start');
      return;
    }
    running = false;
    // a session of this thread answers synchronously: the file exists when post returns
    session.post('Profiler.stop', (err, result) => {
      const file = join(dir, `main-${++written}.cpuprofile`);
      writeFileSync(`${file}.tmp`, err ? JSON.stringify({ error: err.message }) : JSON.stringify(result.profile));
      renameSync(`${file}.tmp`, file);
    });
  });
}
