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

/** Runs in the worker: handles each request of each batch in order with `handle`. */
export function serveBatches<T>(name: string, handle: (payload: T) => string | null): void {
  const port = parentPort;
  if (port === null) throw new Error(`${name} runs as a worker thread of its audit backend`);
  port.on('message', (batch: ReadonlyArray<WorkerRequest<T>>) => {
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
