// The trail's group commit: records per second when callers wait for their record one after
// another, against many callers at once sharing fsyncs (SPEC §4). Run: npm run bench.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, bench, describe } from 'vitest';
import { JsonlFileBackend } from '../src/core/audit/backends/jsonl-file.js';
import type { AuditRecord } from '../src/core/audit/record.js';

const quiet = { warn: () => undefined, info: () => undefined };
let dir = '';
let trail: JsonlFileBackend;
let seq = 0;

function record(): AuditRecord {
  return { ts: Date.now(), boot: 'bench', seq: ++seq, op: 'connection-update', uuid: '2ed9ee4b-796c-4f87-b64d-45c7dacf1301', name: 'lan0', pid: 1, uid: 0, result: 'success', changed: ['ipv4.address-data'] };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'trail-bench-'));
  trail = await JsonlFileBackend.open({ dir, log: quiet });
});

afterAll(async () => {
  await trail.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('trail: 64 records, each durable before its caller goes on', () => {
  bench('one after another (an fsync each)', async () => {
    for (let i = 0; i < 64; i++) await trail.write(record());
  });
  bench('64 callers at once (group commit)', async () => {
    await Promise.all(Array.from({ length: 64 }, () => trail.write(record())));
  });
});
