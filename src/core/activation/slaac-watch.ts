// SLAAC on links the daemon runs with ipv6.method auto: the kernel forms the addresses from
// router advertisements on the daemon's behalf, so each one it adds or removes there is the
// daemon's own record (op slaac, origin daemon, cause lease; docs/dhcp.md), never drift. An
// address it adds is put on the active connection's undo list, so that deactivation takes it
// back with the rest; one that expires is forgotten there.
import type { AuditManager } from '../audit/audit-manager.js';
import type { DomainLogger } from '../../log/logger.js';
import type { Address, Platform } from '../platform/platform.js';
import type { ActiveConnection } from './active-connection.js';

export interface SlaacWatchOptions {
  readonly platform: Platform;
  readonly audit: AuditManager;
  readonly log: DomainLogger;
  /** the connection running on `ifindex` with ipv6.method auto, if any */
  readonly autoOn: (ifindex: number) => ActiveConnection | undefined;
  /** keeps the active connection's state for the next daemon */
  readonly saved: (active: ActiveConnection) => void;
}

/** fe80::/10: the kernel's own link-local address is nobody's change. */
function isLinkLocal(a: Address): boolean {
  return /^fe[89ab][0-9a-f]:/i.test(a.address);
}

function same(a: Address, b: Address): boolean {
  return a.ifindex === b.ifindex && a.family === b.family && a.address === b.address && a.prefix === b.prefix;
}

export class SlaacWatch {
  private readonly added = (a: Address): void => void this.onAdded(a);
  private readonly removed = (a: Address): void => void this.onRemoved(a);

  constructor(private readonly options: SlaacWatchOptions) {
    options.platform.on('address-added', this.added);
    options.platform.on('address-removed', this.removed);
  }

  close(): void {
    this.options.platform.off('address-added', this.added);
    this.options.platform.off('address-removed', this.removed);
  }

  private counted(a: Address): ActiveConnection | undefined {
    // A /128 is a DHCPv6 lease's address, the dhcp6-lease record's (docs/dhcp6.md); SLAAC's have the advertised prefix's length.
    if (a.family !== 6 || !a.dynamic || isLinkLocal(a) || a.prefix === 128) return undefined;
    const active = this.options.autoOn(a.ifindex);
    return active && !active.takingBack ? active : undefined;
  }

  private async onAdded(a: Address): Promise<void> {
    const active = this.counted(a);
    if (!active || active.undo.some((u) => u.kind === 'remove-address' && same(u.address, a))) return;
    const address: Address = { ifindex: a.ifindex, family: 6, address: a.address, prefix: a.prefix };
    active.undo.push({ kind: 'remove-address', address });
    this.options.saved(active);
    this.options.log.info(`${active.describe()}: SLAAC address ${a.address}/${a.prefix} from a router advertisement`);
    await this.options.audit.recordUnattended('daemon', this.context(active, 'bound', undefined, { ipv6: { address: `${a.address}/${a.prefix}` } }));
  }

  private async onRemoved(a: Address): Promise<void> {
    const active = this.counted(a);
    if (!active) return;
    const at = active.undo.findIndex((u) => u.kind === 'remove-address' && same(u.address, a));
    if (at < 0) return;
    active.undo.splice(at, 1);
    this.options.saved(active);
    this.options.log.info(`${active.describe()}: SLAAC address ${a.address}/${a.prefix} expired`);
    await this.options.audit.recordUnattended('daemon', this.context(active, 'expired', { ipv6: { address: `${a.address}/${a.prefix}` } }, undefined));
  }

  private context(active: ActiveConnection, args: string, before: Record<string, unknown> | undefined, after: Record<string, unknown> | undefined) {
    return {
      op: 'slaac' as const,
      cause: 'lease' as const,
      args,
      uuid: active.uuid,
      name: active.id,
      ifindex: active.ifindex!,
      iface: active.iface,
      ...(active.committedBy ? { tx: active.committedBy.tx } : {}),
      ...(before ? { before } : {}),
      ...(after ? { after } : {}),
    };
  }
}
