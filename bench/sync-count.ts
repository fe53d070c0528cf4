// How many syncs, and thread wake-ups, one audited AddConnection costs the daemon:
// `strace -f -c` attached to it over N sequential adds (python3-dbus, all four backends), then
// the counts per add. The trail and the write-ahead log are appended with O_DSYNC writes (each
// a write and its sync in one call), so the critical path shows no fsync or fdatasync at all:
// the fsyncs counted are the background checkpoint's (the files changed, and the directory).
//
//   npm run build && npx tsc -p bench/tsconfig.json && node build/bench/sync-count.js [N]
import { spawn } from 'node:child_process';
import { startBus } from '../test/helpers/bus.js';
import { startDaemon } from '../test/helpers/daemon.js';
import { python } from '../test/helpers/exec.js';

const N = Number(process.argv[2] ?? 1000);

const script = (n: number): string => `
import dbus
bus = dbus.SystemBus()
s = dbus.Interface(bus.get_object('org.netaudit1', '/org/netaudit1/Settings'), 'org.netaudit1.Settings')
for i in range(${n}):
    s.AddConnection(dbus.Dictionary({'connection': dbus.Dictionary({'id': 'sync-%d' % i, 'type': '802-3-ethernet', 'interface-name': 'eth0'}, signature='sv'), 'ipv4': dbus.Dictionary({'method': 'manual', 'address-data': dbus.Array([dbus.Dictionary({'address': '192.0.2.10', 'prefix': dbus.UInt32(24)}, signature='sv')], signature='a{sv}')}, signature='sv')}, signature='sa{sv}'))
`;

async function main(): Promise<void> {
  const bus = await startBus();
  try {
    const daemon = await startDaemon(bus, { config: { logging: { audit: 'yes' }, audit: { backends: 'libaudit,journal,log,file' } } });
    const strace = spawn('strace', ['-f', '-c', '-e', 'trace=fsync,fdatasync,sync_file_range,futex', '-p', String(daemon.pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let out = '';
    strace.stderr.setEncoding('utf8').on('data', (chunk: string) => { out += chunk; });
    await new Promise((r) => setTimeout(r, 1000)); // strace attached to every thread
    const r = await python(bus.address, script(N), { timeoutMs: 600_000 });
    if (r.code !== 0) throw new Error(`python3-dbus client failed: ${r.stderr}`);
    await new Promise((r) => setTimeout(r, 2500)); // the last checkpoint
    strace.kill('SIGINT');
    await new Promise((r) => strace.on('exit', r));
    const calls = new Map<string, number>();
    for (const m of out.matchAll(/^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)$/gm)) calls.set(m[2]!, Number(m[1]));
    if (calls.size === 0) throw new Error(`strace printed no table:\n${out}`);
    process.stdout.write(`per audited AddConnection, over ${N} sequential adds (strace -f -c on the daemon):\n`);
    for (const name of ['fsync', 'fdatasync', 'sync_file_range', 'futex']) {
      process.stdout.write(`  ${name.padEnd(16)}${((calls.get(name) ?? 0) / N).toFixed(2)}\n`);
    }
  } finally {
    await bus.stop();
  }
}

main().catch((e: Error) => {
  process.stderr.write(`sync-count failed: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
