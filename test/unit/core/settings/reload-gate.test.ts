// ReloadGate: changes run side by side; a reload waits for those under way and holds new ones.
import { describe, expect, it } from 'vitest';
import { ReloadGate } from '../../../../src/core/settings/reload-gate.js';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('ReloadGate', () => {
  it('runs a reload only once the changes under way are done, and a change that comes meanwhile after it', async () => {
    const gate = new ReloadGate();
    const order: string[] = [];
    const first = deferred();
    const second = deferred();
    const a = gate.change(async () => { order.push('a starts'); await first.promise; order.push('a ends'); });
    const b = gate.change(async () => { order.push('b starts'); await second.promise; order.push('b ends'); });
    const reload = gate.reload(async () => { order.push('reload'); });
    const c = gate.change(async () => { order.push('c'); });
    await Promise.resolve();
    first.resolve();
    await a;
    expect(order).toEqual(['a starts', 'b starts', 'a ends']);
    second.resolve();
    await Promise.all([b, reload, c]);
    expect(order).toEqual(['a starts', 'b starts', 'a ends', 'b ends', 'reload', 'c']);
  });

  it('lets the next change run when a reload fails', async () => {
    const gate = new ReloadGate();
    await expect(gate.reload(async () => { throw new Error('refused'); })).rejects.toThrow('refused');
    expect(await gate.change(async () => 'ran')).toBe('ran');
  });
});
