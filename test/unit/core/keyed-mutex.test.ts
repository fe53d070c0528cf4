import { describe, expect, it } from 'vitest';
import { KeyedMutex } from '../../../src/core/keyed-mutex.js';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('KeyedMutex', () => {
  it('runs work on one key one at a time, in order', async () => {
    const m = new KeyedMutex();
    const order: string[] = [];
    const gate = deferred();
    const started = deferred();
    const a = m.run(['k'], async () => {
      order.push('a-start');
      started.resolve();
      await gate.promise;
      order.push('a-end');
    });
    const b = m.run(['k'], async () => {
      order.push('b');
    });
    await started.promise;
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual(['a-start']);
    gate.resolve();
    await Promise.all([a, b]);
    expect(order).toEqual(['a-start', 'a-end', 'b']);
  });

  it('lets work on different keys overlap', async () => {
    const m = new KeyedMutex();
    const gate = deferred();
    let bRan = false;
    const a = m.run(['x'], () => gate.promise);
    await m.run(['y'], async () => {
      bRan = true;
    });
    expect(bRan).toBe(true);
    gate.resolve();
    await a;
  });

  it('releases a key when the work throws', async () => {
    const m = new KeyedMutex();
    await expect(m.run(['k'], async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(m.run(['k'], async () => 7)).resolves.toBe(7);
  });
});
