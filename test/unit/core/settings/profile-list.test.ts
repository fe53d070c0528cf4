import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listProfileFiles, readProfiles, readProfilesYielding } from '../../../../src/core/settings/profile-file.js';
import { ProfileStore } from '../../../../src/core/settings/profile-store.js';

function recorder() {
  const lines: string[] = [];
  const log = { warn: (m: string) => lines.push(`warn ${m}`), info: (m: string) => lines.push(`info ${m}`), debug: () => undefined, err: (m: string) => lines.push(`err ${m}`) };
  return { lines, log };
}

const profile = (id: string, uuid: string): string =>
  `[connection]\nid=${id}\nuuid=${uuid}\ntype=ethernet\n\n[ipv4]\naddress1=192.0.2.${id.length}/24\nmethod=manual\n`;

let dir: string | null = null;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = null;
});

describe('listProfileFiles', () => {
  it('reads and refuses the files ProfileStore.list() reads and refuses, with the same warnings', async () => {
    dir = await mkdtemp(join(tmpdir(), 'profile-list-'));
    for (let i = 0; i < 150; i++) await writeFile(join(dir, `p${String(i).padStart(3, '0')}.nmconnection`), profile(`p${i}`, `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`), { mode: 0o600 });
    await writeFile(join(dir, 'open.nmconnection'), profile('open', '10000000-0000-4000-8000-000000000001'), { mode: 0o644 });
    await writeFile(join(dir, '.hidden.nmconnection'), profile('hidden', '10000000-0000-4000-8000-000000000002'), { mode: 0o600 });
    await writeFile(join(dir, 'notes.txt'), 'x', { mode: 0o600 });
    await mkdir(join(dir, 'dir.nmconnection'));
    await symlink('/etc/hostname', join(dir, 'link.nmconnection'));
    const store = recorder();
    const ours = recorder();
    const expected = await new ProfileStore(dir, store.log as never).list();
    const got = await listProfileFiles(dir, ours.log as never);
    expect(got).toEqual(expected);
    expect(got).toHaveLength(150);
    expect(ours.lines).toEqual(store.lines);
    expect(ours.lines).toHaveLength(3);
  });
});

describe('readProfilesYielding', () => {
  it('reads as readProfiles reads, the duplicates and the unreadable included', async () => {
    const files = [
      ...Array.from({ length: 300 }, (_, i) => ({ fileName: `p${i}.nmconnection`, changedAt: i, text: profile(`p${i}`, `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`) })),
      { fileName: 'twin.nmconnection', changedAt: 0, text: profile('twin', '00000000-0000-4000-8000-000000000007') },
      { fileName: 'syntax.nmconnection', changedAt: 0, text: '[connection]\nnot a line\n' },
      { fileName: 'bad.nmconnection', changedAt: 0, text: '[connection]\nuuid=20000000-0000-4000-8000-000000000001\ntype=no-such-type\n' },
    ];
    const sync = recorder();
    const yielding = recorder();
    const a = readProfiles(files, '/etc/x', sync.log as never);
    const b = await readProfilesYielding(files, '/etc/x', yielding.log as never);
    expect(b).toEqual(a);
    expect(b.profiles).toHaveLength(300);
    expect([...b.unreadable.uuids]).toEqual(['20000000-0000-4000-8000-000000000001']);
    expect(yielding.lines).toEqual(sync.lines);
  });
});
