// Kernel objects as a record's before/after values, with the attribute names `ip -j` gives
// them (docs/record-format.md): what an administrator compares a record with.
import type { AuditValues } from '../audit/record.js';
import type { Address, Link, Route, Rule } from './platform.js';

/** A link as `ip -j link` names its attributes; `name` turns an ifindex (its master) into a name when known. */
export function linkValues(l: Link, name: (ifindex: number) => string | undefined = () => undefined): AuditValues {
  return {
    ifindex: l.ifindex,
    ifname: l.name,
    ...(l.kind !== null ? { kind: l.kind } : {}),
    mtu: l.mtu,
    ...(l.hwAddress !== '' ? { address: l.hwAddress } : {}),
    flags: l.up ? ['UP'] : [],
    ...(l.master !== null ? { master: name(l.master) ?? String(l.master) } : {}),
    // As `ip -j -d link` names them in info_data and info_slave_data (timers in centiseconds).
    ...(l.bridge ? { bridge: { stp_state: l.bridge.stp ? 1 : 0, priority: l.bridge.priority, forward_delay: l.bridge.forwardDelay, hello_time: l.bridge.helloTime, max_age: l.bridge.maxAge } } : {}),
    ...(l.port ? { bridge_slave: { priority: l.port.priority, cost: l.port.cost } } : {}),
  };
}

/** An address as `ip -j address` names its attributes. */
export function addressValues(a: Address, ifname: string): AuditValues {
  return { ifindex: a.ifindex, ifname, family: a.family === 4 ? 'inet' : 'inet6', local: a.address, prefixlen: a.prefix };
}

/** A route as `ip -j route` names its attributes. */
export function routeValues(r: Route, ifname: string): AuditValues {
  const table = r.table ?? 254;
  return {
    dst: r.prefix === 0 ? 'default' : `${r.dest}/${r.prefix}`,
    ...(r.gateway !== null ? { gateway: r.gateway } : {}),
    dev: ifname,
    metric: r.metric,
    table: table === 254 ? 'main' : String(table),
    family: r.family === 4 ? 'inet' : 'inet6',
  };
}

/** A rule as `ip -j rule` names its attributes. */
export function ruleValues(r: Rule): AuditValues {
  return {
    family: r.family === 4 ? 'inet' : 'inet6',
    priority: r.priority,
    ...(r.invert ? { not: null } : {}),
    src: r.from === null ? 'all' : r.from,
    ...(r.from !== null ? { srclen: r.fromLen } : {}),
    ...(r.to !== null ? { dst: r.to, dstlen: r.toLen } : {}),
    ...(r.fwmark !== null ? { fwmark: `0x${r.fwmark.toString(16)}${r.fwmask !== null && r.fwmask !== 0xffffffff ? `/0x${r.fwmask.toString(16)}` : ''}` } : {}),
    ...(r.iifname !== null ? { iif: r.iifname } : {}),
    ...(r.oifname !== null ? { oif: r.oifname } : {}),
    table: r.table === 254 ? 'main' : r.table === 253 ? 'default' : r.table === 255 ? 'local' : String(r.table),
  };
}
