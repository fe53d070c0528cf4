// The host secret: made once, kept with mode 0600, and the source of values that are the same on
// this host for the same purpose and subject and differ otherwise.
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HostSecret, ipv6SecretText } from '../../../src/core/host-secret.js';

const scratch = (): string => mkdtempSync(join(tmpdir(), 'netauditd-secret-'));

describe('HostSecret', () => {
  it('is made once, 32 bytes readable by its owner alone, and a new reader derives the same', async () => {
    const path = join(scratch(), 'state', 'secret_key');
    const first = await new HostSecret(path).derive('ipv6-stable-privacy', 'uuid-1');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path)).toHaveLength(32);
    expect(await new HostSecret(path).derive('ipv6-stable-privacy', 'uuid-1')).toEqual(first);
  });

  it('gives each purpose and subject its own value, and another host another', async () => {
    const secret = new HostSecret(join(scratch(), 'secret_key'));
    const a = await secret.derive('ipv6-stable-privacy', 'uuid-1');
    expect(await secret.derive('ipv6-stable-privacy', 'uuid-2')).not.toEqual(a);
    expect(await secret.derive('dhcp-duid', 'uuid-1')).not.toEqual(a);
    expect(await new HostSecret(join(scratch(), 'secret_key')).derive('ipv6-stable-privacy', 'uuid-1')).not.toEqual(a);
  });

  it('refuses a file of another size, saying what removing it costs, rather than replacing it', async () => {
    const path = join(scratch(), 'secret_key');
    writeFileSync(path, 'short');
    await expect(new HostSecret(path).derive('p', 's')).rejects.toThrow(/holds 5 bytes, not 32; remove it to make a new one/);
    expect(readFileSync(path, 'utf8')).toBe('short');
  });
});

describe('ipv6SecretText', () => {
  it('writes 16 bytes as the eight groups the kernel reads', () => {
    expect(ipv6SecretText(Buffer.from('20010db8000000000000000000000001ffff', 'hex'))).toBe('2001:db8:0:0:0:0:0:1');
  });
});
