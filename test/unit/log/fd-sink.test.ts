import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FdSink } from '../../../src/log/logger.js';
import { waitFor } from '../../helpers/wait.js';

let dir = '';
const fds: number[] = [];

afterEach(() => {
  for (const fd of fds.splice(0)) closeSync(fd);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A pipe whose reader reads nothing until told: a stalled journald. */
function stalledPipe(nonBlocking = false): { writeFd: number; readAll: () => string } {
  dir = mkdtempSync(join(tmpdir(), 'fdsink-'));
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const readFd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const writeFd = openSync(fifo, constants.O_WRONLY | (nonBlocking ? constants.O_NONBLOCK : 0));
  fds.push(readFd, writeFd);
  let text = '';
  const buf = Buffer.alloc(1 << 16);
  return {
    writeFd,
    readAll: () => {
      for (;;) {
        let n = 0;
        try {
          n = readSync(readFd, buf, 0, buf.length, null);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'EAGAIN') break;
          throw e;
        }
        if (n === 0) break;
        text += buf.toString('utf8', 0, n);
      }
      return text;
    },
  };
}

describe('FdSink', () => {
  it('returns at once while its reader is stalled, drops past its limit and says how many', async () => {
    const pipe = stalledPipe();
    const sink = new FdSink(pipe.writeFd);
    const line = `${'x'.repeat(1023)}\n`;
    // 6 MiB offered to a pipe that holds 64 KiB: had a write blocked, this loop would never end.
    for (let i = 0; i < 6 * 1024; i++) sink.write(line);
    let text = '';
    await waitFor(
      () => {
        text = pipe.readAll();
        return /\d+ log line\(s\) dropped/.test(text);
      },
      { what: 'the dropped-lines notice', timeoutMs: 20_000 },
    );
    const delivered = text.split('\n').filter((l) => l === 'x'.repeat(1023)).length;
    const dropped = Number(/(\d+) log line\(s\) dropped/.exec(text)![1]);
    expect(delivered + dropped).toBe(6 * 1024);
    expect(dropped).toBeGreaterThan(0);
  });

  it('keeps lines whole and in order', async () => {
    const pipe = stalledPipe();
    const sink = new FdSink(pipe.writeFd);
    for (let i = 0; i < 1000; i++) sink.write(`line ${i}\n`);
    let text = '';
    await waitFor(() => (text = pipe.readAll()).endsWith('line 999\n'), { what: 'all lines' });
    expect(text.split('\n').slice(0, -1)).toEqual(Array.from({ length: 1000 }, (_, i) => `line ${i}`));
  });

  it('loses no line to EAGAIN on a non-blocking descriptor whose reader is behind', async () => {
    const pipe = stalledPipe(true);
    const sink = new FdSink(pipe.writeFd);
    // 200 KiB: more than the pipe holds, less than the sink's queue.
    for (let i = 0; i < 200; i++) sink.write(`${String(i).padStart(4, '0')}${'y'.repeat(1019)}\n`);
    let text = '';
    await waitFor(() => (text = pipe.readAll()).split('\n').length > 200, { what: 'every line', timeoutMs: 20_000 });
    expect(text.split('\n').slice(0, -1).map((l) => l.slice(0, 4))).toEqual(Array.from({ length: 200 }, (_, i) => String(i).padStart(4, '0')));
  });
});
