// Retention in the real daemon, on the real clock: old day files written
// beforehand stay while retention-days keeps them; a reload that lowers
// retention-days removes them at once, each removal logged, the anchor
// written, and netauditctl audit verify passes and says what was removed.
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startBus, type TestBus } from '../helpers/bus.js';
import { connect, type TestClient } from '../helpers/client.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { run } from '../helpers/exec.js';
import { ethernet, SETTINGS, SETTINGS_IFACE } from '../helpers/profiles.js';
import { repoPath } from '../helpers/repo.js';
import { dayFiles, writeDayFiles } from '../helpers/trail.js';

const DAY = 24 * 3600 * 1000;
const cliMain = repoPath('dist', 'cli', 'main.js');

function daysAgo(n: number): string {
  return new Date(Date.now() - n * DAY).toISOString().slice(0, 10);
}

let bus: TestBus;
let daemon: TestDaemon;
let client: TestClient;
let scratch: string;
let auditDir: string;
/** Five old days (40 to 36 days ago, 1 to 5 records) and yesterday (2 records). */
let old: Array<[string, number]>;
let hashes: string[];

beforeAll(async () => {
  scratch = await mkdtemp('/tmp/na-ret-');
  await chmod(scratch, 0o755);
  auditDir = join(scratch, 'audit');
  await mkdir(auditDir, { mode: 0o750 });
  old = [[daysAgo(40), 1], [daysAgo(39), 2], [daysAgo(38), 3], [daysAgo(37), 4], [daysAgo(36), 5], [daysAgo(1), 2]];
  hashes = await writeDayFiles(auditDir, old);
  bus = await startBus();
  daemon = await startDaemon(bus, { config: { audit: { dir: auditDir, 'retention-days': '60' } } });
  client = await connect(bus.address);
}, 60_000);

afterAll(async () => {
  client?.close();
  await bus?.stop();
  await rm(scratch, { recursive: true, force: true });
});

it('keeps what retention-days keeps, then removes the old days at once when a reload lowers it', async () => {
  // A change made while retention-days=60: it links to the last old record, and nothing is removed.
  await client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [ethernet('lan0')]);
  expect(await dayFiles(auditDir)).toEqual([...old.map(([d]) => `audit-${d}.jsonl`), `audit-${daysAgo(0)}.jsonl`].filter((f, i, a) => a.indexOf(f) === i));
  expect(daemon.log()).not.toMatch(/retention \(retention-days=/);

  await mkdir(join(daemon.dir, 'conf.d'), { recursive: true });
  await writeFile(join(daemon.dir, 'conf.d', '50-retention.conf'), '[audit]\nretention-days=30\n');
  daemon.signal('SIGHUP');
  for (const [date, count] of old.slice(0, 5)) {
    await daemon.waitForLog(new RegExp(`retention \\(retention-days=30\\) removed audit-${date}\\.jsonl \\(${count} records?\\)`));
  }
  await daemon.waitForLog(/the chain now starts after audit-\d{4}-\d{2}-\d{2}\.jsonl; retention has removed 5 file\(s\), 15 record\(s\) in all/);
  const removals = daemon.log().split('\n').filter((l) => / removed audit-/.test(l));
  expect(removals.map((l) => /removed (audit-\S+)/.exec(l)![1])).toEqual(old.slice(0, 5).map(([d]) => `audit-${d}.jsonl`));
  expect(removals.every((l) => l.includes('<info>'))).toBe(true);

  expect((await dayFiles(auditDir))[0]).toBe(`audit-${old[5]![0]}.jsonl`);
  const anchor = JSON.parse(await readFile(join(auditDir, 'audit-anchor.json'), 'utf8')) as Record<string, unknown>;
  expect(anchor).toMatchObject({
    hash: hashes[14],
    last_removed_file: `audit-${old[4]![0]}.jsonl`,
    removed_files: 5,
    removed_records: 15,
  });

  // The daemon goes on writing; verify passes and reports the pruning.
  await client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [ethernet('lan1')]);
  const result = await run(process.execPath, [cliMain, 'audit', 'verify', '--dir', auditDir]);
  expect(result.stderr).toBe('');
  expect(result.stdout).toMatch(
    new RegExp(`^audit trail ${auditDir}: 2 files, \\d+ records, 2 daemon starts, chain intact, starts after retention pruned 5 files \\(15 records\\) up to ${old[4]![0]}\\n$`),
  );
  expect(result.code).toBe(0);
});
