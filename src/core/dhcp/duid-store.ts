// The host's DHCPv6 DUID (RFC 8415 §11): a DUID-UUID (type 4) made once and
// kept in state-dir/dhcp/duid, so that servers know the host again after a
// restart, whatever link or MAC it asks from. docs/dhcp6.md says why not a
// DUID-LL from the MAC.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeDurably } from '../durable-file.js';

const DUID_UUID = 4;

export class DuidStore {
  /** one read (or one making) for every link that asks at once */
  private duid: Promise<Buffer> | null = null;

  constructor(private readonly dir: string) {}

  /** The DUID, made and kept on first use; a file that does not hold one is made anew. */
  get(): Promise<Buffer> {
    this.duid ??= this.load();
    this.duid.catch(() => (this.duid = null));
    return this.duid;
  }

  private async load(): Promise<Buffer> {
    const path = join(this.dir, 'duid');
    const text = await readFile(path, 'utf8').catch(() => '');
    const kept = /^(?:[0-9a-f]{2}:){17}[0-9a-f]{2}$/.test(text.trim()) ? Buffer.from(text.trim().replace(/:/g, ''), 'hex') : null;
    if (kept && kept.readUInt16BE(0) === DUID_UUID) return kept;
    // An RFC 4122 version 4 UUID after the type.
    const uuid = randomBytes(16);
    uuid[6] = (uuid[6]! & 0x0f) | 0x40;
    uuid[8] = (uuid[8]! & 0x3f) | 0x80;
    const duid = Buffer.concat([Buffer.from([0, DUID_UUID]), uuid]);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeDurably(path, `${[...duid].map((b) => b.toString(16).padStart(2, '0')).join(':')}\n`, 0o600);
    return duid;
  }
}
