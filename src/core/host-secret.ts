// The host's secret: 32 random bytes made once in state-dir and kept (mode 0600), as
// NetworkManager keeps its secret_key. Identifiers that must stay the same on this host and
// differ on every other one are derived from it, one per purpose, so that no derived value
// reveals the secret or another derived value (docs/dhcp.md: stable-privacy addresses).
import { createHmac, randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeDurably } from './durable-file.js';

const SIZE = 32;

export class HostSecret {
  private key: Promise<Buffer> | null = null;

  constructor(private readonly path: string) {}

  /** HMAC-SHA256 of `purpose` and `subject` under the secret: 32 bytes that only this host derives. */
  async derive(purpose: string, subject: string): Promise<Buffer> {
    const key = await this.load();
    return createHmac('sha256', key).update(`${purpose}\0${subject}`).digest();
  }

  /** The secret, read once; made and written durably the first time, before anything derived from it is used. */
  private load(): Promise<Buffer> {
    this.key ??= this.readOrCreate().catch((e: Error) => {
      this.key = null;
      throw new Error(`the host secret ${this.path} could not be read or made: ${e.message}`);
    });
    return this.key;
  }

  private async readOrCreate(): Promise<Buffer> {
    const existing = await readFile(this.path).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return null;
      throw e;
    });
    if (existing && existing.length === SIZE) return existing;
    if (existing) throw new Error(`it holds ${existing.length} bytes, not ${SIZE}; remove it to make a new one (every stable-privacy address changes then)`);
    const made = randomBytes(SIZE);
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    await writeDurably(this.path, made, 0o600);
    return made;
  }
}

/** The first 16 bytes of `bytes` as the IPv6 text the kernel's stable_secret sysctl takes. */
export function ipv6SecretText(bytes: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return groups.join(':');
}
