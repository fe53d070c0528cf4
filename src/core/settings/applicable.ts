// Properties the daemon accepts in a profile file but cannot apply to the
// network: a caller who saves one (AddConnection, Update,
// AddAndActivateConnection) is refused with NotSupported naming it, and
// activation refuses a profile file that holds one, so that a record never
// says something that did not reach the network. What activation applies is
// in core/activation/plan.ts; docs/profile-files.md says which are refused.
import { NetauditError, quote } from '../errors.js';
import { OPERATIONS } from '../operations.js';
import type { Settings } from './value.js';

/** Types whose activation creates their link, so the link has no MAC of its own to match. */
const CREATES_ITS_LINK = new Set(['bridge', 'veth', 'dummy']);

/** The first property of `settings` that the daemon cannot apply, as a NotSupported error; null when there is none. */
export function unappliedProperty(settings: Settings): NetauditError | null {
  const conn = settings.get('connection');
  const type = conn?.get('type')?.value as string | undefined;
  const zone = conn?.get('zone')?.value as string | undefined;
  if (zone !== undefined && zone !== '') {
    return new NetauditError('NotSupported', `connection.zone ${quote(zone)}: netauditd manages no firewall, so a zone cannot be applied; leave connection.zone out or empty.`);
  }
  const permissions = conn?.get('permissions')?.value as string[] | undefined;
  if (permissions !== undefined && permissions.length > 0) {
    // NetworkManager's permissions also hide the profile from other users; this daemon shows
    // every profile to every caller, so a stored restriction would claim more than it does.
    return new NetauditError(
      'NotSupported',
      `connection.permissions: netauditd does not restrict profiles to users (who may activate is decided by polkit, action ${OPERATIONS['Manager.ActivateConnection'].actions[0]}); leave connection.permissions out.`,
    );
  }
  if (type !== undefined && CREATES_ITS_LINK.has(type) && settings.get('802-3-ethernet')?.has('mac-address')) {
    return new NetauditError(
      'NotSupported',
      `802-3-ethernet.mac-address: a ${type} profile creates its link, which has no MAC address to match; set 802-3-ethernet.cloned-mac-address${type === 'bridge' ? ' or bridge.mac-address' : ''} to give it one.`,
    );
  }
  return null;
}

/** Throws the NotSupported error of unappliedProperty(), if any. */
export function refuseUnapplied(settings: Settings): void {
  const problem = unappliedProperty(settings);
  if (problem) throw problem;
}
