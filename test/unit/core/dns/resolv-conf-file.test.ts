// DNS mode `file` on a scratch directory standing in for /etc (docs/dns.md): run-dir/resolv.conf
// written only when its content changes, the path linked to it, what it held kept in state-dir and
// put back, and a path that cannot be replaced warned about once.
import { lstat, mkdir, mkdtemp, readFile, readlink, stat, symlink, writeFile, chmod, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { orderSources } from '../../../../src/core/dns/dns-order.js';
import { ResolvConfFile } from '../../../../src/core/dns/resolv-conf-file.js';
import { Logger } from '../../../../src/log/logger.js';
import { dns } from './sources.js';

let dir: string;
let etc: string;
let runDir: string;
let stateDir: string;
let lines: string[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'netauditd-resolv-'));
  etc = join(dir, 'etc');
  runDir = join(dir, 'run');
  stateDir = join(dir, 'state');
  await mkdir(etc);
  lines = [];
});

afterEach(() => rm(dir, { recursive: true, force: true }));

function backend(path = join(etc, 'resolv.conf')): ResolvConfFile {
  const logger = new Logger({ write: (line) => lines.push(line) }, { now: () => 0 });
  return new ResolvConfFile({ runDir, stateDir, path, log: logger.domain('CORE') });
}

const one = orderSources([dns(2, ['192.0.2.53'], { searches: ['lan.example'] })]);
const other = orderSources([dns(2, ['192.0.2.54'])]);

describe('ResolvConfFile', () => {
  it('writes run-dir/resolv.conf, world-readable, and makes the path a symlink to it', async () => {
    const b = backend();
    await b.apply(one);
    expect(await readlink(join(etc, 'resolv.conf'))).toBe(join(runDir, 'resolv.conf'));
    const text = await readFile(join(etc, 'resolv.conf'), 'utf8');
    expect(text).toContain('nameserver 192.0.2.53\n');
    expect(text).toContain('search lan.example\n');
    expect((await stat(join(runDir, 'resolv.conf'))).mode & 0o777).toBe(0o644);
  });

  it('does not rewrite the file when its content is the same, even after a restart', async () => {
    await backend().apply(one);
    const before = await stat(join(runDir, 'resolv.conf'));
    await new Promise((r) => setTimeout(r, 20));
    await backend().apply(one);
    const after = await stat(join(runDir, 'resolv.conf'));
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    await backend().apply(other);
    expect((await stat(join(runDir, 'resolv.conf'))).ino).not.toBe(before.ino);
  });

  it('keeps a regular file it replaces, and puts it back with its mode when no connection gives DNS', async () => {
    const path = join(etc, 'resolv.conf');
    await writeFile(path, 'nameserver 203.0.113.1\n');
    await chmod(path, 0o640);
    const b = backend();
    await b.apply(one);
    expect((await lstat(path)).isSymbolicLink()).toBe(true);
    await b.apply(other);
    await b.apply([]);
    expect((await lstat(path)).isFile()).toBe(true);
    expect(await readFile(path, 'utf8')).toBe('nameserver 203.0.113.1\n');
    expect((await stat(path)).mode & 0o777).toBe(0o640);
    await expect(stat(join(runDir, 'resolv.conf'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(join(stateDir, 'resolv.conf.orig.json'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('puts back a symlink it replaced, and removes a path that was not there', async () => {
    const path = join(etc, 'resolv.conf');
    await symlink('../elsewhere/resolv.conf', path);
    const b = backend();
    await b.apply(one);
    await b.apply([]);
    expect(await readlink(path)).toBe('../elsewhere/resolv.conf');

    const absent = join(etc, 'other.conf');
    const c = backend(absent);
    await c.apply(one);
    expect(await readlink(absent)).toBe(join(runDir, 'resolv.conf'));
    await c.close(true);
    await expect(lstat(absent)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('leaves everything as it is when the daemon stops, for the next one to adopt', async () => {
    const path = join(etc, 'resolv.conf');
    await writeFile(path, 'nameserver 203.0.113.1\n');
    const b = backend();
    await b.apply(one);
    await b.close(false);
    expect(await readlink(path)).toBe(join(runDir, 'resolv.conf'));
    // The next daemon finds no DNS left (after a reboot, say): the original comes back.
    await backend().apply([]);
    expect(await readFile(path, 'utf8')).toBe('nameserver 203.0.113.1\n');
  });

  it('puts back at a start in another mode what an earlier daemon replaced', async () => {
    const path = join(etc, 'resolv.conf');
    await writeFile(path, 'nameserver 203.0.113.1\n');
    await backend().apply(one);
    await ResolvConfFile.restoreLeftover({ runDir, stateDir, path, log: new Logger({ write: () => undefined }).domain('CORE') });
    expect(await readFile(path, 'utf8')).toBe('nameserver 203.0.113.1\n');
  });

  it('leaves a symlink made by hand, and writes the bare header when no DNS is left', async () => {
    const path = join(etc, 'resolv.conf');
    await mkdir(runDir);
    await symlink(join(runDir, 'resolv.conf'), path);
    const b = backend();
    await b.apply(one);
    await expect(stat(join(stateDir, 'resolv.conf.orig.json'))).rejects.toMatchObject({ code: 'ENOENT' });
    await b.apply([]);
    expect(await readlink(path)).toBe(join(runDir, 'resolv.conf'));
    const text = await readFile(path, 'utf8');
    expect(text).toMatch(/^# Generated by netauditd/);
    expect(text).not.toContain('nameserver');
  });

  it('leaves the path alone when somebody replaced the symlink since', async () => {
    const path = join(etc, 'resolv.conf');
    const b = backend();
    await b.apply(one);
    await rm(path);
    await writeFile(path, 'nameserver 198.51.100.7\n');
    await b.apply([]);
    expect(await readFile(path, 'utf8')).toBe('nameserver 198.51.100.7\n');
    expect(lines.join('')).toContain('no longer links to');
  });

  it('puts the old path back when resolv-conf names another one', async () => {
    const first = join(etc, 'resolv.conf');
    await writeFile(first, 'nameserver 203.0.113.1\n');
    await backend(first).apply(one);
    const second = join(etc, 'resolv-new.conf');
    await backend(second).apply(one);
    expect(await readFile(first, 'utf8')).toBe('nameserver 203.0.113.1\n');
    expect(await readlink(second)).toBe(join(runDir, 'resolv.conf'));
  });

  it('warns once, with the command to run, when the path cannot be replaced, and keeps the file in run-dir', async () => {
    // sysfs refuses a symlink (EPERM) as a read-only /etc refuses it (EROFS).
    const b = backend('/sys/kernel/netauditd-test-resolv.conf');
    await b.apply(one);
    await b.apply(other);
    const warnings = lines.filter((l) => l.includes('cannot be replaced'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`run: ln -sf ${join(runDir, 'resolv.conf')} /sys/kernel/netauditd-test-resolv.conf`);
    expect(await readFile(join(runDir, 'resolv.conf'), 'utf8')).toContain('nameserver 192.0.2.54\n');
    await expect(stat(join(stateDir, 'resolv.conf.orig.json'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('warns once when the path cannot be linked for another reason, and tries again at the next change', async () => {
    const path = join(etc, 'missing-dir', 'resolv.conf');
    const b = backend(path);
    await b.apply(one);
    await b.apply(other);
    const warnings = lines.filter((l) => l.includes(`could not make ${path} a symlink`));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('tries again at the next DNS change');
    expect(await readFile(join(runDir, 'resolv.conf'), 'utf8')).toContain('nameserver 192.0.2.54\n');
    await mkdir(join(etc, 'missing-dir'));
    await b.apply(one);
    expect(await readlink(path)).toBe(join(runDir, 'resolv.conf'));
  });
});
