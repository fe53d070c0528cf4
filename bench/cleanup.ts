// What the bench must undo even when it is stopped half-way: daemons, the bus, polkitd, network
// namespaces, scratch dirs. Each is registered while it exists; SIGTERM or SIGINT runs what is
// left (latest first) and exits with status 130, so that a test that gives up on the bench
// (test/integration/bench-smoke.test.ts) leaves nothing behind.
const tasks: Array<{ what: string; run: () => Promise<unknown> }> = [];

/** Registers `run`; the function returned unregisters it (call it once the thing is gone). */
export function atExit(what: string, run: () => Promise<unknown>): () => void {
  const task = { what, run };
  tasks.push(task);
  return () => {
    const i = tasks.indexOf(task);
    if (i >= 0) tasks.splice(i, 1);
  };
}

let stopping = false;

async function onSignal(signal: NodeJS.Signals): Promise<void> {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`bench: ${signal}: cleaning up (${tasks.length} left to undo)\n`);
  for (const task of tasks.splice(0).reverse()) {
    try {
      await task.run();
    } catch (e) {
      process.stderr.write(`bench: cleaning up ${task.what} failed: ${(e as Error).message}\n`);
    }
  }
  process.exit(130);
}

process.once('SIGTERM', (s) => void onSignal(s));
process.once('SIGINT', (s) => void onSignal(s));
