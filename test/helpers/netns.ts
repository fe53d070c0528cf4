// Network namespaces made for a test file, `ip` in them, and a daemon started inside one; the root namespace's links are never touched.
import { startBus } from './bus.js';
import { connect } from './client.js';
import { startDaemon, type DaemonOptions } from './daemon.js';
import { run } from './exec.js';
import type { DaemonHarness } from './use-daemon.js';

export interface IpLink {
  ifindex: number;
  ifname: string;
  address: string;
  mtu: number;
  flags: string[];
}

/** `ip ARGS…`, failing the test with ip's message when it fails. */
export async function ip(...args: string[]): Promise<string> {
  const r = await run('ip', args);
  if (r.code !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Makes the namespaces `names` afresh, deleting first any that a killed run left behind. */
export async function createNetns(...names: string[]): Promise<void> {
  await deleteNetns(...names);
  for (const name of names) await ip('netns', 'add', name);
}

/** Deletes the namespaces `names`, those that are missing too, and the links in them with them. */
export async function deleteNetns(...names: string[]): Promise<void> {
  for (const name of names) await run('ip', ['netns', 'del', name]);
}

/** The links of namespace `ns`, as `ip -j link` shows them. */
export async function listLinks(ns: string): Promise<IpLink[]> {
  return JSON.parse(await ip('-n', ns, '-j', 'link')) as IpLink[];
}

export async function linkNames(ns: string): Promise<string[]> {
  return (await listLinks(ns)).map((l) => l.ifname);
}

/** The link `name` of namespace `ns`; fails when there is none. */
export async function link(ns: string, name: string): Promise<IpLink> {
  const [found] = JSON.parse(await ip('-n', ns, '-j', 'link', 'show', 'dev', name)) as IpLink[];
  return found!;
}

export async function ifindexOf(ns: string, name: string): Promise<number> {
  return (await link(ns, name)).ifindex;
}

/** A bus, a daemon on it running in namespace `ns` (with `options`), and a root client; stopping the bus stops the daemon. */
export async function startDaemonInNetns(ns: string, options: Omit<DaemonOptions, 'netns'> = {}): Promise<DaemonHarness> {
  const bus = await startBus();
  try {
    const daemon = await startDaemon(bus, { ...options, netns: ns });
    const client = await connect(bus.address);
    return { bus, daemon, client };
  } catch (e) {
    // A daemon that did not start must not leave its bus behind.
    await bus.stop();
    throw e;
  }
}

/** Closes the client, stops the bus and the daemon with it, then deletes the namespaces `names`. */
export async function stopDaemonInNetns({ bus, client }: Partial<DaemonHarness>, ...names: string[]): Promise<void> {
  client?.close();
  await bus?.stop();
  await deleteNetns(...names);
}
