// Where a V8 CPU profile (.cpuprofile) spends its time, by owner: each sample goes to the
// leaf-most frame of its stack that belongs to a known owner (dbus-next, koffi, our src/bus,
// src/core, …), so that Node's own stream and Buffer code called by dbus-next counts as
// dbus-next's, and fs code called by the core as the core's. Samples with no owner on the
// stack are Node's alone (the event loop's callbacks, promise jobs); (garbage collector) and
// (program) — V8 and native code with no JS frame, such as koffi's calls into C made
// outside JS frames and libuv — stay apart; (idle) is not counted.

interface Node {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

export interface CpuProfile {
  readonly nodes: readonly Node[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

/** The JS functions of bench/sd-bus.ts that call into C, and what they call. */
const FFI_CALLERS: Record<string, string> = {
  loop: 'loop (sd_bus_process: read(2), parse, dispatch)',
  readValue: 'the body readers (read_basic, read_array, enter/exit)',
  readDict: 'the body readers (read_basic, read_array, enter/exit)',
  readSettings: 'the body readers (read_basic, read_array, enter/exit)',
  replyString: 'replyString (new return, append, send)',
  replyError: 'replyError',
  callString: 'callString (new call, append, call_async)',
  '': 'the handlers (message getters, cookies)',
};

export interface Breakdown {
  /** busy time in ms (everything but idle) */
  readonly busyMs: number;
  /** owner → ms */
  readonly owners: ReadonlyMap<string, number>;
  /** dbus-next file → ms (part of the owner "dbus-next") */
  readonly dbusNextFiles: ReadonlyMap<string, number>;
  /** leaf functions (self time) → ms, the heaviest */
  readonly topSelf: ReadonlyArray<readonly [string, number]>;
}

export function ownerOf(url: string): string | null {
  if (url.includes('/node_modules/dbus-next/')) return 'dbus-next';
  // dbus-next's own dependencies (its marshaller's buffer builder, 64-bit integers)
  if (/\/node_modules\/(@nornagon\/put|safe-buffer|jsbi|long|event-stream|hexy|xml2js)\//.test(url)) return 'dbus-next';
  if (url.includes('/node_modules/koffi/')) return 'koffi (JS side)';
  if (url.includes('/node_modules/')) return 'other packages';
  // the daemon runs dist/, the bench's servers build/src/
  if (/\/(src|dist)\/bus\/wire\.js$/.test(url)) return 'src/bus/wire.ts (outgoing marshalling)';
  if (/\/(src|dist)\/bus\//.test(url)) return 'src/bus';
  if (/\/(src|dist)\/core\//.test(url)) return 'src/core';
  if (/\/(src|dist)\/log\//.test(url)) return 'src/log';
  if (/\/(src|dist)\/native\//.test(url)) return 'src/native';
  if (/\/(src|dist)\/(daemon|main|config)/.test(url)) return 'src (daemon, config)';
  if (/\/bench\/sd-bus\.js$/.test(url)) return 'sd-bus binding (bench/sd-bus.ts, koffi calls)';
  if (/\/bench\//.test(url)) return 'bench server';
  return null;
}

export function breakdown(profile: CpuProfile, top = 12): Breakdown {
  const byId = new Map<number, Node>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const ownerCache = new Map<number, { owner: string; file: string | null }>();
  const attribution = (id: number): { owner: string; file: string | null } => {
    const cached = ownerCache.get(id);
    if (cached) return cached;
    const leaf = byId.get(id)!;
    let result: { owner: string; file: string | null };
    const special = leaf.callFrame.functionName;
    if (special === '(garbage collector)' || special === '(program)' || special === '(idle)' || special === '(root)') {
      result = { owner: special, file: null };
    } else {
      result = { owner: 'node internals alone', file: null };
      const up = parent.get(id);
      const caller = up === undefined ? undefined : byId.get(up)!.callFrame;
      if (leaf.callFrame.url === '' && caller?.url === 'node:internal/stream_base_commons') {
        // the write(2)/writev(2) of a socket, made by whoever wrote
        result = { owner: 'socket writes (write/writev syscalls)', file: null };
        ownerCache.set(id, result);
        return result;
      }
      if (leaf.callFrame.url === '' && caller && /\/bench\/sd-bus\.js$/.test(caller.url)) {
        // a C function called through koffi (koffi's frames do not carry the C name)
        result = { owner: `C through koffi, from ${FFI_CALLERS[caller.functionName] ?? caller.functionName}`, file: null };
        ownerCache.set(id, result);
        return result;
      }
      for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
        const url = byId.get(cur)!.callFrame.url;
        const owner = ownerOf(url);
        if (owner) {
          result = { owner, file: owner === 'dbus-next' ? url.replace(/^.*\/node_modules\/(dbus-next\/)?/, '') : null };
          break;
        }
      }
    }
    ownerCache.set(id, result);
    return result;
  };
  const owners = new Map<string, number>();
  const files = new Map<string, number>();
  const self = new Map<string, number>();
  let busy = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    // the delta before sample i+1 is the time spent in sample i
    const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    const { owner, file } = attribution(id);
    if (owner === '(idle)') continue;
    busy += ms;
    owners.set(owner, (owners.get(owner) ?? 0) + ms);
    if (file) files.set(file, (files.get(file) ?? 0) + ms);
    const frame = byId.get(id)!.callFrame;
    const name = `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*\/(node_modules|src|dist|bench)\//, '$1/')}:${frame.lineNumber + 1}`;
    self.set(name, (self.get(name) ?? 0) + ms);
  }
  const sorted = (m: Map<string, number>): Map<string, number> => new Map([...m].sort((a, b) => b[1] - a[1]));
  return { busyMs: busy, owners: sorted(owners), dbusNextFiles: sorted(files), topSelf: [...sorted(self)].slice(0, top) };
}

/** Lines for the report: each owner's µs per call and share of the busy time. */
export function describe(b: Breakdown, calls: number, indent = '    '): string[] {
  const us = (ms: number): string => `${((ms * 1000) / calls).toFixed(1).padStart(7)} µs/call`;
  const pct = (ms: number): string => `${((100 * ms) / b.busyMs).toFixed(1).padStart(5)}%`;
  const lines = [`${indent}busy ${b.busyMs.toFixed(0)} ms over ${calls} calls = ${us(b.busyMs).trim()}`];
  for (const [owner, ms] of b.owners) lines.push(`${indent}  ${owner.padEnd(48)}${us(ms)}  ${pct(ms)}`);
  if (b.dbusNextFiles.size > 0) {
    lines.push(`${indent}  dbus-next by file: ${[...b.dbusNextFiles].map(([f, ms]) => `${f} ${((ms * 1000) / calls).toFixed(1)}`).join(', ')} (µs/call)`);
  }
  lines.push(`${indent}  heaviest self time: ${b.topSelf.slice(0, 8).map(([n, ms]) => `${n} ${((ms * 1000) / calls).toFixed(1)}`).join('; ')} (µs/call)`);
  return lines;
}
