import { describe, expect, it } from 'vitest';
import { WorkerQueue, type DropEpisode } from '../../../../src/core/audit/backends/worker-queue.js';
import { waitFor } from '../../../helpers/wait.js';

function setup(limit: number, idleMs?: number) {
  const gate = new SharedArrayBuffer(4);
  const events: string[] = [];
  const episodes: DropEpisode[] = [];
  const queue = new WorkerQueue<string>({
    url: new URL('./fixtures/gate-worker.mjs', import.meta.url),
    workerData: { gate },
    limit,
    onDropStart: (seq) => events.push(`drop-start ${seq}`),
    onDropEnd: (e) => episodes.push(e),
    onWorkerError: (e) => events.push(`error ${e.message}`),
    ...(idleMs !== undefined ? { idleMs } : {}),
  });
  const open = (): void => {
    Atomics.store(new Int32Array(gate), 0, 1);
    Atomics.notify(new Int32Array(gate), 0);
  };
  return { queue, open, events, episodes };
}

describe('WorkerQueue', () => {
  it('never blocks the caller while its worker is stuck, and drops past its limit with the seq range', async () => {
    const { queue, open, events, episodes } = setup(4);
    const done: number[] = [];
    const submitted = Array.from({ length: 10 }, (_, i) => queue.submit(i + 1, 'ok').then(() => done.push(i + 1)));
    // All ten calls returned while the worker is blocked: four queued, six dropped.
    expect(queue.depth).toBe(4);
    expect(queue.dropped).toBe(6);
    expect(events).toEqual(['drop-start 5']);
    expect(done).toEqual([]);
    open();
    await Promise.all(submitted);
    expect(done.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // The episode is reported when the queue takes a record again.
    expect(episodes).toEqual([]);
    await queue.submit(11, 'ok');
    expect(episodes).toEqual([{ count: 6, firstSeq: 5, lastSeq: 10 }]);
    queue.close();
  });

  it('rejects a record whose call failed, with the worker’s reason', async () => {
    const { queue, open } = setup(8);
    open();
    await expect(queue.submit(1, 'fail')).rejects.toThrow('EPERM: Operation not permitted');
    await expect(queue.submit(2, 'ok')).resolves.toBeUndefined();
    queue.close();
  });

  it('resolves what is queued at close without waiting for a stuck worker', async () => {
    const { queue } = setup(8);
    const pending = queue.submit(1, 'ok');
    queue.close();
    await expect(pending).resolves.toBeUndefined();
    await expect(waitFor(() => queue.depth === 0)).resolves.toBe(true);
  });

  it('stops an idle worker, quietly, and starts a new one for the next record', async () => {
    const { queue, open, events } = setup(8, 50);
    open();
    expect(queue.running).toBe(false);
    await queue.submit(1, 'ok');
    expect(queue.running).toBe(true);
    await expect(waitFor(() => !queue.running, { timeoutMs: 2000, what: 'the idle worker to stop' })).resolves.toBe(true);
    // Its exit is no loss: nothing is reported, and the next record gets a worker of its own.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(events).toEqual([]);
    await expect(queue.submit(2, 'ok')).resolves.toBeUndefined();
    expect(queue.running).toBe(true);
    queue.close();
  });

  it('keeps a worker that has records in flight, however long they take', async () => {
    const { queue, open, events } = setup(8, 20);
    const first = queue.submit(1, 'ok');
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(queue.running).toBe(true);
    open();
    await first;
    expect(events).toEqual([]);
    queue.close();
  });
});
