// connection: netauditd's connection profiles, nmcli's way: list, show,
// add, modify, delete, up, down, reload. Profiles are named by id, uuid or
// D-Bus path (connection-ids.ts); properties by nmcli's names and aliases
// (settings-args.ts). A failed activation exits 4, deactivation 5,
// deletion 7; a profile that does not exist 10.
import { canonicalType, keyfileTypeName, settingSpec } from '../../core/settings/schema.js';
import { clientOptionsOf, withDaemon, type DaemonClient } from '../bus/daemon-client.js';
import { toCliError } from '../bus/daemon-error.js';
import { ACTIVE_PREFIX, CONNECTION_IFACE, MANAGER_IFACE, MANAGER_PATH, NO_OBJECT, SETTINGS_IFACE, SETTINGS_PATH } from '../bus/names.js';
import { devicePathByName, getProfile, listActives, listDevices, listProfiles, type Active, type Profile } from '../bus/queries.js';
import { profileFromWire, profileToWire } from '../bus/wire.js';
import { matchProfiles, takeRef, type ConnectionRef } from '../connection-ids.js';
import { expandShowFields, LIST_COLUMNS, listRow, showFields, type ProfileStatus } from '../connection-fields.js';
import type { CliContext } from '../context.js';
import { CliError, ExitCode, type UsageError } from '../exit-codes.js';
import { escapeControls } from '../format/escape.js';
import { withDefaultMode } from '../format/mode.js';
import { render, selectColumns } from '../format/render.js';
import { defineNoun } from '../noun.js';
import { PROGRAM } from '../output.js';
import { quoted, report } from '../report.js';
import { applyChanges, parsePairs, SettingsArgError } from '../settings-args.js';
import { stringOf, type ProfileSettings } from '../settings-value.js';
import { parseBoolean } from '../words.js';

type UsageErrorOf = (message: string) => UsageError;

const nameOf = (settings: ProfileSettings): string => stringOf(settings, 'connection', 'id') ?? '';
const uuidOf = (settings: ProfileSettings): string => stringOf(settings, 'connection', 'uuid') ?? '';

function daemon<T>(context: CliContext, work: (client: DaemonClient) => Promise<T>): Promise<T> {
  return withDaemon(clientOptionsOf(context), work);
}

function settingsArgs<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    if (error instanceof SettingsArgError) throw new CliError(error.message, ExitCode.Usage);
    throw error;
  }
}

/** Device interface names by device path, and profile statuses with their active connections. */
async function statuses(client: DaemonClient, profiles: readonly Profile[], actives: readonly Active[]): Promise<ProfileStatus[]> {
  const devices = actives.some((a) => a.devices.length > 0) ? await listDevices(client) : [];
  const ifaceOf = new Map(devices.map((d) => [d.path, d.iface]));
  const activeOf = new Map(actives.map((a) => [a.connection, a]));
  return profiles.map((p) => {
    const a = activeOf.get(p.path);
    return a === undefined ? p : { ...p, active: { path: a.path, state: a.state, devices: a.devices.map((d) => ifaceOf.get(d) ?? d) } };
  });
}

function unknownConnection(ref: ConnectionRef): CliError {
  return new CliError(`unknown connection ${quoted(escapeControls(ref.value))}.`, ExitCode.NotFound);
}

/** The references at the head of `args` (all of them when `all`), each with the profiles it names. */
function refsOf(args: readonly string[], usageError: UsageErrorOf): ConnectionRef[] {
  const refs: ConnectionRef[] = [];
  for (let i = 0; i < args.length; ) {
    const taken = takeRef(args.slice(i));
    if (taken === null) throw usageError(`the value of ${JSON.stringify(args[i])} is missing`);
    refs.push(taken.ref);
    i += taken.used;
  }
  return refs;
}

/** The one profile `ref` names: 10 when none, 2 when several share the id (name it by uuid). */
function onlyProfile(ref: ConnectionRef, profiles: readonly Profile[]): Profile {
  const found = matchProfiles(ref, profiles);
  if (found.length === 0) throw unknownConnection(ref);
  if (found.length > 1) {
    throw new CliError(`${quoted(escapeControls(ref.value))} names ${found.length} connections (${found.map((p) => uuidOf(p.settings)).join(', ')}); name one by its uuid.`, ExitCode.Usage);
  }
  return found[0]!;
}

async function list(args: string[], context: CliContext, usageError: UsageErrorOf): Promise<ExitCode> {
  const activeOnly = args.length > 0 && ['--active', '-a'].includes(args[0]!);
  if (args.length > (activeOnly ? 1 : 0)) throw usageError(`unexpected argument ${JSON.stringify(args[activeOnly ? 1 : 0])}`);
  const output = withDefaultMode(context.output, 'tabular');
  selectColumns(LIST_COLUMNS, output.fields);
  return daemon(context, async (client) => {
    const [profiles, actives] = await Promise.all([listProfiles(client), listActives(client)]);
    const rows = (await statuses(client, profiles, actives)).filter((p) => !activeOnly || p.active !== undefined);
    // Active profiles first (nmcli's order), each group in the daemon's order.
    const sorted = [...rows.filter((p) => p.active), ...rows.filter((p) => !p.active)];
    render(LIST_COLUMNS, sorted.map(listRow), output);
    return ExitCode.Success;
  });
}

async function show(args: string[], context: CliContext, usageError: UsageErrorOf): Promise<ExitCode> {
  let rest = args;
  let showSecrets = false;
  if (rest[0] === '-s' || rest[0] === '--show-secrets') {
    showSecrets = true;
    rest = rest.slice(1);
  }
  if (rest.length === 0 || rest[0] === '--active' || rest[0] === '-a') return list(rest, context, usageError);
  const refs = refsOf(rest, usageError);
  const output = withDefaultMode(context.output, 'multiline');
  return daemon(context, async (client) => {
    const [profiles, actives] = await Promise.all([listProfiles(client), listActives(client)]);
    const chosen: Profile[] = [];
    for (const ref of refs) {
      const found = matchProfiles(ref, profiles);
      if (found.length === 0) throw unknownConnection(ref);
      for (const p of found) if (!chosen.includes(p)) chosen.push(p);
    }
    const withSecrets = showSecrets ? await Promise.all(chosen.map((p) => mergeSecrets(client, p, [...p.settings.keys()]))) : chosen;
    const files = await Promise.all(withSecrets.map((p) => client.getAll(p.path, CONNECTION_IFACE)));
    const full = (await statuses(client, withSecrets, actives)).map((p, i) => ({ ...p, filename: files[i]!['Filename'] as string, unsaved: files[i]!['Unsaved'] as boolean }));
    full.forEach((p, i) => {
      const { columns, row } = showFields(p);
      const fields = expandShowFields(output.fields, columns);
      if (i > 0 && output.mode === 'multiline' && !output.terse && !output.json) process.stdout.write('\n');
      render(columns, [row], { ...output, fields });
    });
    return ExitCode.Success;
  });
}

/** The profile with the secrets of `settings` (those of them that hold secrets) from GetSecrets. */
async function mergeSecrets(client: DaemonClient, p: Profile, settings: readonly string[]): Promise<Profile> {
  const holders = settings.filter((s) => p.settings.has(s) && [...(settingSpec(s)?.properties.values() ?? [])].some((spec) => spec.secret));
  const merged = new Map([...p.settings].map(([k, v]) => [k, new Map(v)]));
  for (const setting of holders) {
    let reply: unknown[];
    try {
      reply = await client.call(p.path, CONNECTION_IFACE, 'GetSecrets', 's', [setting]);
    } catch (error) {
      throw toCliError(error, `Getting the secrets of ${quoted(escapeControls(nameOf(p.settings)))} failed`);
    }
    for (const [s, props] of profileFromWire(reply[0])) for (const [k, v] of props) merged.get(s)?.set(k, v);
  }
  return { ...p, settings: merged };
}

async function add(args: string[], context: CliContext, usageError: UsageErrorOf): Promise<ExitCode> {
  if (args.length === 0) throw usageError('the connection type is missing: type TYPE');
  let others = new Map<string, string>();
  const changes = settingsArgs(() => {
    const parsed = parsePairs(args, ['save']);
    others = parsed.others;
    return parsed.changes;
  });
  const save = others.has('save') ? parseBoolean(others.get('save')!) : true;
  if (save === undefined) throw new CliError(`invalid value ${JSON.stringify(others.get('save'))} for save: yes or no`, ExitCode.Usage);
  let settings = settingsArgs(() => applyChanges(new Map(), changes));
  const type = stringOf(settings, 'connection', 'type');
  if (type === undefined) throw usageError('the connection type is missing: type TYPE (e.g. ethernet, bridge, veth, wifi)');
  // nmcli's defaults: addresses without a method mean manual.
  for (const ip of ['ipv4', 'ipv6']) {
    const props = settings.get(ip);
    if (props?.has('address-data') && !props.has('method')) props.set('method', { signature: 's', value: 'manual' });
  }
  return daemon(context, async (client) => {
    if (stringOf(settings, 'connection', 'id') === undefined) settings = await withDefaultName(client, settings, type);
    const name = nameOf(settings);
    let path: string;
    try {
      [path] = (await client.call(SETTINGS_PATH, SETTINGS_IFACE, save ? 'AddConnection' : 'AddConnectionUnsaved', 'a{sa{sv}}', [profileToWire(settings)])) as [string];
    } catch (error) {
      throw toCliError(error, `Failed to add ${quoted(name)} connection`);
    }
    const added = await getProfile(client, path);
    report(context, `Connection ${quoted(nameOf(added.settings))} (${uuidOf(added.settings)}) successfully added.`, { name: nameOf(added.settings), uuid: uuidOf(added.settings), path });
    return ExitCode.Success;
  });
}

/** nmcli's default name: TYPE-IFNAME (or TYPE), with -1, -2… when taken. */
async function withDefaultName(client: DaemonClient, settings: ProfileSettings, type: string): Promise<ProfileSettings> {
  const ifname = stringOf(settings, 'connection', 'interface-name');
  const base = `${keyfileTypeName(canonicalType(type) ?? type)}${ifname ? `-${ifname}` : ''}`;
  const taken = new Set((await listProfiles(client)).map((p) => nameOf(p.settings)));
  let name = base;
  for (let n = 1; taken.has(name); n++) name = `${base}-${n}`;
  return applyChanges(settings, parsePairs(['connection.id', name]).changes);
}

async function modify(args: string[], context: CliContext, usageError: UsageErrorOf): Promise<ExitCode> {
  let rest = args;
  let temporary = false;
  if (rest[0] === '--temporary') {
    temporary = true;
    rest = rest.slice(1);
  }
  const taken = takeRef(rest);
  if (taken === null) throw usageError('the connection is missing: ID, UUID or PATH');
  const pairs = rest.slice(taken.used);
  if (pairs.length === 0) throw usageError('nothing to change: give setting.property value pairs');
  const changes = settingsArgs(() => parsePairs(pairs).changes);
  return daemon(context, async (client) => {
    const profile = onlyProfile(taken.ref, await listProfiles(client));
    // GetSettings has no secrets: changing one, keep the others of its setting.
    const secretSettings = [...new Set(changes.filter((c) => c.ref.spec.secret).map((c) => c.ref.setting))];
    const base = secretSettings.length > 0 ? await mergeSecrets(client, profile, secretSettings) : profile;
    const updated = settingsArgs(() => applyChanges(base.settings, changes));
    try {
      await client.call(profile.path, CONNECTION_IFACE, temporary ? 'UpdateUnsaved' : 'Update', 'a{sa{sv}}', [profileToWire(updated)]);
    } catch (error) {
      throw toCliError(error, `Failed to modify connection ${quoted(escapeControls(nameOf(profile.settings)))}`);
    }
    return ExitCode.Success;
  });
}

async function remove(args: string[], context: CliContext, usageError: UsageErrorOf): Promise<ExitCode> {
  const refs = refsOf(args, usageError);
  if (refs.length === 0) throw usageError('the connection is missing: ID, UUID or PATH');
  return daemon(context, async (client) => {
    const profiles = await listProfiles(client);
    let code: ExitCode = ExitCode.Success;
    const targets: Profile[] = [];
    for (const ref of refs) {
      const found = matchProfiles(ref, profiles);
      if (found.length === 0) {
        process.stderr.write(`Error: ${unknownConnection(ref).message}\n`);
        code = ExitCode.NotFound;
      }
      for (const p of found) if (!targets.includes(p)) targets.push(p);
    }
    for (const p of targets) {
      try {
        await client.call(p.path, CONNECTION_IFACE, 'Delete');
        report(context, `Connection ${quoted(nameOf(p.settings))} (${uuidOf(p.settings)}) successfully deleted.`, { name: nameOf(p.settings), uuid: uuidOf(p.settings), path: p.path });
      } catch (error) {
        const failure = toCliError(error, `Connection deletion failed`, ExitCode.DeleteFailed);
        if (failure.code === ExitCode.NotRunning || failure.code === ExitCode.Timeout) throw failure;
        process.stderr.write(`Error: ${failure.message}\n`);
        if (code === ExitCode.Success) code = failure.code;
      }
    }
    return code;
  });
}

async function up(args: string[], context: CliContext, usageError: UsageErrorOf): Promise<ExitCode> {
  const taken = takeRef(args);
  if (taken === null) throw usageError('the connection is missing: ID, UUID or PATH');
  const rest = args.slice(taken.used);
  let ifname: string | undefined;
  if (rest.length > 0) {
    if (rest[0] !== 'ifname' || rest[1] === undefined || rest.length > 2) throw usageError(`unexpected argument ${JSON.stringify(rest[0])}; accepted: ifname IFNAME`);
    ifname = rest[1];
  }
  return daemon(context, async (client) => {
    const profile = onlyProfile(taken.ref, await listProfiles(client));
    const device = ifname === undefined ? NO_OBJECT : await devicePathByName(client, ifname);
    let active: string;
    try {
      [active] = (await client.call(MANAGER_PATH, MANAGER_IFACE, 'ActivateConnection', 'ooo', [profile.path, device, NO_OBJECT])) as [string];
    } catch (error) {
      throw toCliError(error, 'Connection activation failed', ExitCode.ActivationFailed);
    }
    report(context, `Connection successfully activated (D-Bus active path: ${active})`, { name: nameOf(profile.settings), uuid: uuidOf(profile.settings), 'active-path': active });
    return ExitCode.Success;
  });
}

async function down(args: string[], context: CliContext, usageError: UsageErrorOf): Promise<ExitCode> {
  // `apath P` names an active connection by its path; the rest name profiles.
  const refs: ConnectionRef[] = [];
  const activePaths: string[] = [];
  for (let i = 0; i < args.length; ) {
    if (args[i] === 'apath') {
      if (args[i + 1] === undefined) throw usageError('the value of "apath" is missing');
      activePaths.push(args[i + 1]!);
      i += 2;
      continue;
    }
    const taken = takeRef(args.slice(i));
    if (taken === null) throw usageError(`the value of ${JSON.stringify(args[i])} is missing`);
    refs.push(taken.ref);
    i += taken.used;
  }
  if (refs.length + activePaths.length === 0) throw usageError('the connection is missing: ID, UUID, PATH or apath ACTIVE-PATH');
  return daemon(context, async (client) => {
    const [profiles, actives] = await Promise.all([listProfiles(client), listActives(client)]);
    const targets: Active[] = [];
    for (const path of activePaths) {
      const found = actives.find((a) => a.path === path || a.path === `${ACTIVE_PREFIX}${path}`);
      if (found === undefined) throw new CliError(`${quoted(escapeControls(path))} is not an active connection.`, ExitCode.NotFound);
      if (!targets.includes(found)) targets.push(found);
    }
    for (const ref of refs) {
      const paths = new Set(matchProfiles(ref, profiles).map((p) => p.path));
      const found = actives.filter((a) => paths.has(a.connection));
      if (found.length === 0) {
        throw new CliError(paths.size > 0 ? `${quoted(escapeControls(ref.value))} is not an active connection.` : unknownConnection(ref).message, ExitCode.NotFound);
      }
      for (const a of found) if (!targets.includes(a)) targets.push(a);
    }
    for (const a of targets) {
      try {
        await client.call(MANAGER_PATH, MANAGER_IFACE, 'DeactivateConnection', 'o', [a.path]);
      } catch (error) {
        throw toCliError(error, 'Connection deactivation failed', ExitCode.DeactivationFailed);
      }
      report(context, `Connection ${quoted(a.id)} successfully deactivated (D-Bus active path: ${a.path})`, { name: a.id, uuid: a.uuid, 'active-path': a.path });
    }
    return ExitCode.Success;
  });
}

async function reloadProfiles(args: string[], context: CliContext, usageError: UsageErrorOf): Promise<ExitCode> {
  if (args.length > 0) throw usageError(`unexpected argument ${JSON.stringify(args[0])}`);
  return daemon(context, async (client) => {
    try {
      await client.call(SETTINGS_PATH, SETTINGS_IFACE, 'ReloadConnections');
    } catch (error) {
      throw toCliError(error, 'Reloading the connection profiles failed');
    }
    return ExitCode.Success;
  });
}

const ID = '[id | uuid | path] ID';

export const connection = defineNoun({
  name: 'connection',
  summary: 'list, show, add, modify, delete, activate and deactivate connection profiles',
  description: `Connection profiles. A profile is named by its id, its uuid or its D-Bus path
(or that path's number), optionally after the qualifier id, uuid or path.`,
  defaultVerb: 'show',
  verbs: [
    {
      name: 'list',
      summary: 'list the profiles',
      usage: `Usage: ${PROGRAM} [OPTION]... connection list [--active]
Lists the connection profiles, the active ones first; --active lists only those.
Fields (-f): ${LIST_COLUMNS.map((c) => c.name).join(', ')}
(default: ${LIST_COLUMNS.filter((c) => c.default !== false).map((c) => c.name).join(', ')}).
`,
      run: list,
    },
    {
      name: 'show',
      summary: 'without ID: list the profiles; with IDs: show them in full',
      usage: `Usage: ${PROGRAM} [OPTION]... connection show [--active]
       ${PROGRAM} [OPTION]... connection show [-s | --show-secrets] ${ID}...
Without ID, lists the profiles (as 'connection list'). With IDs, shows each
profile's every setting.property (nmcli's names, e.g. ipv4.addresses), and
GENERAL.* about its activation, one 'FIELD: value' line each unless -m says
otherwise. Secrets show as <hidden>; --show-secrets asks the daemon for them
(GetSecrets, a privileged call). -f takes fields and settings (e.g. -f ipv4,GENERAL.STATE).
`,
      run: show,
    },
    {
      name: 'add',
      summary: 'add a profile',
      usage: `Usage: ${PROGRAM} [OPTION]... connection add type TYPE [ifname IFNAME] [con-name NAME]
         [save yes|no] [SETTING.PROPERTY VALUE]...
Adds a profile. TYPE: ethernet, wifi, bridge, veth, macvlan, vxlan, dummy, vlan.
Aliases: con-name (connection.id), ifname (connection.interface-name), type,
autoconnect, master, slave-type, ip4/gw4 (ipv4.addresses/gateway), ip6/gw6,
ssid, mac, cloned-mac, peer (veth.peer), dev (vlan.parent), id (vlan.id).
Settings may be named by alias: ethernet, wifi, wifi-sec.
Values: ipv4.addresses "192.0.2.1/24, 198.51.100.2/24"; ipv4.routes
"192.0.2.0/24 10.0.0.1 100"; ipv4.dns "192.0.2.53, 192.0.2.54"; booleans yes/no
(true/false, on/off). Addresses without ipv4.method make it manual.
save no adds the profile without writing it to disk. Without con-name the
name is TYPE-IFNAME.
Example: ${PROGRAM} connection add type dummy ifname d0 ipv4.method manual ipv4.addresses 192.0.2.1/24
`,
      run: add,
    },
    {
      name: 'modify',
      summary: 'change properties of a profile',
      usage: `Usage: ${PROGRAM} [OPTION]... connection modify [--temporary] ${ID} ([+|-]SETTING.PROPERTY VALUE)...
Changes properties of a profile (names and values as for 'connection add').
+PROPERTY appends to a list, -PROPERTY removes a value (or the element at a
0-based index) from it; an empty value clears the property. --temporary
changes the profile without writing it to disk.
`,
      run: modify,
    },
    {
      name: 'delete',
      summary: 'delete profiles',
      usage: `Usage: ${PROGRAM} [OPTION]... connection delete ${ID}...\nDeletes the profiles named (every profile an id names). Exit 7 when a deletion failed, 10 when a name matched nothing.\n`,
      run: remove,
    },
    {
      name: 'up',
      summary: 'activate a profile',
      usage: `Usage: ${PROGRAM} [OPTION]... connection up ${ID} [ifname IFNAME]\nActivates a profile, on IFNAME if given (else on the interface it names,\nor the link it creates). Waits for the outcome up to -w seconds. Exit 4 when\nthe activation failed, 3 on timeout.\n`,
      run: up,
    },
    {
      name: 'down',
      summary: 'deactivate a connection',
      usage: `Usage: ${PROGRAM} [OPTION]... connection down (${ID} | apath ACTIVE-PATH)...\nDeactivates active connections, named by their profile or by their active\nD-Bus path. Exit 5 when a deactivation failed, 10 when one is not active.\n`,
      run: down,
    },
    {
      name: 'reload',
      summary: 're-read the profiles from disk',
      usage: `Usage: ${PROGRAM} [OPTION]... connection reload\nMakes netauditd re-read every profile from disk.\n`,
      run: reloadProfiles,
    },
  ],
});
