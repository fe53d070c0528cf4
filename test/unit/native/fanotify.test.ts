// fanotify: the events of one read, as the kernel lays them out with FAN_REPORT_DFID_NAME.
import { describe, expect, it } from 'vitest';
import { parseFanotifyEvents } from '../../../src/native/fanotify.js';

/** One event: metadata (24 bytes), then a DFID_NAME info record with a 8-byte handle and the name. */
function event(mask: bigint, pid: number, name: string | null): Buffer {
  const nameBytes = name === null ? Buffer.alloc(0) : Buffer.concat([Buffer.from(name), Buffer.from([0])]);
  const infoLength = name === null ? 0 : Math.ceil((20 + 8 + nameBytes.length) / 4) * 4;
  const out = Buffer.alloc(24 + infoLength);
  out.writeUInt32LE(out.length, 0);
  out[4] = 3;
  out.writeUInt16LE(24, 6);
  out.writeBigUInt64LE(mask, 8);
  out.writeInt32LE(-1, 16);
  out.writeInt32LE(pid, 20);
  if (name !== null) {
    out[24] = 2;
    out.writeUInt16LE(infoLength, 26);
    out.writeUInt32LE(8, 24 + 12);
    nameBytes.copy(out, 24 + 20 + 8);
  }
  return out;
}

describe('parseFanotifyEvents', () => {
  it('gives each event\'s file name and pid, in order', () => {
    const buf = Buffer.concat([event(0x100n, 41, 'sedAb12Cd'), event(0x80n, 41, 'lan.nmconnection'), event(0x8n, 7, 'wan.nmconnection')]);
    expect(parseFanotifyEvents(buf)).toEqual([
      { fileName: 'sedAb12Cd', pid: 41 },
      { fileName: 'lan.nmconnection', pid: 41 },
      { fileName: 'wan.nmconnection', pid: 7 },
    ]);
  });

  it('takes an overflow, an event on the directory itself and one without a name for any file', () => {
    const buf = Buffer.concat([event(0x4000n, 0, null), event(0x4n | 0x4000_0000n, 9, '.'), event(0x8n, 9, null)]);
    expect(parseFanotifyEvents(buf)).toEqual([{ fileName: null, pid: 0 }, { fileName: null, pid: 9 }, { fileName: null, pid: 9 }]);
  });

  it('stops at an event cut short', () => {
    const whole = event(0x8n, 5, 'lan.nmconnection');
    expect(parseFanotifyEvents(Buffer.concat([whole, whole.subarray(0, 30)]))).toEqual([{ fileName: 'lan.nmconnection', pid: 5 }]);
  });
});
