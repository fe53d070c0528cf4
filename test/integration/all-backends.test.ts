// All four backends at once, as an installed daemon runs: one change made with busctl leaves
// exactly one record in each — the trail, the log, the journal and the kernel audit log — and
// a Wi-Fi key reaches none of them, whole or in hex.
import { readdir, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { busctl, run } from '../helpers/exec.js';
import { auditLines, CONNECTION_IFACE, MANAGER, MANAGER_IFACE, SETTINGS, SETTINGS_IFACE, wifi } from '../helpers/profiles.js';
import { manual, profile } from '../helpers/activation.js';
import { ensureAuditd, ensureJournald } from '../helpers/system-services.js';
import { useDaemon } from '../helpers/use-daemon.js';
import { waitFor } from '../helpers/wait.js';

const harness = useDaemon({ config: { audit: { backends: 'libaudit,journal,log,file' } } });
const SBIN = { PATH: `/usr/sbin:/sbin:${process.env.PATH ?? ''}` };

/** USYS_CONFIG lines of audit.log that carry this daemon run's boot id. */
async function auditLogLines(boot: string): Promise<string[]> {
  const files = (await readdir('/var/log/audit')).filter((f) => f.startsWith('audit.log'));
  const lines: string[] = [];
  for (const f of files) {
    for (const line of (await readFile(`/var/log/audit/${f}`, 'utf8')).split('\n')) {
      if (line.startsWith('type=USYS_CONFIG') && line.includes(` boot=${boot} `)) lines.push(line);
    }
  }
  return lines;
}

async function journalEntries(boot: string): Promise<Array<Record<string, unknown>>> {
  const { stdout } = await run('journalctl', ['--no-pager', '-o', 'json', '--all', `NETAUDIT_BOOT=${boot}`]);
  return stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('with libaudit, journal, log and file on', () => {
  it('one AddConnection from busctl leaves exactly one record in each backend', async () => {
    await ensureJournald();
    await ensureAuditd();
    const out = await busctl(harness.bus.address, [
      'call', 'org.netaudit1', SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}',
      '2', 'connection', '3', 'id', 's', 'four backends', 'type', 's', 'ethernet', 'interface-name', 's', 'eth0',
      'ipv4', '1', 'method', 's', 'disabled',
    ]);
    expect(out.code).toBe(0);
    const [record] = await harness.daemon.trail();
    expect(record).toMatchObject({ seq: 1, op: 'connection-add', name: 'four backends', uid: 0, result: 'success', actor: { exe: '/usr/bin/busctl' } });
    const boot = record!.boot as string;
    const uuid = record!.uuid as string;

    const lines = await waitFor(() => auditLines(harness.daemon.log()).filter((l) => l.includes(uuid)), { what: 'the log line' });
    expect(lines).toEqual([`op="connection-add" origin="caller" uuid="${uuid}" name="four backends" pid=${record!.pid} uid=0 result="success"`]);

    const entries = await waitFor(async () => {
      const e = await journalEntries(boot);
      return e.length > 0 ? e : undefined;
    }, { what: 'the journal entry', timeoutMs: 15_000 });
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      NETAUDIT_OP: 'connection-add', NETAUDIT_CONNECTION_UUID: uuid, NETAUDIT_CONNECTION_ID: 'four backends',
      NETAUDIT_CALLER_PID: String(record!.pid), NETAUDIT_CALLER_UID: '0', NETAUDIT_SEQ: '1', NETAUDIT_RESULT: 'success',
      MESSAGE: lines[0], SYSLOG_IDENTIFIER: 'netauditd', PRIORITY: '6',
    });

    const audit = await waitFor(async () => {
      const l = await auditLogLines(boot);
      return l.length > 0 ? l : undefined;
    }, { what: 'the USYS_CONFIG record in audit.log', timeoutMs: 15_000 });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toContain(`op=connection-add origin=caller uuid="${uuid}" name=666F7572206261636B656E6473 caller_pid=${record!.pid} caller_uid=0 acct="root" result=success`);
    expect(audit[0]).toMatch(/ res=success'/);

    const found = await run('ausearch', ['-m', 'USYS_CONFIG', '-ts', 'recent', '-i'], { env: SBIN });
    expect(found.stdout.split('\n').filter((l) => l.includes(`boot=${boot}`))).toEqual([
      expect.stringContaining(`name=four backends caller_pid=${record!.pid} caller_uid=0 acct=root result=success`),
    ]);
  });

  it('activating a bridge profile: one connection-activate record with the ifindex and iface in each backend', async () => {
    await ensureJournald();
    await ensureAuditd();
    const [path] = (await harness.client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [profile('four-br', 'bridge', { ifname: 'br-four', ipv4: manual(['192.0.2.44/24']) })])) as [string];
    const [active] = (await harness.client.call(MANAGER, MANAGER_IFACE, 'ActivateConnection', 'ooo', [path, '/', '/'])) as [string];
    const [kernel] = JSON.parse((await run('ip', ['-n', harness.daemon.netns, '-j', 'addr', 'show', 'dev', 'br-four'])).stdout) as Array<{ ifindex: number; addr_info: Array<{ local: string }> }>;
    expect(kernel!.addr_info.map((a) => a.local)).toContain('192.0.2.44');
    const ifindex = kernel!.ifindex;
    const record = (await harness.daemon.trail()).find((r) => r.op === 'connection-activate')!;
    expect(record).toMatchObject({ name: 'four-br', ifindex, iface: 'br-four', uid: 0, result: 'success' });
    const boot = record.boot as string;
    const uuid = record.uuid as string;

    expect(auditLines(harness.daemon.log()).filter((l) => l.startsWith('op="connection-activate"'))).toEqual([
      `op="connection-activate" origin="caller" uuid="${uuid}" name="four-br" ifindex=${ifindex} iface="br-four" pid=${record.pid} uid=0 result="success"`,
    ]);
    const entries = await waitFor(async () => {
      const e = (await journalEntries(boot)).filter((x) => x.NETAUDIT_OP === 'connection-activate');
      return e.length > 0 ? e : undefined;
    }, { what: 'the journal entry', timeoutMs: 15_000 });
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ NETAUDIT_CONNECTION_UUID: uuid, NETAUDIT_IFINDEX: String(ifindex), NETAUDIT_RESULT: 'success' });
    const found = await waitFor(async () => {
      const r = await run('ausearch', ['-m', 'USYS_CONFIG', '-ts', 'recent', '-i'], { env: SBIN });
      const l = r.stdout.split('\n').filter((x) => x.includes(`boot=${boot}`) && x.includes('op=connection-activate'));
      return l.length > 0 ? l : undefined;
    }, { what: 'the USYS_CONFIG record', timeoutMs: 15_000 });
    expect(found).toEqual([expect.stringContaining(`name=four-br device=br-four ifindex=${ifindex} caller_pid=${record.pid} caller_uid=0 acct=root result=success`)]);
    await harness.client.call(MANAGER, MANAGER_IFACE, 'DeactivateConnection', 'o', [active]);
  });

  it('never lets a Wi-Fi key reach any backend, even when it is read back with GetSecrets', async () => {
    const psk = `canary-${Date.now()}-psk`;
    const [path] = (await harness.client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [wifi('canary wifi', psk)])) as [string];
    await harness.client.call(path, CONNECTION_IFACE, 'GetSecrets', 's', ['802-11-wireless-security']);
    const trail = await harness.daemon.trail();
    const boot = trail[0]!.boot as string;
    // Wait until the journal and the audit log hold the GetSecrets record: then they hold all before it.
    await waitFor(async () => (await journalEntries(boot)).some((e) => e.NETAUDIT_OP === 'connection-get-secrets'), { what: 'the journal', timeoutMs: 15_000 });
    await waitFor(async () => (await auditLogLines(boot)).some((l) => l.includes('op=connection-get-secrets')), { what: 'audit.log', timeoutMs: 15_000 });
    const hex = Buffer.from(psk).toString('hex');
    const exported = (await run('journalctl', ['--no-pager', '-o', 'export', `NETAUDIT_BOOT=${boot}`])).stdout;
    const auditLog = (await auditLogLines(boot)).join('\n');
    for (const [where, text] of [
      ['the trail', JSON.stringify(trail)],
      ['the log', harness.daemon.log()],
      ['the journal', exported],
      ['the audit log', auditLog],
    ] as const) {
      expect(text, where).not.toContain(psk);
      expect(text.toLowerCase(), where).not.toContain(hex);
    }
  });
});
