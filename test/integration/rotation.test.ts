// Midnight rotation and the daily retention run, in the real daemon under
// libfaketime (its clock starts a few seconds before 00:00 UTC and runs on;
// Node's Date follows it, its timers keep working): changes made
// continuously across midnight land in the two day files, none lost or
// duplicated, the chain intact across the switch; just after midnight the
// retention timer removes the day that has become too old.
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBus, type TestBus } from '../helpers/bus.js';
import { connect, type TestClient } from '../helpers/client.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { run } from '../helpers/exec.js';
import { MANAGER, MANAGER_IFACE } from '../helpers/profiles.js';
import { repoPath } from '../helpers/repo.js';
import { dayFiles, sha256, writeDayFiles, type TrailEntry } from '../helpers/trail.js';
import { waitFor } from '../helpers/wait.js';

const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
const cliMain = repoPath('dist', 'cli', 'main.js');
const OLD_DAYS: Array<[string, number]> = [['2026-11-20', 3], ['2026-11-21', 2]];
const BEFORE = 'audit-2026-11-22.jsonl';
const AFTER = 'audit-2026-11-23.jsonl';

let bus: TestBus;
let daemon: TestDaemon;
let client: TestClient;
let scratch: string;
let auditDir: string;
let oldHashes: string[];

beforeAll(async () => {
  expect(existsSync(LIBFAKETIME), `${LIBFAKETIME} (Debian package faketime)`).toBe(true);
  scratch = await mkdtemp('/tmp/na-rot-');
  await chmod(scratch, 0o755);
  auditDir = join(scratch, 'audit');
  await mkdir(auditDir, { mode: 0o750 });
  oldHashes = await writeDayFiles(auditDir, OLD_DAYS);
  bus = await startBus();
  daemon = await startDaemon(bus, {
    config: { audit: { dir: auditDir, 'retention-days': '1' } },
    env: {
      LD_PRELOAD: LIBFAKETIME,
      // Start the clock at this UTC time and let it run on; timers use the real monotonic clock.
      FAKETIME: '@2026-11-22 23:59:53',
      FAKETIME_DONT_FAKE_MONOTONIC: '1',
      TZ: 'UTC',
    },
  });
  client = await connect(bus.address);
}, 60_000);

afterAll(async () => {
  client?.close();
  await bus?.stop();
  await rm(scratch, { recursive: true, force: true });
});

async function trailRecords(): Promise<Array<TrailEntry & { file: string; line: string }>> {
  const out: Array<TrailEntry & { file: string; line: string }> = [];
  for (const file of await dayFiles(auditDir)) {
    for (const line of (await readFile(join(auditDir, file), 'utf8')).split('\n').slice(0, -1)) {
      out.push({ ...(JSON.parse(line) as TrailEntry), file, line });
    }
  }
  return out;
}

describe('a daemon running across midnight UTC', () => {
  let calls = 0;

  beforeAll(async () => {
    // At start, retention-days=1 on Nov 22 removes Nov 20 and keeps Nov 21 (yesterday).
    await daemon.waitForLog(/retention \(retention-days=1\) removed audit-2026-11-20\.jsonl \(3 records\)/);
    // Changes, four in flight at a time, until a few have been made after midnight.
    await waitFor(
      async () => {
        await Promise.all(Array.from({ length: 4 }, () => client.call(MANAGER, MANAGER_IFACE, 'SetLogging', 'ss', ['INFO', 'ALL'])));
        calls += 4;
        const records = await trailRecords();
        return records.filter((r) => r.file === AFTER).length >= 12;
      },
      { timeoutMs: 40_000, intervalMs: 50, what: `records in ${AFTER}` },
    );
    await daemon.waitForLog(/retention \(retention-days=1\) removed audit-2026-11-21\.jsonl \(2 records\)/, 15_000);
    expect(await daemon.stop()).toBe(0);
  }, 90_000);

  it('writes each record to the day file of its UTC date, before and after 00:00', async () => {
    const records = (await trailRecords()).filter((r) => r.boot !== 'old-boot');
    expect(await dayFiles(auditDir)).toEqual([BEFORE, AFTER]);
    for (const r of records) expect(r.file, `seq ${r.seq} at ${r.ts}`).toBe(`audit-${r.ts.slice(0, 10)}.jsonl`);
    expect(records.filter((r) => r.file === BEFORE).length).toBeGreaterThan(0);
    expect(records.filter((r) => r.file === AFTER).length).toBeGreaterThanOrEqual(12);
    expect(records.every((r) => r.ts >= '2026-11-22T23:59:53' && r.ts < '2026-11-23T00:02')).toBe(true);
  });

  it('loses and duplicates nothing: one record per call, seq 1…N without a gap, one boot', async () => {
    const records = await trailRecords();
    expect(records.some((r) => r.boot === 'old-boot')).toBe(false);
    expect(new Set(records.map((r) => r.boot)).size).toBe(1);
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: records.length }, (_, i) => i + 1));
    expect(records.filter((r) => r.op === 'logging-control').length).toBe(calls);
    expect(new Set(records.map((r) => r.hash)).size).toBe(records.length);
  });

  it('keeps the chain across the switch, linked to the last record retention removed', async () => {
    const records = await trailRecords();
    let prev = oldHashes.at(-1)!;
    for (const r of records) {
      const m = /^(.*),"hash":"([0-9a-f]{64})"\}$/.exec(r.line)!;
      expect(sha256(`${m[1]}}`), `${r.file} seq ${r.seq} matches its hash`).toBe(r.hash);
      expect(r.prev, `${r.file} seq ${r.seq} links to the record before it`).toBe(prev);
      prev = r.hash;
    }
  });

  it('removes the day that became too old just after midnight, and the anchor accounts for both runs', async () => {
    const log = daemon.log();
    expect(log.indexOf('removed audit-2026-11-20.jsonl')).toBeLessThan(log.indexOf('removed audit-2026-11-21.jsonl'));
    const anchor = JSON.parse(await readFile(join(auditDir, 'audit-anchor.json'), 'utf8')) as Record<string, unknown>;
    expect(anchor).toMatchObject({
      hash: oldHashes.at(-1),
      last_removed_file: 'audit-2026-11-21.jsonl',
      removed_files: 2,
      removed_records: 5,
      previous: { hash: oldHashes[2], last_removed_file: 'audit-2026-11-20.jsonl', removed_files: 1, removed_records: 3 },
    });
    expect(String(anchor.pruned_at)).toMatch(/^2026-11-23T00:00:0/);
  });

  it('passes netauditctl audit verify, which reports what retention removed', async () => {
    const records = await trailRecords();
    const result = await run(process.execPath, [cliMain, 'audit', 'verify', '--dir', auditDir]);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(
      `audit trail ${auditDir}: 2 files, ${records.length} records, 1 daemon start, chain intact, starts after retention pruned 2 files (5 records) up to 2026-11-21\n`,
    );
    expect(result.code).toBe(0);
  });
});
