import { describe, expect, it } from 'vitest';
import { profileFileName, safeFileName } from '../../../../src/core/settings/filename.js';
import { UUID } from './helpers.js';

const none = () => false;

describe('safeFileName', () => {
  it('keeps an ordinary id as it is, spaces and non-ASCII included', () => {
    expect(safeFileName('Wired connection 1')).toBe('Wired connection 1');
    expect(safeFileName('Café ☕')).toBe('Café ☕');
    expect(safeFileName('x" op=evil')).toBe('x" op=evil');
  });

  it('escapes as NetworkManager does: "/" to "_", a leading "." and a trailing "~"', () => {
    expect(safeFileName('../../etc/passwd')).toBe('_._.._etc_passwd');
    expect(safeFileName('/')).toBe('_');
    expect(safeFileName('.hidden')).toBe('_hidden');
    expect(safeFileName('..')).toBe('_.');
    expect(safeFileName('backup~')).toBe('backup_');
  });

  it('appends "_" to names NetworkManager would skip as temporary files or certificates', () => {
    expect(safeFileName('lan.abc123')).toBe('lan.abc123_');
    expect(safeFileName('lan.abc12')).toBe('lan.abc12');
    expect(safeFileName('key.pem')).toBe('key.pem_');
    expect(safeFileName('key.DER')).toBe('key.DER_');
    expect(safeFileName('.pem')).toBe('_pem');
  });

  it('never yields a name that starts with "." or holds "/"', () => {
    for (const id of ['.', '..', '...', './x', '/.', './/.', '.x/..']) {
      const name = safeFileName(id);
      expect(name.startsWith('.')).toBe(false);
      expect(name).not.toContain('/');
    }
  });
});

describe('profileFileName', () => {
  it('is NAME.nmconnection for a free name', () => {
    expect(profileFileName('lan0', UUID, none)).toBe('lan0.nmconnection');
    expect(profileFileName('../../etc/passwd', UUID, none)).toBe('_._.._etc_passwd.nmconnection');
  });

  it('falls back to ID-UUID, then the UUID, then UUID-N when names are taken', () => {
    const taken = new Set(['lan0.nmconnection']);
    expect(profileFileName('lan0', UUID, (n) => taken.has(n))).toBe(`lan0-${UUID}.nmconnection`);
    taken.add(`lan0-${UUID}.nmconnection`);
    expect(profileFileName('lan0', UUID, (n) => taken.has(n))).toBe(`${UUID}.nmconnection`);
    taken.add(`${UUID}.nmconnection`);
    taken.add(`${UUID}-1.nmconnection`);
    expect(profileFileName('lan0', UUID, (n) => taken.has(n))).toBe(`${UUID}-2.nmconnection`);
  });

  it('escapes the ID-UUID form too', () => {
    expect(profileFileName('a/b', UUID, (n) => n === 'a_b.nmconnection')).toBe(`a_b-${UUID}.nmconnection`);
  });

  it('uses the UUID for an id whose safe name is empty or over 200 bytes', () => {
    expect(profileFileName('', UUID, none)).toBe(`${UUID}.nmconnection`);
    expect(profileFileName('x'.repeat(200), UUID, none)).toBe(`${'x'.repeat(200)}.nmconnection`);
    expect(profileFileName('x'.repeat(201), UUID, none)).toBe(`${UUID}.nmconnection`);
    expect(profileFileName('é'.repeat(101), UUID, none)).toBe(`${UUID}.nmconnection`);
    expect(profileFileName('x'.repeat(4096), UUID, none)).toBe(`${UUID}.nmconnection`);
  });

  it('stays within the 255 bytes of a file name', () => {
    const name = profileFileName('x'.repeat(200), UUID, (n) => n === `${'x'.repeat(200)}.nmconnection`);
    expect(name).toBe(`${'x'.repeat(200)}-${UUID}.nmconnection`);
    expect(Buffer.byteLength(name)).toBeLessThanOrEqual(255);
  });
});
