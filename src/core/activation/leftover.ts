// Leftovers: an active connection the last daemon left running, compared
// with the kernel as the next daemon finds it (docs/active-state.md). Pure:
// it says what others changed while no daemon was watching, one difference
// per object, and which of the connection's undo steps still stand. What
// others changed is theirs: a step whose object is gone or was changed is
// dropped, so that `connection down` never undoes someone else's change.
import type { AuditOp, AuditValues } from '../audit/record.js';
import { RTPROT_KERNEL, type Address, type KernelRoute, type Link } from '../platform/platform.js';
import type { SavedActive } from './active-store.js';
import type { UndoStep } from './undo.js';
import { addressKey, routeKey } from './reapply-diff.js';
import { addressValues, routeValues } from '../platform/kernel-values.js';

export interface Difference {
  readonly op: Extract<AuditOp, 'link-delete' | 'link-change' | 'address-add' | 'address-delete' | 'route-add' | 'route-delete'>;
  readonly before?: AuditValues;
  readonly after?: AuditValues;
}

export interface LeftoverCheck {
  /** the link it ran on is gone (or is another link now) */
  readonly linkGone: boolean;
  readonly differences: readonly Difference[];
  /** the undo steps whose changes still stand as the activation made them */
  readonly undo: readonly UndoStep[];
}

const RTPROT_RA = 9;

/** Addresses that are nobody's change: the kernel's own IPv6 link-local ones. */
export function countedAddress(a: Address): boolean {
  return !(a.family === 6 && /^fe[89ab]/i.test(a.address));
}

/** Routes that are somebody's change: not the kernel's own (prefix routes, link-local, multicast) nor router advertisements'. */
export function countedRoute(r: KernelRoute): boolean {
  if (r.protocol === RTPROT_KERNEL || r.protocol === RTPROT_RA) return false;
  return !(r.family === 6 && /^f[ef]/i.test(r.dest) && r.prefix > 0);
}

const sameAddress = (a: Address, b: Address): boolean => a.ifindex === b.ifindex && addressKey(a) === addressKey(b);

const sameRoute = (a: KernelRoute | UndoRoute, b: KernelRoute | UndoRoute): boolean => a.ifindex === b.ifindex && routeKey(a) === routeKey(b);

type UndoRoute = Extract<UndoStep, { kind: 'remove-route' }>['route'] & { readonly table?: number };

export function checkLeftover(saved: SavedActive, link: Link | undefined, addresses: readonly Address[], routes: readonly KernelRoute[]): LeftoverCheck {
  const ifname = saved.iface;
  if (!link || link.name !== saved.iface) {
    const before = { ifindex: saved.ifindex, ifname };
    // A renamed link is no longer the profile's to run on, but what the activation put on it is still
    // there to take back (each step tolerates what is gone).
    return link
      ? { linkGone: true, differences: [{ op: 'link-change', before, after: { ifindex: link.ifindex, ifname: link.name } }], undo: [...saved.undo] }
      : { linkGone: true, differences: [{ op: 'link-delete', before }], undo: [] };
  }
  const ifindex = link.ifindex;
  const differences: Difference[] = [];
  const undo: UndoStep[] = [];
  const onLink = addresses.filter((a) => a.ifindex === ifindex && countedAddress(a));
  const routesOnLink = routes.filter((r) => r.ifindex === ifindex && countedRoute(r));
  for (const step of saved.undo) {
    switch (step.kind) {
      case 'remove-address':
        if (onLink.some((a) => sameAddress(a, step.address))) undo.push(step);
        else differences.push({ op: 'address-delete', before: addressValues(step.address, ifname) });
        break;
      case 'remove-route':
        if (routesOnLink.some((r) => sameRoute(r, step.route))) undo.push(step);
        else differences.push({ op: 'route-delete', before: routeValues(step.route, ifname) });
        break;
      case 'restore-link': {
        // The value the activation set is what the link had then; the step holds the one to go back to.
        const changed = changedLinkValue(step, link, saved);
        if (changed) differences.push(changed);
        else undo.push(step);
        break;
      }
      default:
        undo.push(step);
    }
  }
  if (saved.seen) {
    // What the connection itself added since `seen` was listed (a Reapply) is nobody else's change.
    const ours = (a: Address): boolean => saved.undo.some((u) => u.kind === 'remove-address' && sameAddress(u.address, a));
    const ourRoute = (r: KernelRoute): boolean => saved.undo.some((u) => u.kind === 'remove-route' && sameRoute(u.route, r));
    for (const a of onLink) {
      if (!ours(a) && !saved.seen.addresses.some((s) => sameAddress(s, a))) differences.push({ op: 'address-add', after: addressValues(a, ifname) });
    }
    for (const s of saved.seen.addresses) {
      if (!countedAddress(s) || onLink.some((a) => sameAddress(a, s))) continue;
      if (saved.undo.some((u) => u.kind === 'remove-address' && sameAddress(u.address, s))) continue; // reported above
      differences.push({ op: 'address-delete', before: addressValues(s, ifname) });
    }
    for (const r of routesOnLink) {
      if (!ourRoute(r) && !saved.seen.routes.some((s) => sameRoute(s, r))) differences.push({ op: 'route-add', after: routeValues(r, ifname) });
    }
    for (const s of saved.seen.routes) {
      if (!countedRoute(s) || routesOnLink.some((r) => sameRoute(r, s))) continue;
      if (saved.undo.some((u) => u.kind === 'remove-route' && sameRoute(u.route, s))) continue;
      differences.push({ op: 'route-delete', before: routeValues(s, ifname) });
    }
  }
  // Bringing the link down again would make the kernel drop what others added on it meanwhile: the link stays up.
  const othersAdded = differences.some((d) => d.op === 'address-add' || d.op === 'route-add');
  const kept = othersAdded ? undo.filter((u) => !(u.kind === 'restore-link' && u.change.up === false)) : undo;
  return { linkGone: false, differences, undo: kept };
}

/**
 * A link setting the activation changed that no longer has the value it
 * set: someone else's change (a link-change), or null when it stands. The
 * value set is kept in `saved.applied`; without it only `up` can be told.
 */
function changedLinkValue(step: Extract<UndoStep, { kind: 'restore-link' }>, link: Link, saved: SavedActive): Difference | null {
  const set = saved.applied ?? {};
  const before: Record<string, unknown> = {};
  const after: Record<string, unknown> = {};
  if (step.change.up === false && !link.up) {
    before.flags = ['UP'];
    after.flags = [];
  }
  if (step.change.mtu !== undefined && set.mtu !== undefined && link.mtu !== set.mtu) {
    before.mtu = set.mtu;
    after.mtu = link.mtu;
  }
  if (step.change.hwAddress !== undefined && set.hwAddress !== undefined && link.hwAddress !== set.hwAddress) {
    before.address = set.hwAddress;
    after.address = link.hwAddress;
  }
  if (step.change.master !== undefined && set.master !== undefined && link.master !== set.master) {
    before.master = set.master;
    after.master = link.master;
  }
  if (Object.keys(before).length === 0) return null;
  return { op: 'link-change', before: { ifname: link.name, ...before }, after: { ifname: link.name, ...after } };
}
