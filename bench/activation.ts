// Activation for the benchmark, always inside network namespaces made here (never the root
// namespace's links): the wall time of ActivateConnection (it replies once the connection is
// activated, or with the error that stopped it) and of DeactivateConnection, seen from the
// client, for an ethernet profile on a veth with carrier and for a bridge profile that creates
// (and on deactivation deletes) its link.
import { startBus, type TestBus } from '../test/helpers/bus.js';
import { connect, DBusError, variant, type TestClient } from '../test/helpers/client.js';
import { startDaemon } from '../test/helpers/daemon.js';
import { deviceGone, deviceOnBus, pathOf } from '../test/helpers/devices.js';
import { createNetns, deleteNetns, ip } from '../test/helpers/netns.js';
import { MANAGER, MANAGER_IFACE, SETTINGS, SETTINGS_IFACE } from '../test/helpers/profiles.js';
import type { Spread } from './links.js';

export interface CycleFigures {
  readonly activate: Spread;
  readonly deactivate: Spread;
}

export interface ActivationFigures {
  readonly ethernet: CycleFigures;
  readonly bridge: CycleFigures;
  /** the audit backends the daemon reports on (Manager.AuditBackends), and Manager.AuditEnabled */
  readonly backends: string[];
  readonly auditEnabled: boolean;
  /** the whole section, namespaces and daemon included, in ms */
  readonly sectionMs: number;
}

function spread(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { n: values.length, p50: at(0.5), p99: at(0.99) };
}

const ETH = 'v0';
const PEER = 'v1';
const BRIDGE = 'br-bench';

/** A profile with one IPv4 address (method manual) and IPv6 left alone; never autoconnected. */
function profile(id: string, type: string, ifname: string, address: string): Record<string, Record<string, unknown>> {
  return {
    connection: { id: variant('s', id), type: variant('s', type), 'interface-name': variant('s', ifname), autoconnect: variant('b', false) },
    ipv4: { method: variant('s', 'manual'), 'address-data': variant('aa{sv}', [{ address: variant('s', address), prefix: variant('u', 24) }]) },
    ipv6: { method: variant('s', 'ignore') },
  };
}

/** Runs `call` and returns its wall time in ms; a D-Bus error is rethrown with what was being done. */
async function timed<T>(what: string, call: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const t = performance.now();
  try {
    const result = await call();
    return { ms: performance.now() - t, result };
  } catch (e) {
    const detail = e instanceof DBusError ? `${e.type}: ${e.text}` : (e as Error).message;
    throw new Error(`${what}: ${detail}`);
  }
}

/**
 * `warmUp` then `cycles` × (ActivateConnection of `conn` on `device`, DeactivateConnection of what
 * it returned), one call at a time; only the measured cycles are kept. `check` runs after the first
 * activation and `between` after each deactivation, both outside the timings.
 */
async function cycle(
  client: TestClient,
  label: string,
  conn: string,
  device: string,
  warmUp: number,
  cycles: number,
  between: () => Promise<void>,
  check: () => Promise<void>,
): Promise<CycleFigures> {
  const up: number[] = [];
  const down: number[] = [];
  for (let i = 0; i < warmUp + cycles; i++) {
    const act = await timed(`${label}: ActivateConnection, cycle ${i + 1}`, () =>
      client.call(MANAGER, MANAGER_IFACE, 'ActivateConnection', 'ooo', [conn, device, '/']));
    const [active] = act.result as [string];
    if (i === 0) await check();
    const deact = await timed(`${label}: DeactivateConnection(${active}), cycle ${i + 1}`, () =>
      client.call(MANAGER, MANAGER_IFACE, 'DeactivateConnection', 'o', [active]));
    if (i >= warmUp) {
      up.push(act.ms);
      down.push(deact.ms);
    }
    await between();
  }
  return { activate: spread(up), deactivate: spread(down) };
}

/** Fails unless link `name` of `ns` is up (with carrier if `carrier`) and has `address`/24: what the activation was to do. */
async function applied(ns: string, name: string, address: string, carrier = false): Promise<void> {
  const [l] = JSON.parse(await ip('-n', ns, '-j', 'addr', 'show', 'dev', name)) as Array<{ flags: string[]; addr_info: Array<{ local: string; prefixlen: number }> }>;
  if (!l || !l.flags.includes('UP') || (carrier && !l.flags.includes('LOWER_UP')) || !l.addr_info.some((a) => a.local === address && a.prefixlen === 24)) {
    throw new Error(`after ActivateConnection, ${name} in ${ns} is not up${carrier ? ' with carrier' : ''} with ${address}/24: ${JSON.stringify(l)}`);
  }
}

/**
 * In a fresh namespace with the daemon in it (the harness's configuration, as links.ts uses) and
 * a veth whose peer is up in a second namespace: an ethernet profile on the veth, then a bridge
 * profile, each activated and deactivated `cycles` times after `warmUp` cycles.
 */
export async function activationLatency(warmUp: number, cycles: number): Promise<ActivationFigures> {
  const t0 = performance.now();
  const ns = `na-bench-act-${process.pid}`;
  const peers = `na-bench-actp-${process.pid}`;
  // The bus is held here from its start (not through startDaemonInNetns), so that a daemon that
  // fails to come up does not leave its bus running.
  let bus: TestBus | undefined;
  let opened: TestClient | undefined;
  try {
    await createNetns(ns, peers);
    await ip('-n', ns, 'link', 'add', ETH, 'type', 'veth', 'peer', 'name', PEER, 'netns', peers);
    await ip('-n', peers, 'link', 'set', PEER, 'up');
    bus = await startBus();
    await startDaemon(bus, { netns: ns }); // the harness's configuration, as startDaemonInNetns (links.ts) gives it
    const client = await connect(bus.address);
    opened = client;
    const device = pathOf(await deviceOnBus(client, ns, ETH));
    const backends = Object.keys((await client.getProperty(MANAGER, MANAGER_IFACE, 'AuditBackends')) as Record<string, unknown>);
    const auditEnabled = (await client.getProperty(MANAGER, MANAGER_IFACE, 'AuditEnabled')) as boolean;
    const add = async (dict: Record<string, Record<string, unknown>>): Promise<string> =>
      ((await client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [dict])) as [string])[0];
    const eth = await add(profile('bench-eth', '802-3-ethernet', ETH, '10.77.0.1'));
    const br = await add(profile('bench-br', 'bridge', BRIDGE, '10.78.0.1'));

    const ethernet = await cycle(client, `ethernet on ${ETH}`, eth, device, warmUp, cycles, async () => undefined, () =>
      applied(ns, ETH, '10.77.0.1', true));
    // The bridge's link is deleted by the deactivation: check that the kernel has no br-bench, and
    // wait until GetDevices no longer lists it, so that the next activation creates it afresh.
    const bridge = await cycle(client, `bridge ${BRIDGE}`, br, '/', warmUp, cycles, async () => {
      const gone = await ip('-n', ns, '-j', 'link', 'show').then((out) => !(JSON.parse(out) as Array<{ ifname: string }>).some((l) => l.ifname === BRIDGE));
      if (!gone) throw new Error(`${BRIDGE} is still in ${ns} after its DeactivateConnection`);
      const paths = ((await client.call(MANAGER, MANAGER_IFACE, 'GetDevices')) as [string[]])[0];
      for (const p of paths) {
        const name = await client.getProperty(p, 'org.netaudit1.Device', 'Interface').catch(() => null);
        if (name === BRIDGE) await deviceGone(client, p, BRIDGE);
      }
    }, () => applied(ns, BRIDGE, '10.78.0.1'));
    return { ethernet, bridge, backends, auditEnabled, sectionMs: performance.now() - t0 };
  } finally {
    opened?.close();
    await bus?.stop(); // stops the daemon too
    await deleteNetns(ns, peers);
  }
}
