// Kept secrets: the secret keys of settings netauditd keeps in a profile
// file without reading them (NetworkManager's secret properties of gsm,
// cdma, pppoe, adsl, macsec and wireguard, by keyfile group). Such keys are
// never returned (GetSettings returns no kept group) nor logged (kept
// values are never quoted); ClearSecrets removes them like any secret.
import type { ExtraKeys } from './keyfile-reader.js';

const SECRET_KEYS: ReadonlyMap<string, readonly string[]> = new Map([
  ['gsm', ['password', 'pin']],
  ['cdma', ['password']],
  ['pppoe', ['password']],
  ['adsl', ['password']],
  ['macsec', ['mka-cak']],
  ['wireguard', ['private-key']],
]);

function secretKeysOf(group: string): readonly string[] {
  // [wireguard-peer.KEY] groups hold a peer's preshared-key.
  if (group.startsWith('wireguard-peer.')) return ['preshared-key'];
  return SECRET_KEYS.get(group) ?? [];
}

/** The kept keys without their secrets, and the "group.key" names of those removed. */
export function withoutKeptSecrets(extra: ExtraKeys): { extra: ExtraKeys; removed: string[] } {
  const out: ExtraKeys = new Map();
  const removed: string[] = [];
  for (const [group, entries] of extra) {
    const secret = secretKeysOf(group);
    out.set(group, entries.filter((e) => !secret.includes(e.key) || (removed.push(`${group}.${e.key}`), false)));
  }
  return { extra: out, removed };
}
