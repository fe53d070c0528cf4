// Connection dictionaries (a{sa{sv}}) as a D-Bus client sends them, and readers of the daemon's outputs.
import { variant } from './client.js';

type Dict = Record<string, Record<string, unknown>>;

export const SETTINGS = '/org/netaudit1/Settings';
export const SETTINGS_IFACE = 'org.netaudit1.Settings';
export const CONNECTION_IFACE = 'org.netaudit1.Settings.Connection';
export const MANAGER = '/org/netaudit1';
export const MANAGER_IFACE = 'org.netaudit1.Manager';

export function ethernet(id: string, extra: Dict = {}): Dict {
  const base: Dict = {
    connection: { id: variant('s', id), type: variant('s', '802-3-ethernet'), 'interface-name': variant('s', 'eth0') },
    ipv4: {
      method: variant('s', 'manual'),
      'address-data': variant('aa{sv}', [{ address: variant('s', '192.0.2.10'), prefix: variant('u', 24) }]),
      gateway: variant('s', '192.0.2.1'),
    },
  };
  for (const [setting, props] of Object.entries(extra)) base[setting] = { ...(base[setting] ?? {}), ...props };
  return base;
}

export function wifi(id: string, psk: string): Dict {
  return {
    connection: { id: variant('s', id), type: variant('s', 'wifi') },
    '802-11-wireless': { ssid: variant('ay', Buffer.from('corp-net')), mode: variant('s', 'infrastructure') },
    '802-11-wireless-security': { 'key-mgmt': variant('s', 'wpa-psk'), psk: variant('s', psk) },
  };
}

/** The audit lines of a daemon log: `op="…" …` after `audit: `. */
export function auditLines(log: string): string[] {
  return log
    .split('\n')
    .filter((l) => / audit: op=/.test(l))
    .map((l) => l.slice(l.indexOf(' audit: ') + ' audit: '.length));
}

/** Splits an audit line the way a reader does: key=value or key="value" with backslash escapes; fails on leftovers. */
export function parseAuditLine(line: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const re = /([a-z_]+)=(?:"((?:[^"\\]|\\.)*)"|(\S+))(?: |$)/gy;
  let consumed = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line)) !== null) {
    out.push([m[1]!, m[2] ?? m[3]!]);
    consumed = re.lastIndex;
  }
  if (consumed !== line.length) throw new Error(`audit line does not parse after byte ${consumed}: ${line}`);
  return out;
}

/** A vpn profile (NetworkManager's vpn setting): plugin `data` and `secrets` are a{ss}. */
export function vpn(id: string, data: Record<string, string>, secrets?: Record<string, string>): Dict {
  return {
    connection: { id: variant('s', id), type: variant('s', 'vpn') },
    vpn: {
      'service-type': variant('s', 'org.freedesktop.NetworkManager.openvpn'),
      data: variant('a{ss}', data),
      ...(secrets !== undefined ? { secrets: variant('a{ss}', secrets) } : {}),
    },
    ipv4: { method: variant('s', 'auto') },
  };
}
