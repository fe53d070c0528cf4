// Introspection of the running daemon: walks the object tree from the paths
// given (/ and /org/netaudit1) through Introspectable.Introspect and turns
// the XML into objects with their interfaces, methods (input signature) and
// properties (signature and access).
import type { TestClient } from '../helpers/client.js';

export interface MethodInfo {
  readonly name: string;
  /** the concatenated input signature */
  readonly in: string;
}

export interface PropertyInfo {
  readonly name: string;
  readonly signature: string;
  readonly writable: boolean;
}

export interface InterfaceInfo {
  readonly name: string;
  readonly methods: readonly MethodInfo[];
  readonly properties: readonly PropertyInfo[];
}

export interface ObjectInfo {
  readonly path: string;
  readonly interfaces: readonly InterfaceInfo[];
}

const attr = (tag: string, name: string): string | undefined => new RegExp(`\\b${name}="([^"]*)"`).exec(tag)?.[1];

/** Parses one Introspect reply: the interfaces of the node and the names of its children. */
export function parseIntrospection(xml: string): { interfaces: InterfaceInfo[]; children: string[] } {
  const interfaces: InterfaceInfo[] = [];
  for (const m of xml.matchAll(/<interface\s[^>]*>([\s\S]*?)<\/interface>/g)) {
    const name = attr(m[0], 'name') ?? '';
    const body = m[1]!;
    const methods: MethodInfo[] = [];
    for (const mm of body.matchAll(/<method\s[^>]*?(?:\/>|>([\s\S]*?)<\/method>)/g)) {
      const args = [...(mm[1] ?? '').matchAll(/<arg\s[^>]*\/>/g)].map((a) => a[0]);
      const input = args.filter((a) => (attr(a, 'direction') ?? 'in') === 'in').map((a) => attr(a, 'type') ?? '').join('');
      methods.push({ name: attr(mm[0], 'name') ?? '', in: input });
    }
    const properties: PropertyInfo[] = [];
    for (const pm of body.matchAll(/<property\s[^>]*>/g)) {
      const access = attr(pm[0], 'access') ?? 'read';
      properties.push({ name: attr(pm[0], 'name') ?? '', signature: attr(pm[0], 'type') ?? '', writable: access.includes('write') });
    }
    interfaces.push({ name, methods, properties });
  }
  // <node name="x"/> children; the root <node> has no name attribute
  const children = [...xml.matchAll(/<node\s+name="([^"]+)"\s*\/?>/g)].map((m) => m[1]!);
  return { interfaces, children };
}

/** Every object reachable from `roots`, each introspected once. */
export async function walkTree(client: TestClient, roots: readonly string[]): Promise<ObjectInfo[]> {
  const seen = new Set<string>();
  const objects: ObjectInfo[] = [];
  const queue = [...roots];
  while (queue.length > 0) {
    const path = queue.shift()!;
    if (seen.has(path)) continue;
    seen.add(path);
    // An object may go between its parent's listing and its own (an autoconnect that failed takes
    // its ActiveConnection away): it is not there to classify.
    const reply = await client.call(path, 'org.freedesktop.DBus.Introspectable', 'Introspect').catch((e: { type?: string }) => {
      if (e.type === 'org.netaudit1.Error.UnknownObject' && !roots.includes(path)) return null;
      throw e;
    });
    if (reply === null) continue;
    const [xml] = reply as [string];
    const { interfaces, children } = parseIntrospection(xml);
    if (interfaces.length > 0) objects.push({ path, interfaces });
    for (const child of children) queue.push(path === '/' ? `/${child}` : `${path}/${child}`);
  }
  return objects;
}
