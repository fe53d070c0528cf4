// What the start-up replay of the trail costs (docs/profile-edits.md): a trail of N records over
// 30 day files, a tenth of them profile updates of 200 profiles added at its start, the rest
// activations and kernel events, read by recordedProfiles() as the daemon reads it at start.
// `node build/bench/profile-history.js [N…]` (default 100000 and 1000000).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordedProfiles } from '../src/core/audit/trail/recorded-profiles.js';
import type { AuditRecord } from '../src/core/audit/record.js';
import { formatTrailLine, ZERO_HASH } from '../src/core/audit/trail/trail-line.js';

const PROFILES = 200;
const DAYS = 30;

function uuidOf(i: number): string {
  return `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
}

function whole(i: number, address: string): AuditRecord['after'] {
  return {
    connection: { id: `lan${i}`, uuid: uuidOf(i), type: 'ethernet', 'interface-name': `eth${i}` },
    ethernet: {},
    ipv4: { address1: address, gateway: '192.0.2.1', method: 'manual' },
    ipv6: { 'addr-gen-mode': 'default', method: 'auto' },
    proxy: {},
  };
}

function recordAt(n: number, seq: number, ts: number, addresses: string[]): Omit<AuditRecord, 'boot'> {
  const base = { ts, seq, result: 'success' as const };
  if (n < PROFILES) return { ...base, op: 'connection-add', origin: 'caller', uuid: uuidOf(n), name: `lan${n}`, after: whole(n, addresses[n]!), pid: 100, uid: 0 };
  const i = n % PROFILES;
  const kind = n % 10;
  if (kind === 0) {
    const next = `192.0.2.${(n % 250) + 2}/24`;
    const record = { ...base, op: 'connection-update' as const, origin: 'caller' as const, uuid: uuidOf(i), name: `lan${i}`, changed: ['ipv4.address-data'], before: { ipv4: { address1: addresses[i]! } }, after: { ipv4: { address1: next } }, pid: 100, uid: 0 };
    addresses[i] = next;
    return record;
  }
  if (kind < 5) return { ...base, op: kind % 2 ? 'connection-activate' : 'connection-deactivate', origin: 'caller', uuid: uuidOf(i), name: `lan${i}`, ifindex: 2 + i, iface: `eth${i}`, pid: 100, uid: 0, tx: n };
  return { ...base, op: 'address-add', origin: 'external', ifindex: 2 + i, iface: `eth${i}`, after: { local: '198.51.100.7', prefixlen: 24 }, actor: { attribution: 'none' } };
}

async function writeTrail(dir: string, count: number): Promise<number> {
  const addresses = Array.from({ length: PROFILES }, () => '192.0.2.10/24');
  let prev = ZERO_HASH;
  let bytes = 0;
  const perDay = Math.ceil(count / DAYS);
  for (let day = 0; day < DAYS; day++) {
    const lines: string[] = [];
    for (let n = day * perDay; n < Math.min(count, (day + 1) * perDay); n++) {
      const { line, hash } = formatTrailLine({ boot: `boot${Math.floor(n / 5000)}`, ...recordAt(n, n + 1, Date.UTC(2027, 0, 1 + day), addresses) }, prev);
      prev = hash;
      lines.push(line);
    }
    const text = lines.join('');
    bytes += Buffer.byteLength(text);
    await writeFile(join(dir, `audit-2027-01-${String(day + 1).padStart(2, '0')}.jsonl`), text);
  }
  return bytes;
}

async function main(): Promise<void> {
  const sizes = process.argv.slice(2).map(Number);
  for (const count of sizes.length > 0 ? sizes : [100_000, 1_000_000]) {
    const dir = await mkdtemp(join(tmpdir(), `bench-profile-history-${process.pid}-`));
    try {
      const bytes = await writeTrail(dir, count);
      const runs: number[] = [];
      let scan: Awaited<ReturnType<typeof recordedProfiles>> | null = null;
      for (let i = 0; i < 3; i++) {
        const started = performance.now();
        scan = await recordedProfiles(dir);
        runs.push(performance.now() - started);
      }
      runs.sort((a, b) => a - b);
      console.log(`${count} records (${(bytes / 1e6).toFixed(1)} MB, ${DAYS} day files): ${scan!.profiles.size} profiles, ${scan!.parsed} records parsed; replay ${runs.map((r) => r.toFixed(0)).join(' / ')} ms (3 runs, sorted)`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

await main();
