// UnmanagedDns: DNS mode `none` (docs/dns.md). The active connections' DNS
// is kept (DnsManager.forLink still shows it) but reaches neither
// resolv.conf nor systemd-resolved, and nothing of the system's is touched.
import type { DnsBackend } from './dns-manager.js';

export class UnmanagedDns implements DnsBackend {
  readonly name = 'none';

  async apply(): Promise<void> {
    // DNS is left to the administrator.
  }

  async close(): Promise<void> {
    // Nothing was changed, so nothing is put back.
  }
}
