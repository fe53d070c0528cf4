// IP addresses as text and bytes, for the properties NetworkManager keeps as
// numbers or bytes: ipv4.dns (uint32 in network byte order) and ipv6.dns
// (16 bytes each).
import { isIPv4, isIPv6 } from 'node:net';

/** NetworkManager's ipv4.dns value: the uint32 whose bytes in memory are the address's bytes. */
export function ipv4ToNetworkU32(text: string): number | undefined {
  if (!isIPv4(text)) return undefined;
  return new Uint32Array(Uint8Array.from(text.split('.').map(Number)).buffer)[0];
}

export function networkU32ToIpv4(n: number): string {
  return [...new Uint8Array(Uint32Array.of(n).buffer)].join('.');
}

/** The 16 bytes of an IPv6 address (compressed, full, or with an IPv4 tail). */
export function ipv6ToBytes(text: string): Uint8Array | undefined {
  if (!isIPv6(text) || text.includes('%')) return undefined;
  let groups = text;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(groups);
  if (v4) {
    const b = v4[1]!.split('.').map(Number);
    groups = `${groups.slice(0, v4.index)}${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const halves = groups.split('::');
  const parse = (part: string | undefined): number[] => (part === undefined || part === '' ? [] : part.split(':').map((h) => parseInt(h, 16)));
  const head = parse(halves[0]);
  const tail = parse(halves[1]);
  const words = halves.length === 2 ? [...head, ...Array<number>(8 - head.length - tail.length).fill(0), ...tail] : head;
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[i * 2] = w >> 8;
    out[i * 2 + 1] = w & 0xff;
  });
  return out;
}

/** An IPv6 address's text, compressed as RFC 5952 says (the longest run of zero words, if over one, becomes "::"). */
export function bytesToIpv6(bytes: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]): string => ws.map((w) => w.toString(16)).join(':');
  if (best === -1) return hex(words);
  return `${hex(words.slice(0, best))}::${hex(words.slice(best + bestLen))}`;
}
