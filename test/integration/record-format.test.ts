// The record's new fields end to end (docs/record-format.md): an Update that moves a
// profile's address shows the old and new values in the trail (read back with
// `netauditctl audit show`), in journald (NETAUDIT_BEFORE/AFTER, read with journalctl -o json)
// and not in the kernel audit log, which gets origin and changed only (read with ausearch -i);
// an add carries the whole profile, a delete the profile as it was; no secret reaches any of them.
import { describe, expect, it } from 'vitest';
import { variant } from '../helpers/client.js';
import { run } from '../helpers/exec.js';
import { AuditLogReader, ausearchNow, journalBytes, journalEntries } from '../helpers/readers.js';
import { auditLines, CONNECTION_IFACE, ethernet, SETTINGS, SETTINGS_IFACE, wifi } from '../helpers/profiles.js';
import { repoPath } from '../helpers/repo.js';
import { ensureAuditd, ensureJournald } from '../helpers/system-services.js';
import { useDaemon } from '../helpers/use-daemon.js';
import { verifiedChain } from '../helpers/trail.js';
import { waitFor } from '../helpers/wait.js';

const harness = useDaemon({ config: { audit: { backends: 'libaudit,journal,log,file' } } });
const cliMain = repoPath('dist', 'cli', 'main.js');

function netauditctl(args: string[]) {
  return run(process.execPath, [cliMain, ...args], { env: { TZ: 'UTC' } });
}

function moved(id: string, address: string) {
  return ethernet(id, { ipv4: { 'address-data': variant('aa{sv}', [{ address: variant('s', address), prefix: variant('u', 24) }]) } });
}

describe('before and after of a connection-update', () => {
  it('are in the trail and audit show, in journald as JSON, and not in the kernel audit log', async () => {
    await ensureJournald();
    await ensureAuditd();
    const since = await ausearchNow();
    const id = `rf-lan-${process.pid}`;
    const [path] = (await harness.client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [ethernet(id)])) as [string];
    await harness.client.call(path, CONNECTION_IFACE, 'Update', 'a{sa{sv}}', [moved(id, '192.0.2.20')]);

    const trail = await verifiedChain(harness.daemon.auditDir);
    const add = trail.find((r) => r.op === 'connection-add')!;
    const update = trail.find((r) => r.op === 'connection-update')!;
    expect(add).toMatchObject({
      origin: 'caller',
      after: {
        connection: { id, uuid: add.uuid, type: 'ethernet', 'interface-name': 'eth0' },
        ethernet: {},
        ipv4: { address1: '192.0.2.10/24', gateway: '192.0.2.1', method: 'manual' },
      },
    });
    expect(add).not.toHaveProperty('before');
    expect(update).toMatchObject({
      origin: 'caller',
      changed: 'ipv4.address-data',
      before: { ipv4: { address1: '192.0.2.10/24' } },
      after: { ipv4: { address1: '192.0.2.20/24' } },
      uid: 0,
    });
    expect(Object.keys(update)).toEqual(['ts', 'boot', 'seq', 'op', 'origin', 'uuid', 'name', 'changed', 'before', 'after', 'pid', 'uid', 'result', 'actor', 'tx', 'prev', 'hash']);

    // audit show: by SEQ of the latest start, by BOOT:SEQ and by hash; --json gives the line itself.
    const shown = await netauditctl(['audit', 'show', '--dir', harness.daemon.auditDir, String(update.seq)]);
    expect(shown).toMatchObject({ code: 0, stderr: '' });
    expect(shown.stdout).toContain('origin:           caller\n');
    expect(shown.stdout).toContain('changed:          ipv4.address-data\n');
    expect(shown.stdout).toMatch(/before:\n {2}\{\n {4}"ipv4": \{\n {6}"address1": "192\.0\.2\.10\/24"\n {4}\}\n {2}\}\nafter:\n {2}\{\n {4}"ipv4": \{\n {6}"address1": "192\.0\.2\.20\/24"\n/);
    const byBoot = await netauditctl(['audit', 'show', '--dir', harness.daemon.auditDir, `${update.boot.slice(0, 8)}:${update.seq}`]);
    expect(byBoot.stdout).toBe(shown.stdout);
    const json = await netauditctl(['--json', 'audit', 'show', '--dir', harness.daemon.auditDir, update.hash.slice(0, 10)]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(update);
    const missing = await netauditctl(['audit', 'show', '--dir', harness.daemon.auditDir, '999999']);
    expect(missing.code).toBe(10);

    // journald: NETAUDIT_BEFORE/AFTER as JSON, origin and tx beside them.
    const entry = await waitFor(async () => {
      const found = await journalEntries('-10min', [`NETAUDIT_BOOT=${update.boot}`, `NETAUDIT_SEQ=${update.seq}`]);
      return found.length > 0 ? found : undefined;
    }, { what: 'the journal entry of the update', timeoutMs: 15_000 });
    expect(entry).toHaveLength(1);
    expect(JSON.parse(journalBytes(entry[0]!, 'NETAUDIT_BEFORE').toString())).toEqual({ ipv4: { address1: '192.0.2.10/24' } });
    expect(JSON.parse(journalBytes(entry[0]!, 'NETAUDIT_AFTER').toString())).toEqual({ ipv4: { address1: '192.0.2.20/24' } });
    expect(entry[0]).toMatchObject({ NETAUDIT_ORIGIN: 'caller', NETAUDIT_TX: String(update.tx), NETAUDIT_CHANGED: 'ipv4.address-data', NETAUDIT_CALLER_UID: '0' });
    expect(entry[0]).not.toHaveProperty('NETAUDIT_CAUSE');

    // The log line: origin, no values.
    expect(auditLines(harness.daemon.log()).filter((l) => l.startsWith('op="connection-update"'))).toEqual([
      `op="connection-update" origin="caller" uuid="${update.uuid}" name="${id}" changed="ipv4.address-data" pid=${update.pid} uid=0 result="success"`,
    ]);

    // libaudit: origin, changed and tx; never the values.
    const reader = new AuditLogReader(() => harness.daemon.pid, () => since);
    const records = await waitFor(async () => {
      const found = (await reader.interpreted()).filter((r) => r.fields.some(([k, v]) => k === 'seq' && v.toString() === String(update.seq)));
      return found.length > 0 ? found : undefined;
    }, { what: 'the USYS_CONFIG record of the update', timeoutMs: 15_000 });
    const fields = new Map(records[0]!.fields.map(([k, v]) => [k, v.toString()]));
    expect([...fields.keys()].slice(0, 2)).toEqual(['op', 'origin']);
    expect(fields.get('origin')).toBe('caller');
    expect(fields.get('changed')).toBe('"ipv4.address-data"');
    expect(fields.get('tx')).toBe(String(update.tx));
    expect(fields.get('caller_uid')).toBe('0');
    expect(fields.get('acct')).toBe('root');
    const raw = await reader.ausearch(['--format', 'raw']);
    expect(raw).not.toContain('192.0.2.20');
    expect(raw).not.toMatch(/before=|after=/);
  });
});

describe('a delete, and secrets', () => {
  it('a delete carries the profile as it was in before; no secret reaches before or after anywhere', async () => {
    const psk = `canary-${process.pid}-${Date.now()}`;
    const id = `rf-wifi-${process.pid}`;
    const [path] = (await harness.client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [wifi(id, psk)])) as [string];
    await harness.client.call(path, CONNECTION_IFACE, 'Update', 'a{sa{sv}}', [wifi(id, `${psk}-2`)]);
    await harness.client.call(path, CONNECTION_IFACE, 'ClearSecrets', '', []);
    await harness.client.call(path, CONNECTION_IFACE, 'ClearSecrets', '', []);
    await harness.client.call(path, CONNECTION_IFACE, 'Delete', '', []);
    const trail = (await verifiedChain(harness.daemon.auditDir)).filter((r) => r.name === id);
    expect(trail.map((r) => [r.op, r.changed])).toEqual([
      ['connection-add', undefined],
      ['connection-update', '802-11-wireless-security.psk'],
      ['connection-clear-secrets', '802-11-wireless-security.psk'],
      // A ClearSecrets that changes nothing has no changed, rather than an empty one.
      ['connection-clear-secrets', undefined],
      ['connection-delete', undefined],
    ]);
    const update = trail[1]!;
    expect(update).not.toHaveProperty('before');
    expect(update).not.toHaveProperty('after');
    expect(trail[4]!.before).toMatchObject({ connection: { id, type: 'wifi' }, 'wifi-security': { 'key-mgmt': 'wpa-psk' } });
    expect((trail[0]!.after as Record<string, Record<string, string>>)['wifi-security']).toEqual({ 'key-mgmt': 'wpa-psk' });
    expect(JSON.stringify(trail)).not.toContain(psk);
    const entries = await waitFor(async () => {
      const found = await journalEntries('-10min', [`NETAUDIT_CONNECTION_ID=${id}`]);
      return found.length >= 5 ? found : undefined;
    }, { what: 'the journal entries of the wifi profile', timeoutMs: 15_000 });
    expect(JSON.stringify(entries)).not.toContain(psk);
  });
});
