// device: the kernel links netauditd sees, nmcli's way: list (status), show,
// reapply, disconnect, delete (software links), set (managed, autoconnect).
// A device is named by its interface name. A failed reapply or disconnect
// exits 6 (as nmcli's reapply does), a failed deletion 7, a device that does
// not exist 10.
import { clientOptionsOf, withDaemon, type DaemonClient } from '../bus/daemon-client.js';
import { toCliError } from '../bus/daemon-error.js';
import { DEVICE_IFACE, NO_OBJECT } from '../bus/names.js';
import { devicePathByName, getDevice, getDhcpOptions, getIpConfig, listActives, listDevices, type Active, type DeviceInfo } from '../bus/queries.js';
import type { CliContext } from '../context.js';
import { CliError, ExitCode, type UsageError } from '../exit-codes.js';
import { escapeControls } from '../format/escape.js';
import { withDefaultMode } from '../format/mode.js';
import { render, selectColumns, type Cell, type Column } from '../format/render.js';
import { defineNoun } from '../noun.js';
import { PROGRAM } from '../output.js';
import { quoted, report } from '../report.js';
import { deviceStateName, stateColor } from '../state-names.js';
import { matchWord, parseBoolean } from '../words.js';

type UsageErrorOf = (message: string) => UsageError;

const COLUMNS: readonly Column[] = [
  { name: 'DEVICE' },
  { name: 'TYPE' },
  { name: 'STATE', colorOf: stateColor },
  { name: 'CONNECTION' },
  { name: 'IFINDEX', default: false },
  { name: 'MTU', default: false },
  { name: 'HWADDR', default: false },
  { name: 'MANAGED', default: false },
  { name: 'AUTOCONNECT', default: false },
  { name: 'CON-UUID', default: false },
  { name: 'CON-PATH', default: false },
  { name: 'DBUS-PATH', default: false },
];

function row(d: DeviceInfo, actives: readonly Active[]): Record<string, Cell> {
  const active = d.activeConnection === NO_OBJECT ? undefined : actives.find((a) => a.path === d.activeConnection);
  return {
    DEVICE: d.iface,
    TYPE: d.type,
    STATE: deviceStateName(d.state),
    CONNECTION: active?.id ?? null,
    IFINDEX: d.ifindex,
    MTU: d.mtu,
    HWADDR: d.hwAddress === '' ? null : d.hwAddress,
    MANAGED: d.managed,
    AUTOCONNECT: d.autoconnect,
    'CON-UUID': active?.uuid ?? null,
    'CON-PATH': active?.connection ?? null,
    'DBUS-PATH': d.path,
  };
}

function daemon<T>(context: CliContext, work: (client: DaemonClient) => Promise<T>): Promise<T> {
  return withDaemon(clientOptionsOf(context), work);
}

async function list(args: string[], context: CliContext, usageError: UsageErrorOf): Promise<ExitCode> {
  if (args.length > 0) throw usageError(`unexpected argument ${JSON.stringify(args[0])}`);
  const output = withDefaultMode(context.output, 'tabular');
  selectColumns(COLUMNS, output.fields);
  return daemon(context, async (client) => {
    const [devices, actives] = await Promise.all([listDevices(client), listActives(client)]);
    render(COLUMNS, devices.map((d) => row(d, actives)), output);
    return ExitCode.Success;
  });
}

// `device show`: the same fields under nmcli's GENERAL. names, then, as nmcli prints them, what
// runs on it: IP4.ADDRESS[n], IP4.GATEWAY, IP4.ROUTE[n], IP4.DNS[n], IP4.DOMAIN[n],
// DHCP4.OPTION[n] and the same for IP6 and DHCP6. -f takes a field's name or its group (IP4, DHCP4…).
const SHOW_COLUMNS: readonly Column[] = COLUMNS.map((c) => ({ ...c, name: `GENERAL.${c.name}`, default: true }));
const IP_FIELDS = ['ADDRESS', 'GATEWAY', 'ROUTE', 'DNS', 'DOMAIN'];
const SHOW_GROUPS = ['GENERAL', 'IP4', 'DHCP4', 'IP6', 'DHCP6'];
const SHOW_FIELDS = [...SHOW_COLUMNS.map((c) => c.name), ...['IP4', 'IP6'].flatMap((g) => IP_FIELDS.map((f) => `${g}.${f}`)), 'DHCP4.OPTION', 'DHCP6.OPTION'];

/** The field a -f word names, in its canonical case; a usage error for one that names nothing. */
function showField(word: string, usageError: UsageErrorOf): string {
  const w = word.trim();
  const lower = w.toLowerCase();
  if (lower === 'all' || lower === 'common') return lower;
  const known = [...SHOW_GROUPS, ...SHOW_FIELDS].find((f) => f.toLowerCase() === lower) ?? SHOW_FIELDS.find((f) => f.toLowerCase() === `general.${lower}`);
  if (!known) throw usageError(`invalid field ${JSON.stringify(escapeControls(w))}; allowed fields: ${[...SHOW_GROUPS, ...SHOW_FIELDS].join(',')}`);
  return known;
}

/** What runs on `d`, as nmcli's IP4./DHCP4./IP6./DHCP6. lines. */
async function ipRows(client: DaemonClient, d: DeviceInfo): Promise<Array<[string, Cell]>> {
  const out: Array<[string, Cell]> = [];
  for (const family of [4, 6] as const) {
    const ip = await getIpConfig(client, family === 4 ? d.ip4Config : d.ip6Config, family);
    const g = `IP${family}`;
    if (ip) {
      ip.addresses.forEach((a, i) => out.push([`${g}.ADDRESS[${i + 1}]`, a]));
      out.push([`${g}.GATEWAY`, ip.gateway === '' ? null : ip.gateway]);
      ip.routes.forEach((r, i) => out.push([`${g}.ROUTE[${i + 1}]`, `dst = ${r.dest}/${r.prefix}, nh = ${r.nextHop ?? (family === 4 ? '0.0.0.0' : '::')}, mt = ${r.metric}`]));
      ip.nameservers.forEach((n, i) => out.push([`${g}.DNS[${i + 1}]`, n]));
      ip.domains.forEach((n, i) => out.push([`${g}.DOMAIN[${i + 1}]`, n]));
    }
    const options = await getDhcpOptions(client, family === 4 ? d.dhcp4Config : d.dhcp6Config, family);
    options?.forEach(([k, v], i) => out.push([`DHCP${family}.OPTION[${i + 1}]`, `${k} = ${v}`]));
  }
  return out;
}

/** True when `name` (GENERAL.DEVICE, IP4.ADDRESS[2]) is among the chosen fields. */
function chosen(name: string, fields: readonly string[] | null): boolean {
  if (fields === null || fields.includes('all') || fields.includes('common')) return true;
  const bare = name.replace(/\[\d+\]$/, '');
  return fields.includes(name) || fields.includes(bare) || fields.includes(bare.slice(0, bare.indexOf('.')));
}

async function show(args: string[], context: CliContext, usageError: UsageErrorOf): Promise<ExitCode> {
  if (args.length > 1) throw usageError(`unexpected argument ${JSON.stringify(args[1])}`);
  const output = withDefaultMode(context.output, 'multiline');
  const fields = output.fields?.filter((f) => f.trim() !== '').map((f) => showField(f, usageError)) ?? null;
  return daemon(context, async (client) => {
    const [devices, actives] = await Promise.all([
      args[0] === undefined ? listDevices(client) : devicePathByName(client, args[0]).then(async (path) => [await getDevice(client, path)]),
      listActives(client),
    ]);
    for (const [i, d] of devices.entries()) {
      const cells: Array<[string, Cell]> = [...Object.entries(row(d, actives)).map(([k, v]) => [`GENERAL.${k}`, v] as [string, Cell]), ...(await ipRows(client, d))];
      const picked = cells.filter(([name]) => chosen(name, fields));
      const columns: Column[] = picked.map(([name]) => SHOW_COLUMNS.find((c) => c.name === name) ?? { name });
      if (i > 0 && output.mode === 'multiline' && !output.terse && !output.json) process.stdout.write('\n');
      render(columns, [Object.fromEntries(picked)], { ...output, fields: null });
    }
    return ExitCode.Success;
  });
}

/** `disconnect` and `delete`: one call per device named, every one tried; the first failure's code. */
function perDevice(member: 'Disconnect' | 'Delete', failed: ExitCode, done: string, what: string) {
  return async (args: string[], context: CliContext, usageError: UsageErrorOf): Promise<ExitCode> => {
    if (args.length === 0) throw usageError('the device is missing: IFNAME');
    return daemon(context, async (client) => {
      let code: ExitCode = ExitCode.Success;
      for (const name of args) {
        try {
          const path = await devicePathByName(client, name);
          try {
            await client.call(path, DEVICE_IFACE, member);
          } catch (error) {
            throw toCliError(error, `${what} of ${quoted(escapeControls(name))} failed`, failed);
          }
          report(context, `Device ${quoted(name)} successfully ${done}.`, { device: name, path });
        } catch (error) {
          const failure = toCliError(error);
          if (failure.code === ExitCode.NotRunning || failure.code === ExitCode.Timeout) throw failure;
          process.stderr.write(`Error: ${failure.message}\n`);
          if (code === ExitCode.Success) code = failure.code;
        }
      }
      return code;
    });
  };
}

/** `reapply IFNAME`: the profile's saved settings applied to what runs on the device (Reapply with {}, 0, 0), as `nmcli device reapply`. */
async function reapply(args: string[], context: CliContext, usageError: UsageErrorOf): Promise<ExitCode> {
  const [name, extra] = args;
  if (name === undefined) throw usageError('the device is missing: IFNAME');
  if (extra !== undefined) throw usageError(`unexpected argument ${JSON.stringify(extra)}`);
  return daemon(context, async (client) => {
    const path = await devicePathByName(client, name);
    try {
      await client.call(path, DEVICE_IFACE, 'Reapply', 'a{sa{sv}}tu', [{}, 0n, 0]);
    } catch (error) {
      throw toCliError(error, `Reapplying connection to device ${quoted(escapeControls(name))} failed`, ExitCode.DisconnectFailed);
    }
    report(context, `Connection successfully reapplied to device ${quoted(name)}.`, { device: name, path });
    return ExitCode.Success;
  });
}

const SETTABLE = { managed: 'Managed', autoconnect: 'Autoconnect' } as const;

async function set(args: string[], context: CliContext, usageError: UsageErrorOf): Promise<ExitCode> {
  const [name, ...pairs] = args;
  if (name === undefined) throw usageError('the device is missing: IFNAME');
  if (pairs.length === 0) throw usageError('nothing to set: managed yes|no, autoconnect yes|no');
  const changes: Array<[string, boolean]> = [];
  for (let i = 0; i < pairs.length; i += 2) {
    const match = matchWord(pairs[i]!, Object.keys(SETTABLE) as Array<keyof typeof SETTABLE>);
    if ('problem' in match) throw usageError(`unknown property: ${match.problem}`);
    const text = pairs[i + 1];
    if (text === undefined) throw usageError(`the value of '${match.word}' is missing`);
    const value = parseBoolean(text);
    if (value === undefined) throw new CliError(`invalid value ${JSON.stringify(text)} for ${match.word}: yes or no`, ExitCode.Usage);
    changes.push([SETTABLE[match.word], value]);
  }
  return daemon(context, async (client) => {
    const path = await devicePathByName(client, name);
    for (const [property, value] of changes) {
      try {
        await client.set(path, DEVICE_IFACE, property, 'b', value);
      } catch (error) {
        throw toCliError(error, `Setting ${property.toLowerCase()} of ${quoted(escapeControls(name))} failed`);
      }
    }
    return ExitCode.Success;
  });
}

export const device = defineNoun({
  name: 'device',
  summary: 'list and show devices, reapply, disconnect or delete them, set managed and autoconnect',
  description: 'The kernel links netauditd sees, named by interface name.',
  defaultVerb: 'list',
  verbs: [
    {
      name: 'list',
      aliases: ['status'],
      summary: 'list the devices',
      usage: `Usage: ${PROGRAM} [OPTION]... device list\nLists the devices (also 'device status').\nFields (-f): ${COLUMNS.map((c) => c.name).join(', ')}\n(default: ${COLUMNS.filter((c) => c.default !== false).map((c) => c.name).join(', ')}).\n`,
      run: list,
    },
    {
      name: 'show',
      summary: 'show devices in detail',
      usage: `Usage: ${PROGRAM} [OPTION]... device show [IFNAME]\nShows a device (or every one) field by field: ${SHOW_COLUMNS.map((c) => c.name).join(', ')}.\n`,
      run: show,
    },
    {
      name: 'reapply',
      summary: 'apply profile changes to what runs on a device',
      usage: `Usage: ${PROGRAM} [OPTION]... device reapply IFNAME\nApplies the changes made to the active connection's profile since it was activated (or last reapplied) to the device, without taking its link down. Exit 6 when it failed, 10 when the device does not exist.\n`,
      run: reapply,
    },
    {
      name: 'disconnect',
      summary: 'end what runs on devices',
      usage: `Usage: ${PROGRAM} [OPTION]... device disconnect IFNAME...\nDeactivates the connection active on each device. Exit 6 when one failed, 10 when a device does not exist.\n`,
      run: perDevice('Disconnect', ExitCode.DisconnectFailed, 'disconnected', 'Disconnecting'),
    },
    {
      name: 'delete',
      summary: 'delete software devices',
      usage: `Usage: ${PROGRAM} [OPTION]... device delete IFNAME...\nDeletes software links (veth, bridge, macvlan, vxlan…). Exit 7 when one failed, 10 when a device does not exist.\n`,
      run: perDevice('Delete', ExitCode.DeleteFailed, 'removed', 'Deleting'),
    },
    {
      name: 'set',
      summary: 'set managed and autoconnect',
      usage: `Usage: ${PROGRAM} [OPTION]... device set IFNAME [managed yes|no] [autoconnect yes|no]\nSets whether netauditd manages the device and may autoconnect on it.\n`,
      run: set,
    },
  ],
});
