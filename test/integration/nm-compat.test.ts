// The profiles the daemon writes, read by NetworkManager's own keyfile parser
// (`nmcli --offline`, NetworkManager ≥ 1.40). Skipped, and reported so, where nmcli is absent.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { variant } from '../helpers/client.js';
import { run } from '../helpers/exec.js';
import { hasOfflineNmcli } from '../helpers/nmcli.js';
import { ethernet, SETTINGS, SETTINGS_IFACE, wifi } from '../helpers/profiles.js';
import { useDaemon } from '../helpers/use-daemon.js';

const v = variant;
const PROFILES: Array<[string, Record<string, Record<string, unknown>>]> = [
  ['an ethernet profile with addresses, routes and dns', ethernet('nm eth', {
    ipv4: {
      dns: v('au', [0x08080808]),
      'route-data': v('aa{sv}', [{ dest: v('s', '10.0.0.0'), prefix: v('u', 8), 'next-hop': v('s', '192.0.2.254'), metric: v('u', 100) }]),
    },
    ipv6: { method: v('s', 'manual'), 'address-data': v('aa{sv}', [{ address: v('s', '2001:db8::10'), prefix: v('u', 64) }]) },
    '802-3-ethernet': { mtu: v('u', 1400), 'cloned-mac-address': v('ay', Buffer.from([2, 0, 0, 0, 0, 1])) },
  })],
  ['a wifi profile whose psk holds # ; = and quotes', wifi('nm wifi', 'pass#word; "x"=1')],
  ['a bridge', { connection: { id: v('s', 'nm br0'), type: v('s', 'bridge'), 'interface-name': v('s', 'br0') }, bridge: { stp: v('b', false) }, ipv4: { method: v('s', 'disabled') } }],
  ['a bridge port', { connection: { id: v('s', 'nm port'), type: v('s', 'ethernet'), 'interface-name': v('s', 'veth1'), master: v('s', 'br0'), 'slave-type': v('s', 'bridge') }, 'bridge-port': { 'path-cost': v('u', 10) } }],
  ['a vlan', { connection: { id: v('s', 'nm vlan'), type: v('s', 'vlan'), 'interface-name': v('s', 'eth0.7') }, vlan: { id: v('u', 7), parent: v('s', 'eth0') }, ipv4: { method: v('s', 'link-local') } }],
  ['a macvlan', { connection: { id: v('s', 'nm macvlan'), type: v('s', 'macvlan'), 'interface-name': v('s', 'mv0') }, macvlan: { parent: v('s', 'eth0'), mode: v('u', 3) } }],
  ['a vxlan', { connection: { id: v('s', 'nm vxlan'), type: v('s', 'vxlan'), 'interface-name': v('s', 'vx0') }, vxlan: { id: v('u', 42), remote: v('s', '198.51.100.2'), 'destination-port': v('u', 4789) } }],
  ['a veth', { connection: { id: v('s', 'nm veth'), type: v('s', 'veth'), 'interface-name': v('s', 'v0') }, veth: { peer: v('s', 'v1') } }],
];

const nmcli = hasOfflineNmcli();

describe.skipIf(!nmcli)('NetworkManager reads what netauditd writes', () => {
  // Inside the block that skipIf skips: without nmcli, no bus or daemon starts.
  const harness = useDaemon();

  it.each(PROFILES.map(([what, dict]) => ({ what, dict })))('$what', async ({ dict }) => {
    await harness.client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [dict]);
    const id = (dict.connection!.id as { value: string }).value;
    const text = await readFile(join(harness.daemon.profilesDir, `${id}.nmconnection`), 'utf8');
    const out = await run('nmcli', ['--offline', 'connection', 'modify', 'connection.zone', 'netaudit-check'], { input: text });
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const uuid = /^uuid=(.*)$/m.exec(text)![1]!;
    expect(out.stdout).toContain(`id=${id}\n`);
    expect(out.stdout).toContain(`uuid=${uuid}\n`);
    expect(out.stdout).toContain('zone=netaudit-check\n');
    for (const line of text.split('\n').filter((l) => /^(psk|mtu|address1|route1|dns|id|peer|parent|remote|path-cost)=/.test(l))) {
      // NetworkManager 1.42 writes the gateway into address1; every other value comes back unchanged.
      if (line.startsWith('address1=') && text.includes('\ngateway=')) continue;
      expect(out.stdout).toContain(`${line}\n`);
    }
  });
});
