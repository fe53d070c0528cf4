// useDaemon: the bus, daemon and root client that the tests of a file (or of a describe block) share.
import { afterAll, beforeAll } from 'vitest';
import { startBus, type BusOptions, type TestBus } from './bus.js';
import { connect, type TestClient } from './client.js';
import { startDaemon, type DaemonOptions, type TestDaemon } from './daemon.js';

export interface DaemonHarness {
  bus: TestBus;
  daemon: TestDaemon;
  /** A connection of this process, which runs as root. */
  client: TestClient;
}

/**
 * Registers in the current scope a beforeAll that starts a bus (with `busOptions`), a daemon on
 * it with `options` and a client, and an afterAll that closes the client and stops the bus, and the daemon with
 * it. The fields of the object returned are set once that beforeAll has run.
 */
export function useDaemon(options: DaemonOptions = {}, busOptions: BusOptions = {}): DaemonHarness {
  const harness: Partial<DaemonHarness> = {};
  beforeAll(async () => {
    harness.bus = await startBus(busOptions);
    harness.daemon = await startDaemon(harness.bus, options);
    harness.client = await connect(harness.bus.address);
  });
  afterAll(async () => {
    harness.client?.close();
    await harness.bus?.stop();
  });
  return harness as DaemonHarness;
}
