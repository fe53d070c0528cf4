// The daemon's life: one per profiles directory and bus name, a clean stop on SIGTERM, and an
// exit (not a zombie service) when the bus goes away.
import { afterEach, describe, expect, it } from 'vitest';
import { startBus, type TestBus } from '../helpers/bus.js';
import { connect } from '../helpers/client.js';
import { runDaemonOnce, startDaemon } from '../helpers/daemon.js';
import { ethernet, SETTINGS, SETTINGS_IFACE } from '../helpers/profiles.js';
import { waitFor } from '../helpers/wait.js';

const buses: TestBus[] = [];

afterEach(async () => {
  for (const bus of buses.splice(0)) await bus.stop();
});

async function bus(): Promise<TestBus> {
  const b = await startBus();
  buses.push(b);
  return b;
}

describe('netauditd', () => {
  it('stops cleanly on SIGTERM with status 0 and releases its lock', async () => {
    const b = await bus();
    const daemon = await startDaemon(b);
    expect(await daemon.stop()).toBe(0);
    await daemon.start();
    const client = await connect(b.address);
    await client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [ethernet('after-restart')]);
    client.close();
  });

  it('refuses to start a second daemon on the same run directory', async () => {
    const b1 = await bus();
    const b2 = await bus();
    const daemon = await startDaemon(b1);
    const second = await runDaemonOnce(['--config', daemon.configFile, '--bus-address', b2.address]);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`another netauditd holds ${daemon.runDir}/netauditd.lock`);
  });

  it('refuses to start when another process owns the bus name', async () => {
    const b = await bus();
    await startDaemon(b);
    const other = await startDaemon(b, { startTimeoutMs: 5_000 }).catch((e: Error) => e);
    expect(other).toBeInstanceOf(Error);
    expect((other as Error).message).toContain('is owned by another process');
  });

  it('exits with status 1 when the bus goes away', async () => {
    const b = await bus();
    const daemon = await startDaemon(b);
    process.kill(b.pid, 'SIGTERM');
    await waitFor(() => !daemon.process.pid || daemon.process.exitCode !== null, { what: 'the daemon to exit', timeoutMs: 15_000 });
    expect(daemon.process.exitCode).toBe(1);
    expect(daemon.stderr()).toContain('lost the bus');
  });
});
