// AddConnection + Delete through the real daemon on a private bus: one client waiting for each
// reply, against eight clients at once whose trail records share fsyncs. Run: npm run bench.
import { afterAll, beforeAll, bench, describe } from 'vitest';
import { startBus, type TestBus } from '../test/helpers/bus.js';
import { connect, type TestClient } from '../test/helpers/client.js';
import { startDaemon } from '../test/helpers/daemon.js';
import { CONNECTION_IFACE, ethernet, SETTINGS, SETTINGS_IFACE } from '../test/helpers/profiles.js';

let bus: TestBus;
let clients: TestClient[] = [];
let n = 0;

beforeAll(async () => {
  bus = await startBus();
  await startDaemon(bus);
  clients = await Promise.all(Array.from({ length: 8 }, () => connect(bus.address)));
});

afterAll(async () => {
  for (const c of clients) c.close();
  await bus.stop();
});

async function addAndDelete(client: TestClient): Promise<void> {
  const [path] = (await client.call(SETTINGS, SETTINGS_IFACE, 'AddConnection', 'a{sa{sv}}', [ethernet(`bench-${++n}`)])) as [string];
  await client.call(path, CONNECTION_IFACE, 'Delete');
}

describe('profiles: 16 add+delete pairs (32 audited changes)', () => {
  bench('one client, one call at a time', async () => {
    for (let i = 0; i < 16; i++) await addAndDelete(clients[0]!);
  }, { iterations: 20, time: 0 });
  bench('eight clients at once', async () => {
    await Promise.all(clients.map(async (c) => {
      await addAndDelete(c);
      await addAndDelete(c);
    }));
  }, { iterations: 20, time: 0 });
});
