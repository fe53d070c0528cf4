// ProcessView: the process of an edit as /proc shows it, only what could be read, never a guess.
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readProcessView, sameProcess } from '../../../src/core/process-view.js';

describe('readProcessView', () => {
  let proc = '';
  afterEach(async () => {
    if (proc) await rm(proc, { recursive: true, force: true });
  });

  async function fakeProcess(pid: number, files: Record<string, string>, exe?: string): Promise<void> {
    await mkdir(join(proc, String(pid)), { recursive: true });
    for (const [name, text] of Object.entries(files)) await writeFile(join(proc, String(pid), name), text);
    if (exe !== undefined) await symlink(exe, join(proc, String(pid), 'exe'));
  }

  it('reads the real uid, executable, command name, login uid and session', async () => {
    proc = await mkdtemp(join(tmpdir(), 'edit-actor-'));
    await fakeProcess(41, { status: 'Name:\tsed\nUid:\t1001\t0\t0\t0\n', comm: 'sed\n', loginuid: '1000', sessionid: '3' }, '/usr/bin/sed');
    expect(readProcessView(41, proc)).toEqual({ pid: 41, uid: 1001, exe: '/usr/bin/sed', comm: 'sed', auid: 1000, ses: 3 });
  });

  it('leaves out what is unset or unreadable, and gives no actor for a process gone or pid 0', async () => {
    proc = await mkdtemp(join(tmpdir(), 'edit-actor-'));
    await fakeProcess(42, { status: 'Uid:\t0\t0\t0\t0\n', loginuid: '4294967295', sessionid: '4294967295' });
    expect(readProcessView(42, proc)).toEqual({ pid: 42, uid: 0 });
    expect(readProcessView(43, proc)).toBeNull();
    expect(readProcessView(0, proc)).toBeNull();
  });

  it('reads this very process from the real /proc', () => {
    expect(readProcessView(process.pid)).toMatchObject({ pid: process.pid, uid: process.getuid!(), exe: process.execPath });
  });
});

describe('sameProcess', () => {
  it('keeps an actor only while the events are one process\'s', () => {
    const a = { pid: 1, uid: 0 };
    expect(sameProcess(a, { pid: 1, uid: 0, comm: 'x' })).toEqual({ pid: 1, uid: 0, comm: 'x' });
    expect(sameProcess(a, { pid: 2, uid: 0 })).toBeNull();
    expect(sameProcess(null, a)).toBeNull();
  });
});
