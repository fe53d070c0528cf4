// A profile's own DNS: ipv4.dns / ipv6.dns (NetworkManager's wire forms: uint32s in network
// byte order, 16-byte arrays) as address text, and its dns-search domains.
import { ipv4FromU32, ipv6FromBytes } from '../settings/keyfile-writer.js';
import { getProp } from '../settings/value.js';
import type { ActivationPlan } from './plan.js';

export function staticDns(plan: ActivationPlan, family: 4 | 6): string[] {
  const value = getProp(plan.settings, family === 4 ? 'ipv4' : 'ipv6', 'dns')?.value;
  if (!Array.isArray(value)) return [];
  return family === 4 ? (value as number[]).map(ipv4FromU32) : (value as Uint8Array[]).map(ipv6FromBytes);
}

export function staticSearches(plan: ActivationPlan, family: 4 | 6): string[] {
  const value = getProp(plan.settings, family === 4 ? 'ipv4' : 'ipv6', 'dns-search')?.value;
  return Array.isArray(value) ? (value as string[]) : [];
}
