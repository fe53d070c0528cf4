// Activation for tests (docs/api.md, Manager.ActivateConnection and Connection.Active): profiles that
// activate on links of a test namespace, the calls, the Active objects' signals, and the kernel's
// state of a link as `ip -j` shows it (addresses, routes, details, sysctls).
import { variant, type TestClient } from './client.js';
import { run } from './exec.js';
import { ip } from './netns.js';
import { MANAGER, MANAGER_IFACE, SETTINGS, SETTINGS_IFACE } from './profiles.js';

export const ACTIVE_IFACE = 'org.netaudit1.Connection.Active';
export const ACTIVE_PREFIX = '/org/netaudit1/ActiveConnection/';
export const ACTIVE_PATH = /^\/org\/netaudit1\/ActiveConnection\/[1-9][0-9]*$/;

type Dict = Record<string, Record<string, unknown>>;

/** Options of `profile`: what the tests vary; anything else goes in `extra`, merged per setting. */
export interface ProfileOptions {
  /** connection.interface-name; omitted when null */
  ifname?: string | null;
  /** connection.autoconnect; false unless said (Enable(true) and Sleep(false) autoconnect the others) */
  autoconnect?: boolean;
  /** ipv4 as a whole; default method disabled */
  ipv4?: Record<string, unknown> | null;
  /** ipv6 as a whole; default method ignore */
  ipv6?: Record<string, unknown> | null;
  extra?: Dict;
}

/** A profile dictionary (a{sa{sv}}) of connection.type `type`; every test profile sets both IP methods (no DHCP). */
export function profile(id: string, type: string, options: ProfileOptions = {}): Dict {
  const { ifname = null, autoconnect = false, ipv4 = { method: variant('s', 'disabled') }, ipv6 = { method: variant('s', 'ignore') }, extra = {} } = options;
  const dict: Dict = {
    connection: {
      id: variant('s', id),
      type: variant('s', type),
      autoconnect: variant('b', autoconnect),
      ...(ifname === null ? {} : { 'interface-name': variant('s', ifname) }),
    },
  };
  if (ipv4 !== null) dict.ipv4 = ipv4;
  if (ipv6 !== null) dict.ipv6 = ipv6;
  for (const [setting, props] of Object.entries(extra)) dict[setting] = { ...(dict[setting] ?? {}), ...props };
  return dict;
}

/** ipvX manual with addresses "a/p", and optionally a gateway and route-data routes. */
export function manual(addresses: string[], options: { gateway?: string; routes?: Array<{ dest: string; prefix: number; nextHop?: string; metric?: number }> } = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {
    method: variant('s', 'manual'),
    'address-data': variant('aa{sv}', addresses.map((a) => {
      const [address, prefix] = a.split('/');
      return { address: variant('s', address), prefix: variant('u', Number(prefix)) };
    })),
  };
  if (options.gateway !== undefined) out.gateway = variant('s', options.gateway);
  if (options.routes !== undefined) {
    out['route-data'] = variant('aa{sv}', options.routes.map((r) => ({
      dest: variant('s', r.dest),
      prefix: variant('u', r.prefix),
      ...(r.nextHop !== undefined ? { 'next-hop': variant('s', r.nextHop) } : {}),
      ...(r.metric !== undefined ? { metric: variant('u', r.metric) } : {}),
    })));
  }
  return out;
}

export const method = (m: string): Record<string, unknown> => ({ method: variant('s', m) });

/** AddConnection: the new profile's path. */
export async function addProfile(client: TestClient, dict: Dict): Promise<string> {
  const [path] = await client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [dict]);
  return path as string;
}

export async function listConnections(client: TestClient): Promise<string[]> {
  const [paths] = (await client.call(SETTINGS, SETTINGS_IFACE, 'ListConnections')) as [string[]];
  return paths;
}

/** ActivateConnection(connection, device, "/"): the Active object's path. `device` "/" lets the profile name it. */
export async function activate(client: TestClient, connection: string, device = '/'): Promise<string> {
  const [active] = await client.call(MANAGER, MANAGER_IFACE, 'ActivateConnection', 'ooo', [connection, device, '/']);
  return active as string;
}

export async function deactivate(client: TestClient, active: string): Promise<void> {
  await client.call(MANAGER, MANAGER_IFACE, 'DeactivateConnection', 'o', [active]);
}

export async function activeConnections(client: TestClient): Promise<string[]> {
  return (await client.getProperty(MANAGER, MANAGER_IFACE, 'ActiveConnections')) as string[];
}

/** Every Connection.Active StateChanged (any path) as [path, state, reason], from subscription to `off()`. */
export async function watchActiveStates(client: TestClient): Promise<{ seen: Array<[string, number, number]>; statesOf: (path: string) => number[]; off: () => Promise<void> }> {
  const seen: Array<[string, number, number]> = [];
  const off = await client.onSignal(null, ACTIVE_IFACE, 'StateChanged', (body, msg) => {
    seen.push([msg.path!, body[0] as number, body[1] as number]);
  });
  return { seen, statesOf: (path) => seen.filter(([p]) => p === path).map(([, s]) => s), off };
}

/** Every signal `member` of `iface` on `path`, bodies in order, from subscription to `off()`. */
export async function watchSignals(client: TestClient, path: string, iface: string, member: string): Promise<{ seen: unknown[][]; off: () => Promise<void> }> {
  const seen: unknown[][] = [];
  const off = await client.onSignal(path, iface, member, (body) => seen.push(body));
  return { seen, off };
}

export interface IpAddr {
  family: 'inet' | 'inet6';
  local: string;
  prefixlen: number;
}

/** The addresses of link `dev` of namespace `ns` as "a/p" (IPv6 link-local fe80:: left out). */
export async function ipAddrs(ns: string, dev: string): Promise<string[]> {
  const [entry] = JSON.parse(await ip('-n', ns, '-j', 'addr', 'show', 'dev', dev)) as Array<{ addr_info: IpAddr[] }>;
  return (entry?.addr_info ?? []).filter((a) => !a.local.startsWith('fe80:')).map((a) => `${a.local}/${a.prefixlen}`);
}

export interface IpRoute {
  dst: string;
  gateway?: string;
  dev: string;
  metric?: number;
  protocol?: string;
}

/** The main table's routes of namespace `ns` (`family` 6: `ip -6 route`), IPv6 link-local and multicast left out. */
export async function ipRoutes(ns: string, family: 4 | 6 = 4): Promise<IpRoute[]> {
  const routes = JSON.parse(await ip('-n', ns, '-j', `-${family}`, 'route')) as IpRoute[];
  return routes.filter((r) => !r.dst.startsWith('fe80:') && !r.dst.startsWith('ff00:') && !r.dst.startsWith('multicast'));
}

/** `ip -d -j link show dev` of `dev`: link, master, linkinfo.info_kind and info_data as ip names them. */
export async function linkDetails(ns: string, dev: string): Promise<Record<string, unknown> & { flags: string[]; mtu: number; address: string; ifindex: number; master?: string; link?: string; linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> } }> {
  const [found] = JSON.parse(await ip('-n', ns, '-d', '-j', 'link', 'show', 'dev', dev)) as Array<never>;
  return found;
}

/** The value of /proc/sys/net/ipv6/conf/DEV/disable_ipv6 in namespace `ns`. */
export async function disableIpv6(ns: string, dev: string): Promise<string> {
  const r = await run('ip', ['netns', 'exec', ns, 'cat', `/proc/sys/net/ipv6/conf/${dev}/disable_ipv6`]);
  if (r.code !== 0) throw new Error(`disable_ipv6 of ${dev} in ${ns}: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

/**
 * True when this kernel can make a link of `kind` (`ip link add x type KIND`, with `args`), tried in
 * a scratch namespace made and deleted here: dummy and 8021q (vlan) are modules some kernels lack.
 */
export async function kernelHasLinkKind(kind: string, args: string[] = []): Promise<boolean> {
  const ns = `na-kind-${process.pid}-${kind}`;
  await run('ip', ['netns', 'del', ns]);
  await ip('netns', 'add', ns);
  try {
    if (kind === 'vlan') {
      await ip('-n', ns, 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1');
      return (await run('ip', ['-n', ns, 'link', 'add', 'link', 'p0', 'name', 'x0', 'type', 'vlan', 'id', '10', ...args])).code === 0;
    }
    return (await run('ip', ['-n', ns, 'link', 'add', 'x0', 'type', kind, ...args])).code === 0;
  } finally {
    await run('ip', ['netns', 'del', ns]);
  }
}

/** An error message as the tests want it: one line, with no stack trace in it. */
export function isOneLineMessage(text: string): boolean {
  return text.length > 0 && !text.includes('\n') && !/\bat \S+ \(|\.(?:js|ts):\d+:\d+/.test(text);
}
