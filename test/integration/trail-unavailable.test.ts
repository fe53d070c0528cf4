// A trail that cannot be written (docs/record-format.md): the daemon's audit dir is a small
// tmpfs that the test fills. A change is then refused with Failed and reason
// audit-trail-unavailable, nothing reaches the profiles dir, and once there is
// space again the next change is taken and the hash chain goes on unbroken.
import { randomUUID } from 'node:crypto';
import { mkdtemp, open, readdir, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBus, type TestBus } from '../helpers/bus.js';
import { connect, variant, type TestClient } from '../helpers/client.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { run } from '../helpers/exec.js';
import { auditLines, ethernet, SETTINGS, SETTINGS_IFACE } from '../helpers/profiles.js';
import { verifiedChain, type TrailEntry } from '../helpers/trail.js';

let bus: TestBus;
let daemon: TestDaemon | undefined;
let client: TestClient | undefined;
/** The tmpfs mount point, which is the daemon's audit dir. */
let auditDir: string | undefined;
let mounted = false;
const filler = (): string => join(auditDir!, 'filler');

beforeAll(async () => {
  bus = await startBus();
  // A short path: the daemon's messages quote paths cut after 64 characters.
  auditDir = await mkdtemp('/tmp/na-');
  const mount = await run('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0750', 'netaudit-trail', auditDir]);
  expect(mount, 'mount -t tmpfs (the test runs as root)').toMatchObject({ code: 0 });
  mounted = true;
  daemon = await startDaemon(bus, { config: { audit: { dir: auditDir } } });
  client = await connect(bus.address);
});

afterAll(async () => {
  client?.close();
  try {
    // The daemon holds the trail open: it stops before the unmount.
    await daemon?.stop();
  } finally {
    try {
      if (mounted) {
        const umount = await run('umount', [auditDir!]);
        if (umount.code !== 0) await run('umount', ['-l', auditDir!]);
      }
      if (auditDir !== undefined) await rmdir(auditDir);
    } finally {
      await bus?.stop();
    }
  }
});

/** Writes a file until the file system says ENOSPC. */
async function fillUp(path: string): Promise<void> {
  const handle = await open(path, 'w');
  const block = Buffer.alloc(4096, 0x78);
  try {
    for (;;) await handle.write(block);
  } catch (e) {
    expect(e).toMatchObject({ code: 'ENOSPC' });
  } finally {
    await handle.close();
  }
}

async function add(id: string, uuid: string): Promise<string> {
  const [path] = await client!.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [
    ethernet(id, { connection: { uuid: variant('s', uuid) } }),
  ]);
  return path as string;
}

async function profileFiles(): Promise<string[]> {
  return readdir(daemon!.profilesDir);
}

describe('a full audit trail', () => {
  let lastBefore: TrailEntry;
  const refused = { id: '', uuid: '' };

  it('refuses AddConnection with Failed naming the audit trail, writes no profile, and logs the refusal', async () => {
    await add('before-full', randomUUID());
    await fillUp(filler());
    // The trail's last page may still hold a line or two: add until the file system refuses one.
    let error: { type: string; text: string } | undefined;
    for (let i = 1; i <= 40 && error === undefined; i++) {
      refused.id = `refused-${i}`;
      refused.uuid = randomUUID();
      error = await add(refused.id, refused.uuid).then(() => undefined, (e: { type: string; text: string }) => e);
    }
    expect(error).toMatchObject({ type: 'org.netaudit1.Error.Failed' });
    expect(error!.text).toBe(
      'Refused: the audit trail cannot be written, so the change could not be committed. Check the audit directory (space, permissions) and the daemon log.',
    );

    const files = await profileFiles();
    expect(files).not.toContain(`${refused.id}.nmconnection`);
    // Nothing but the daemon's write-ahead segment (whose line for the refused change no record commits).
    expect(files.filter((n) => n.startsWith('.netauditd-') && !n.startsWith('.netauditd-wal-'))).toEqual([]);
    await expect(client!.call(SETTINGS, SETTINGS_IFACE, 'GetConnectionByUuid', 's', [refused.uuid])).rejects.toMatchObject({
      type: 'org.netaudit1.Error.UnknownConnection',
    });

    await daemon!.waitForLog(new RegExp(
      `audit: op="connection-add" origin="caller" uuid="${refused.uuid}" name="${refused.id}" pid=${process.pid} uid=0 result="fail" reason="audit-trail-unavailable"$`,
    ));
    await daemon!.waitForLog(new RegExp(
      `<warn> .* audit: audit backend file failed: audit trail file "${auditDir}/audit-\\d{4}-\\d{2}-\\d{2}\\.jsonl" cannot be written: ENOSPC: no space left on device`,
    ));

    // The partial line the file system took was cut: the trail is whole and holds no trace of the refused change.
    const chain = await verifiedChain(auditDir!);
    expect(chain.filter((e) => e.uuid === refused.uuid)).toEqual([]);
    lastBefore = chain.at(-1)!;
  });

  // Fails today: AuditManager.emit hands the record to the log backend at the
  // same time as to the trail, so the log says result="success" before the
  // trail refuses the record, then result="fail" (docs/record-format.md: one record per
  // attempted change, emitted once the outcome is known). Drop `.fails` once
  // the other backends are written only after the trail took the record.
  it('logs the refused change only as refused, never as a success', async () => {
    const lines = auditLines(daemon!.log()).filter((l) => l.includes(`uuid="${refused.uuid}"`));
    expect(lines.filter((l) => l.includes(' result="success"'))).toEqual([]);
  });

  it('takes the next change once there is space again, and the hash chain goes on from the last record on disk', async () => {
    await rm(filler());
    const uuid = randomUUID();
    await add('after-space', uuid);
    expect(await profileFiles()).toContain('after-space.nmconnection');

    const chain = await verifiedChain(auditDir!);
    const last = chain.at(-1)!;
    expect(last).toMatchObject({ op: 'connection-add', uuid, name: 'after-space', result: 'success', prev: lastBefore.hash, boot: lastBefore.boot });
    // The records lost to the full disk show as a gap in seq.
    expect(last.seq).toBeGreaterThan(lastBefore.seq + 1);
    await daemon!.waitForLog(/<info> .* audit: audit backend file works again$/);
  });
});
