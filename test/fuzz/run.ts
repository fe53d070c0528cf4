// Campaign: the fuzz run against one daemon. Phases: N calls spread over
// every method, property and path (several connections, several calls in
// flight each); the hostile cases (100,000-key dictionaries and arrays,
// deeply nested variants, empty containers, raw messages dbus-next will not
// write, messages near the bus's size limit); a flood from many connections
// at once. Every answer is checked (replies.ts) and every call that reached
// the daemon adds the op it must record, if any (expect.ts), so that the
// caller can compare the trail's new records with `expectedOps`.
import dbus from 'dbus-next';
import { connect, type TestClient } from '../helpers/client.js';
import { expectedOp, type SentCall } from './expect.js';
import { turnsAuditOff, nextCall, type CallTargets } from './calls.js';
import { hugeDict, nestedVariant } from './generate.js';
import type { ObjectInfo } from './introspect.js';
import { RssSampler, rssKiB } from './memory.js';
import { Prng } from './prng.js';
import { RawConnection, WireWriter, type RawCall } from './raw.js';
import { outcomeOf, problemWith, type Outcome } from './replies.js';

const { Variant } = dbus;
const SERVICE = 'org.netaudit1';

export interface CampaignOptions {
  readonly address: string;
  readonly seed: number;
  /** calls of the main phase */
  readonly calls: number;
  readonly connections: number;
  readonly inFlight: number;
  readonly flood: { readonly connections: number; readonly callsEach: number; readonly inFlight: number };
  /** run the hostile cases too (they take seconds: once per daemon is enough) */
  readonly hostile: boolean;
  /** the bus's max_message_size: the near-limit messages are sized from it */
  readonly maxMessageSize: number;
  /** no answer may take longer */
  readonly replyBoundMs: number;
  readonly daemonPid: number;
  readonly objects: readonly ObjectInfo[];
  readonly progress?: (line: string) => void;
}

export interface CampaignResult {
  readonly seed: number;
  /** calls put on the wire (dbus-next refused to marshal `unsent` more) */
  sent: number;
  unsent: number;
  /** answers by name: "return" or the error's name */
  readonly answers: Map<string, number>;
  /** the first problems found (replies.ts), each with the call that caused it */
  readonly problems: string[];
  problemCount: number;
  /** op → how many records the calls that reached the daemon must have left */
  readonly expectedOps: Map<string, number>;
  /** what the hostile phase saw, one line per case */
  readonly hostile: string[];
  slowestMs: number;
  rss: { startKiB: number; peakKiB: number; endKiB: number };
  elapsedMs: number;
}

const describe = (call: SentCall): string =>
  `${call.path} ${call.interface || '(no interface)'}.${call.member}(${JSON.stringify(call.signature)})`;

export class Campaign {
  readonly result: CampaignResult;
  private readonly created = new Set<string>();
  private readonly rng: Prng;

  constructor(private readonly options: CampaignOptions) {
    this.rng = new Prng(options.seed);
    this.result = {
      seed: options.seed, sent: 0, unsent: 0, answers: new Map(), problems: [], problemCount: 0, expectedOps: new Map(),
      hostile: [], slowestMs: 0, rss: { startKiB: 0, peakKiB: 0, endKiB: 0 }, elapsedMs: 0,
    };
  }

  async run(): Promise<CampaignResult> {
    const started = Date.now();
    const rss = new RssSampler(this.options.daemonPid);
    const { calls, connections, inFlight, flood } = this.options;
    this.log(`seed ${this.options.seed}: ${calls} calls over ${connections} connections, ${inFlight} in flight each`);
    await this.phase(connections, inFlight, calls, Math.ceil(calls / connections));
    this.log(`main phase done in ${Date.now() - started} ms`);
    if (this.options.hostile) await this.hostile();
    this.log(`flood: ${flood.connections} connections × ${flood.callsEach} calls, ${flood.inFlight} in flight each`);
    await this.phase(flood.connections, flood.inFlight, flood.connections * flood.callsEach, flood.callsEach);
    await this.removeCreated(0);
    this.result.rss = { startKiB: rss.start, peakKiB: rss.peak, endKiB: rss.stop() };
    this.result.rss.peakKiB = Math.max(this.result.rss.peakKiB, this.result.rss.endKiB);
    this.result.elapsedMs = Date.now() - started;
    return this.result;
  }

  private log(line: string): void {
    this.options.progress?.(line);
  }

  /** `total` calls from `connections` connections (each at most `each`), `inFlight` at a time on each. */
  private async phase(connections: number, inFlight: number, total: number, each: number): Promise<void> {
    let remaining = total;
    const targets: CallTargets = { objects: this.options.objects, created: this.created };
    await Promise.all(
      Array.from({ length: connections }, async () => {
        const rng = this.rng.fork();
        const client = await connect(this.options.address);
        try {
          let mine = each;
          const lane = async (): Promise<void> => {
            while (mine > 0 && remaining > 0) {
              mine--;
              remaining--;
              const call = nextCall(rng, targets);
              if (turnsAuditOff(call)) continue;
              await this.call(client, call);
              if (this.created.size > 24) await this.removeCreated(8, client);
            }
          };
          await Promise.all(Array.from({ length: inFlight }, lane));
        } finally {
          client.close();
        }
      }),
    );
  }

  /** Sends one call, checks its answer, and counts the record it must leave. */
  async call(client: TestClient, call: SentCall, boundMs = this.options.replyBoundMs): Promise<Outcome> {
    const started = Date.now();
    const outcome = await send(client, call, boundMs);
    const ms = Date.now() - started;
    this.account(call, outcome, ms);
    return outcome;
  }

  private account(call: SentCall, outcome: Outcome, ms: number): void {
    const r = this.result;
    if (outcome.kind === 'unsent') {
      r.unsent++;
      return;
    }
    r.sent++;
    r.slowestMs = Math.max(r.slowestMs, ms);
    const name = outcome.kind === 'error' ? outcome.name : outcome.kind;
    r.answers.set(name, (r.answers.get(name) ?? 0) + 1);
    const problem = problemWith(outcome) ?? (ms > this.options.replyBoundMs ? `answered after ${ms} ms` : null);
    if (problem) {
      r.problemCount++;
      if (r.problems.length < 40) r.problems.push(`${describe(call)}: ${problem}`);
    }
    // Only an answer from the daemon says that the call reached it.
    if (outcome.kind === 'return' || (outcome.kind === 'error' && !outcome.fromBus)) {
      const op = expectedOp(call);
      if (op !== null) r.expectedOps.set(op, (r.expectedOps.get(op) ?? 0) + 1);
    }
    if (outcome.kind === 'return') this.track(call, outcome.body);
  }

  /** Remembers the connections the campaign made, and forgets deleted ones. */
  private track(call: SentCall, body: unknown[]): void {
    if (['AddConnection', 'AddConnectionUnsaved', 'AddAndActivateConnection'].includes(call.member) && typeof body[0] === 'string') this.created.add(body[0]);
    if (call.member === 'Delete' && call.path.startsWith('/org/netaudit1/Settings/')) this.created.delete(call.path);
  }

  /** Deletes the connections the campaign made, down to `keep` (each Delete a recorded change). */
  private async removeCreated(keep: number, via?: TestClient): Promise<void> {
    const client = via ?? (await connect(this.options.address));
    try {
      while (this.created.size > keep) {
        const path = this.created.values().next().value!;
        this.created.delete(path);
        await this.call(client, { path, interface: 'org.netaudit1.Settings.Connection', member: 'Delete', signature: '', body: [] });
      }
    } finally {
      if (!via) client.close();
    }
  }

  /** The hostile cases, each on a connection of its own (the bus drops a sender whose message breaks its rules). */
  private async hostile(): Promise<void> {
    const profile = (extra: Record<string, unknown>): Record<string, Record<string, unknown>> => ({
      connection: { id: new Variant('s', `fuzz hostile ${this.rng.int(1e9)}`), type: new Variant('s', 'dummy'), ...extra },
    });
    const add = (settings: unknown): SentCall => ({ path: '/org/netaudit1/Settings', interface: 'org.netaudit1.Settings', member: 'AddConnectionUnsaved', signature: 'a{sa{sv}}', body: [settings] });
    const heavy: Array<[string, () => SentCall]> = [
      ['a 100,000-key setting', () => add({ connection: hugeDict(100_000) })],
      ['100,000 settings', () => add(hugeDict(100_000, () => ({})))],
      ['a 100,000-element array', () => add({ ...profile({}), ipv4: { method: new Variant('s', 'manual'), 'address-data': new Variant('aa{sv}', Array.from({ length: 100_000 }, (_, i) => ({ address: new Variant('s', `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`), prefix: new Variant('u', 32) }))) } })],
      ['a 100,000-key dictionary to Update', () => ({ ...add({ connection: hugeDict(100_000) }), path: '/org/netaudit1/Settings/1', interface: 'org.netaudit1.Settings.Connection', member: 'Update' })],
    ];
    const cases: Array<[string, () => SentCall]> = [
      // dbus-next takes seconds to marshal each: the long pass only (the raw phase sends 100,000 keys in every pass)
      ...(this.options.calls > 10_000 ? heavy : []),
      ['empty settings', () => add({})],
      ['an empty setting', () => add({ connection: {} })],
      ['an empty id and type', () => add({ connection: { id: new Variant('s', ''), type: new Variant('s', '') } })],
      ['a 1 MiB id', () => add(profile({ id: new Variant('s', 'é'.repeat(1 << 19)) }))],
      ['a Set of 100,000 nested arrays', () => ({ path: '/org/netaudit1', interface: 'org.freedesktop.DBus.Properties', member: 'Set', signature: 'ssv', body: ['org.netaudit1.Manager', 'WirelessEnabled', new Variant('ab', Array.from({ length: 100_000 }, () => true))] })],
      ...[2, 8, 16, 24, 28, 32, 48, 62, 64, 70].map((depth): [string, () => SentCall] => [
        `variants nested ${depth} deep`,
        () => add(profile({ nested: nestedVariant(depth) })),
      ]),
      ...[2, 30, 62, 64, 70].map((depth): [string, () => SentCall] => [
        `a Set of variants nested ${depth} deep`,
        () => ({ path: '/org/netaudit1/Devices/1', interface: 'org.freedesktop.DBus.Properties', member: 'Set', signature: 'ssv', body: ['org.netaudit1.Device', 'Managed', nestedVariant(depth)] }),
      ]),
    ];
    for (const [what, make] of cases) {
      const client = await connect(this.options.address);
      const started = Date.now();
      const call = make();
      const outcome = await send(client, call, this.options.replyBoundMs);
      client.close();
      // Past the bus's limits (size, nesting) the bus drops the sender: the daemon never sees the message.
      if (!(outcome.kind === 'closed' && /deep|bytes/.test(what))) this.account(call, outcome, Date.now() - started);
      this.result.hostile.push(`${what}: ${summary(outcome)} in ${Date.now() - started} ms, daemon RSS ${rssKiB(this.options.daemonPid)} KiB`);
      this.log(`hostile: ${this.result.hostile.at(-1)!}`);
    }
    await this.raw();
  }

  /** Messages dbus-next would not write, on raw connections (raw.ts says what the bus lets through). */
  private async raw(): Promise<void> {
    const u32 = new WireWriter().uint32(0).toBuffer();
    const cases: Array<[string, RawCall & { member: string }, SentCall['body']]> = [
      ['an fd index without an fd to a changing method', { path: '/org/netaudit1', interface: 'org.netaudit1.Manager', member: 'Enable', destination: SERVICE, signature: 'h', body: u32 }, []],
      ['an fd index without an fd to a read', { path: '/org/netaudit1', interface: 'org.netaudit1.Manager', member: 'GetDevices', destination: SERVICE, signature: 'h', body: u32 }, []],
      ['an fd index in a variant to Properties.Set', { path: '/org/netaudit1', interface: 'org.freedesktop.DBus.Properties', member: 'Set', destination: SERVICE, signature: 'ssv', body: new WireWriter().string('org.netaudit1.Manager').string('WirelessEnabled').signature('h').uint32(0).toBuffer() }, []],
      ['an fd index in a connection dictionary', { path: '/org/netaudit1/Settings', interface: 'org.netaudit1.Settings', member: 'AddConnection', destination: SERVICE, signature: 'a{sa{sv}}', body: new WireWriter().array(8, (w) => { w.align(8).string('connection').array(8, (d) => { d.align(8).string('id').signature('h').uint32(0); }); }).toBuffer() }, []],
      ['bytes that are not UTF-8 in an ay', { path: '/org/netaudit1', interface: 'org.netaudit1.Manager', member: 'GetDeviceByIpIface', destination: SERVICE, signature: 'ay', body: new WireWriter().array(1, (w) => w.raw(Buffer.from([0xff, 0xc3, 0x28, 0xed, 0xa0, 0x80]))).toBuffer() }, [Buffer.from([0xff])]],
      ['a setting of 10,000 keys', manyKeys(10_000), []],
      ['a setting of 100,000 keys (10 times as many: the time must stay about linear)', manyKeys(100_000), []],
      ['a 16 MiB ssid', nearLimit(16 << 20, 'ssid'), []],
      ...[this.options.maxMessageSize - (256 << 10), this.options.maxMessageSize - 4096, this.options.maxMessageSize + 4096].map((size): [string, RawCall & { member: string }, SentCall['body']] => [
        `a message of ${size} bytes (the bus's limit is ${this.options.maxMessageSize}; past it the bus refuses it)`,
        nearLimit(size - 512, 'blob'),
        [],
      ]),
      ['a string that is not UTF-8 (the bus refuses it)', { path: '/org/netaudit1', interface: 'org.netaudit1.Manager', member: 'SetLogging', destination: SERVICE, signature: 'ss', body: new WireWriter().stringBytes(Buffer.from([0xff, 0xfe])).string('ALL').toBuffer() }, [null, 'ALL']],
    ];
    for (const [what, raw, body] of cases) {
      const started = Date.now();
      const conn = await RawConnection.open(this.options.address);
      const reply = await conn.call(raw, this.options.replyBoundMs);
      conn.close();
      const call: SentCall = { path: raw.path, interface: raw.interface ?? '', member: raw.member, signature: raw.signature ?? '', body };
      const outcome: Outcome =
        reply.type === 2 ? { kind: 'return', body: [] }
          : reply.type === 3 ? { kind: 'error', name: reply.errorName ?? '', text: reply.text ?? '', fromBus: !(reply.errorName ?? '').startsWith('org.netaudit1.') }
            : reply.type === 0 ? { kind: 'closed', reason: 'the bus closed the connection' } : { kind: 'timeout' };
      // The bus closing the sender's connection is its answer to a message it finds invalid: the daemon never saw it.
      if (!(outcome.kind === 'closed' && what.includes('the bus refuses'))) this.account(call, outcome, Date.now() - started);
      this.result.hostile.push(`raw: ${what}: ${summary(outcome)} in ${Date.now() - started} ms, daemon RSS ${rssKiB(this.options.daemonPid)} KiB`);
      this.log(`hostile: ${this.result.hostile.at(-1)!}`);
    }
  }
}

/** AddConnectionUnsaved of a dummy profile with a byte array of `size` bytes under connection.`key` (dbus-next is slow to marshal one). */
function nearLimit(size: number, key: string): RawCall & { member: string } {
  const body = new WireWriter().array(8, (groups) => {
    groups.align(8).string(key === 'ssid' ? '802-11-wireless' : 'connection').array(8, (props) => {
      if (key !== 'ssid') {
        props.align(8).string('id').signature('s').string(`fuzz near the limit ${size}`);
        props.align(8).string('type').signature('s').string('dummy');
      }
      props.align(8).string(key).signature('ay').array(1, (bytes) => bytes.raw(Buffer.alloc(size, 0xff)));
    });
  }).toBuffer();
  return { path: '/org/netaudit1/Settings', interface: 'org.netaudit1.Settings', member: 'AddConnectionUnsaved', destination: SERVICE, signature: 'a{sa{sv}}', body };
}

/** AddConnectionUnsaved whose connection setting has `n` keys (written here: dbus-next takes seconds for 100,000). */
function manyKeys(n: number): RawCall & { member: string } {
  const body = new WireWriter().array(8, (groups) => {
    groups.align(8).string('connection').array(8, (props) => {
      props.align(8).string('id').signature('s').string(`fuzz ${n} keys`);
      for (let i = 0; i < n; i++) props.align(8).string(`k${i}`).signature('u').uint32(i);
    });
  }).toBuffer();
  return { path: '/org/netaudit1/Settings', interface: 'org.netaudit1.Settings', member: 'AddConnectionUnsaved', destination: SERVICE, signature: 'a{sa{sv}}', body };
}

function summary(outcome: Outcome): string {
  switch (outcome.kind) {
    case 'error': return `${outcome.name}${outcome.fromBus ? ' (from the bus)' : ''}: ${outcome.text.slice(0, 120)}`;
    case 'closed': return `connection closed (${outcome.reason})`;
    case 'unsent': return `not sent (${outcome.reason})`;
    default: return outcome.kind;
  }
}

/** One call on `client`, with a bound on the wait; a call dbus-next cannot marshal is "unsent". */
export async function send(client: TestClient, call: SentCall, boundMs: number): Promise<Outcome> {
  try {
    const body = await client.call(call.path, call.interface, call.member, call.signature, [...call.body], { timeoutMs: boundMs });
    return { kind: 'return', body };
  } catch (e) {
    const outcome = outcomeOf(e);
    if (outcome.kind !== 'error' || outcome.fromBus) return outcome;
    // the test client's own answers: its bound passed, or the connection closed
    if (outcome.name === 'org.freedesktop.DBus.Error.NoReply') return { kind: 'timeout' };
    if (outcome.name === 'org.freedesktop.DBus.Error.Disconnected') return { kind: 'closed', reason: outcome.text };
    return outcome;
  }
}
