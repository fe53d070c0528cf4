// Profile files written by hand into a test daemon's profiles dir, and what their edits are recorded as.
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { SETTINGS, SETTINGS_IFACE } from './profiles.js';
import type { DaemonHarness } from './use-daemon.js';

/** The fields every record of a profile file edited on disk has. */
export const FILE_EDIT = { origin: 'external', args: 'file', result: 'success' };

/** A profile written by hand: ethernet, address 192.0.2.10/24 unless told. */
export function handWritten(id: string, uuid: string, address = '192.0.2.10/24'): string {
  return `[connection]\nid=${id}\nuuid=${uuid}\ntype=ethernet\n\n[ipv4]\naddress1=${address}\nmethod=manual\n`;
}

/** A random version 4 uuid. */
export function randomUuid(): string {
  const h = randomBytes(16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20)}`;
}

export async function reloadConnections(harness: DaemonHarness): Promise<void> {
  expect(await harness.client.call(SETTINGS, SETTINGS_IFACE, 'ReloadConnections')).toEqual([true]);
}
