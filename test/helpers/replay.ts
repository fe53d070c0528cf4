// The trail's story of the active connections, replayed: each record in order, with the overturns
// applied (a `fail` record with a tx cancels the success of the same op and tx; one written at a
// restart names the boot of the record it overturns in `args`, see docs/active-state.md). The tests
// compare what it says with the kernel (`ip -j`) and the bus.
import type { TestClient } from './client.js';
import { ACTIVE_IFACE, activeConnections, ipAddrs } from './activation.js';

export type TrailRecord = Record<string, unknown>;

export interface ReplayedActive {
  readonly uuid: string;
  readonly name: string | undefined;
  iface: string | undefined;
  /** "a/p" addresses the trail says the connection applied and still has */
  addresses: Set<string>;
}

const ACTIVATING = new Set(['connection-activate', 'connection-add-activate']);
const ENDING = new Set(['connection-deactivate', 'device-disconnect']);

function overturnKey(r: TrailRecord, boot: unknown): string {
  return `${String(boot)}:${String(r.tx)}:${String(r.op)}`;
}

function appliedAddresses(after: unknown): string[] {
  const out: string[] = [];
  const a = after as { ipv4?: { addresses?: string[] }; ipv6?: { addresses?: string[] }; addresses?: Array<{ local: string; prefixlen: number }> } | undefined;
  for (const family of [a?.ipv4, a?.ipv6]) for (const text of family?.addresses ?? []) out.push(text);
  for (const item of a?.addresses ?? []) out.push(`${item.local}/${item.prefixlen}`);
  return out;
}

/** The active connections the trail's records say there are at their end, by uuid. */
export function replayActive(records: readonly TrailRecord[]): Map<string, ReplayedActive> {
  const overturned = new Set<string>();
  for (const r of records) {
    if (r.result !== 'fail' || r.tx === undefined) continue;
    overturned.add(overturnKey(r, r.cause === 'restart' && r.origin === 'daemon' ? r.args : r.boot));
  }
  const active = new Map<string, ReplayedActive>();
  for (const r of records) {
    if (r.result !== 'success') continue;
    if (r.tx !== undefined && overturned.has(overturnKey(r, r.boot))) continue;
    const uuid = r.uuid as string | undefined;
    if (ACTIVATING.has(r.op as string) || (r.op === 'connection-adopt' && r.args === 'adopted')) {
      if (!uuid) continue;
      const previous = active.get(uuid);
      active.set(uuid, { uuid, name: r.name as string | undefined, iface: (r.iface as string | undefined) ?? previous?.iface, addresses: new Set(appliedAddresses(r.after)) });
    } else if (ENDING.has(r.op as string) || (r.op === 'connection-adopt' && r.args === 'torn-down')) {
      if (uuid) active.delete(uuid);
    } else if (r.origin === 'external' && r.op === 'address-delete') {
      const before = r.before as { local?: string; prefixlen?: number } | undefined;
      for (const a of active.values()) if (a.iface === r.iface && before?.local) a.addresses.delete(`${before.local}/${before.prefixlen}`);
    }
  }
  return active;
}

/**
 * Checks that the kernel and the bus agree with the trail: the same connections active (by uuid, on
 * the same interface), and every address the trail says each applied on its link in namespace `ns`.
 * Returns the differences as sentences (empty when they agree).
 */
export async function disagreements(records: readonly TrailRecord[], client: TestClient, ns: string): Promise<string[]> {
  const story = replayActive(records);
  const problems: string[] = [];
  const onBus = new Map<string, string>();
  for (const path of await activeConnections(client)) {
    const props = await client.getAllProperties(path, ACTIVE_IFACE);
    onBus.set(props.Uuid as string, path);
  }
  for (const uuid of story.keys()) if (!onBus.has(uuid)) problems.push(`the trail says ${uuid} is active; the bus does not list it`);
  for (const uuid of onBus.keys()) if (!story.has(uuid)) problems.push(`the bus lists ${uuid} as active; the trail does not say so`);
  for (const a of story.values()) {
    if (!a.iface) continue;
    const kernel = await ipAddrs(ns, a.iface).catch(() => [] as string[]);
    for (const address of a.addresses) if (!kernel.includes(address)) problems.push(`the trail says ${address} is on ${a.iface} (${a.uuid}); the kernel does not have it`);
  }
  return problems;
}
