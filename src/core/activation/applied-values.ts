// Applied values: what an activation applies to the kernel, as the record's
// `after` names it (docs/record-format.md): addresses and routes as `ip -j`
// names their attributes, and the link settings it sets.
import type { AuditValues } from '../audit/record.js';
import type { ActivationPlan, IpPlan } from './plan.js';

function ipValues(ip: IpPlan, iface: string): { addresses: string[]; routes: AuditValues[] } {
  const routes: AuditValues[] = ip.routes.map((r) => ({
    dst: `${r.dest}/${r.prefix}`,
    ...(r.gateway ? { gateway: r.gateway } : {}),
    dev: iface,
    metric: r.metric,
  }));
  if (ip.gateway) routes.unshift({ dst: 'default', gateway: ip.gateway, dev: iface, metric: ip.metric });
  return { addresses: ip.addresses.map((a) => `${a.address}/${a.prefix}`), routes };
}

/** The values an activation of `plan` on `iface` applies. */
export function appliedValues(plan: ActivationPlan, iface: string): AuditValues {
  const out: Record<string, unknown> = { ifname: iface };
  if (plan.mtu !== null) out.mtu = plan.mtu;
  if (plan.clonedMac !== null) out.address = plan.clonedMac;
  if (plan.master !== null) out.master = plan.master;
  for (const ip of [plan.ipv4, plan.ipv6]) {
    if (!ip || ip.method === 'ignore') continue;
    const key = ip.family === 4 ? 'ipv4' : 'ipv6';
    out[key] = { method: ip.method, ...ipValues(ip, iface) };
  }
  return out;
}
