// The fuzz pass: every method and property write of the running daemon, sent
// wrong signatures, hostile values, unknown paths, 100,000-key dictionaries,
// deeply nested variants, raw messages, messages near the bus's size limit
// and a flood from 32 connections (test/fuzz/). The daemon must answer each
// with a return or a named error, within 30 s, stay alive with bounded
// memory, and leave exactly one trail record per attempted change and none
// for a read. `npm test` runs a bounded pass: a fixed seed and a random one
// (printed in the test's name; NETAUDIT_FUZZ_SEED=N replays it).
// `npm run fuzz` runs the long pass (NETAUDIT_FUZZ_CALLS=100000).
import { describe, expect, it } from 'vitest';
import { connect, variant } from '../helpers/client.js';
import { run } from '../helpers/exec.js';
import { CONNECTION_IFACE, SETTINGS, SETTINGS_IFACE } from '../helpers/profiles.js';
import { repoPath } from '../helpers/repo.js';
import { verifiedChain } from '../helpers/trail.js';
import { useDaemon } from '../helpers/use-daemon.js';
import { unclassified } from '../fuzz/expect.js';
import { walkTree, type ObjectInfo } from '../fuzz/introspect.js';
import { isAlive, rssKiB } from '../fuzz/memory.js';
import { randomSeed } from '../fuzz/prng.js';
import { RawConnection, WireWriter, type RawCall, type RawReply } from '../fuzz/raw.js';
import { Campaign, type CampaignResult } from '../fuzz/run.js';

const CALLS = Number(process.env.NETAUDIT_FUZZ_CALLS ?? 3000);
const LONG = CALLS > 10_000;
const FIXED_SEED = 20261122;
const RANDOM_SEED = process.env.NETAUDIT_FUZZ_SEED !== undefined ? Number(process.env.NETAUDIT_FUZZ_SEED) : randomSeed();
/** dbus-daemon's default max_message_size (32 MiB): the test bus's configuration sets no <limit>. */
const MAX_MESSAGE_SIZE = 32 << 20;
const REPLY_BOUND_MS = 30_000;
/**
 * The daemon's resident memory may grow by this much over its idle size
 * (measured: about 75 MiB idle). dbus-next unmarshals a whole message before
 * anyone looks at it, at some 40 times its size: a 3 MiB message of 100,000
 * keys costs about 120 MiB while it is read (its unmarshalled form, the plain
 * object, the core's Map); a message near the bus's 32 MiB limit is held two
 * or three times; V8 keeps the heap it grew to until it collects. Measured
 * peaks: about 200 MiB over idle in the bounded pass, 500 MiB in the long one
 * (its hostile phase sends four 100,000-entry messages in a row, and keeps a
 * profile of 100,000 addresses until it deletes it). The bound is half as
 * much again; a leak shows in the figure after the passes, by when the
 * peaks have been given back (measured: 115–130 MiB over idle after either
 * pass).
 */
const RSS_PEAK_GROWTH_KIB = 768 << 10;
/** After the passes, what the daemon may keep over its idle size. */
const RSS_END_GROWTH_KIB = 256 << 10;

const harness = useDaemon();

/** The records the trail gained while `fn` ran. */
async function recordsOf(fn: () => Promise<unknown>): Promise<Array<Record<string, unknown>>> {
  const before = (await verifiedChain(harness.daemon.auditDir)).length;
  await fn();
  return (await verifiedChain(harness.daemon.auditDir)).slice(before);
}

describe('a call whose arguments dbus-next cannot read (an fd index without its fd: the bus lets it through)', () => {
  const enable: RawCall = { path: '/org/netaudit1', interface: 'org.netaudit1.Manager', member: 'Enable', destination: 'org.netaudit1', signature: 'h', body: new WireWriter().uint32(0).toBuffer() };

  it('is refused as InvalidArgument and recorded once when it calls a changing method, and the daemon reads on', async () => {
    const conn = await RawConnection.open(harness.bus.address);
    try {
      let reply: RawReply | undefined;
      const records = await recordsOf(async () => {
        reply = await conn.call(enable, 10_000);
      });
      expect(reply).toMatchObject({ type: 3, errorName: 'org.netaudit1.Error.InvalidArgument', text: 'The arguments of Enable could not be read: a unix fd (type "h") is not accepted.' });
      expect(records.map((r) => [r.op, r.result])).toEqual([['networking-control', 'fail']]);
      // the same connection's next call is read and answered
      expect(await conn.call({ ...enable, member: 'GetLogging', signature: '', body: Buffer.alloc(0) }, 10_000)).toMatchObject({ type: 2 });
    } finally {
      conn.close();
    }
    await harness.client.call('/org/netaudit1', 'org.freedesktop.DBus.Peer', 'Ping');
    expect(isAlive(harness.daemon.pid)).toBe(true);
  });

  it('is refused unrecorded when it calls a read or Properties.Set', async () => {
    const conn = await RawConnection.open(harness.bus.address);
    const replies: RawReply[] = [];
    try {
      const records = await recordsOf(async () => {
        replies.push(await conn.call({ ...enable, member: 'GetDevices' }, 10_000));
        const set = new WireWriter().string('org.netaudit1.Manager').string('WirelessEnabled').signature('h').uint32(0).toBuffer();
        replies.push(await conn.call({ ...enable, interface: 'org.freedesktop.DBus.Properties', member: 'Set', signature: 'ssv', body: set }, 10_000));
      });
      expect(replies.map((r) => r.errorName)).toEqual(['org.netaudit1.Error.InvalidArgument', 'org.netaudit1.Error.InvalidArgument']);
      expect(records).toEqual([]);
    } finally {
      conn.close();
    }
  });
});

describe('a malformed Properties.Set', () => {
  it('of a writable property is refused and recorded once, as the attempted change it is', async () => {
    for (const [signature, body] of [['ssb', [true]], ['ss', []], ['ssvs', [variant('b', true), 'x']]] as const) {
      let error: unknown;
      const records = await recordsOf(() => harness.client.call('/org/netaudit1', 'org.freedesktop.DBus.Properties', 'Set', signature, ['org.netaudit1.Manager', 'WirelessEnabled', ...body]).catch((e: unknown) => { error = e; }));
      expect(error, signature).toMatchObject({ type: 'org.netaudit1.Error.InvalidArgument', text: `org.freedesktop.DBus.Properties.Set takes arguments of signature "ssv", not "${signature}".` });
      expect(records.map((r) => [r.op, r.result]), signature).toEqual([['radio-control', 'fail']]);
    }
  });

  it('of a read-only or unknown property is refused unrecorded', async () => {
    const records = await recordsOf(async () => {
      for (const prop of ['NetworkingEnabled', 'Nope']) {
        await expect(harness.client.call('/org/netaudit1', 'org.freedesktop.DBus.Properties', 'Set', 'ssb', ['org.netaudit1.Manager', prop, true])).rejects.toMatchObject({ type: 'org.netaudit1.Error.InvalidArgument' });
      }
    });
    expect(records).toEqual([]);
  });
});

describe('the daemon under fuzzing', () => {
  let objects: ObjectInfo[] = [];
  let idleRss = 0;
  const results: CampaignResult[] = [];

  it('shows its objects to introspection, each member classified as a change or a read', async () => {
    const { client } = harness;
    // one connection, so that introspection shows a Settings.Connection object
    await client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [{ connection: { id: variant('s', 'fuzz seed profile'), type: variant('s', 'dummy'), 'interface-name': variant('s', 'fz0') } }]);
    objects = await walkTree(client, ['/', '/org/netaudit1']);
    const interfaces = new Set(objects.flatMap((o) => o.interfaces.map((i) => i.name)));
    expect([...interfaces].sort()).toEqual(expect.arrayContaining(['org.netaudit1.Device', 'org.netaudit1.Manager', 'org.netaudit1.Settings', 'org.netaudit1.Settings.Connection']));
    expect(unclassified(objects)).toEqual([]);
    idleRss = rssKiB(harness.daemon.pid);
    expect(idleRss).toBeGreaterThan(0);
  });

  const campaigns = [
    { kind: 'fixed', seed: FIXED_SEED, hostile: true },
    { kind: 'random', seed: RANDOM_SEED, hostile: false },
  ];
  for (const { kind, seed, hostile } of campaigns) {
    it(`answers ${CALLS / 2} calls (${kind} seed ${seed}) with named errors and records each attempted change once`, async () => {
      const { daemon } = harness;
      const before = (await verifiedChain(daemon.auditDir)).length;
      const campaign = new Campaign({
        address: harness.bus.address,
        seed,
        calls: CALLS / 2,
        connections: LONG ? 8 : 4,
        inFlight: 8,
        flood: LONG ? { connections: 32, callsEach: 400, inFlight: 16 } : { connections: 32, callsEach: 20, inFlight: 10 },
        hostile,
        maxMessageSize: MAX_MESSAGE_SIZE,
        replyBoundMs: REPLY_BOUND_MS,
        daemonPid: daemon.pid,
        objects,
        progress: (line) => console.log(`fuzz: ${line}`),
      });
      const result = await campaign.run();
      results.push(result);
      const records = (await verifiedChain(daemon.auditDir)).slice(before);
      // One per attempted change: a caller's record, and the fail record that overturns an
      // activation after its success (the kernel refused, no DHCP lease came, it was deactivated
      // first) is the same attempt, by its tx. The daemon's own records (a teardown when a
      // profile that was activating is deleted) are not calls.
      const recorded = new Map<string, number>();
      const attempts = new Set<string>();
      for (const r of records) {
        if (r.origin !== undefined && r.origin !== 'caller') continue;
        const attempt = r.tx !== undefined ? `${r.boot}:${r.op}:${r.tx}` : `${r.boot}:${r.seq}`;
        if (attempts.has(attempt)) continue;
        attempts.add(attempt);
        recorded.set(r.op, (recorded.get(r.op) ?? 0) + 1);
      }
      const expected = [...result.expectedOps].reduce((n, [, c]) => n + c, 0);
      console.log([
        `fuzz: seed ${seed}: ${result.sent} calls sent (${result.unsent} not marshalled by dbus-next) in ${result.elapsedMs} ms, ${Math.round(result.sent / (result.elapsedMs / 1000))} calls/s, slowest answer ${result.slowestMs} ms`,
        `fuzz: answers: ${JSON.stringify(Object.fromEntries([...result.answers].sort((a, b) => b[1] - a[1])))}`,
        `fuzz: records: ${records.length} written, ${expected} expected: ${JSON.stringify(Object.fromEntries(recorded))}`,
        `fuzz: daemon RSS (KiB): idle ${idleRss}, start ${result.rss.startKiB}, peak ${result.rss.peakKiB}, end ${result.rss.endKiB}`,
        ...records.filter((r) => typeof r.ifindex === 'number' && r.ifindex < 0).slice(0, 3).map((r) => `fuzz: a record with a negative ifindex: ${JSON.stringify(r)}`),
        ...result.hostile.map((h) => `fuzz: hostile: ${h}`),
      ].join('\n'));
      expect(isAlive(daemon.pid), 'the daemon is alive').toBe(true);
      expect(result.problems, `seed ${seed}: ${result.problemCount} bad answers; replay with NETAUDIT_FUZZ_SEED=${seed}`).toEqual([]);
      expect(result.slowestMs).toBeLessThan(REPLY_BOUND_MS);
      expect(Object.fromEntries([...recorded].sort()), `seed ${seed}: trail records by op vs the attempted changes`).toEqual(Object.fromEntries([...result.expectedOps].sort()));
      expect(result.rss.peakKiB - idleRss, `seed ${seed}: RSS growth at the peak, KiB`).toBeLessThan(RSS_PEAK_GROWTH_KIB);
    }, LONG ? 4 * 3600_000 : 120_000);
  }

  it('still answers Ping and GetSettings afterwards, alive, with bounded memory', async () => {
    const { daemon } = harness;
    expect(results).toHaveLength(campaigns.length);
    expect(isAlive(daemon.pid)).toBe(true);
    const client = await connect(harness.bus.address);
    try {
      await client.call('/org/netaudit1', 'org.freedesktop.DBus.Peer', 'Ping');
      const [path] = (await client.call(SETTINGS, SETTINGS_IFACE, 'AddConnectionUnsaved', 'a{sa{sv}}', [{ connection: { id: variant('s', 'after the fuzz'), type: variant('s', 'dummy') } }])) as [string];
      const [settings] = (await client.call(path, CONNECTION_IFACE, 'GetSettings')) as [Record<string, Record<string, { value: unknown }>>];
      expect(settings.connection?.id?.value).toBe('after the fuzz');
    } finally {
      client.close();
    }
    const end = rssKiB(daemon.pid);
    console.log(`fuzz: daemon RSS after the passes: ${end} KiB (idle ${idleRss} KiB)`);
    expect(end - idleRss, 'RSS growth after the passes, KiB').toBeLessThan(RSS_END_GROWTH_KIB);
  }, 60_000);

  it('leaves a trail that netauditctl audit verify accepts', async () => {
    const { daemon } = harness;
    expect(results).toHaveLength(campaigns.length);
    const verify = await run(process.execPath, [repoPath('dist', 'cli', 'main.js'), 'audit', 'verify', '--dir', daemon.auditDir]);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  }, 60_000);
});
