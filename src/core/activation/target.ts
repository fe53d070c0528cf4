// Target: where an activation applies its profile, resolved before its
// record is made — the device named or the one connection.interface-name
// names (or the software link it creates), its parent and its bridge — and
// every reason it cannot go there, as a named error.
import type { ActiveConnection } from './active-connection.js';
import { ACTIVE_STATE } from './active-connection.js';
import type { Device } from '../devices/device.js';
import type { DeviceList } from '../devices/device-list.js';
import { NetauditError, quote } from '../errors.js';
import type { SettingsConnection } from '../settings/connection.js';
import type { SettingsService } from '../settings/settings.js';
import { refuseHeld } from '../settings/stored-profile.js';
import { compatibleDeviceType, isUuidRef, planActivation, type ActivationPlan } from './plan.js';

/** Where a profile is to be applied, resolved before the record is made. */
export interface Target {
  readonly plan: ActivationPlan;
  /** the existing link, or null when activation creates it */
  readonly device: Device | null;
  readonly iface: string;
  /** the ifindex the link has, or the one it is created with */
  readonly ifindex: number;
  readonly parent: number | null;
  readonly master: ActiveConnection | null;
  readonly masterIfindex: number | null;
}

/** What resolving needs to know of the daemon's state. */
export interface TargetWorld {
  readonly settings: Pick<SettingsService, 'getByUuid'>;
  readonly devices: DeviceList;
  /** the active connections now */
  readonly actives: () => readonly ActiveConnection[];
  /** the ifindex a software link is created with: one never seen before in this run */
  readonly newIfindex: () => number;
}

/** Types whose 802-3-ethernet.mac-address names the parent link rather than the link itself. */
export const PARENT_BY_MAC: ReadonlySet<string> = new Set(['vlan', 'macvlan', 'vxlan']);

/** Where `conn` goes: the named device, or the one interface-name names, or the link it creates. */
export function resolveTarget(conn: SettingsConnection, ifindex: number | null, world: TargetWorld): Target {
const { devices } = world;
  refuseHeld(conn.id, conn.holds);
  const plan = planActivation(conn.settings);
  let device: Device | null = null;
  if (ifindex !== null) {
    device = devices.byIfindex(ifindex) ?? null;
    if (!device) throw new NetauditError('UnknownDevice', `No device has ifindex ${ifindex} (it may have been removed); GetDevices lists them.`);
    if (plan.ifname !== null && plan.ifname !== device.name) {
      throw new NetauditError(
        'IncompatibleConnection',
        `${quote(conn.id)} is for the interface ${quote(plan.ifname)} (connection.interface-name), not ${quote(device.name)}.`,
      );
    }
  } else if (plan.ifname === null) {
    throw new NetauditError('UnknownDevice', `${quote(conn.id)} names no interface (connection.interface-name): pass the device to activate it on.`);
  } else {
    device = devices.byName(plan.ifname) ?? null;
    if (!device && plan.softwareKind === null) {
      throw new NetauditError('UnknownDevice', `No device is called ${quote(plan.ifname)} (connection.interface-name of ${quote(conn.id)}); GetDevices lists them.`);
    }
  }
  if (device && !compatibleDeviceType(plan.type, device.type)) {
    throw new NetauditError(
      'IncompatibleConnection',
      `${quote(conn.id)} is a ${plan.type} profile and ${quote(device.name)} is a ${device.type} device: it cannot be activated there.`,
    );
  }
  if (device && plan.boundMac !== null && !PARENT_BY_MAC.has(plan.type) && device.hwAddress !== plan.boundMac) {
    throw new NetauditError(
      'IncompatibleConnection',
      `${quote(conn.id)} is for the device with the MAC address ${plan.boundMac} (802-3-ethernet.mac-address), and ${quote(device.name)} has ${device.hwAddress || 'none'}.`,
    );
  }
  if (device && !device.managed) {
    throw new NetauditError('UnmanagedDevice', `${quote(device.name)} is not managed (its Managed property is false): set it to true first.`);
  }
  const iface = device?.name ?? plan.ifname!;
  const parent =
    plan.parent !== null ? lookUp(world, plan.parent, `the parent of ${quote(conn.id)} (${plan.type}.parent)`).ifindex
    : plan.boundMac !== null && PARENT_BY_MAC.has(plan.type) ? parentByMac(world, conn, plan.boundMac)
    : null;
  if (!device && (plan.softwareKind === 'vlan' || plan.softwareKind === 'macvlan') && parent === null) {
    throw new NetauditError('InvalidArgument', `${plan.type}.parent: ${quote(conn.id)} needs the parent interface of the link it creates.`);
  }
  let master: ActiveConnection | null = null;
  let masterIfindex: number | null = null;
  if (plan.master !== null) {
    const found = lookUp(world, plan.master, `the bridge of the port ${quote(conn.id)} (connection.master)`);
    if (found.device.type !== 'bridge') {
      throw new NetauditError('IncompatibleConnection', `connection.master of ${quote(conn.id)} names ${quote(found.device.name)}, which is a ${found.device.type}, not a bridge.`);
    }
    master = found.active;
    masterIfindex = found.ifindex;
  }
  const ifindexToBe = device?.ifindex ?? world.newIfindex();
  return { plan, device, iface, ifindex: ifindexToBe, parent, master, masterIfindex };
}

/** The parent named by 802-3-ethernet.mac-address (vlan, macvlan, vxlan without a parent), as NetworkManager finds it. */
function parentByMac(world: TargetWorld, conn: SettingsConnection, mac: string): number {
  // A macvlan or vlan shares its parent's MAC: the parent is the link that is neither.
  const found = world.devices.list().find((d) => d.hwAddress === mac && d.kind !== 'macvlan' && d.kind !== 'macvtap' && d.kind !== 'vlan');
  if (!found) throw new NetauditError('UnknownDevice', `No device has the MAC address ${mac} (802-3-ethernet.mac-address of ${quote(conn.id)}, which names the parent); GetDevices lists them.`);
  return found.ifindex;
}

/** An interface name, or a profile's UUID whose connection is active: the device it is. */
export function lookUp(world: TargetWorld, ref: string, what: string): { ifindex: number; device: Device; active: ActiveConnection | null } {
const { devices, settings } = world;
  if (isUuidRef(ref)) {
    const active = world.actives().find((a) => a.uuid === ref.toLowerCase() && a.state === ACTIVE_STATE.activated && a.ifindex !== null);
    const device = active ? devices.byIfindex(active.ifindex!) : undefined;
    if (active && device) return { ifindex: device.ifindex, device, active };
    let known = false;
    try {
      settings.getByUuid(ref);
      known = true;
    } catch {
      known = false;
    }
    throw new NetauditError(
      'UnknownDevice',
      known
        ? `${what} is the profile ${quote(ref)}, which is not active: activate it first.`
        : `${what} is the profile ${quote(ref)}, and no profile has that UUID.`,
    );
  }
  const device = devices.byName(ref);
  if (!device) throw new NetauditError('UnknownDevice', `${what} is ${quote(ref)}, and no device has that name; GetDevices lists them.`);
  const active = world.actives().find((a) => a.ifindex === device.ifindex) ?? null;
  return { ifindex: device.ifindex, device, active };
}
