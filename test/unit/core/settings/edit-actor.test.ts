// EditActor: the process of an edit as /proc shows it, only what could be read, never a guess.
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readEditActor, sameActor } from '../../../../src/core/settings/edit-actor.js';

describe('readEditActor', () => {
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
    expect(readEditActor(41, proc)).toEqual({ pid: 41, uid: 1001, exe: '/usr/bin/sed', comm: 'sed', auid: 1000, ses: 3 });
  });

  it('leaves out what is unset or unreadable, and gives no actor for a process gone or pid 0', async () => {
    proc = await mkdtemp(join(tmpdir(), 'edit-actor-'));
    await fakeProcess(42, { status: 'Uid:\t0\t0\t0\t0\n', loginuid: '4294967295', sessionid: '4294967295' });
    expect(readEditActor(42, proc)).toEqual({ pid: 42, uid: 0 });
    expect(readEditActor(43, proc)).toBeNull();
    expect(readEditActor(0, proc)).toBeNull();
  });

  it('reads this very process from the real /proc', () => {
    expect(readEditActor(process.pid)).toMatchObject({ pid: process.pid, uid: process.getuid!(), exe: process.execPath });
  });
});

describe('sameActor', () => {
  it('keeps an actor only while the events are one process\'s', () => {
    const a = { pid: 1, uid: 0 };
    expect(sameActor(a, { pid: 1, uid: 0, comm: 'x' })).toEqual({ pid: 1, uid: 0, comm: 'x' });
    expect(sameActor(a, { pid: 2, uid: 0 })).toBeNull();
    expect(sameActor(null, a)).toBeNull();
  });
});
