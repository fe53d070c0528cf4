import { describe, expect, it } from 'vitest';
import { AuditManager } from '../../../../src/core/audit/audit-manager.js';
import type { AuditBackend, AuditRecord } from '../../../../src/core/audit/record.js';
import type { CallerRef } from '../../../../src/core/caller.js';
import { NetauditError } from '../../../../src/core/errors.js';
import { Logger } from '../../../../src/log/logger.js';
import { formatAuditMessage } from '../../../../src/core/audit/audit-message.js';
import { formatAuditLine } from '../../../../src/core/audit/backends/log-line.js';
import { journalFields } from '../../../../src/core/audit/journal-fields.js';
import { formatTrailLine, parseTrailLine, ZERO_HASH } from '../../../../src/core/audit/trail/trail-line.js';

class MemoryBackend implements AuditBackend {
  readonly name = 'file' as const;
  records: AuditRecord[] = [];
  failWith: Error | null = null;
  constructor(readonly commits: boolean) {}
  async write(r: AuditRecord): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.records.push(r);
  }
  async close(): Promise<void> {}
}

function setup(enabled = true) {
  const lines: string[] = [];
  const logger = new Logger({ write: (l) => lines.push(l) }, { now: () => 0 });
  const trail = new MemoryBackend(true);
  const other = new MemoryBackend(false);
  const audit = new AuditManager({ log: logger.domain('AUDIT'), backends: [trail, other], enabled, now: () => 1_000, boot: 'boot1' });
  return { audit, trail, other, lines };
}

const root: CallerRef = { busName: ':1.5', resolve: async () => ({ busName: ':1.5', pid: 77, uid: 0, exe: '/usr/bin/busctl' }) };

describe('AuditManager.audited', () => {
  it('records one success with the caller from the bus, after the record the change applies', async () => {
    const { audit, trail, other } = setup();
    const order: string[] = [];
    const result = await audit.audited(root, { op: 'connection-add', uuid: 'u1', name: 'lan' }, (tx) =>
      tx.commit(() => {
        order.push(`apply after ${trail.records.length} record(s)`);
        return 'done';
      }),
    );
    expect(result).toBe('done');
    expect(order).toEqual(['apply after 1 record(s)']);
    expect(trail.records).toEqual([
      { ts: 1000, boot: 'boot1', seq: 1, op: 'connection-add', origin: 'caller', uuid: 'u1', name: 'lan', pid: 77, uid: 0, result: 'success', actor: { busName: ':1.5', exe: '/usr/bin/busctl' } },
    ]);
    expect(other.records).toHaveLength(1);
  });

  it('records a refusal with its reason token and rethrows it', async () => {
    const { audit, trail } = setup();
    const refusal = new NetauditError('PermissionDenied', 'no', 'not-authorized');
    await expect(audit.audited(root, { op: 'connection-delete', uuid: 'u' }, async () => Promise.reject(refusal))).rejects.toBe(refusal);
    expect(trail.records.map((r) => [r.seq, r.result, r.reason])).toEqual([[1, 'fail', 'not-authorized']]);
  });

  it('refuses a caller the bus cannot identify and records the attempt without pid or uid', async () => {
    const { audit, trail } = setup();
    const ghost: CallerRef = { busName: ':1.9', resolve: async () => Promise.reject(new Error('no such name')) };
    let ran = false;
    const err = await audit
      .audited(ghost, { op: 'connection-add', name: 'x' }, async () => {
        ran = true;
      })
      .catch((e: NetauditError) => e);
    expect(ran).toBe(false);
    expect(err).toMatchObject({ code: 'PermissionDenied', reason: 'caller-unknown' });
    expect(trail.records).toEqual([{ ts: 1000, boot: 'boot1', seq: 1, op: 'connection-add', origin: 'caller', name: 'x', result: 'fail', reason: 'caller-unknown', actor: { busName: ':1.9' } }]);
  });

  it('refuses the change when the trail cannot take its record, and never applies it', async () => {
    const { audit, trail, other } = setup();
    trail.failWith = new Error('ENOSPC');
    let applied = false;
    const err = await audit
      .audited(root, { op: 'connection-add' }, (tx) =>
        tx.commit(() => {
          applied = true;
        }),
      )
      .catch((e: NetauditError) => e);
    expect(applied).toBe(false);
    expect(err).toMatchObject({ code: 'Failed', reason: 'audit-trail-unavailable' });
    // The other backends never show the success the trail refused: only the refusal.
    expect(other.records.map((r) => [r.seq, r.result, r.reason ?? null])).toEqual([[2, 'fail', 'audit-trail-unavailable']]);
  });

  it('hides an internal error from the caller and logs it', async () => {
    const { audit, trail, lines } = setup();
    const err = await audit.audited(root, { op: 'reload' }, async () => Promise.reject(new TypeError('oops at x.js:1'))).catch((e: NetauditError) => e);
    expect(err).toMatchObject({ code: 'Failed', reason: 'failed' });
    expect((err as Error).message).not.toContain('x.js');
    expect(lines.join('')).toContain('oops at x.js:1');
    expect(trail.records.map((r) => r.reason)).toEqual(['failed']);
  });

  it('makes an implicit commit when the operation returns without one', async () => {
    const { audit, trail } = setup();
    await audit.audited(root, { op: 'connection-get-secrets', args: 'wifi' }, async () => 1);
    expect(trail.records.map((r) => r.result)).toEqual(['success']);
  });

  it('records nothing while auditing is off, and records a switch on after it', async () => {
    const { audit, trail } = setup(false);
    await audit.audited(root, { op: 'connection-add' }, (tx) => tx.commit(() => undefined));
    expect(trail.records).toHaveLength(0);
    await audit.audited(root, { op: 'reload', args: 'conf' }, (tx) => tx.commit(() => audit.setEnabled(true), { recordAfterApply: true }));
    expect(trail.records.map((r) => [r.op, r.seq])).toEqual([['reload', 1]]);
  });

  it('counts seq from 1 in call order', async () => {
    const { audit, trail } = setup();
    await Promise.all([1, 2, 3].map((i) => audit.audited(root, { op: 'connection-add', name: String(i) }, (tx) => tx.commit(() => undefined))));
    expect(trail.records.map((r) => [r.seq, r.name])).toEqual([
      [1, '1'],
      [2, '2'],
      [3, '3'],
    ]);
  });

  it('reports a failing non-committing backend once while the trail goes on', async () => {
    const { audit, trail, other, lines } = setup();
    other.failWith = new Error('socket gone');
    for (let i = 0; i < 3; i++) await audit.audited(root, { op: 'reload' }, (tx) => tx.commit(() => undefined));
    expect(trail.records).toHaveLength(3);
    expect(lines.filter((l) => l.includes('socket gone'))).toHaveLength(1);
  });

  it('cuts a caller value past 4096 characters, whole characters only, and names the field', async () => {
    const { audit, trail } = setup();
    const name = `${'a'.repeat(4095)}😀${'b'.repeat(10_000)}`;
    await audit.audited(root, { op: 'connection-add', name, uuid: 'u' }, (tx) => tx.commit(() => undefined));
    const [record] = trail.records;
    expect(record!.name).toBe('a'.repeat(4095));
    expect(record!.uuid).toBe('u');
    expect(record!.cut).toEqual(['name']);
  });

  it('leaves values within the limit and adds no cut field', async () => {
    const { audit, trail } = setup();
    await audit.audited(root, { op: 'connection-add', name: 'x'.repeat(4096) }, (tx) => tx.commit(() => undefined));
    expect(trail.records[0]!.name).toHaveLength(4096);
    expect(trail.records[0]).not.toHaveProperty('cut');
  });
});

describe('AuditTransaction.commit for a kernel change', () => {
  const kernel = { kernelChange: true } as const;

  it('records success before the request, with a tx, and nothing more when the kernel agrees', async () => {
    const { audit, trail, other } = setup();
    const order: string[] = [];
    await audit.audited(root, { op: 'device-delete', ifindex: 7, iface: 'v0' }, (tx) =>
      tx.commit(async () => {
        order.push(`request after ${trail.records.length} record(s)`);
      }, kernel),
    );
    expect(order).toEqual(['request after 1 record(s)']);
    expect(trail.records).toEqual([
      { ts: 1000, boot: 'boot1', seq: 1, op: 'device-delete', origin: 'caller', ifindex: 7, iface: 'v0', tx: 1, pid: 77, uid: 0, result: 'success', actor: { busName: ':1.5', exe: '/usr/bin/busctl' } },
    ]);
    expect(other.records.map((r) => r.result)).toEqual(['success']);
  });

  it('overturns the success with a fail record of the same tx when the kernel refuses, and gives the caller that error', async () => {
    const { audit, trail, other } = setup();
    const refusal = new NetauditError('Failed', 'The kernel refused: EBUSY.', 'kernel-error');
    const err = await audit
      .audited(root, { op: 'device-delete', ifindex: 7, iface: 'v0' }, (tx) => tx.commit(async () => Promise.reject(refusal), kernel))
      .catch((e: unknown) => e);
    expect(err).toBe(refusal);
    const shape = (r: AuditRecord) => [r.seq, r.op, r.ifindex, r.iface, r.tx, r.pid, r.result, r.reason ?? null];
    expect(trail.records.map(shape)).toEqual([
      [1, 'device-delete', 7, 'v0', 1, 77, 'success', null],
      [2, 'device-delete', 7, 'v0', 1, 77, 'fail', 'kernel-error'],
    ]);
    expect(other.records.map(shape)).toEqual(trail.records.map(shape));
  });

  it('overturns it as a plain Failed when the request fails with an internal error, which is logged', async () => {
    const { audit, trail, lines } = setup();
    const err = await audit
      .audited(root, { op: 'device-delete', ifindex: 7 }, (tx) => tx.commit(async () => Promise.reject(new TypeError('bad at y.js:2')), kernel))
      .catch((e: NetauditError) => e);
    expect(err).toMatchObject({ code: 'Failed', reason: 'failed' });
    expect(lines.join('')).toContain('bad at y.js:2');
    expect(lines.join('').split('bad at y.js:2')).toHaveLength(2);
    expect(trail.records.map((r) => [r.result, r.reason ?? null, r.tx])).toEqual([['success', null, 1], ['fail', 'failed', 1]]);
  });

  it('never makes the request when the trail cannot take the success record', async () => {
    const { audit, trail, other } = setup();
    trail.failWith = new Error('EIO');
    let requested = false;
    const err = await audit
      .audited(root, { op: 'device-delete', ifindex: 7 }, (tx) =>
        tx.commit(() => {
          requested = true;
        }, kernel),
      )
      .catch((e: NetauditError) => e);
    expect(requested).toBe(false);
    expect(err).toMatchObject({ code: 'Failed', reason: 'audit-trail-unavailable' });
    expect(other.records.map((r) => [r.result, r.reason])).toEqual([['fail', 'audit-trail-unavailable']]);
  });

  it('gives each kernel change its own tx, counted with the profile changes', async () => {
    const { audit, trail } = setup();
    expect(audit.nextTx()).toBe(1);
    await audit.audited(root, { op: 'device-delete', ifindex: 7 }, (tx) => tx.commit(() => undefined, kernel));
    await audit.audited(root, { op: 'device-delete', ifindex: 8 }, (tx) => tx.commit(() => undefined, kernel));
    expect(trail.records.map((r) => r.tx)).toEqual([2, 3]);
  });
});

describe('records of the daemon and of others', () => {
  it('records a change the daemon makes on its own with its cause and a tx, before it is made', async () => {
    const { audit, trail } = setup();
    const order: string[] = [];
    await audit.daemonChange({ op: 'connection-activate', cause: 'autoconnect', uuid: 'u1', name: 'lan', ifindex: 4, iface: 'v0' }, async () => {
      order.push(`apply after ${trail.records.length} record(s)`);
    });
    expect(order).toEqual(['apply after 1 record(s)']);
    expect(trail.records).toEqual([
      { ts: 1000, boot: 'boot1', seq: 1, op: 'connection-activate', origin: 'daemon', cause: 'autoconnect', uuid: 'u1', name: 'lan', ifindex: 4, iface: 'v0', tx: 1, result: 'success' },
    ]);
  });

  it('shows no caller for a daemon change in any backend: no pid, uid or acct', async () => {
    const { audit, trail } = setup();
    await audit.daemonChange({ op: 'connection-deactivate', cause: 'device-removed', uuid: 'u1', ifindex: 4, iface: 'v0' }, async () => Promise.reject(new NetauditError('Failed', 'gone', 'kernel-error'))).catch(() => undefined);
    expect(trail.records.map((r) => r.result)).toEqual(['success', 'fail']);
    for (const record of trail.records) {
      // Even a record that somehow held the daemon's own pid shows none of it.
      const held: AuditRecord = { ...record, pid: process.pid, uid: 0 };
      const trailLine = formatTrailLine(held, ZERO_HASH).line;
      expect(parseTrailLine(trailLine)).not.toHaveProperty('pid');
      expect(parseTrailLine(trailLine)).not.toHaveProperty('uid');
      expect(trailLine).toContain('"origin":"daemon","cause":"device-removed"');
      const message = formatAuditMessage(held, 'root');
      expect(message).not.toMatch(/caller_pid|caller_uid|acct|\bpid=|\buid=/);
      expect(message).toMatch(/^op=connection-deactivate origin=daemon cause=device-removed /);
      expect(message).toContain(' tx=1 ');
      const line = formatAuditLine(held);
      expect(line).not.toMatch(/ pid=| uid=/);
      const names = journalFields(held).map(([name]) => name);
      expect(names).not.toContain('NETAUDIT_CALLER_PID');
      expect(names).not.toContain('NETAUDIT_CALLER_UID');
      expect(names).toEqual(expect.arrayContaining(['NETAUDIT_ORIGIN', 'NETAUDIT_CAUSE', 'NETAUDIT_TX']));
    }
    expect(trail.records[1]).toMatchObject({ result: 'fail', reason: 'kernel-error', tx: 1 });
  });

  it('records an external change with its attribution, and none when nobody could be named', async () => {
    const { audit, trail } = setup();
    await audit.recordUnattended('external', { op: 'connection-update', args: 'file', name: 'lan', changed: ['ipv4.address-data'] }, 'success', {
      actor: { attribution: 'none', file: 'lan.nmconnection' },
    });
    expect(trail.records).toEqual([
      { ts: 1000, boot: 'boot1', seq: 1, op: 'connection-update', origin: 'external', args: 'file', name: 'lan', changed: ['ipv4.address-data'], result: 'success', actor: { attribution: 'none', file: 'lan.nmconnection' } },
    ]);
    expect(formatTrailLine(trail.records[0]!, ZERO_HASH).line).toContain('"actor":{"attribution":"none","file":"lan.nmconnection"}');
  });

  it('leaves out an empty changed list and empty before and after rather than writing them empty', async () => {
    const { audit, trail } = setup();
    await audit.audited(root, { op: 'connection-update', args: 'unsaved' }, async (tx) => {
      tx.describe({ changed: [], before: {}, after: {} });
      return tx.commit(() => undefined);
    });
    expect(trail.records[0]).not.toHaveProperty('changed');
    expect(trail.records[0]).not.toHaveProperty('before');
    expect(trail.records[0]).not.toHaveProperty('after');
    expect(formatTrailLine(trail.records[0]!, ZERO_HASH).line).not.toContain('changed');
  });
});

/** A libaudit-like backend whose probe says whether its records would be lost. */
class ProbedBackend implements AuditBackend {
  readonly name = 'libaudit' as const;
  readonly commits = false;
  records: AuditRecord[] = [];
  probes = 0;
  failWith: Error | null = null;
  constructor(public reason: string | null | Error) {}
  probe(): string | null {
    this.probes++;
    if (this.reason instanceof Error) throw this.reason;
    return this.reason;
  }
  async write(r: AuditRecord): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.records.push(r);
  }
  async close(): Promise<void> {}
}

describe('AuditManager and a backend that probes', () => {
  const LACKS = 'the daemon lacks CAP_AUDIT_WRITE, so the kernel would drop its records';

  function probed(backend: ProbedBackend, initial = true) {
    const lines: string[] = [];
    const logger = new Logger({ write: (l) => lines.push(l) }, { now: () => 0 });
    const trail = new MemoryBackend(true);
    const audit = new AuditManager({ log: logger.domain('AUDIT'), backends: initial ? [trail, backend] : [trail], enabled: true, now: () => 1_000, boot: 'boot1' });
    return { audit, trail, lines, warnings: () => lines.filter((l) => l.startsWith('<warn>')) };
  }

  const statusOf = (audit: AuditManager) => audit.status().find((s) => s.name === 'libaudit');

  it('is failing from the start when its probe gives a reason, with one warning and no failed record counted', () => {
    const backend = new ProbedBackend(LACKS);
    const { audit, warnings } = probed(backend);
    expect(backend.probes).toBe(1);
    expect(statusOf(audit)).toEqual({ name: 'libaudit', failing: true, failed: 0, dropped: 0, queued: 0 });
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toContain(`audit backend libaudit cannot write its records: ${LACKS}; the other backends go on`);
  });

  it('stays failing with no second warning while its writes fail, and recovers after a good write', async () => {
    const backend = new ProbedBackend(LACKS);
    backend.failWith = new Error(LACKS);
    const { audit, trail, lines, warnings } = probed(backend);
    for (let i = 0; i < 2; i++) await audit.audited(root, { op: 'reload' }, (tx) => tx.commit(() => undefined));
    await new Promise((r) => setImmediate(r));
    expect(trail.records).toHaveLength(2);
    expect(statusOf(audit)).toMatchObject({ failing: true, failed: 2 });
    expect(warnings()).toHaveLength(1);

    backend.failWith = null;
    await audit.audited(root, { op: 'reload' }, (tx) => tx.commit(() => undefined));
    await new Promise((r) => setImmediate(r));
    expect(backend.records.map((r) => r.seq)).toEqual([3]);
    expect(statusOf(audit)).toMatchObject({ failing: false, failed: 2 });
    expect(lines.filter((l) => l.includes('audit backend libaudit works again'))).toHaveLength(1);
  });

  it('is not failing when its probe finds nothing wrong', () => {
    const backend = new ProbedBackend(null);
    const { audit, warnings } = probed(backend);
    expect(backend.probes).toBe(1);
    expect(statusOf(audit)).toMatchObject({ failing: false });
    expect(warnings()).toEqual([]);
  });

  it('probes a backend that a reload adds, and not again while it stays', () => {
    const backend = new ProbedBackend(LACKS);
    const { audit, trail, warnings } = probed(backend, false);
    expect(backend.probes).toBe(0);
    audit.setBackends([trail, backend]);
    expect(backend.probes).toBe(1);
    expect(statusOf(audit)).toMatchObject({ failing: true });
    audit.setBackends([trail, backend]);
    expect(backend.probes).toBe(1);
    expect(warnings()).toHaveLength(1);
    // Taken out and put back: probed again, and reported again.
    audit.setBackends([trail]);
    audit.setBackends([trail, backend]);
    expect(backend.probes).toBe(2);
    expect(warnings()).toHaveLength(2);
  });

  it('takes a probe that throws for a failing backend, with the error as its reason', () => {
    const backend = new ProbedBackend(new Error('libc.so.6: cannot open'));
    const { audit, warnings } = probed(backend);
    expect(statusOf(audit)).toMatchObject({ failing: true, failed: 0 });
    expect(warnings()[0]).toContain('cannot write its records: its check failed: libc.so.6: cannot open;');
  });
});
