// The table of operations (src/core/operations.ts) against what the daemon
// serves and declares: every member and writable property introspection
// shows is classified, every row names a member that exists, the bus specs
// name their own rows, every polkit action is declared in
// data/org.netaudit1.policy and every declared one is used, and the table
// with its companion covers every op of the record exactly once.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import xml2js from 'xml2js';
import { activeInterface } from '../../../src/bus/active-iface.js';
import { connectionInterface } from '../../../src/bus/connection-iface.js';
import { deviceInterface } from '../../../src/bus/device-iface.js';
import { introspect } from '../../../src/bus/introspection.js';
import { managerObject } from '../../../src/bus/manager-iface.js';
import type { InterfaceSpec } from '../../../src/bus/object-tree.js';
import { settingsObject } from '../../../src/bus/settings-iface.js';
import { AUDIT_OPS } from '../../../src/core/audit/record.js';
import { Action } from '../../../src/core/auth/authorizer.js';
import type { DeviceList } from '../../../src/core/devices/device-list.js';
import type { Manager } from '../../../src/core/manager.js';
import { OPERATIONS, UNAUDITED, UNREQUESTED_OPS, type Operation } from '../../../src/core/operations.js';
import type { SettingsService } from '../../../src/core/settings/settings.js';
import { CHANGING_METHODS, READ_METHODS, WRITABLE_PROPERTIES } from '../../fuzz/expect.js';
import { repoPath } from '../../helpers/repo.js';

const PREFIX = 'org.netaudit1.';

// The specs only close over the core objects; nothing is called until a member is.
const interfaces: InterfaceSpec[] = [
  ...managerObject({} as Manager).interfaces,
  ...settingsObject({} as SettingsService).interfaces,
  connectionInterface({} as SettingsService, null),
  deviceInterface({} as DeviceList, {} as Manager, null),
  activeInterface({} as Manager, 1),
];

const rows = Object.entries(OPERATIONS) as [string, Operation][];
const unaudited: readonly string[] = UNAUDITED;

interface Introspected {
  readonly methods: Set<string>;
  readonly writable: Set<string>;
  readonly readOnly: Set<string>;
}

/** The members of the daemon's own interfaces as a client sees them, keyed as the table keys them. */
async function introspected(): Promise<Introspected> {
  const xml = introspect(interfaces, []);
  const doc = (await xml2js.parseStringPromise(xml)) as {
    node: { interface: { $: { name: string }; method?: { $: { name: string } }[]; property?: { $: { name: string; access: string } }[] }[] };
  };
  const out: Introspected = { methods: new Set(), writable: new Set(), readOnly: new Set() };
  for (const iface of doc.node.interface) {
    const name = iface.$.name;
    if (!name.startsWith(PREFIX)) continue;
    const short = name.slice(PREFIX.length);
    for (const m of iface.method ?? []) out.methods.add(`${short}.${m.$.name}`);
    for (const p of iface.property ?? []) (p.$.access === 'readwrite' ? out.writable : out.readOnly).add(`${short}.${p.$.name}`);
  }
  return out;
}

async function declaredActions(): Promise<string[]> {
  const doc = (await xml2js.parseStringPromise(readFileSync(repoPath('data', 'org.netaudit1.policy'), 'utf8'))) as {
    policyconfig: { action: { $: { id: string } }[] };
  };
  return doc.policyconfig.action.map((a) => a.$.id);
}

describe('the table of operations', () => {
  it('has a row for every changing method and every writable property introspection shows, and lists every other method as unaudited', async () => {
    const { methods, writable } = await introspected();
    expect(methods.size).toBeGreaterThan(0);
    for (const member of methods) {
      const row = (OPERATIONS as Record<string, Operation>)[member];
      if (row) expect(row.is, member).toBe('method');
      else expect(unaudited, `${member} is neither a row nor unaudited`).toContain(member);
    }
    for (const property of writable) expect((OPERATIONS as Record<string, Operation>)[property]?.is, property).toBe('property');
  });

  it('names only members that introspection shows: methods as methods, writable properties as writable', async () => {
    const { methods, writable } = await introspected();
    for (const [key, row] of rows) expect(row.is === 'method' ? methods : writable, key).toContain(key);
    for (const key of unaudited) {
      expect(methods, key).toContain(key);
      expect(OPERATIONS, key).not.toHaveProperty([key]);
    }
  });

  it('is what the bus specs name: each changing member its own row, no read one a row', () => {
    for (const iface of interfaces) {
      const short = iface.name.slice(PREFIX.length);
      for (const m of iface.methods) {
        const key = `${short}.${m.name}`;
        expect(m.operation, key).toBe(Object.hasOwn(OPERATIONS, key) ? key : undefined);
      }
      for (const p of iface.properties) {
        const key = `${short}.${p.name}`;
        expect(p.set?.operation, key).toBe(Object.hasOwn(OPERATIONS, key) ? key : undefined);
      }
    }
  });

  it('asks only polkit actions that data/org.netaudit1.policy declares, and the policy declares none the daemon does not ask', async () => {
    const declared = await declaredActions();
    const known = Object.values(Action);
    const asked = new Set(rows.flatMap(([, row]) => row.actions));
    expect(new Set(declared).size).toBe(declared.length);
    expect([...declared].sort()).toEqual([...known].sort());
    expect([...asked].sort()).toEqual([...known].sort());
  });

  it('with its companion covers every op of the record, each once', () => {
    const memberOps = new Set(rows.map(([, row]) => row.op));
    const unrequested = Object.keys(UNREQUESTED_OPS);
    for (const op of unrequested) expect(memberOps, op).not.toContain(op);
    expect([...new Set([...memberOps, ...unrequested])].sort()).toEqual([...AUDIT_OPS].sort());
  });

  it("agrees with the fuzzer's own expectation of which calls are recorded, and as what", () => {
    for (const [key, row] of rows) {
      const dot = key.lastIndexOf('.');
      const [iface, member] = [PREFIX + key.slice(0, dot), key.slice(dot + 1)];
      const expected = row.is === 'method' ? CHANGING_METHODS[iface]?.[member] : WRITABLE_PROPERTIES[iface]?.[member];
      expect(expected, key).toBe(row.op);
    }
    for (const key of unaudited) {
      const dot = key.lastIndexOf('.');
      expect(READ_METHODS[PREFIX + key.slice(0, dot)], key).toContain(key.slice(dot + 1));
    }
  });

  it('names interfaces that data/org.netaudit1.conf lets any caller reach, so that no attempt is refused unrecorded by the bus', async () => {
    const doc = (await xml2js.parseStringPromise(readFileSync(repoPath('data', 'org.netaudit1.conf'), 'utf8'))) as {
      busconfig: { policy: { $: { context?: string }; allow?: { $: { send_destination?: string; send_interface?: string } }[] }[] };
    };
    const policy = doc.busconfig.policy.find((p) => p.$.context === 'default');
    const allowed = new Set((policy?.allow ?? []).filter((a) => a.$.send_destination === 'org.netaudit1').map((a) => a.$.send_interface));
    for (const [key] of rows) expect(allowed, key).toContain(PREFIX + key.slice(0, key.lastIndexOf('.')));
  });
});
