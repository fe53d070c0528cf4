// Adoption: the active connections the last daemon left, taken up by the
// next one before anything else runs (docs/active-state.md). An activation
// or deactivation it did not finish is finished (an activation whose record
// is in the trail is taken back and overturned by a `fail` record with its
// tx, cause=restart; one without a record never happened; a recorded
// deactivation is completed); for one it left activated, what others changed
// meanwhile is recorded as external (cause=while-stopped), then it is
// adopted as it stands, without touching the link, or torn down when its
// profile, its link or its bridge is gone: one connection-adopt record each.
import type { DomainLogger } from '../../log/logger.js';
import type { AuditManager } from '../audit/audit-manager.js';
import type { DeviceList } from '../devices/device-list.js';
import { quote } from '../errors.js';
import type { Platform } from '../platform/platform.js';
import type { SettingsConnection } from '../settings/connection.js';
import { withoutSecrets } from '../settings/secrets.js';
import type { SettingsService } from '../settings/settings.js';
import type { ActiveConnection } from './active-connection.js';
import { activeKey, type ActiveStore, type CommittedBy, type SavedActive } from './active-store.js';
import { appliedFromKeyfile } from './applied-settings.js';
import { checkLeftover } from './leftover.js';
import { addressValues } from '../platform/kernel-values.js';
import { takeBackSteps } from './undo.js';
import { RaDns } from '../dns/ra-dns.js';

/** What adoption needs of the daemon: its parts, and the Activations it registers connections with. */
export interface AdoptionHost {
  readonly audit: AuditManager;
  readonly platform: Platform;
  readonly devices: DeviceList;
  readonly settings: SettingsService;
  readonly store: ActiveStore;
  readonly log: DomainLogger;
  /** which of these records are in the trail (as `boot-tx`) */
  readonly committed: (changes: readonly CommittedBy[]) => Promise<ReadonlySet<string>>;
  readonly actives: () => readonly ActiveConnection[];
  readonly seenOn: (ifindex: number) => Promise<ActiveConnection['seen']>;
  /** a new active connection object for `saved`, numbered, not yet registered */
  readonly newActive: (conn: SettingsConnection, saved: SavedActive, master: ActiveConnection | null) => ActiveConnection;
  /** makes `active` one of the active connections, activated, and announces it */
  readonly register: (active: ActiveConnection) => void;
}

export async function adoptLeftovers(saved: readonly SavedActive[], host: AdoptionHost): Promise<void> {
  const { audit, platform, devices, settings, log, store } = host;
  const warn = (what: string, message: string): void => log.warn(`restart: could not ${what}: ${message}`);
  // Bridges before their ports, so that a port finds its bridge.
  const ordered = [...saved].sort((a, b) => Number(a.master !== null) - Number(b.master !== null));
  const [addresses, routes] = await Promise.all([platform.addresses(), platform.routes()]);
  // The intents whose records were made: an activation to overturn, a deactivation to finish.
  const intents = saved.flatMap((s) => (s.ending ? [s.committedBy, s.ending] : [s.committedBy]));
  const recorded = intents.length > 0 ? await host.committed(intents) : new Set<string>();
  for (const s of ordered) {
    const fields = { uuid: s.uuid, name: s.id, ...(s.ifindex !== null ? { ifindex: s.ifindex } : {}), iface: s.iface };
    const ending = s.state === 'deactivating' || (s.ending !== undefined && recorded.has(activeKey(s.ending)));
    if (s.state === 'activating' || ending) {
      // The change under way was sent, and maybe done: taken back if the kernel did it.
      const undo = s.pending ? [...s.undo, s.pending] : [...s.undo];
      if (ending) {
        log.warn(`restart: finishing the deactivation of ${quote(s.id)} (${s.uuid}) on ${quote(s.iface)}`);
      } else if (recorded.has(activeKey(s.committedBy))) {
        log.warn(`restart: the activation of ${quote(s.id)} (${s.uuid}) on ${quote(s.iface)} was cut short by the daemon's stop; taking back what it did`);
        await audit.recordUnattended('daemon', { op: s.committedBy.op, cause: 'restart', tx: s.committedBy.tx, args: s.committedBy.boot, ...fields }, 'fail', { reason: 'interrupted' });
      } else {
        log.info(`restart: the activation of ${quote(s.id)} (${s.uuid}) was never recorded, so it never started`);
      }
      await takeBackSteps(undo, platform, warn);
      store.remove(s.key);
      continue;
    }
    const link = s.ifindex === null ? undefined : devices.byIfindex(s.ifindex)?.link;
    const check = checkLeftover(s, link, addresses, routes);
    for (const d of check.differences) {
      await audit.recordUnattended(
        'external',
        { op: d.op, cause: 'while-stopped', ...(s.ifindex !== null ? { ifindex: s.ifindex } : {}), iface: s.iface, ...(d.before ? { before: d.before } : {}), ...(d.after ? { after: d.after } : {}) },
        'success',
        { actor: { attribution: 'none' } },
      );
    }
    const conn = settings.list().find((c) => c.uuid === s.uuid);
    const master = s.master === null ? null : (host.actives().find((a) => a.uuid === s.master) ?? undefined);
    const tx = audit.nextTx();
    if (check.linkGone || !conn || master === undefined || !devices.byIfindex(s.ifindex ?? -1)?.managed) {
      const why = check.linkGone ? 'its link is gone' : !conn ? 'its profile is gone' : master === undefined ? 'its bridge is not active' : 'its device is not managed';
      log.info(`restart: tearing down ${quote(s.id)} (${s.uuid}) on ${quote(s.iface)}: ${why}`);
      await audit
        .daemonChange({ op: 'connection-adopt', cause: 'restart', tx, args: 'torn-down', ...fields }, () => takeBackSteps([...check.undo], platform, warn))
        .catch((e: Error) => log.warn(`restart: ${quote(s.id)} was left as it is: ${e.message}`));
      store.remove(s.key);
      continue;
    }
    const active = host.newActive(conn, s, master);
    active.undo.push(...check.undo);
    active.applied = s.applied ?? {};
    if (s.raDns) active.raDns = RaDns.fromSaved(s.raDns);
    active.appliedSettings = appliedFromKeyfile(s.appliedProfile, (m) => log.warn(`restart: ${quote(s.id)}: ${m}`)) ?? withoutSecrets(conn.settings);
    active.seen = await host.seenOn(s.ifindex!);
    const after = {
      ifname: s.iface,
      addresses: check.undo.flatMap((u) => (u.kind === 'remove-address' ? [addressValues(u.address, s.iface)] : [])),
    };
    try {
      await audit.daemonChange({ op: 'connection-adopt', cause: 'restart', tx, args: 'adopted', ...fields, after }, async () => {
        active.committedBy = { op: 'connection-adopt', boot: audit.boot, tx };
        host.register(active);
        // Its state lives on under the adoption's key.
        store.remove(s.key);
      });
      log.info(`restart: adopted ${active.describe()} as the last daemon left it`);
    } catch (e) {
      log.warn(`restart: ${quote(s.id)} is not adopted (${(e as Error).message}); what it applied stays as it is`);
    }
  }
}
