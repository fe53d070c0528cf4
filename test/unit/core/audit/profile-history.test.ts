// The profile history: what the trail last recorded of each profile, replayed from its records
// newest first, with updates applied to the add or snapshot they build on, overturns applied, and
// records older than before/after taken as saying nothing.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AuditRecord, AuditValues } from '../../../../src/core/audit/record.js';
import { applyChange, mayBeProfileRecord, mayBeProfileRecordBytes, ProfileHistory } from '../../../../src/core/audit/trail/profile-history.js';
import { recordedProfiles } from '../../../../src/core/audit/trail/recorded-profiles.js';
import { formatTrailLine, parseTrailLine, ZERO_HASH, type TrailEntry } from '../../../../src/core/audit/trail/trail-line.js';
import { changedValues } from '../../../../src/core/settings/audit-values.js';

const A = '11111111-1111-4111-8111-111111111111';
const B = '22222222-2222-4222-8222-222222222222';

const lan = (address: string, extra: Record<string, Record<string, string>> = {}): AuditValues => ({
  connection: { id: 'lan', uuid: A, type: 'ethernet' },
  ethernet: {},
  ipv4: { address1: address, method: 'manual' },
  ...extra,
});

type Fields = Omit<AuditRecord, 'ts' | 'boot' | 'seq' | 'result'> & { result?: 'success' | 'fail'; boot?: string };

/** Trail entries in trail order (oldest first) from record fields, chained as the trail chains them. */
function trail(...records: Fields[]): TrailEntry[] {
  let prev = ZERO_HASH;
  return records.map((r, i) => {
    const { line, hash } = formatTrailLine({ ts: 1_800_000_000_000 + i, boot: 'b1', seq: i + 1, result: 'success', ...r }, prev);
    prev = hash;
    return parseTrailLine(line.trimEnd());
  });
}

function replay(entries: readonly TrailEntry[]) {
  const history = new ProfileHistory();
  for (const entry of [...entries].reverse()) history.feed(entry);
  return history.result();
}

const update = (uuid: string, before: AuditValues, after: AuditValues, more: Partial<Fields> = {}): Fields => ({
  op: 'connection-update',
  origin: 'caller',
  uuid,
  changed: ['ipv4.address-data'],
  ...changedValues(before, after),
  ...more,
});

describe('applyChange', () => {
  it('rebuilds the after profile from the before profile and the values an update recorded', () => {
    const cases: Array<[AuditValues, AuditValues]> = [
      [lan('192.0.2.10/24'), lan('192.0.2.11/24')],
      [lan('192.0.2.10/24'), lan('192.0.2.10/24', { 'x-vendor': { 'keep-me': 'yes' } })],
      [lan('192.0.2.10/24', { ipv6: { method: 'auto', 'addr-gen-mode': 'eui64' } }), lan('192.0.2.10/24')],
      [lan('192.0.2.10/24', { ipv6: { method: 'auto', 'addr-gen-mode': 'eui64' } }), lan('192.0.2.10/24', { ipv6: { method: 'auto' } })],
      [{ connection: { id: 'a' }, ipv4: { method: 'auto', dns: '192.0.2.53;' } }, { connection: { id: 'b' }, ipv4: {} }],
    ];
    for (const [before, after] of cases) {
      const diff = changedValues(before, after);
      expect(applyChange(before as never, diff.before, diff.after)).toEqual(after);
    }
  });
});

describe('ProfileHistory', () => {
  it('gives the whole profile an add recorded, with every later update applied in order', () => {
    const v1 = lan('192.0.2.10/24');
    const v2 = lan('192.0.2.11/24');
    const v3 = lan('192.0.2.12/24', { 'x-vendor': { a: 'b' } });
    const result = replay(trail(
      { op: 'connection-add', origin: 'caller', uuid: A, after: v1 },
      update(A, v1, v2),
      { op: 'reload', origin: 'caller', args: 'connections' },
      update(A, v2, v3, { origin: 'external', args: 'file', actor: { attribution: 'none', file: 'lan.nmconnection' } }),
    ));
    expect(result.get(A)).toEqual({ state: 'present', values: v3, file: 'lan.nmconnection' });
  });

  it('takes a snapshot or a file added on disk as a baseline, and a delete as no file', () => {
    const v = lan('192.0.2.10/24');
    expect(replay(trail({ op: 'connection-snapshot', origin: 'daemon', uuid: A, after: v })).get(A)).toEqual({ state: 'present', values: v });
    expect(replay(trail(
      { op: 'connection-add', origin: 'caller', uuid: A, after: v },
      { op: 'connection-delete', origin: 'caller', uuid: A, before: v },
    )).get(A)).toEqual({ state: 'absent' });
    // Deleted, then the same uuid written by hand again: the newest baseline wins.
    expect(replay(trail(
      { op: 'connection-add', origin: 'caller', uuid: A, after: lan('192.0.2.1/24') },
      { op: 'connection-delete', origin: 'caller', uuid: A },
      { op: 'connection-add', origin: 'external', args: 'file', uuid: A, after: v, actor: { attribution: 'none', file: 'x.nmconnection' } },
    )).get(A)).toEqual({ state: 'present', values: v, file: 'x.nmconnection' });
  });

  it('keeps unsaved changes off the file until Save writes them', () => {
    const v1 = lan('192.0.2.10/24');
    const v2 = lan('192.0.2.11/24');
    const unsaved = trail(
      { op: 'connection-add', origin: 'caller', uuid: A, after: v1 },
      update(A, v1, v2, { args: 'unsaved' }),
    );
    expect(replay(unsaved).get(A)).toEqual({ state: 'present', values: v1 });
    const saved = trail(
      { op: 'connection-add', origin: 'caller', uuid: A, after: v1 },
      update(A, v1, v2, { args: 'unsaved' }),
      { op: 'connection-update', origin: 'caller', uuid: A, args: 'save' },
    );
    expect(replay(saved).get(A)).toEqual({ state: 'present', values: v2 });
    expect(replay(trail({ op: 'connection-add', origin: 'caller', args: 'unsaved', uuid: B, after: v1 })).get(B)).toEqual({ state: 'absent' });
  });

  it('passes over a success that a fail of the same start, tx, op and profile overturns', () => {
    const v = lan('192.0.2.10/24');
    const result = replay(trail(
      { op: 'connection-add-activate', origin: 'caller', uuid: A, after: v, tx: 4 },
      { op: 'connection-add-activate', origin: 'caller', uuid: A, after: v, tx: 4, result: 'fail', reason: 'kernel-error' },
      { op: 'connection-add', origin: 'caller', uuid: B, after: v, tx: 5 },
      // A teardown's fail with the same tx overturns the teardown only.
      { op: 'connection-delete', origin: 'caller', uuid: B, tx: 6 },
      { op: 'connection-deactivate', origin: 'daemon', uuid: B, tx: 6, result: 'fail', reason: 'kernel-error' },
    ));
    expect(result.has(A)).toBe(false);
    expect(result.get(B)).toEqual({ state: 'absent' });
  });

  it('takes a profile named only by records without before/after (older than them) as never seen', () => {
    const v = lan('192.0.2.10/24');
    // Records written before origin, before and after existed have none of the three.
    expect(replay(trail({ op: 'connection-add', uuid: A, name: 'lan' })).get(A)).toEqual({ state: 'unknown' });
    expect(replay(trail(
      { op: 'connection-add', origin: 'caller', uuid: A, after: v },
      { op: 'connection-update', uuid: A, changed: ['ipv4.address-data'] },
    )).get(A)).toEqual({ state: 'unknown' });
    // An update whose add is gone (retention) says too little.
    expect(replay(trail(update(A, v, lan('192.0.2.11/24')))).get(A)).toEqual({ state: 'unknown' });
    // An update that changed only secrets has no values, and changes nothing here.
    expect(replay(trail(
      { op: 'connection-add', origin: 'caller', uuid: A, after: v },
      { op: 'connection-update', origin: 'caller', uuid: A, changed: ['802-11-wireless-security.psk'] },
    )).get(A)).toEqual({ state: 'present', values: v });
  });

  it('resolves a profile at its newest baseline and ignores what is older', () => {
    const history = new ProfileHistory();
    const entries = trail(
      { op: 'connection-add', origin: 'caller', uuid: A, after: lan('192.0.2.1/24') },
      { op: 'connection-snapshot', origin: 'daemon', uuid: A, after: lan('192.0.2.2/24') },
      update(A, lan('192.0.2.2/24'), lan('192.0.2.3/24')),
    );
    history.feed(entries[2]!);
    expect(history.isResolved(A)).toBe(false);
    expect(history.hasPending).toBe(true);
    history.feed(entries[1]!);
    expect(history.isResolved(A)).toBe(true);
    expect(history.hasPending).toBe(false);
    history.feed(entries[0]!);
    expect(history.result().get(A)).toEqual({ state: 'present', values: lan('192.0.2.3/24') });
  });
});

describe('mayBeProfileRecord', () => {
  it('lets through the lines of profile records only', () => {
    const lines = (ops: string[]) => ops.map((op) => formatTrailLine({ ts: 0, boot: 'b', seq: 1, op: op as never, result: 'success' }, ZERO_HASH).line);
    expect(lines(['connection-add', 'connection-add-activate', 'connection-update', 'connection-delete', 'connection-snapshot']).every(mayBeProfileRecord)).toBe(true);
    expect(lines(['connection-activate', 'connection-get-secrets', 'connection-clear-secrets', 'connection-adopt', 'reload', 'link-add']).some(mayBeProfileRecord)).toBe(false);
    const bytes = (ops: string[]) => lines(ops).map((l) => Buffer.from(l));
    expect(bytes(['connection-add', 'connection-add-activate', 'connection-update', 'connection-delete', 'connection-snapshot']).every(mayBeProfileRecordBytes)).toBe(true);
    expect(bytes(['connection-activate', 'connection-updated', 'connection-adopt', 'reload', 'link-add']).some(mayBeProfileRecordBytes)).toBe(false);
  });
});

describe('recordedProfiles', () => {
  let dir = '';
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('replays the day files of a trail, newest first, and takes a missing directory as an empty trail', async () => {
    dir = await mkdtemp(join(tmpdir(), `profile-history-${process.pid}-`));
    const v1 = lan('192.0.2.10/24');
    const v2 = lan('192.0.2.11/24');
    let prev = ZERO_HASH;
    const day = (records: Fields[]): string => records.map((r, i) => {
      const { line, hash } = formatTrailLine({ ts: 1_800_000_000_000 + i, boot: 'b1', seq: i + 1, result: 'success', ...r }, prev);
      prev = hash;
      return line;
    }).join('');
    await writeFile(join(dir, 'audit-2027-01-01.jsonl'), day([{ op: 'connection-add', origin: 'caller', uuid: A, after: v1 }, { op: 'connection-add', origin: 'caller', uuid: B, after: v1 }]));
    await writeFile(join(dir, 'audit-2027-01-02.jsonl'), day([update(A, v1, v2), { op: 'connection-activate', origin: 'caller', uuid: A }]));
    const scan = await recordedProfiles(dir);
    expect(scan.profiles).toEqual(new Map([[A, { state: 'present', values: v2 }], [B, { state: 'present', values: v1 }]]));
    expect(scan.parsed).toBe(3);
    expect((await recordedProfiles(join(dir, 'missing'))).profiles.size).toBe(0);
  });
});
