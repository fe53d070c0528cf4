// The DHCP leases the daemon holds, kept in state-dir/dhcp/ (one file per interface, profile
// and family, as NetworkManager keeps its own: IFACE-UUID.lease4, IFACE-UUID.lease6), so that a
// daemon started again, or a link that comes back, asks for the same address (DHCPv4's
// INIT-REBOOT, DHCPv6's Renew) rather than for a new one. A lease file
// is a cache, not a record: the trail holds every lease change (docs/dhcp.md). A file that does
// not parse, or whose lease has run out, is no lease.
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeDurably } from '../durable-file.js';
import { leaseExpiresAt, type Dhcp4Lease } from './dhcp4-lease.js';
import { lease6ExpiresAt, type Dhcp6Lease } from './dhcp6-lease.js';

/** What tells one family's lease files apart: their suffix, whether one reads, and when it ends. */
export interface LeaseKind<L> {
  readonly suffix: string;
  wellFormed(lease: L): boolean;
  expiresAt(lease: L): number;
}

export const LEASE4: LeaseKind<Dhcp4Lease> = {
  suffix: 'lease4',
  wellFormed: (l) => typeof l.address === 'string' && typeof l.leaseTime === 'number' && typeof l.obtainedAt === 'number',
  expiresAt: leaseExpiresAt,
};

export const LEASE6: LeaseKind<Dhcp6Lease> = {
  suffix: 'lease6',
  wellFormed: (l) => (l.address === null || typeof l.address === 'string') && typeof l.valid === 'number' && typeof l.obtainedAt === 'number' && Array.isArray(l.dns),
  expiresAt: lease6ExpiresAt,
};

export class LeaseStore<L = Dhcp4Lease> {
  constructor(
    private readonly dir: string,
    private readonly kind: LeaseKind<L> = LEASE4 as unknown as LeaseKind<L>,
  ) {}

  private path(iface: string, uuid: string): string {
    // An interface name holds no '/' (the kernel refuses one); the uuid is checked at save.
    return join(this.dir, `${iface}-${uuid}.${this.kind.suffix}`);
  }

  /** The lease kept for `iface` and profile `uuid`, when there is one still valid at `now`. */
  async load(iface: string, uuid: string, now: number): Promise<L | null> {
    let text: string;
    try {
      text = await readFile(this.path(iface, uuid), 'utf8');
    } catch {
      return null;
    }
    try {
      const lease = JSON.parse(text) as L;
      if (typeof lease !== 'object' || lease === null || !this.kind.wellFormed(lease)) return null;
      return this.kind.expiresAt(lease) > now ? lease : null;
    } catch {
      return null;
    }
  }

  async save(iface: string, uuid: string, lease: L): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeDurably(this.path(iface, uuid), `${JSON.stringify(lease)}\n`, 0o600);
  }

  async remove(iface: string, uuid: string): Promise<void> {
    await rm(this.path(iface, uuid), { force: true });
  }
}
