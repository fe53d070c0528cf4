// Bursts of kernel changes made by others, as records (docs/external-changes.md). One request
// can make the kernel announce many changes: deleting a link takes its addresses, its routes,
// a veth's peer and a bridge's ports with it; creating a veth makes two links. Changes are
// grouped by what asked for them — the sender's port id and sequence number when the kernel
// names them, else the link they are on, a veth pair or a bridge with its ports counting as
// one — and each group becomes as few records as say what happened. Pure.
import type { AuditOp, AuditValues } from '../audit/record.js';
import { addressValues, linkValues, routeValues, ruleValues } from '../platform/kernel-values.js';
import type { KernelChange, Link } from '../platform/platform.js';
import { changedLinkFields } from '../platform/change-sender.js';

/** One record's worth of a group. */
export interface ChangeRecord {
  readonly op: Extract<AuditOp, 'link-add' | 'link-delete' | 'link-change' | 'address-add' | 'address-delete' | 'route-add' | 'route-delete' | 'rule-add' | 'rule-delete'>;
  readonly ifindex?: number;
  readonly iface?: string;
  readonly before?: AuditValues;
  readonly after?: AuditValues;
}

/**
 * The group a change belongs to: its request when the kernel names it, else its link (with its
 * peer or bridge). `root` gives a link's group: a veth's two ends share one (pairRoot()).
 */
export function groupKey(c: KernelChange, root: (ifindex: number) => number): string {
  if (c.sender.kind === 'portid') return `p:${c.sender.portid}:${c.sender.seq}`;
  const prefix = c.sender.kind === 'relist' ? 'r' : 'l';
  switch (c.object) {
    case 'link': {
      const link = (c.after ?? c.before)!;
      // A port set free or taken by a bridge belongs with the bridge's own change.
      if (c.action === 'change' && c.before!.master !== c.after!.master) return `${prefix}:${c.before!.master ?? c.after!.master}`;
      return `${prefix}:${pairRoot(link)}`;
    }
    case 'address':
      return `${prefix}:${root(c.address.ifindex)}`;
    case 'route':
      return `${prefix}:${root(c.route.ifindex)}`;
    case 'rule':
      return `${prefix}:rule`;
  }
}

/** A veth pair's two ends share a group: the lower of the two ifindexes. */
export function pairRoot(link: Link): number {
  return link.kind === 'veth' && link.parent !== undefined ? Math.min(link.ifindex, link.parent) : link.ifindex;
}

const ifnameOf = (names: ReadonlyMap<number, string>, ifindex: number, known: (i: number) => string | undefined): string =>
  names.get(ifindex) ?? known(ifindex) ?? String(ifindex);

/**
 * The records of one group, in the order their first change came. `name` gives the name of a
 * link that still exists (for an address or route on it, or a master).
 */
export function groupRecords(changes: readonly KernelChange[], name: (ifindex: number) => string | undefined): ChangeRecord[] {
  // The names links had in this group, gone ones included.
  const names = new Map<number, string>();
  for (const c of changes) if (c.object === 'link') names.set((c.before ?? c.after)!.ifindex, (c.before ?? c.after)!.name);
  const linkName = (i: number): string => ifnameOf(names, i, name);
  const deleted = changes.filter((c): c is Extract<KernelChange, { object: 'link' }> => c.object === 'link' && c.action === 'delete');
  const added = changes.filter((c): c is Extract<KernelChange, { object: 'link' }> => c.object === 'link' && c.action === 'add');
  const goneIfindexes = new Set(deleted.map((c) => c.before!.ifindex));
  const newIfindexes = new Set(added.map((c) => c.after!.ifindex));
  const out: ChangeRecord[] = [];

  if (deleted.length > 0) {
    const [first, ...others] = deleted.map((c) => c.before!);
    const on = (i: number): boolean => goneIfindexes.has(i);
    const addresses = changes.filter((c) => c.object === 'address' && c.action === 'delete' && on(c.address.ifindex)).map((c) => (c.object === 'address' ? `${c.address.address}/${c.address.prefix}` : ''));
    const routes = changes.filter((c) => c.object === 'route' && c.action === 'delete' && on(c.route.ifindex)).map((c) => (c.object === 'route' ? routeText(c.route.dest, c.route.prefix, c.route.gateway) : ''));
    const ports = changes
      .filter((c) => c.object === 'link' && c.action === 'change' && c.before!.master !== null && on(c.before!.master) && !on(c.before!.ifindex))
      .map((c) => (c.object === 'link' ? c.before!.name : ''));
    out.push({
      op: 'link-delete',
      ifindex: first!.ifindex,
      iface: first!.name,
      before: {
        ...linkValues(first!, linkName),
        ...(others.length > 0 ? { 'deleted-with': others.map((l) => l.name) } : {}),
        ...(ports.length > 0 ? { ports } : {}),
        ...(addresses.length > 0 ? { addresses } : {}),
        ...(routes.length > 0 ? { routes } : {}),
      },
    });
  }
  if (added.length > 0) {
    const [first, ...others] = added.map((c) => c.after!);
    out.push({
      op: 'link-add',
      ifindex: first!.ifindex,
      iface: first!.name,
      after: { ...linkValues(first!, linkName), ...(others.length > 0 ? { 'added-with': others.map((l) => l.name) } : {}) },
    });
  }
  // What is left: link changes merged per link, each address, route and rule change on its own.
  const linkChanges = new Map<number, { before: Link; after: Link }>();
  for (const c of changes) {
    if (c.object === 'link') {
      if (c.action !== 'change') continue;
      const link = c.after!;
      // A deleted link's ports set free, and changes of links made or deleted in the group, are told there.
      if (goneIfindexes.has(link.ifindex) || newIfindexes.has(link.ifindex)) continue;
      if (c.before!.master !== null && goneIfindexes.has(c.before!.master)) continue;
      const known = linkChanges.get(link.ifindex);
      if (known) known.after = link;
      else {
        linkChanges.set(link.ifindex, { before: c.before!, after: link });
        out.push({ op: 'link-change', ifindex: link.ifindex });
      }
      continue;
    }
    if (c.object === 'address') {
      if (goneIfindexes.has(c.address.ifindex) || newIfindexes.has(c.address.ifindex)) continue;
      const values = addressValues(c.address, linkName(c.address.ifindex));
      out.push({ op: c.action === 'add' ? 'address-add' : 'address-delete', ifindex: c.address.ifindex, iface: linkName(c.address.ifindex), ...(c.action === 'add' ? { after: values } : { before: values }) });
    } else if (c.object === 'route') {
      if (goneIfindexes.has(c.route.ifindex) || newIfindexes.has(c.route.ifindex)) continue;
      const values = routeValues(c.route, linkName(c.route.ifindex));
      out.push({ op: c.action === 'add' ? 'route-add' : 'route-delete', ifindex: c.route.ifindex, iface: linkName(c.route.ifindex), ...(c.action === 'add' ? { after: values } : { before: values }) });
    } else {
      const values = ruleValues(c.rule);
      out.push({ op: c.action === 'add' ? 'rule-add' : 'rule-delete', ...(c.action === 'add' ? { after: values } : { before: values }) });
    }
  }
  return oneRequest(changes, out)
    .map((r) => {
      if (r.op !== 'link-change') return r;
      const { before, after } = linkChanges.get(r.ifindex!)!;
      const fields = changedLinkFields(before, after);
      if (fields.length === 0) return null;
      const b = linkValues(before, linkName);
      const a = linkValues(after, linkName);
      // Only what changed, named as ip -j names it, with the link's names to find it by.
      const keys = new Set(fields.map((f) => ({ name: 'ifname', mtu: 'mtu', hwAddress: 'address', up: 'flags', master: 'master', bridge: 'bridge', port: 'bridge_slave' })[f]));
      const pick = (v: AuditValues): AuditValues => Object.fromEntries(Object.entries(v).filter(([k]) => keys.has(k) || k === 'ifname' || k === 'ifindex'));
      // What a field had on one side only is null on the other (a port set free has no master, and no port options).
      const gone = (v: AuditValues): AuditValues => Object.fromEntries([...keys].filter((k) => !(k in v)).map((k) => [k, null]));
      return { ...r, iface: after.name, before: { ...pick(b), ...gone(b) }, after: { ...pick(a), ...gone(a) } };
    })
    .filter((r): r is ChangeRecord => r !== null);
}

function routeText(dest: string, prefix: number, gateway: string | null): string {
  return `${prefix === 0 ? 'default' : `${dest}/${prefix}`}${gateway !== null ? ` via ${gateway}` : ''}`;
}

/**
 * Records of one request told as one: deleting a primary address deletes its secondaries with
 * it (one `address-delete`, the others in `deleted-with`). Other groups are left as they are.
 */
function oneRequest(changes: readonly KernelChange[], records: ChangeRecord[]): ChangeRecord[] {
  const first = changes[0]?.sender;
  const single = first?.kind === 'portid' && changes.every((c) => c.sender.kind === 'portid' && c.sender.portid === first.portid && c.sender.seq === first.seq);
  if (!single) return records;
  const deletes = records.filter((r) => r.op === 'address-delete');
  if (deletes.length < 2) return records;
  const [main, ...others] = deletes;
  const merged: ChangeRecord = { ...main!, before: { ...main!.before, 'deleted-with': others.map((r) => `${String(r.before!['local'])}/${String(r.before!['prefixlen'])}`) } };
  return records.filter((r) => !others.includes(r)).map((r) => (r === main ? merged : r));
}
