// ObjectTree: the objects the daemon exports, described as data — each
// interface's methods (with their signatures, the row of
// src/core/operations.ts of changing ones and a handler into the core), properties and signals — so one dispatcher
// and one introspection writer serve them all.
import type { CallerRef } from '../core/caller.js';
import type { OperationKey } from '../core/operations.js';

export interface CallContext {
  readonly caller: CallerRef;
  readonly path: string;
}

export interface MethodSpec {
  readonly name: string;
  /** input arguments: [name, signature] */
  readonly in: ReadonlyArray<readonly [string, string]>;
  readonly out: ReadonlyArray<readonly [string, string]>;
  /** a changing method's row of OPERATIONS (its op and actions): a malformed call is still an attempt */
  readonly operation?: OperationKey;
  readonly handler: (ctx: CallContext, args: unknown[]) => Promise<unknown[]>;
}

export interface PropertySpec {
  readonly name: string;
  readonly signature: string;
  /** the current value in dbus-next's wire form */
  readonly get: () => unknown;
  /**
   * 'invalidates': PropertiesChanged names the property without its value
   * (for lists that grow with the objects: sending the whole list on every
   * change would cost time in proportion to their number).
   */
  readonly emitsChanged?: 'invalidates';
  /**
   * A writable property: its row of OPERATIONS (the audit op and actions of
   * a write), declared beside it, and
   * the core operation that authorizes, checks the value's type (`signature`
   * is the variant's, whatever the caller chose), re-checks that the object
   * exists, sets and records (NetworkManager's
   * nm_manager_dbus_set_property_handle). Without it the property is
   * read-only and a write is refused unrecorded.
   */
  readonly set?: {
    readonly operation: OperationKey;
    readonly handler: (ctx: CallContext, value: unknown, signature: string) => Promise<void>;
  };
}

export interface SignalSpec {
  readonly name: string;
  readonly args: ReadonlyArray<readonly [string, string]>;
}

export interface InterfaceSpec {
  readonly name: string;
  readonly methods: readonly MethodSpec[];
  readonly properties: readonly PropertySpec[];
  readonly signals: readonly SignalSpec[];
}

export interface BusObject {
  readonly path: string;
  readonly interfaces: readonly InterfaceSpec[];
}

/** The number a path of a family names: PREFIX + N → N; -1 for anything else. */
export function objectNumber(path: string, prefix: string): number {
  const rest = path.startsWith(prefix) ? path.slice(prefix.length) : '';
  return /^[1-9][0-9]{0,9}$/.test(rest) ? Number(rest) : -1;
}

export function signatureOf(args: ReadonlyArray<readonly [string, string]>): string {
  return args.map(([, s]) => s).join('');
}

export interface ObjectFamily {
  resolve(n: number): BusObject | undefined;
  list(): number[];
  /** the interfaces a vanished member still answers with (its methods refuse in the core) */
  readonly fallback: readonly InterfaceSpec[];
}

/**
 * Exact paths plus families of numbered paths (`/org/netaudit1/Settings/N`)
 * resolved on demand, so that a call on a vanished connection still reaches
 * the core (which refuses it and records the attempt).
 */
export class ObjectTree {
  private readonly objects = new Map<string, BusObject>();
  private readonly families = new Map<string, ObjectFamily>();

  add(object: BusObject): void {
    this.objects.set(object.path, object);
  }

  remove(path: string): void {
    this.objects.delete(path);
  }

  addFamily(prefix: string, family: ObjectFamily): void {
    this.families.set(prefix, family);
  }

  /** The object at `path`; for a numbered path whose object is gone, the family's fallback (reaching the core's refusal). */
  lookup(path: string): { object: BusObject; exists: boolean } | undefined {
    const exact = this.objects.get(path);
    if (exact) return { object: exact, exists: true };
    const slash = path.lastIndexOf('/');
    const family = this.families.get(path.slice(0, slash + 1));
    const tail = path.slice(slash + 1);
    if (!family || !/^[1-9][0-9]{0,9}$/.test(tail)) return undefined;
    const n = Number(tail);
    const found = family.resolve(n);
    return found ? { object: found, exists: true } : { object: { path, interfaces: family.fallback }, exists: false };
  }

  /** Child node names of `path` for introspection. */
  children(path: string): string[] {
    const prefix = path === '/' ? '/' : `${path}/`;
    const names = new Set<string>();
    for (const p of this.objects.keys()) {
      if (p.startsWith(prefix)) names.add(p.slice(prefix.length).split('/')[0]!);
    }
    for (const fam of this.families.keys()) {
      if (fam === prefix) for (const n of this.families.get(fam)!.list()) names.add(String(n));
      // A family without members has no node (as NetworkManager's ActiveConnection/ when none is active).
      else if (fam.startsWith(prefix) && this.families.get(fam)!.list().length > 0) names.add(fam.slice(prefix.length).split('/')[0]!);
    }
    names.delete('');
    return [...names].sort();
  }
}
