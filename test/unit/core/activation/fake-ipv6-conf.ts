// A stand-in for /proc/sys/net/ipv6/conf in unit tests: a directory with the per-interface
// sysctls the activation reads and writes, at the kernel's defaults for a new link.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const KERNEL_DEFAULTS: Record<string, string> = {
  disable_ipv6: '0',
  accept_ra: '1',
  autoconf: '1',
  accept_ra_defrtr: '1',
  ra_defrtr_metric: '1024',
  accept_ra_rt_info_max_plen: '0',
  use_tempaddr: '0',
  addr_gen_mode: '0',
};

/** A new directory holding the IPv6 sysctls of each of `ifaces`. */
export function fakeIpv6Conf(...ifaces: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'netauditd-ipv6-conf-'));
  for (const iface of ifaces) {
    mkdirSync(join(dir, iface));
    for (const [name, value] of Object.entries(KERNEL_DEFAULTS)) writeFileSync(join(dir, iface, name), `${value}\n`);
  }
  return dir;
}
