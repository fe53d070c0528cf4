// Undo steps: what an activation changed, as data, each with its inverse in
// one place. Data rather than closures so that an active connection's undo
// list can be kept in run-dir and taken up again by the next daemon after a
// restart (docs/active-state.md): `connection down` then removes exactly
// what the activation added, whichever daemon added it.
import { writeFile } from 'node:fs/promises';
import {
  KernelRefusal,
  type Address,
  type BridgeOptions,
  type BridgePortOptions,
  type LinkChange,
  type Platform,
  type Route,
  type Rule,
} from '../platform/platform.js';

export type UndoStep =
  /** a link the activation created: deleted */
  | { readonly kind: 'delete-link'; readonly ifindex: number; readonly name: string }
  /** link settings the activation changed: set back to these values */
  | { readonly kind: 'restore-link'; readonly ifindex: number; readonly change: LinkChange }
  /** a sysctl the activation wrote: written back (`ifindex`: the link it is of, when it is a link's) */
  | { readonly kind: 'restore-sysctl'; readonly path: string; readonly value: string; readonly ifindex?: number }
  /** an address the activation added: removed */
  | { readonly kind: 'remove-address'; readonly address: Address }
  /** a route the activation added: removed */
  | { readonly kind: 'remove-route'; readonly route: Route }
  /** bridge options the activation changed on a bridge it did not create: set back to these values */
  | { readonly kind: 'restore-bridge'; readonly ifindex: number; readonly options: Partial<BridgeOptions> }
  /** bridge port options the activation changed: set back to these values */
  | { readonly kind: 'restore-bridge-port'; readonly ifindex: number; readonly options: Partial<BridgePortOptions> }
  /** a routing rule the activation added: removed */
  | { readonly kind: 'remove-rule'; readonly rule: Rule };

export function routeText(route: Route): string {
  return `${route.dest}/${route.prefix}${route.gateway ? ` via ${route.gateway}` : ''} metric ${route.metric}${route.table !== undefined && route.table !== 254 ? ` table ${route.table}` : ''}`;
}

export function ruleText(rule: Rule): string {
  return `priority ${rule.priority}${rule.invert ? ' not' : ''} from ${rule.from === null ? 'all' : `${rule.from}/${rule.fromLen}`}${rule.to === null ? '' : ` to ${rule.to}/${rule.toLen}`} table ${rule.table}`;
}

function changeText(change: LinkChange | Partial<BridgeOptions> | Partial<BridgePortOptions>): string {
  return Object.entries(change)
    .map(([k, v]) => `${k} ${String(v)}`)
    .join(', ');
}

/** What taking the step back does, for the log. */
export function describeUndo(step: UndoStep): string {
  switch (step.kind) {
    case 'delete-link':
      return `delete the link ${step.name}`;
    case 'restore-link':
      return `restore ${changeText(step.change)}`;
    case 'restore-sysctl':
      return `restore ${step.path} ${step.value}`;
    case 'remove-address':
      return `remove the address ${step.address.address}/${step.address.prefix}`;
    case 'remove-route':
      return `remove the route ${routeText(step.route)}`;
    case 'restore-bridge':
      return `restore the bridge options ${changeText(step.options)}`;
    case 'restore-bridge-port':
      return `restore the bridge port options ${changeText(step.options)}`;
    case 'remove-rule':
      return `remove the rule ${ruleText(step.rule)}`;
  }
}

/** Takes the step back. */
export function runUndo(step: UndoStep, platform: Platform): Promise<void> {
  switch (step.kind) {
    case 'delete-link':
      return platform.deleteLink(step.ifindex);
    case 'restore-link':
      return platform.setLink(step.ifindex, step.change);
    case 'restore-sysctl':
      // What the kernel does on the link because of it (addresses flushed with IPv6 off) is the daemon's own.
      return step.ifindex !== undefined ? platform.ownChange(step.ifindex, () => writeFile(step.path, step.value)) : writeFile(step.path, step.value);
    case 'remove-address':
      return platform.deleteAddress(step.address);
    case 'remove-route':
      return platform.deleteRoute(step.route);
    case 'restore-bridge':
      return platform.setBridgeOptions(step.ifindex, step.options);
    case 'restore-bridge-port':
      return platform.setBridgePortOptions(step.ifindex, step.options);
    case 'remove-rule':
      return platform.deleteRule(step.rule);
  }
}

/** Kernel refusals that mean "it is gone already" when taking a change back. */
const GONE = new Set(['ENODEV', 'EADDRNOTAVAIL', 'ESRCH', 'ENOENT', 'ENXIO']);

/** True when taking a change back failed only because what it would remove is gone already. */
export function isGone(e: unknown): boolean {
  return (e instanceof KernelRefusal && GONE.has(e.code)) || (e as NodeJS.ErrnoException).code === 'ENOENT';
}

/**
 * Runs `undo` backwards, emptying it step by step (`saved` is told after
 * each, so a daemon that dies half way leaves only what is still to do). A
 * change already gone (the link removed, the address gone) is fine; any
 * other failure is reported through `warn` and the rest still runs.
 */
export async function takeBackSteps(
  undo: UndoStep[],
  platform: Platform,
  warn: (what: string, message: string) => void,
  saved: () => void = () => undefined,
): Promise<void> {
  while (undo.length > 0) {
    const step = undo[undo.length - 1]!;
    try {
      await runUndo(step, platform);
    } catch (e) {
      if (!isGone(e)) warn(describeUndo(step), (e as Error).message);
    }
    undo.pop();
    saved();
  }
}
