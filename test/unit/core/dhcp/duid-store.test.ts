// The host's DHCPv6 DUID: a DUID-UUID made once and kept, the same for every caller and after a
// restart; a file that does not hold one is replaced.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DuidStore } from '../../../../src/core/dhcp/duid-store.js';

let dir = '';
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('DuidStore', () => {
  it('makes a DUID-UUID (type 4, RFC 4122 version 4) once, kept 0600 as colon hex, the same for callers at once and after a restart', async () => {
    dir = join(await mkdtemp(join(tmpdir(), 'na-duid-')), 'dhcp');
    const store = new DuidStore(dir);
    const [a, b] = await Promise.all([store.get(), store.get()]);
    expect(a).toEqual(b);
    expect(a.length).toBe(18);
    expect(a.readUInt16BE(0)).toBe(4);
    expect(a[8]! >> 4).toBe(4);
    expect(a[10]! >> 6).toBe(2);
    const text = await readFile(join(dir, 'duid'), 'utf8');
    expect(text).toBe(`${[...a].map((x) => x.toString(16).padStart(2, '0')).join(':')}\n`);
    expect((await stat(join(dir, 'duid'))).mode & 0o777).toBe(0o600);
    expect(await new DuidStore(dir).get()).toEqual(a);
  });

  it('replaces a file that holds no DUID-UUID', async () => {
    dir = await mkdtemp(join(tmpdir(), 'na-duid-'));
    await writeFile(join(dir, 'duid'), '00:03:00:01:02:00:00:00:00:01\n');
    const duid = await new DuidStore(dir).get();
    expect(duid.readUInt16BE(0)).toBe(4);
  });
});
