// CallGenerator: the next call of a campaign — a method or property access on
// an object the daemon showed, or on a path it never had, with arguments of
// the right signature and hostile content or of a wrong signature.
import dbus from 'dbus-next';
import type { SentCall } from './expect.js';
import { randomBytes, randomSettings, randomSignature, randomString, randomType, randomValue, completeTypes } from './generate.js';
import type { ObjectInfo } from './introspect.js';
import type { Prng } from './prng.js';

const { Variant } = dbus;
const PROPERTIES = 'org.freedesktop.DBus.Properties';

/**
 * Manager.SetLogging's domain item AUDIT:OFF turns auditing off until the
 * next reload or AUDIT:ON, after which a change leaves no trail record: the
 * campaign never sends it, so that every change it makes stays countable.
 */
export function turnsAuditOff(call: SentCall): boolean {
  if (call.member !== 'SetLogging' || typeof call.body[1] !== 'string') return false;
  return call.body[1].split(',').some((item) => item.trim().toUpperCase() === 'AUDIT:OFF');
}

function loggingArgs(rng: Prng): unknown[] {
  // DEBUG and TRACE are left out: at those levels 100,000 calls would fill the log, not test it
  const level = rng.pick(['', 'KEEP', 'INFO', 'WARN', 'ERR', 'error', 'bogus', randomString(rng, 12)]);
  const domains = rng.pick(['', 'ALL', 'CORE,BUS', 'AUDIT:ON', 'audit:on,ALL', 'NOPE', ',,,', randomString(rng, 30)]);
  return [level, domains];
}

/** Arguments of `signature`: for a{sa{sv}} a connection dictionary, else any well-typed value. */
export function argsFor(rng: Prng, member: string, signature: string): unknown[] {
  if (member === 'SetLogging' && signature === 'ss') return loggingArgs(rng);
  return completeTypes(signature).map((type) => {
    if (type === 'a{sa{sv}}') return randomSettings(rng);
    if (type === 'u' && member === 'Reload') return rng.pick([0, 1, 2, 3, 4, 0xffffffff]);
    if (type === 'b') return rng.chance(0.7);
    if (type === 's' && member === 'GetSecrets') return rng.pick(['802-11-wireless-security', '802-1x', 'connection', randomString(rng)]);
    return randomValue(rng, type);
  });
}

export interface CallTargets {
  /** the objects introspection showed */
  readonly objects: readonly ObjectInfo[];
  /** connection paths made during the campaign, still there as far as it knows */
  readonly created: ReadonlySet<string>;
}

function wrongSignature(rng: Prng, right: string): string {
  for (;;) {
    const s = rng.chance(0.2) ? completeTypes(right).slice(0, -1).join('') || 'i' : rng.chance(0.2) ? `${right}${randomType(rng, 1)}` : randomSignature(rng);
    if (s !== right) return s;
  }
}

function pickPath(rng: Prng, targets: CallTargets): string {
  const r = rng.int(20);
  if (r < 12 || targets.created.size === 0) return rng.pick(targets.objects).path;
  if (r < 15) return rng.pick([...targets.created]);
  if (r < 17) return rng.pick(['/org/netaudit1/Settings/', '/org/netaudit1/Devices/', '/org/netaudit1/ActiveConnection/']) + String(1 + rng.int(rng.chance(0.5) ? 50 : 4_000_000_000));
  return rng.pick(['/', '/org', '/org/netaudit1/Nope', '/org/netaudit1/Settings/0', '/org/netaudit1/Settings/007', '/org/netaudit1/Devices/x', `/org/netaudit1/Settings/1/${rng.int(9)}`]);
}

/** The next call of a campaign. */
export function nextCall(rng: Prng, targets: CallTargets): SentCall {
  const path = pickPath(rng, targets);
  const object = targets.objects.find((o) => o.path === path) ?? targets.objects.find((o) => path.startsWith(o.path.replace(/[0-9]+$/, '')) && /[0-9]$/.test(o.path));
  const interfaces = object?.interfaces.filter((i) => !i.name.startsWith('org.freedesktop.')) ?? [];
  const r = rng.int(100);
  if (r < 50 && interfaces.some((i) => i.methods.length > 0)) {
    const iface = rng.pick(interfaces.filter((i) => i.methods.length > 0));
    const method = rng.pick(iface.methods);
    const signature = rng.chance(0.7) ? method.in : wrongSignature(rng, method.in);
    return { path, interface: rng.chance(0.05) ? '' : iface.name, member: method.name, signature, body: argsFor(rng, method.name, signature) };
  }
  if (r < 78) {
    const iface = interfaces.length > 0 && rng.chance(0.85) ? rng.pick(interfaces) : undefined;
    const ifaceName = iface?.name ?? rng.pick(['org.netaudit1.Nope', PROPERTIES, 'org.freedesktop.DBus.Peer', randomString(rng, 10)]);
    const prop = iface && iface.properties.length > 0 && rng.chance(0.85) ? rng.pick(iface.properties) : undefined;
    const propName = prop?.name ?? rng.pick(['Nope', '', 'Version', 'Managed', randomString(rng, 10)]);
    const member = rng.pick(['Get', 'GetAll', 'Set', 'Set', 'Set']);
    const right = member === 'Get' ? 'ss' : member === 'GetAll' ? 's' : 'ssv';
    const signature = rng.chance(0.85) ? right : wrongSignature(rng, right);
    if (signature === right) {
      const valueType = prop && rng.chance(0.6) ? prop.signature : randomType(rng, 2);
      const value = valueType === 'b' ? rng.chance(0.5) : randomValue(rng, valueType);
      const args = member === 'Get' ? [ifaceName, propName] : member === 'GetAll' ? [ifaceName] : [ifaceName, propName, new Variant(valueType, value)];
      return { path, interface: PROPERTIES, member, signature, body: args };
    }
    const body = argsFor(rng, member, signature);
    // a malformed Set that still names a property first
    if (signature.startsWith('ss')) {
      body[0] = ifaceName;
      body[1] = propName;
    }
    return { path, interface: PROPERTIES, member, signature, body };
  }
  if (r < 88) {
    const [iface, member, signature] = rng.pick([
      ['org.freedesktop.DBus.Introspectable', 'Introspect', ''],
      ['', 'Introspect', ''],
      ['org.freedesktop.DBus.Peer', 'Ping', ''],
      ['org.freedesktop.DBus.Peer', 'GetMachineId', ''],
      ['org.freedesktop.DBus.Peer', 'Ping', 'ay'],
      ['org.freedesktop.DBus.Introspectable', 'Nope', ''],
    ] as const);
    return { path, interface: iface, member, signature, body: signature === 'ay' ? [randomBytes(rng)] : [] };
  }
  // an interface or member the object does not have
  const signature = randomSignature(rng);
  return {
    path,
    interface: rng.pick(['org.netaudit1.Nope', 'org.netaudit1.Manager', 'org.netaudit1.Settings.Connection', 'org.netaudit1.Device', '', 'org.freedesktop.DBus.Peer']),
    member: rng.pick(['Nope', 'delete', 'Delete_', 'GetSettings', 'Update', `M${rng.int(1000)}`, 'SetProperty']),
    signature,
    body: argsFor(rng, '', signature),
  };
}
