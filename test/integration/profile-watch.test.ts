// Profile files edited on disk while the daemon runs are recorded when the edit happens, once each
// (docs/profile-edits.md): an editor's temp files and renames are one change, the daemon's own writes
// are none, and neither a reload nor a restart records the edit again. The daemon under test runs as
// root, with CAP_SYS_ADMIN: fanotify names the process that edited; without it (inotify) nobody is named.
import { chmod, copyFile, mkdir, readFile, realpath, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../helpers/exec.js';
import { FILE_EDIT, handWritten, randomUuid, reloadConnections } from '../helpers/profile-files.js';
import { auditLines, CONNECTION_IFACE, ethernet, SETTINGS, SETTINGS_IFACE } from '../helpers/profiles.js';
import { AuditLogReader, auditValues, ausearchNow, journalEntries, parseLogLine } from '../helpers/readers.js';
import { ensureAuditd, ensureJournald } from '../helpers/system-services.js';
import { useDaemon, type DaemonHarness } from '../helpers/use-daemon.js';
import { waitFor } from '../helpers/wait.js';

type Record_ = Record<string, unknown>;

/** Longer than the quiet window and the examination of a file, many times over. */
const SETTLED_MS = 1500;

/** The trail records after the first `from`, once `count` of them are there. */
async function recordsAfter(harness: DaemonHarness, from: number, count: number, what: string): Promise<Record_[]> {
  return waitFor(async () => {
    const records = (await harness.daemon.trail()).slice(from);
    return records.length >= count ? records : undefined;
  }, { what });
}

/** Waits past the time any watched edit takes to be recorded: a deadline, for what must not happen. */
function pastTheQuietWindow(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, SETTLED_MS));
}

/** A profile written by hand and known to the daemon (added through the watch): its path and uuid. */
async function knownFile(harness: DaemonHarness, id: string): Promise<{ file: string; uuid: string }> {
  const file = join(harness.daemon.profilesDir, `${id}.nmconnection`);
  const profile = randomUuid();
  const from = (await harness.daemon.trail()).length;
  await writeFile(file, handWritten(id, profile), { mode: 0o600 });
  const [added] = await recordsAfter(harness, from, 1, `the add of ${id}`);
  expect(added).toMatchObject({ ...FILE_EDIT, op: 'connection-add', uuid: profile });
  return { file, uuid: profile };
}

/** Runs `edit` on a known file and returns the one record it leaves, checked to be alone. */
async function oneRecordOf(harness: DaemonHarness, edit: () => Promise<unknown>, what: string): Promise<Record_> {
  const from = (await harness.daemon.trail()).length;
  await edit();
  const [record] = await recordsAfter(harness, from, 1, what);
  await pastTheQuietWindow();
  expect((await harness.daemon.trail()).slice(from)).toEqual([record]);
  return record!;
}

/** The journal and auditd, running, and read from now on. */
async function backendsFromNow(harness: DaemonHarness): Promise<{ audit: AuditLogReader; since: string }> {
  await ensureJournald();
  await ensureAuditd();
  const auditSince = await ausearchNow();
  return { audit: new AuditLogReader(() => harness.daemon.pid, () => auditSince), since: `@${Math.floor(Date.now() / 1000) - 1}` };
}

async function settingsOf(harness: DaemonHarness, profile: string): Promise<Record<string, Record<string, unknown>>> {
  const [path] = (await harness.client.call(SETTINGS, SETTINGS_IFACE, 'GetConnectionByUuid', 's', [profile])) as [string];
  const [settings] = (await harness.client.call(path, CONNECTION_IFACE, 'GetSettings')) as [Record<string, Record<string, unknown>>];
  return settings;
}

function addressOf(settings: Record<string, Record<string, unknown>>): string {
  return JSON.stringify(settings['ipv4']?.['address-data']);
}

describe('profile files watched (fanotify), monitor-connection-files off', () => {
  const harness = useDaemon({ config: { audit: { backends: 'libaudit,journal,log,file' } } });

  it('a new file is one connection-add, when it is written', async () => {
    const started = Date.now();
    const { uuid: added } = await knownFile(harness, 'watched-new');
    const latency = Date.now() - started;
    expect(latency).toBeLessThan(1500);
    const [record] = (await harness.daemon.trail()).slice(-1);
    expect(record).toMatchObject({ name: 'watched-new', uuid: added, actor: { attribution: expect.any(String), file: 'watched-new.nmconnection' } });
    expect(record).not.toHaveProperty('tx');
    expect(record).not.toHaveProperty('cause');
  });

  it('sed -i is one connection-update with its before and after', async () => {
    const { file } = await knownFile(harness, 'by-sed');
    const record = await oneRecordOf(harness, () => run('sed', ['-i', 's|192.0.2.10/24|192.0.2.21/24|', file]), 'the record of sed -i');
    expect(record).toMatchObject({
      ...FILE_EDIT,
      op: 'connection-update',
      name: 'by-sed',
      changed: 'ipv4.address-data',
      before: { ipv4: { address1: '192.0.2.10/24' } },
      after: { ipv4: { address1: '192.0.2.21/24' } },
      actor: { file: 'by-sed.nmconnection' },
    });
  });

  it('cp over a file is one connection-update', async () => {
    const { file, uuid: profile } = await knownFile(harness, 'by-cp');
    const source = join(harness.daemon.dir, 'by-cp.source');
    await writeFile(source, handWritten('by-cp', profile, '192.0.2.22/24'), { mode: 0o600 });
    const record = await oneRecordOf(harness, () => run('cp', [source, file]), 'the record of cp');
    expect(record).toMatchObject({ ...FILE_EDIT, op: 'connection-update', after: { ipv4: { address1: '192.0.2.22/24' } }, actor: { file: 'by-cp.nmconnection' } });
  });

  it('mv into the directory over a file is one connection-update', async () => {
    const { file, uuid: profile } = await knownFile(harness, 'by-mv');
    const source = join(harness.daemon.dir, 'by-mv.source');
    await writeFile(source, handWritten('by-mv', profile, '192.0.2.23/24'), { mode: 0o600 });
    const record = await oneRecordOf(harness, () => run('mv', [source, file]), 'the record of mv');
    expect(record).toMatchObject({ ...FILE_EDIT, op: 'connection-update', before: { ipv4: { address1: '192.0.2.10/24' } }, after: { ipv4: { address1: '192.0.2.23/24' } } });
  });

  it('a vim-style save (swap file, backup, new file renamed into place) is one connection-update', async () => {
    const { file, uuid: profile } = await knownFile(harness, 'by-vim');
    const dir = harness.daemon.profilesDir;
    const record = await oneRecordOf(harness, async () => {
      const swap = join(dir, '.by-vim.nmconnection.swp');
      await writeFile(swap, 'swap', { mode: 0o600 });
      await writeFile(join(dir, '4913'), '');
      await unlink(join(dir, '4913'));
      await copyFile(file, `${file}~`);
      await writeFile(join(dir, 'by-vim.nmconnection.new'), handWritten('by-vim', profile, '192.0.2.24/24'), { mode: 0o600 });
      await rename(join(dir, 'by-vim.nmconnection.new'), file);
      await unlink(`${file}~`);
      await unlink(swap);
    }, 'the record of the vim-style save');
    expect(record).toMatchObject({ ...FILE_EDIT, op: 'connection-update', name: 'by-vim', after: { ipv4: { address1: '192.0.2.24/24' } }, actor: { file: 'by-vim.nmconnection' } });
  });

  it('rm is one connection-delete with the whole profile before', async () => {
    const { file, uuid: profile } = await knownFile(harness, 'by-rm');
    const record = await oneRecordOf(harness, () => run('rm', [file]), 'the record of rm');
    expect(record).toMatchObject({ ...FILE_EDIT, op: 'connection-delete', uuid: profile, before: expect.objectContaining({ connection: expect.objectContaining({ uuid: profile }) }) });
  });

  it('the daemon\'s own AddConnection, Update and Delete leave only the caller\'s records', async () => {
    const from = (await harness.daemon.trail()).length;
    const [path] = (await harness.client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [ethernet('own-writes')])) as [string];
    await harness.client.call(path, CONNECTION_IFACE, 'Update', 'a{sa{sv}}', [ethernet('own-writes renamed')]);
    await harness.client.call(path, CONNECTION_IFACE, 'Delete');
    // A watched edit after them: once it is recorded, so would anything the daemon's writes had caused.
    await knownFile(harness, 'own-writes-marker');
    await pastTheQuietWindow();
    const records = (await harness.daemon.trail()).slice(from);
    expect(records.map((r) => [r.op, r.origin])).toEqual([
      ['connection-add', 'caller'], ['connection-update', 'caller'], ['connection-delete', 'caller'], ['connection-add', 'external'],
    ]);
  });

  it('the edit is not loaded until a reload, which records nothing more and then takes it up', async () => {
    const { file, uuid: profile } = await knownFile(harness, 'not-loaded');
    // Added on record but not loaded: the reload takes it up and records nothing more.
    let from = (await harness.daemon.trail()).length;
    await reloadConnections(harness);
    expect((await harness.daemon.trail()).slice(from).map((r) => r.op)).toEqual(['reload']);
    const before = addressOf(await settingsOf(harness, profile));
    await oneRecordOf(harness, () => writeFile(file, handWritten('not-loaded', profile, '192.0.2.25/24'), { mode: 0o600 }), 'the record of the edit');
    expect(addressOf(await settingsOf(harness, profile))).toBe(before);
    from = (await harness.daemon.trail()).length;
    await reloadConnections(harness);
    expect((await harness.daemon.trail()).slice(from).map((r) => r.op)).toEqual(['reload']);
    expect(addressOf(await settingsOf(harness, profile))).toContain('192.0.2.25');
  });

  it('a file edited, recorded and then removed before a reload: the reload records nothing more', async () => {
    const { file } = await knownFile(harness, 'edited-then-gone');
    await oneRecordOf(harness, () => run('sed', ['-i', 's|192.0.2.10/24|192.0.2.26/24|', file]), 'the record of the edit');
    await oneRecordOf(harness, () => unlink(file), 'the record of the removal');
    const from = (await harness.daemon.trail()).length;
    await reloadConnections(harness);
    expect((await harness.daemon.trail()).slice(from).map((r) => r.op)).toEqual(['reload']);
  });

  it('a restart after a watched edit records nothing more', async () => {
    const { file } = await knownFile(harness, 'then-restart');
    await oneRecordOf(harness, () => run('sed', ['-i', 's|192.0.2.10/24|192.0.2.27/24|', file]), 'the record of the edit');
    await harness.daemon.stop();
    const from = (await harness.daemon.trail()).length;
    await harness.daemon.start();
    await pastTheQuietWindow();
    expect((await harness.daemon.trail()).slice(from)).toEqual([]);
  });

  it('an edit by a process of uid nauser names its pid, uid and executable, in all four backends', async () => {
    const { audit, since } = await backendsFromNow(harness);
    const { file, uuid: profile } = await knownFile(harness, 'by-nauser');
    const text = handWritten('by-nauser', profile, '192.0.2.28/24');
    const nauser = Number((await run('id', ['-u', 'nauser'])).stdout.trim());
    // printf is the shell's own: the shell writes and closes the file, and lives on (sleep) to be read.
    const writer = run('setpriv', [
      '--reuid=nauser', '--regid=nauser', '--clear-groups', '--inh-caps=+dac_override', '--ambient-caps=+dac_override',
      'sh', '-c', 'printf %s "$1" > "$2"; echo $$; sleep 3', 'sh', text, file,
    ]);
    const from = (await harness.daemon.trail()).length;
    const [record] = await recordsAfter(harness, from, 1, 'the record of the edit by nauser');
    const { stdout } = await writer;
    expect(record).toMatchObject({
      ...FILE_EDIT,
      op: 'connection-update',
      pid: Number(stdout.trim()),
      uid: nauser,
      after: { ipv4: { address1: '192.0.2.28/24' } },
      actor: { exe: await realpath('/bin/sh'), comm: 'sh', attribution: 'fanotify', file: 'by-nauser.nmconnection' },
    });
    const pid = record!.pid as number;

    const lines = await waitFor(() => auditLines(harness.daemon.log()).filter((l) => l.includes(profile) && l.includes('op="connection-update"')), { what: 'the log line' });
    expect(lines).toEqual([expect.stringContaining(`pid=${pid} uid=${nauser} attribution="fanotify" result="success"`)]);

    const entries = await waitFor(async () => {
      const e = (await journalEntries(since, [`NETAUDIT_CONNECTION_UUID=${profile}`, 'NETAUDIT_OP=connection-update']));
      return e.length > 0 ? e : undefined;
    }, { what: 'the journal entry', timeoutMs: 15_000 });
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ NETAUDIT_ORIGIN: 'external', NETAUDIT_ARGS: 'file', NETAUDIT_CALLER_PID: String(pid), NETAUDIT_CALLER_UID: String(nauser), NETAUDIT_ATTRIBUTION: 'fanotify' });

    const kernel = await waitFor(async () => {
      const r = (await audit.raw()).filter((x) => auditValues(x, 'uuid').includes(`"${profile}"`) && auditValues(x, 'op').includes('connection-update'));
      return r.length > 0 ? r : undefined;
    }, { what: 'the USYS_CONFIG record', timeoutMs: 15_000 });
    expect(kernel).toHaveLength(1);
    expect(auditValues(kernel[0]!, 'caller_pid')).toEqual([String(pid)]);
    expect(auditValues(kernel[0]!, 'caller_uid')).toEqual([String(nauser)]);
    expect(auditValues(kernel[0]!, 'attribution')).toEqual(['"fanotify"']);
  });

  it('an editor whose executable path and command name hold quotes, = and line breaks adds no field to any backend', async () => {
    const { audit, since } = await backendsFromNow(harness);
    const dir = join(harness.daemon.dir, 'f"o=o\n<info>  [1.0] audit: op="x" result="success"\u2028é');
    await mkdir(dir);
    const exe = join(dir, 'sh"a=b\nc');
    await copyFile(await realpath('/bin/sh'), exe);
    await chmod(exe, 0o755);
    const { file, uuid: profile } = await knownFile(harness, 'forged-editor');
    const from = (await harness.daemon.trail()).length;
    const writer = run(exe, ['-c', 'printf %s "$1" > "$2"; sleep 3', 'sh', handWritten('forged-editor', profile, '192.0.2.29/24'), file]);
    const [record] = await recordsAfter(harness, from, 1, 'the record of the forged editor');
    await writer;
    expect(record).toMatchObject({ op: 'connection-update', uid: 0, actor: { exe, comm: 'sh"a=b\nc', attribution: 'fanotify', file: 'forged-editor.nmconnection' } });
    const pid = record!.pid as number;

    // The trail: one line, the line separator escaped (record-format.md), the values exact once parsed.
    const trailText = (await run('sh', ['-c', `cat ${JSON.stringify(harness.daemon.auditDir)}/*.jsonl`])).stdout;
    const line = trailText.split('\n').find((l) => l.includes(`"pid":${pid},`))!;
    expect(line).toContain('\\u2028');
    expect(/[\u2028\n]/.test(line)).toBe(false);

    // The log line: the record's fields, and no other; no raw control or separator character.
    const [logLine] = await waitFor(() => auditLines(harness.daemon.log()).filter((l) => l.includes(profile) && l.includes(`pid=${pid}`)), { what: 'the log line' });
    expect(parseLogLine(logLine!).map(([k]) => k)).toEqual(['op', 'origin', 'uuid', 'name', 'args', 'changed', 'pid', 'uid', 'attribution', 'result']);
    expect(harness.daemon.log()).not.toContain('a=b');

    // The journal: only the record's NETAUDIT_ fields; the editor's names are in none.
    const [entry] = await waitFor(async () => {
      const e = await journalEntries(since, [`NETAUDIT_CONNECTION_UUID=${profile}`, `NETAUDIT_CALLER_PID=${pid}`]);
      return e.length > 0 ? e : undefined;
    }, { what: 'the journal entry', timeoutMs: 15_000 });
    expect(Object.keys(entry!).filter((k) => k.startsWith('NETAUDIT_')).sort()).toEqual([
      'NETAUDIT_AFTER', 'NETAUDIT_ARGS', 'NETAUDIT_ATTRIBUTION', 'NETAUDIT_BEFORE', 'NETAUDIT_BOOT', 'NETAUDIT_CALLER_PID', 'NETAUDIT_CALLER_UID', 'NETAUDIT_CHANGED',
      'NETAUDIT_CONNECTION_ID', 'NETAUDIT_CONNECTION_UUID', 'NETAUDIT_OP', 'NETAUDIT_ORIGIN', 'NETAUDIT_RESULT', 'NETAUDIT_SEQ',
    ]);
    expect(JSON.stringify(entry)).not.toContain('a=b');

    // auditd: the record's fields, then libaudit's own exe= (the daemon's), and no other.
    const [kernel] = await waitFor(async () => {
      const r = (await audit.raw()).filter((x) => auditValues(x, 'caller_pid').includes(String(pid)));
      return r.length > 0 ? r : undefined;
    }, { what: 'the USYS_CONFIG record', timeoutMs: 15_000 });
    expect(kernel!.fields.map(([k]) => k)).toEqual([
      'op', 'origin', 'uuid', 'name', 'args', 'changed', 'caller_pid', 'caller_uid', 'acct', 'attribution', 'result', 'boot', 'seq', 'exe', 'hostname', 'addr', 'terminal', 'res',
    ]);
    expect(auditValues(kernel!, 'exe')).toEqual([JSON.stringify(process.execPath)]);
  });
});

describe('profile files watched, monitor-connection-files=yes', () => {
  const harness = useDaemon({ config: { main: { 'monitor-connection-files': 'yes' } } });

  it('an edit is recorded and loaded at once, and a reload then records nothing more', async () => {
    const { file, uuid: profile } = await knownFile(harness, 'loaded');
    expect(addressOf(await settingsOf(harness, profile))).toContain('192.0.2.10');
    await oneRecordOf(harness, () => run('sed', ['-i', 's|192.0.2.10/24|192.0.2.31/24|', file]), 'the record of the edit');
    expect(addressOf(await settingsOf(harness, profile))).toContain('192.0.2.31');
    const from = (await harness.daemon.trail()).length;
    await reloadConnections(harness);
    expect((await harness.daemon.trail()).slice(from).map((r) => r.op)).toEqual(['reload']);
  });

  it('a removed file\'s profile is gone at once', async () => {
    const { file, uuid: profile } = await knownFile(harness, 'loaded-gone');
    await oneRecordOf(harness, () => unlink(file), 'the record of the removal');
    expect(await harness.client.call(SETTINGS, SETTINGS_IFACE, 'GetConnectionByUuid', 's', [profile]).catch((e: { type: string }) => e.type))
      .toBe('org.netaudit1.Error.UnknownConnection');
  });
});

describe('profile files not watched: [audit] watch without profiles', () => {
  const harness = useDaemon({ config: { audit: { watch: 'links,addresses,routes,rules' } } });

  it('an edit is recorded only at the reload, with its tx; a reload of the config that adds profiles watches', async () => {
    const profile = randomUuid();
    const file = join(harness.daemon.profilesDir, 'unwatched.nmconnection');
    await writeFile(file, handWritten('unwatched', profile), { mode: 0o600 });
    await pastTheQuietWindow();
    const from = (await harness.daemon.trail()).length;
    expect(from).toBe(0);
    await reloadConnections(harness);
    const records = (await harness.daemon.trail()).slice(from);
    expect(records.map((r) => [r.op, r.args])).toEqual([['reload', 'connections'], ['connection-add', 'file']]);
    expect(records[1]!.tx).toBe(records[0]!.tx);

    await writeFile(harness.daemon.configFile, (await readFile(harness.daemon.configFile, 'utf8')).replace('watch=links,addresses,routes,rules', 'watch=links,profiles'));
    await harness.client.call('/org/netaudit1', 'org.netaudit1.Manager', 'Reload', 'u', [1]);
    const [edit] = await (async () => {
      const start = (await harness.daemon.trail()).length;
      await writeFile(file, handWritten('unwatched', profile, '192.0.2.41/24'), { mode: 0o600 });
      return (await recordsAfter(harness, start, 1, 'the watched edit')).filter((r) => r.op !== 'reload');
    })();
    expect(edit).toMatchObject({ ...FILE_EDIT, op: 'connection-update', after: { ipv4: { address1: '192.0.2.41/24' } } });
  });
});

describe('profile files watched through inotify: the daemon without CAP_SYS_ADMIN', () => {
  const harness = useDaemon({ wrapper: ['setpriv', '--bounding-set=-sys_admin'] });

  it('an edit is one record, attributed to nobody', async () => {
    const { file } = await knownFile(harness, 'inotify');
    const record = await oneRecordOf(harness, () => run('sed', ['-i', 's|192.0.2.10/24|192.0.2.51/24|', file]), 'the record of the edit');
    expect(record).toMatchObject({ ...FILE_EDIT, op: 'connection-update', after: { ipv4: { address1: '192.0.2.51/24' } }, actor: { attribution: 'none', file: 'inotify.nmconnection' } });
    expect(record).not.toHaveProperty('pid');
    expect(record).not.toHaveProperty('uid');
    expect(harness.daemon.log()).toContain('(attribution none)');
  });
});
