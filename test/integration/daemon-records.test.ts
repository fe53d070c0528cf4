// The daemon's own records and the external ones it finds at a restart, in all four backends, read
// back as their readers read them (docs/record-format.md): an autoconnect (origin daemon, cause
// autoconnect), an adoption after a restart (connection-adopt), an address removed while the daemon
// was stopped (origin external, cause while-stopped, attribution none) and a teardown after a link
// vanished (cause device-removed). None names a caller: no pid or uid in the trail, no
// NETAUDIT_CALLER_* in the journal, no caller_pid/caller_uid/acct in the kernel audit log, and
// `ausearch -i` shows no user for them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBus, type TestBus } from '../helpers/bus.js';
import { connect, type TestClient } from '../helpers/client.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { addProfile, manual, profile } from '../helpers/activation.js';
import { createNetns, ip, stopDaemonInNetns } from '../helpers/netns.js';
import { auditLines } from '../helpers/profiles.js';
import { AuditLogReader, ausearchNow, journalEntries } from '../helpers/readers.js';
import { ensureAuditd, ensureJournald } from '../helpers/system-services.js';
import { waitFor } from '../helpers/wait.js';

const NS = `na-drec-${process.pid}`;
const PEER = `${NS}-peer`;

let bus: TestBus;
let daemon: TestDaemon;
let client: TestClient;
let since: [string, string];

beforeAll(async () => {
  await ensureJournald();
  await ensureAuditd();
  since = await ausearchNow();
  await createNetns(NS, PEER);
  bus = await startBus();
  daemon = await startDaemon(bus, { netns: NS, config: { audit: { backends: 'libaudit,journal,log,file' } } });
  client = await connect(bus.address);
});

afterAll(() => stopDaemonInNetns({ bus, client }, NS, PEER));

describe('records without a caller', () => {
  it('reach the trail, the journal, the log and the kernel audit log with their origin and cause, and name no caller', async () => {
    await ip('-n', NS, 'link', 'add', 'dr0', 'type', 'veth', 'peer', 'name', 'dr0p', 'netns', PEER);
    await addProfile(client, profile(`drec-${process.pid}`, '802-3-ethernet', { ifname: 'dr0', autoconnect: true, ipv4: manual(['10.71.0.10/24', '10.71.1.10/24']) }));
    await waitFor(async () => (await daemon.trail()).some((r) => r.cause === 'autoconnect'), { timeoutMs: 10_000, what: 'the autoconnect record' });
    await daemon.stop();
    await ip('-n', NS, 'addr', 'del', '10.71.1.10/24', 'dev', 'dr0');
    const firstBoot = (await daemon.trail()).at(-1)!.boot;
    await daemon.start();
    await ip('-n', NS, 'link', 'del', 'dr0');
    // The link deleted behind its back is recorded once the kernel's burst is quiet, after the teardown.
    await waitFor(async () => (await daemon.trail()).some((r) => r.op === 'link-delete'), { timeoutMs: 10_000, what: 'the teardown and the link-delete records' });

    const trail = (await daemon.trail()).filter((r) => r.origin !== 'caller');
    const expected = [
      ['connection-activate', 'daemon', 'autoconnect', undefined],
      // Seen by the first daemon, written when it stopped: a burst is never lost to a stop.
      ['link-add', 'external', undefined, undefined],
      ['address-delete', 'external', 'while-stopped', undefined],
      ['connection-adopt', 'daemon', 'restart', 'adopted'],
      ['connection-deactivate', 'daemon', 'device-removed', undefined],
      ['link-delete', 'external', undefined, undefined],
    ];
    expect(trail.map((r) => [r.op, r.origin, r.cause, r.args])).toEqual(expected);
    expect(trail[0]!.boot).toBe(firstBoot);
    for (const r of trail) {
      expect(r).not.toHaveProperty('pid');
      expect(r).not.toHaveProperty('uid');
      if (r.origin === 'daemon') expect(r.tx).toEqual(expect.any(Number));
    }
    expect(trail[2]).toMatchObject({ iface: 'dr0', before: { local: '10.71.1.10', prefixlen: 24 }, actor: { attribution: 'none' } });

    // journald: one entry per record, origin and cause as fields, no caller.
    for (const r of trail) {
      const [entry] = await waitFor(async () => {
        const found = await journalEntries('-10min', [`NETAUDIT_BOOT=${r.boot as string}`, `NETAUDIT_SEQ=${r.seq as number}`]);
        return found.length > 0 ? found : undefined;
      }, { what: `the journal entry of ${r.op as string}`, timeoutMs: 15_000 });
      expect(entry).toMatchObject({ NETAUDIT_OP: r.op, NETAUDIT_ORIGIN: r.origin, ...(r.cause !== undefined ? { NETAUDIT_CAUSE: r.cause } : {}), ...(r.tx !== undefined ? { NETAUDIT_TX: String(r.tx) } : {}) });
      if (r.cause === undefined) expect(entry).not.toHaveProperty('NETAUDIT_CAUSE');
      expect(entry).not.toHaveProperty('NETAUDIT_CALLER_PID');
      expect(entry).not.toHaveProperty('NETAUDIT_CALLER_UID');
    }

    // The log: origin and cause, no pid or uid.
    const lines = auditLines(daemon.log()).filter((l) => /origin="(daemon|external)"/.test(l));
    expect(lines.map((l) => /^op="([^"]+)"/.exec(l)?.[1])).toEqual(expected.map((e) => e[0]));
    for (const l of lines) expect(l).not.toMatch(/ pid=| uid=/);
    expect(lines[0]).toContain('origin="daemon" cause="autoconnect"');

    // The kernel audit log, as ausearch -i shows it: origin and cause, and no caller (the records the
    // second daemon process sent; ausearch -p matches the sender).
    const reader = new AuditLogReader(() => daemon.pid, () => since);
    for (const r of trail.filter((x) => x.boot !== firstBoot)) {
      const [record] = await waitFor(async () => {
        const found = (await reader.interpreted()).filter((a) => a.fields.some(([k, v]) => k === 'boot' && v.toString() === r.boot) && a.fields.some(([k, v]) => k === 'seq' && v.toString() === String(r.seq)));
        return found.length > 0 ? found : undefined;
      }, { what: `the USYS_CONFIG record of ${r.op as string}`, timeoutMs: 15_000 });
      const fields = new Map(record!.fields.map(([k, v]) => [k, v.toString()]));
      expect(fields.get('op')).toBe(r.op);
      expect(fields.get('origin')).toBe(r.origin);
      expect(fields.get('cause')).toBe(r.cause);
      expect(fields.has('caller_pid')).toBe(false);
      expect(fields.has('caller_uid')).toBe(false);
      expect(fields.has('acct')).toBe(false);
    }
  });
});
