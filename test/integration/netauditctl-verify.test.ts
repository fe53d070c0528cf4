// netauditctl audit verify, the built CLI, on trails that retention shortened:
// the summary says how many files and records retention removed and up to
// which day; a chain cut without the anchor, or beyond it, is a break at the
// first record.
import { appendFile, chmod, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pruneTrail } from '../../src/core/audit/trail/retention.js';
import { run, type RunResult } from '../helpers/exec.js';
import { repoPath } from '../helpers/repo.js';
import { writeDayFiles } from '../helpers/trail.js';

const cliMain = repoPath('dist', 'cli', 'main.js');
const DAYS: Array<[string, number]> = [['2026-10-01', 2], ['2026-10-02', 3], ['2026-10-03', 1], ['2026-10-04', 4]];
const NOW = Date.parse('2026-10-04T12:00:00Z');

let dir: string;

function verify(target = dir): Promise<RunResult> {
  return run(process.execPath, [cliMain, 'audit', 'verify', '--dir', target]);
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'na-verify-'));
  await chmod(dir, 0o755);
  await writeDayFiles(dir, DAYS);
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('netauditctl audit verify after retention', () => {
  it('passes and says how many files and records retention pruned, up to which day', async () => {
    await pruneTrail(dir, { retentionDays: 1, now: NOW });
    const result = await verify();
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(`audit trail ${dir}: 2 files, 5 records, 1 daemon start, chain intact, starts after retention pruned 2 files (5 records) up to 2026-10-02\n`);
    expect(result.code).toBe(0);
  });

  it('says nothing of retention for a trail that starts at 64 zeros', async () => {
    const result = await verify();
    expect(result.stdout).toBe(`audit trail ${dir}: 4 files, 10 records, 1 daemon start, chain intact\n`);
    expect(result.code).toBe(0);
  });

  it('passes when retention wrote its anchor but had removed no file yet (a crash in between)', async () => {
    const saved = await readFile(join(dir, 'audit-2026-10-01.jsonl'));
    await pruneTrail(dir, { retentionDays: 2, now: NOW });
    await writeFile(join(dir, 'audit-2026-10-01.jsonl'), saved);
    const result = await verify();
    expect(result.stdout).toBe(`audit trail ${dir}: 4 files, 10 records, 1 daemon start, chain intact\n`);
    expect(result.code).toBe(0);
  });

  it('exits 1 naming the first record when old files were removed without a retention anchor', async () => {
    await unlink(join(dir, 'audit-2026-10-01.jsonl'));
    const result = await verify();
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `netauditctl: audit trail broken at ${dir}/audit-2026-10-02.jsonl:1 (bad-link): prev is not 64 zeros, as the first record of a trail has, and there is no retention anchor (audit-anchor.json): the chain was cut: older day files, or records at the start of this one, were removed, not by retention\n` +
        `netauditctl: audit trail ${dir}: the chain is intact up to there (1 file, 0 records, 0 daemon starts)\n`,
    );
    expect(result.code).toBe(1);
  });

  it('exits 1 when more was removed than the anchor states', async () => {
    await pruneTrail(dir, { retentionDays: 2, now: NOW });
    await unlink(join(dir, 'audit-2026-10-02.jsonl'));
    const result = await verify();
    expect(result.stderr).toContain(
      `audit trail broken at ${dir}/audit-2026-10-03.jsonl:1 (bad-link): prev is not 64 zeros, as the first record of a trail has, nor a hash the retention anchor (audit-anchor.json, files removed up to audit-2026-10-01.jsonl) names: the chain was cut`,
    );
    expect(result.code).toBe(1);
  });

  it('still finds a line that is not a record after a prune, and names the pruning in the summary of what is intact', async () => {
    await pruneTrail(dir, { retentionDays: 1, now: NOW });
    await appendFile(join(dir, 'audit-2026-10-04.jsonl'), '{"ts":"2026-10-04T09:00:00.000Z"}\n');
    const result = await verify();
    expect(result.stderr).toContain(`audit trail broken at ${dir}/audit-2026-10-04.jsonl:5 (unparseable)`);
    expect(result.stderr).toContain(`the chain is intact up to there (2 files, 5 records, 1 daemon start, starts after retention pruned 2 files (5 records) up to 2026-10-02)`);
    expect(result.code).toBe(1);
  });

  it('mentions the retention anchor in its help', async () => {
    const result = await run(process.execPath, [cliMain, 'audit', 'verify', '--help']);
    expect(result.stdout).toMatch(/retention anchor audit-anchor\.json/);
    expect(result.code).toBe(0);
  });
});
