// The protocol between a WorkerQueue and its worker thread: batches of
// requests in, batches of replies out, one message each way per batch
// (a postMessage costs more than the record it carries).
import { parentPort } from 'node:worker_threads';

export interface WorkerRequest<T> {
  readonly id: number;
  readonly payload: T;
}

export interface WorkerReply {
  readonly id: number;
  /** null when the call succeeded; otherwise why it failed (errno text) */
  readonly error: string | null;
}

/** The message that stops an idle worker: it closes what it opened, and its thread ends. */
export const STOP_WORKER = 'stop';

/**
 * Runs in the worker: handles each request of each batch in order with
 * `handle`; at STOP_WORKER, runs `stop` and ends.
 */
export function serveBatches<T>(name: string, handle: (payload: T) => string | null, stop?: () => void): void {
  const port = parentPort;
  if (port === null) throw new Error(`${name} runs as a worker thread of its audit backend`);
  port.on('message', (batch: ReadonlyArray<WorkerRequest<T>> | typeof STOP_WORKER) => {
    if (batch === STOP_WORKER) {
      try {
        stop?.();
      } finally {
        port.close();
      }
      return;
    }
    const replies: WorkerReply[] = batch.map(({ id, payload }) => {
      try {
        return { id, error: handle(payload) };
      } catch (e) {
        return { id, error: e instanceof Error ? e.message : String(e) };
      }
    });
    port.postMessage(replies);
  });
}
