// The daemon's view of a running connection follows what others change on its link
// (docs/external-changes.md). What others removed is no longer the connection's to take back,
// and what they changed is theirs: deactivation must not undo someone else's change, as the
// next daemon's leftover check does not (leftover.ts). Nothing is re-applied: that is an
// administrator's Reapply. Pure: it edits the undo list and says what drifted.
import { changedLinkFields, type LinkField } from '../platform/change-sender.js';
import type { KernelChange } from '../platform/platform.js';
import type { ActiveConnection } from './active-connection.js';
import { addressKey, routeKey } from './reapply-diff.js';
import { routeText } from './undo.js';

/** The link a change is on, for a link, address or route change; null for a rule. */
export function changeIfindex(c: KernelChange): number | null {
  if (c.object === 'link') return (c.after ?? c.before)!.ifindex;
  if (c.object === 'address') return c.address.ifindex;
  if (c.object === 'route') return c.route.ifindex;
  return null;
}

/**
 * Follows a change others made on the link of `active`: the undo step of what they removed or
 * changed goes. Returns what drifted, for the log, or null when the change touches nothing the
 * connection applied.
 */
export function followExternalChange(active: ActiveConnection, c: KernelChange): string | null {
  const undo = active.undo;
  if (c.object === 'address' && c.action === 'delete') {
    const at = undo.findIndex((u) => u.kind === 'remove-address' && u.address.ifindex === c.address.ifindex && addressKey(u.address) === addressKey(c.address));
    if (at < 0) return null;
    undo.splice(at, 1);
    return `the address ${c.address.address}/${c.address.prefix} it applied was removed by others`;
  }
  if (c.object === 'route' && c.action === 'delete') {
    const at = undo.findIndex((u) => u.kind === 'remove-route' && u.route.ifindex === c.route.ifindex && routeKey(u.route) === routeKey(c.route));
    if (at < 0) return null;
    undo.splice(at, 1);
    return `the route ${routeText(c.route)} it applied was removed by others`;
  }
  if (c.object === 'address' || c.object === 'route') return `${c.object === 'address' ? `the address ${c.address.address}/${c.address.prefix}` : `the route ${routeText(c.route)}`} was added by others`;
  if (c.object === 'link' && c.action === 'change') {
    const fields = changedLinkFields(c.before!, c.after!);
    // A setting the activation changed that others changed again is theirs now: not restored at deactivation.
    for (let i = undo.length - 1; i >= 0; i--) {
      const u = undo[i]!;
      if (u.kind !== 'restore-link' || u.ifindex !== c.after!.ifindex) continue;
      const kept = Object.fromEntries(Object.entries(u.change).filter(([k]) => !fields.includes(k as LinkField)));
      if (Object.keys(kept).length === Object.keys(u.change).length) continue;
      if (Object.keys(kept).length === 0) undo.splice(i, 1);
      else undo.splice(i, 1, { ...u, change: kept });
    }
    // Bridge or port options others changed again are theirs too.
    for (const [field, kind] of [['bridge', 'restore-bridge'], ['port', 'restore-bridge-port']] as const) {
      if (!fields.includes(field)) continue;
      const before = (c.before![field] ?? {}) as Record<string, unknown>;
      const after = (c.after![field] ?? {}) as Record<string, unknown>;
      const changed = Object.keys({ ...before, ...after }).filter((k) => before[k] !== after[k]);
      for (let i = undo.length - 1; i >= 0; i--) {
        const u = undo[i]!;
        if (u.kind !== kind || u.ifindex !== c.after!.ifindex) continue;
        const kept = Object.fromEntries(Object.entries(u.options).filter(([k]) => !changed.includes(k)));
        if (Object.keys(kept).length === 0) undo.splice(i, 1);
        else undo.splice(i, 1, { ...u, options: kept });
      }
    }
    const text = (v: unknown): string => (typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v));
    const what = fields.map((f) => (f === 'up' ? (c.after!.up ? 'brought up' : 'taken down') : `${f === 'hwAddress' ? 'address' : f} ${text(c.before![f])} → ${text(c.after![f])}`));
    return `the link was changed by others: ${what.join(', ')}`;
  }
  return null;
}
