import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listProfileFiles, readProfiles } from '../../../../src/core/settings/profile-file.js';

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
  it('reads the 0600 root-owned profile files in name order and refuses the others, each with a warning', async () => {
    dir = await mkdtemp(join(tmpdir(), 'profile-list-'));
    for (let i = 0; i < 150; i++) await writeFile(join(dir, `p${String(i).padStart(3, '0')}.nmconnection`), profile(`p${i}`, `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`), { mode: 0o600 });
    await writeFile(join(dir, 'open.nmconnection'), profile('open', '10000000-0000-4000-8000-000000000001'), { mode: 0o644 });
    await writeFile(join(dir, '.hidden.nmconnection'), profile('hidden', '10000000-0000-4000-8000-000000000002'), { mode: 0o600 });
    await writeFile(join(dir, 'notes.txt'), 'x', { mode: 0o600 });
    await mkdir(join(dir, 'dir.nmconnection'));
    await symlink('/etc/hostname', join(dir, 'link.nmconnection'));
    const ours = recorder();
    const got = await listProfileFiles(dir, ours.log as never);
    expect(got.map((f) => f.fileName)).toEqual(Array.from({ length: 150 }, (_, i) => `p${String(i).padStart(3, '0')}.nmconnection`));
    expect(got[7]!.text).toBe(profile('p7', '00000000-0000-4000-8000-000000000007'));
    expect(got).toHaveLength(150);
    expect(ours.lines).toEqual([
      `warn ignoring ${dir}/dir.nmconnection: not a regular file`,
      `warn ignoring ${dir}/link.nmconnection: not a regular file`,
      `warn ignoring ${dir}/open.nmconnection: it must be owned by uid 0 with mode 0600 (it is 644, uid 0)`,
    ]);
    expect(ours.lines).toHaveLength(3);
  });
});

describe('readProfiles', () => {
  it('reads every profile, skips a repeated uuid and what does not parse, and keeps the uuid of a file it cannot read', async () => {
    const files = [
      ...Array.from({ length: 300 }, (_, i) => ({ fileName: `p${i}.nmconnection`, changedAt: i, text: profile(`p${i}`, `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`) })),
      { fileName: 'twin.nmconnection', changedAt: 0, text: profile('twin', '00000000-0000-4000-8000-000000000007') },
      { fileName: 'syntax.nmconnection', changedAt: 0, text: '[connection]\nnot a line\n' },
      { fileName: 'bad.nmconnection', changedAt: 0, text: '[connection]\nuuid=20000000-0000-4000-8000-000000000001\ntype=no-such-type\n' },
    ];
    const reading = recorder();
    const b = await readProfiles(files, '/etc/x', reading.log as never);
    expect(b.profiles).toHaveLength(300);
    expect(b.profiles.map((p) => p.fileName)).toEqual(files.slice(0, 300).map((f) => f.fileName));
    expect([...b.unreadable.uuids]).toEqual(['20000000-0000-4000-8000-000000000001']);
    expect([...b.unreadable.files].sort()).toEqual(['bad.nmconnection', 'syntax.nmconnection']);
    expect(reading.lines.filter((l) => l.includes('twin.nmconnection'))).toHaveLength(1);
    expect(reading.lines.filter((l) => l.includes('syntax.nmconnection'))).toHaveLength(1);
    expect(reading.lines.filter((l) => l.includes('bad.nmconnection'))).toHaveLength(1);
  });
});
