// Autoconnect candidates: which profiles the daemon activates on its own,
// and in what order — those with connection.autoconnect (true unless set
// false) that name their interface, are not active, and whose device (if
// the link exists) is managed, allows autoconnect, runs nothing and has the
// MAC the profile is bound to; bridges first, then the rest, ports last, a
// higher connection.autoconnect-priority first within each.
import type { DeviceList } from '../devices/device-list.js';
import type { SettingsConnection } from '../settings/connection.js';
import { refuseHeld } from '../settings/stored-profile.js';
import type { ActiveConnection } from './active-connection.js';
import { getString } from '../settings/value.js';
import { isSoftware, planActivation, type ActivationPlan } from './plan.js';
import { PARENT_BY_MAC } from './target.js';

export interface AutoconnectCandidate {
  readonly conn: SettingsConnection;
  readonly plan: ActivationPlan;
  readonly rank: number;
}

/** The profiles to autoconnect among `profiles`, in order. */
export function autoconnectCandidates(
  profiles: readonly SettingsConnection[],
  devices: DeviceList,
  actives: readonly ActiveConnection[],
  match: (plan: ActivationPlan) => boolean,
): AutoconnectCandidate[] {
  const candidates: AutoconnectCandidate[] = [];
  for (const conn of profiles) {
    if (conn.settings.get('connection')?.get('autoconnect')?.value === false) continue;
    if (actives.some((a) => a.uuid === conn.uuid)) continue;
    // A profile that names no interface, or a link that is not there and that it would not create,
    // is passed over before it is planned: planning a profile it cannot activate builds an error.
    const ifname = getString(conn.settings, 'connection', 'interface-name');
    if (ifname === undefined) continue;
    if (!devices.byName(ifname) && !isSoftware(getString(conn.settings, 'connection', 'type') ?? '')) continue;
    let plan: ActivationPlan;
    try {
      refuseHeld(conn.id, conn.holds);
      plan = planActivation(conn.settings);
    } catch {
      continue; // not something this daemon activates: it says so when asked
    }
    // A profile that names no interface is never guessed onto a link.
    if (plan.ifname === null || !match(plan)) continue;
    const device = devices.byName(plan.ifname);
    if (device && (!device.autoconnect || !device.managed || device.activeConnection !== null)) continue;
    // A profile bound to another MAC address is not for this link (nm_device_check_connection_compatible()).
    if (device && plan.boundMac !== null && !PARENT_BY_MAC.has(plan.type) && device.hwAddress !== plan.boundMac) continue;
    if (!device && plan.softwareKind === null) continue;
    const priority = (conn.settings.get('connection')?.get('autoconnect-priority')?.value as number | undefined) ?? 0;
    candidates.push({ conn, plan, rank: (plan.master ? 2000 : plan.type === 'bridge' ? 0 : 1000) - priority });
  }
  candidates.sort((a, b) => a.rank - b.rank);
  return candidates;
}
