// Applied values: what an activation applies to the kernel, as the record's
// `after` names it (docs/record-format.md): addresses, routes and rules as
// `ip -j` names their attributes, the link settings it sets, and each
// family's static DNS (docs/dns.md). A Reapply's
// `before` and `after` are the same for the settings it replaces and the
// ones it applies.
import type { AuditValues } from '../audit/record.js';
import type { ActivationPlan, IpPlan } from './plan.js';
import { staticDnsOf } from './static-dns.js';

const MAIN = 254;

function ipValues(ip: IpPlan, iface: string): { addresses: string[]; routes: AuditValues[]; rules?: AuditValues[] } {
  const routes: AuditValues[] = ip.routes.map((r) => ({
    dst: `${r.dest}/${r.prefix}`,
    ...(r.gateway ? { gateway: r.gateway } : {}),
    dev: iface,
    metric: r.metric,
    ...(r.table !== MAIN ? { table: r.table } : {}),
  }));
  if (ip.gateway) routes.unshift({ dst: 'default', gateway: ip.gateway, dev: iface, metric: ip.metric, ...(ip.table !== MAIN ? { table: ip.table } : {}) });
  const rules: AuditValues[] = ip.rules.map((r) => ({
    priority: r.priority,
    ...(r.invert ? { not: true } : {}),
    src: r.from === null ? 'all' : `${r.from}/${r.fromLen}`,
    ...(r.to !== null ? { dst: `${r.to}/${r.toLen}` } : {}),
    ...(r.fwmark !== null ? { fwmark: r.fwmark } : {}),
    ...(r.fwmask !== null ? { fwmask: r.fwmask } : {}),
    ...(r.iifname !== null ? { iif: r.iifname } : {}),
    ...(r.oifname !== null ? { oif: r.oifname } : {}),
    table: r.table,
  }));
  return { addresses: ip.addresses.map((a) => `${a.address}/${a.prefix}`), routes, ...(rules.length > 0 ? { rules } : {}) };
}

/** The values an activation of `plan` on `iface` applies. */
export function appliedValues(plan: ActivationPlan, iface: string): AuditValues {
  const out: Record<string, unknown> = { ifname: iface };
  if (plan.mtu !== null) out.mtu = plan.mtu;
  if (plan.clonedMac !== null) out.address = plan.clonedMac;
  if (plan.master !== null) out.master = plan.master;
  if (plan.bridge) out.bridge = { ...plan.bridge };
  if (plan.port) out.port = { ...plan.port };
  for (const ip of [plan.ipv4, plan.ipv6]) {
    if (!ip || ip.method === 'ignore') continue;
    const key = ip.family === 4 ? 'ipv4' : 'ipv6';
    const dns = staticDnsOf(plan.settings, key);
    out[key] = {
      method: ip.method,
      ...ipValues(ip, iface),
      ...(dns.servers.length > 0 ? { dns: dns.servers } : {}),
      ...(dns.searches.length > 0 ? { 'dns-search': dns.searches } : {}),
      ...(dns.priority !== 0 ? { 'dns-priority': dns.priority } : {}),
      ...(ip.privacy !== null ? { 'ip6-privacy': ip.privacy } : {}),
      ...(ip.addrGen ? { 'addr-gen-mode': ip.addrGen } : {}),
    };
  }
  return out;
}
