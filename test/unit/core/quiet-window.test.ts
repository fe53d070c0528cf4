// QuietWindow: each file's events become one, once the file has been quiet; a busy file is taken after a bound.
import { describe, expect, it } from 'vitest';
import { QuietWindow } from '../../../src/core/quiet-window.js';
import { FakeClock } from './dhcp/fakes.js';

function windowOn(clock: FakeClock): { window: QuietWindow<string>; ready: Array<[string, number]> } {
  const ready: Array<[string, number]> = [];
  const window = new QuietWindow<string>({ clock, quietMs: 200, maxMs: 2000, ready: (key) => ready.push([key, clock.now() - START]) });
  return { window, ready };
}

const START = 1_700_000_000_000;

describe('QuietWindow', () => {
  it('hands out a burst of events on one file once, when the file has been quiet for the window', async () => {
    const clock = new FakeClock(START);
    const { window, ready } = windowOn(clock);
    // An editor's save: the file renamed away, written anew, closed.
    window.touch('a.nmconnection');
    await clock.advance(50);
    window.touch('a.nmconnection');
    await clock.advance(100);
    window.touch('a.nmconnection');
    await clock.advance(199);
    expect(ready).toEqual([]);
    await clock.advance(1);
    expect(ready).toEqual([['a.nmconnection', 350]]);
    expect(window.size).toBe(0);
  });

  it('keeps a window per file: a busy file does not hold a quiet one back', async () => {
    const clock = new FakeClock(START);
    const { window, ready } = windowOn(clock);
    window.touch('busy.nmconnection');
    window.touch('quiet.nmconnection');
    for (let i = 0; i < 3; i++) {
      await clock.advance(150);
      window.touch('busy.nmconnection');
    }
    await clock.advance(200);
    expect(ready).toEqual([['quiet.nmconnection', 200], ['busy.nmconnection', 650]]);
  });

  it('hands out a file written without pause after the bound, and starts it anew after', async () => {
    const clock = new FakeClock(START);
    const { window, ready } = windowOn(clock);
    for (let t = 0; t < 2500; t += 100) {
      window.touch('log.nmconnection');
      await clock.advance(100);
    }
    expect(ready.map(([, at]) => at)).toEqual([2000]);
    await clock.advance(200);
    expect(ready.map(([, at]) => at)).toEqual([2000, 2600]);
  });

  it('hands out nothing once closed', async () => {
    const clock = new FakeClock(START);
    const { window, ready } = windowOn(clock);
    window.touch('a.nmconnection');
    window.close();
    await clock.advance(5000);
    expect(ready).toEqual([]);
  });
});
