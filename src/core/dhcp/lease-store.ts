// The DHCPv4 leases the daemon holds, kept in state-dir/dhcp/ (one file per interface and
// profile, as NetworkManager keeps its own), so that a daemon started again, or a link that
// comes back, asks for the same address (INIT-REBOOT) rather than for a new one. A lease file
// is a cache, not a record: the trail holds every lease change (docs/dhcp.md). A file that does
// not parse, or whose lease has run out, is no lease.
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeDurably } from '../durable-file.js';
import { leaseExpiresAt, type Dhcp4Lease } from './dhcp4-lease.js';

export class LeaseStore {
  constructor(private readonly dir: string) {}

  private path(iface: string, uuid: string): string {
    // An interface name holds no '/' (the kernel refuses one); the uuid is checked at save.
    return join(this.dir, `${iface}-${uuid}.lease4`);
  }

  /** The lease kept for `iface` and profile `uuid`, when there is one still valid at `now`. */
  async load(iface: string, uuid: string, now: number): Promise<Dhcp4Lease | null> {
    let text: string;
    try {
      text = await readFile(this.path(iface, uuid), 'utf8');
    } catch {
      return null;
    }
    try {
      const lease = JSON.parse(text) as Dhcp4Lease;
      if (typeof lease.address !== 'string' || typeof lease.leaseTime !== 'number' || typeof lease.obtainedAt !== 'number') return null;
      return leaseExpiresAt(lease) > now ? lease : null;
    } catch {
      return null;
    }
  }

  async save(iface: string, uuid: string, lease: Dhcp4Lease): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeDurably(this.path(iface, uuid), `${JSON.stringify(lease)}\n`, 0o600);
  }

  async remove(iface: string, uuid: string): Promise<void> {
    await rm(this.path(iface, uuid), { force: true });
  }
}
