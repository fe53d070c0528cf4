// The vpn setting: its a{ss} data and secrets validated, written and read in
// NetworkManager's keyfile form ([vpn] keys and [vpn-secrets]), and its
// secrets handled like every other secret (GetSettings, GetSecrets,
// ClearSecrets, an Update that carries none, the changed keys).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseKeyfile } from '../../../../src/config/ini.js';
import { changedKeys } from '../../../../src/core/settings/diff.js';
import { fromKeyfile } from '../../../../src/core/settings/keyfile-reader.js';
import { toKeyfile } from '../../../../src/core/settings/keyfile-writer.js';
import { isSecret, propertySpec } from '../../../../src/core/settings/schema.js';
import { clearSecrets, keepSecrets, secretsOf, withoutSecrets } from '../../../../src/core/settings/secrets.js';
import { validateSettings } from '../../../../src/core/settings/validate.js';
import { value, type Settings, type Value } from '../../../../src/core/settings/value.js';
import { b, build, plain, s, u, UUID, validate } from './helpers.js';

const FILE = '/etc/netauditd/system-connections/office vpn.nmconnection';
const ss = (x: Record<string, string>): Value => value('a{ss}', { ...x });

function read(text: string): Settings {
  const { settings } = fromKeyfile(parseKeyfile(text, FILE));
  return validateSettings(settings, { generateUuid: () => UUID });
}

function fixture(name: string): string {
  return readFileSync(new URL(`fixtures/${name}`, import.meta.url), 'utf8');
}

const OPENVPN = 'org.freedesktop.NetworkManager.openvpn';

// NetworkManager's own keyfile parser, where installed (nmcli ≥ 1.40 has --offline).
function offlineNmcli(): boolean {
  try {
    const m = /version (\d+)\.(\d+)/.exec(execFileSync('nmcli', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
    return m !== null && (Number(m[1]) > 1 || Number(m[2]) >= 40);
  } catch {
    return false;
  }
}

function vpnProfile(vpn: Record<string, Value> = {}): Record<string, Record<string, Value>> {
  return {
    connection: { id: s('office vpn'), uuid: s(UUID), type: s('vpn') },
    vpn: {
      'service-type': s(OPENVPN),
      'user-name': s('alice'),
      persistent: b(true),
      timeout: u(30),
      data: ss({ remote: 'vpn.example.com', 'connection-type': 'password', 'password-flags': '0' }),
      secrets: ss({ password: 'p#ss;w= "rd\\x', 'cert-pass': ' lead and trail ' }),
      ...vpn,
    },
    ipv4: { method: s('auto') },
  };
}

describe('the vpn setting', () => {
  it('is NetworkManager\'s, with secrets a secret property and data not', () => {
    expect(propertySpec('vpn', 'data')?.signature).toBe('a{ss}');
    expect(propertySpec('vpn', 'secrets')?.signature).toBe('a{ss}');
    expect(propertySpec('vpn', 'service-type')?.signature).toBe('s');
    expect(propertySpec('vpn', 'user-name')?.signature).toBe('s');
    expect(propertySpec('vpn', 'persistent')?.signature).toBe('b');
    expect(propertySpec('vpn', 'timeout')?.signature).toBe('u');
    expect(isSecret('vpn', 'secrets')).toBe(true);
    expect(isSecret('vpn', 'data')).toBe(false);
  });

  it('validates a vpn profile and stores its dictionaries with sorted keys', () => {
    const out = validate(vpnProfile());
    expect(plain(out)).toEqual({
      connection: { id: { s: 'office vpn' }, uuid: { s: UUID }, type: { s: 'vpn' } },
      vpn: {
        data: { 'a{ss}': { 'connection-type': 'password', 'password-flags': '0', remote: 'vpn.example.com' } },
        persistent: { b: true },
        secrets: { 'a{ss}': { 'cert-pass': ' lead and trail ', password: 'p#ss;w= "rd\\x' } },
        'service-type': { s: OPENVPN },
        timeout: { u: 30 },
        'user-name': { s: 'alice' },
      },
      ipv4: { method: { s: 'auto' } },
    });
    expect(Object.keys(out.get('vpn')!.get('data')!.value as object)).toEqual(['connection-type', 'password-flags', 'remote']);
    expect(Object.isFrozen(out.get('vpn')!.get('secrets')!.value)).toBe(true);
  });

  it('keeps a key named __proto__ as an item, never as a prototype', () => {
    const data = Object.fromEntries([['__proto__', 'x'], ['remote', 'y']]) as Record<string, string>;
    const out = validate(vpnProfile({ data: value('a{ss}', data) }));
    const stored = out.get('vpn')!.get('data')!.value as Record<string, string>;
    expect(Object.getPrototypeOf(stored)).toBe(Object.prototype);
    expect(Object.entries(stored)).toEqual([['__proto__', 'x'], ['remote', 'y']]);
  });

  it.each([
    ['no service-type', { 'service-type': s('') }, 'vpn.service-type: missing; name the VPN plugin'],
    ['an empty user-name', { 'user-name': s('') }, 'vpn.user-name: empty'],
    ['a Map for a{ss}', { data: value('a{ss}', new Map([['a', 'b']])) }, 'vpn.data: expected a value of D-Bus type "a{ss}", got a dictionary'],
    ['a number in a{ss}', { data: value('a{ss}', { a: 1 }) }, 'vpn.data: expected a value of D-Bus type "a{ss}", got object'],
    ['an a{sv} signature', { data: value('a{sv}', {}) }, 'vpn.data: expected a value of D-Bus type "a{ss}", got "a{sv}"'],
    ['an empty key', { data: ss({ '': 'x' }) }, 'vpn.data: the key "" is empty'],
    ['a key with =', { data: ss({ 'a=b': 'x' }) }, 'vpn.data: the key "a=b" holds "=", "[", "]" or a control character'],
    ['a key with a newline', { secrets: ss({ 'a\nb': 'x' }) }, 'vpn.secrets: the key "a\\nb" holds'],
    ['a key with a leading space', { data: ss({ ' a': 'x' }) }, 'vpn.data: the key " a" starts or ends with whitespace'],
    ['a key starting with #', { data: ss({ '#a': 'x' }) }, 'vpn.data: the key "#a" starts with "#"'],
    ['a data key that names a property', { data: ss({ 'service-type': 'x' }) }, 'vpn.data: the key "service-type" names a property of the vpn setting'],
    ['an empty value', { data: ss({ remote: '' }) }, 'vpn.data["remote"]: the value is empty'],
    ['a control character in a data value', { data: ss({ remote: 'a\u0001b' }) }, 'vpn.data["remote"]: "a\\u0001b" contains the control character U+0001'],
  ])('rejects %s', (_what, vpn, message) => {
    expect(() => validate(vpnProfile(vpn))).toThrow(message);
  });

  it('names a secret with a bad character without its value', () => {
    const canary = 'canary-vpn-ctl';
    let message = '';
    try {
      validate(vpnProfile({ secrets: ss({ password: `${canary}\u0001` }) }));
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toBe('vpn.secrets["password"]: the secret value contains the control character U+0001; only tab, newline and carriage return are allowed');
  });

  it('drops empty dictionaries, as a keyfile cannot hold them', () => {
    const out = validate(vpnProfile({ data: ss({}), secrets: ss({}) }));
    expect([...out.get('vpn')!.keys()]).toEqual(['persistent', 'service-type', 'timeout', 'user-name']);
  });

  it('belongs only to a profile of type vpn, which may not carry 802-3-ethernet', () => {
    expect(() => validate({ connection: { id: s('x'), type: s('ethernet') }, vpn: { 'service-type': s(OPENVPN) } })).toThrow(
      'vpn: this setting does not belong to a profile of type "802-3-ethernet"',
    );
    expect(() => validate({ connection: { id: s('x'), type: s('vpn') }, vpn: { 'service-type': s(OPENVPN) }, '802-3-ethernet': {} })).toThrow(
      '802-3-ethernet: this setting does not belong to a profile of type "vpn"',
    );
    // NetworkManager adds the base setting; its service-type is then missing.
    expect(() => validate({ connection: { id: s('x'), type: s('vpn') } })).toThrow('vpn.service-type: missing');
  });
});

describe('a vpn profile in a keyfile', () => {
  it('is written as NetworkManager writes it: data as [vpn] keys, secrets as [vpn-secrets]', () => {
    const text = toKeyfile(validate(vpnProfile()), new Map());
    expect(text).toBe(
      [
        '[connection]',
        'id=office vpn',
        `uuid=${UUID}`,
        'type=vpn',
        '',
        '[vpn]',
        'connection-type=password',
        'password-flags=0',
        'remote=vpn.example.com',
        'persistent=true',
        `service-type=${OPENVPN}`,
        'timeout=30',
        'user-name=alice',
        '',
        '[vpn-secrets]',
        'cert-pass=\\slead and trail ',
        'password=p#ss;w= "rd\\\\x',
        '',
        '[ipv4]',
        'method=auto',
        '',
      ].join('\n'),
    );
  });

  it('reads back what it wrote, secrets and data included', () => {
    const settings = validate(vpnProfile());
    const back = read(toKeyfile(settings, new Map()));
    expect(plain(back)).toEqual(plain(settings));
    expect(changedKeys(settings, back)).toEqual([]);
  });

  it('reads a vpn profile NetworkManager 1.42 wrote and writes it back byte for byte', () => {
    const text = fixture('nm-1.42-vpn.nmconnection');
    const { settings, extra } = fromKeyfile(parseKeyfile(text, FILE));
    const valid = validateSettings(settings, { generateUuid: () => UUID });
    expect(plain(valid.get('vpn')!)).toEqual({
      data: {
        'a{ss}': {
          ca: '/etc/openvpn/ca.crt',
          'connection-type': 'password',
          'password-flags': '0',
          remote: 'vpn.example.com',
          username: 'alice',
          'zzz-opt': '1',
        },
      },
      persistent: { b: true },
      secrets: { 'a{ss}': { password: 's3cret;vpn=pass', 'zzz-opt': 'x' } },
      'service-type': { s: OPENVPN },
      timeout: { u: 30 },
      'user-name': { s: 'alice' },
    });
    expect([...extra.keys()]).toEqual(['proxy']);
    expect(valid.get('ipv6')!.get('addr-gen-mode')!.value).toBe(3);
    expect(toKeyfile(valid, extra)).toBe(text);
  });

  it.skipIf(!offlineNmcli())('is read by NetworkManager (nmcli --offline), which writes its [vpn] and [vpn-secrets] back unchanged', () => {
    const text = toKeyfile(validate(vpnProfile({ data: ss({ remote: 'r', 'password-flags': '0', zz: 'a;b c\\d' }), secrets: ss({ password: ' p#ss;w= "rd\\x' }) })), new Map());
    const out = execFileSync('nmcli', ['--offline', 'connection', 'modify', 'connection.zone', 'netaudit-check'], { input: text, encoding: 'utf8' });
    const section = (s: string, name: string): string => s.slice(s.indexOf(`[${name}]\n`)).split('\n\n')[0]!;
    expect(out).toContain('zone=netaudit-check\n');
    expect(section(out, 'vpn')).toBe(section(text, 'vpn'));
    expect(section(out, 'vpn-secrets')).toBe(section(text, 'vpn-secrets'));
    expect(section(text, 'vpn-secrets')).toBe('[vpn-secrets]\npassword=\\sp#ss;w= "rd\\\\x');
  });

  it('does not write a secret whose KEY-flags data item says an agent owns it or it is not saved', () => {
    const settings = validate(vpnProfile({
      data: ss({ remote: 'r', 'password-flags': '1', 'otp-flags': '2', 'pin-flags': '4' }),
      secrets: ss({ password: 'agent-owned', otp: 'not-saved', pin: 'not-required', other: 'saved' }),
    }));
    const text = toKeyfile(settings, new Map());
    expect(text).toContain('[vpn-secrets]\nother=saved\npin=not-required\n');
    expect(text).not.toContain('agent-owned');
    expect(text).not.toContain('not-saved');
  });

  it('writes no [vpn-secrets] group when no secret is to be saved', () => {
    const settings = validate(vpnProfile({ data: ss({ 'password-flags': '1' }), secrets: ss({ password: 'x' }) }));
    expect(toKeyfile(settings, new Map())).not.toContain('[vpn-secrets]');
  });

  it('keeps a [vpn-secrets] group of a profile without [vpn] as it is, and ignores it as NetworkManager does', () => {
    const { settings, extra } = fromKeyfile(parseKeyfile('[connection]\nid=e\ntype=ethernet\n\n[vpn-secrets]\npassword=x\n', FILE));
    expect(settings.has('vpn')).toBe(false);
    expect(extra.get('vpn-secrets')).toEqual([{ key: 'password', value: 'x' }]);
  });

  it('keeps [vpn] keys named after its dictionaries as unknown keys', () => {
    const { settings, extra } = fromKeyfile(parseKeyfile(`[connection]\nid=v\ntype=vpn\n[vpn]\nservice-type=${OPENVPN}\ndata=odd\nremote=r\n`, FILE));
    expect(plain(settings.get('vpn')!)).toEqual({ 'service-type': { s: OPENVPN }, data: { 'a{ss}': { remote: 'r' } } });
    expect(extra.get('vpn')).toEqual([{ key: 'data', value: 'odd' }]);
  });

  it('reads [vpn] and [vpn-secrets] items as NetworkManager does: an unknown escape stays, a lone final backslash goes', () => {
    const text = `[connection]\nid=v\ntype=vpn\n[vpn]\nservice-type=${OPENVPN}\nremote=a\\qb\nport=1\\\n[vpn-secrets]\npassword=canary\\qvpn\nother=fine\\\n`;
    const read = fromKeyfile(parseKeyfile(text, FILE));
    expect(read.warnings).toEqual([]);
    expect(read.settings.get('vpn')!.get('data')!.value).toEqual({ remote: 'a\\qb', port: '1' });
    expect(read.settings.get('vpn')!.get('secrets')!.value).toEqual({ password: 'canary\\qvpn', other: 'fine' });
  });
});

describe('vpn secrets as secrets', () => {
  const stored = (): Settings => validate(vpnProfile());

  it('are not in GetSettings, and only they are in GetSecrets("vpn")', () => {
    expect(stored().get('vpn')!.has('secrets')).toBe(true);
    expect(withoutSecrets(stored()).get('vpn')!.has('secrets')).toBe(false);
    expect(withoutSecrets(stored()).get('vpn')!.has('data')).toBe(true);
    expect(plain(secretsOf(stored(), 'vpn'))).toEqual({ vpn: { secrets: { 'a{ss}': { 'cert-pass': ' lead and trail ', password: 'p#ss;w= "rd\\x' } } } });
    expect(plain(secretsOf(stored(), ''))).toEqual(plain(secretsOf(stored(), 'vpn')));
  });

  it('are removed by ClearSecrets, the data staying', () => {
    const cleared = clearSecrets(stored());
    expect(cleared.get('vpn')!.has('secrets')).toBe(false);
    expect(plain(cleared.get('vpn')!.get('data')!)).toEqual(plain(stored().get('vpn')!.get('data')!));
    expect(changedKeys(stored(), cleared)).toEqual(['vpn.secrets']);
  });

  it('stay across an Update that carries none, and the changed keys name vpn.secrets without values', () => {
    const previous = stored();
    const update = withoutSecrets(previous);
    update.get('vpn')!.set('timeout', u(60));
    const kept = keepSecrets(validateSettings(update, { generateUuid: () => UUID }), previous);
    expect(plain(kept.get('vpn')!.get('secrets')!)).toEqual(plain(previous.get('vpn')!.get('secrets')!));
    expect(changedKeys(previous, kept)).toEqual(['vpn.timeout']);

    const replaced = validate(vpnProfile({ secrets: ss({ password: 'canary-new-vpn-secret' }) }));
    const changed = changedKeys(previous, replaced);
    expect(changed).toEqual(['vpn.secrets']);
    expect(changed.join(',')).not.toContain('canary');
  });

  it('compare equal when the same items come in another order', () => {
    const a = build({ vpn: { secrets: ss({ a: '1', b: '2' }) } });
    const c = build({ vpn: { secrets: ss({ b: '2', a: '1' }) } });
    expect(changedKeys(a, c)).toEqual([]);
    expect(changedKeys(a, build({ vpn: { secrets: ss({ a: '1', b: '3' }) } }))).toEqual(['vpn.secrets']);
    expect(changedKeys(a, build({ vpn: { secrets: ss({ a: '1' }) } }))).toEqual(['vpn.secrets']);
  });
});
