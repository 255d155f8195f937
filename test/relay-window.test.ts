/**
 * The relay shares its in-flight budget among the doorbells connected: each
 * is offered ⌊budget / doorbells⌋ (1 … the relay's window) in its hello, and
 * again in a later hello whenever the count changes.
 */
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startRelay } from '../tools/relay/server.js';
import { newDeviceCredential, registerDevice } from '../tools/relay/owner-client.js';
import { loadOrCreateIdentity } from '../src/device/identity.js';
import { ADMIN_TOKEN } from './relay-helpers.js';
import { MemoryStore, tempDir } from './helpers.js';
import { seededRandom } from './seeded.js';

/** A doorbell's raw uplink connection that records the windows of the hellos it is sent. */
function connect(uplinkUrl: string, credential: string) {
  const windows: number[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const ws = new WebSocket(uplinkUrl, { headers: { authorization: `Bearer ${credential}` } });
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const m = JSON.parse((data as Buffer).toString('utf8')) as { t: string; window?: number };
    if (m.t !== 'hello') return;
    windows.push(m.window!);
    for (const w of waiters.filter((w) => windows.length >= w.n)) w.resolve();
  });
  ws.on('error', () => {});
  /** resolves once `n` hellos have come (the test's own bound catches a relay that never sends them) */
  const hellos = (n: number) => new Promise<void>((resolve) => (windows.length >= n ? resolve() : waiters.push({ n, resolve })));
  return { ws, windows, hellos };
}

describe('relay in-flight budget', function () {
  this.timeout(30_000);

  it('each doorbell is offered its share in a later hello as doorbells come and go', async () => {
    const relay = await startRelay({ port: 0, host: '127.0.0.1', dataDir: tempDir('relay-window'), adminToken: ADMIN_TOKEN, limits: { inFlightBudget: 12, window: 8 } });
    try {
      const credentials: string[] = [];
      for (let i = 0; i < 3; i++) {
        const identity = loadOrCreateIdentity(new MemoryStore(), seededRandom(`relay-window/${i}`));
        const credential = newDeviceCredential();
        await registerDevice(relay.url, ADMIN_TOKEN, { credential, publicKey: identity.publicKeyText });
        credentials.push(credential);
      }
      const a = connect(relay.uplinkUrl, credentials[0]);
      await a.hellos(1);
      assert.deepEqual(a.windows, [8], 'alone: the relay window (12 would be more)');
      const b = connect(relay.uplinkUrl, credentials[1]);
      await Promise.all([a.hellos(2), b.hellos(1)]);
      assert.deepEqual(a.windows, [8, 6]);
      assert.deepEqual(b.windows, [6]);
      const c = connect(relay.uplinkUrl, credentials[2]);
      await Promise.all([a.hellos(3), b.hellos(2), c.hellos(1)]);
      assert.deepEqual([a.windows, b.windows, c.windows], [[8, 6, 4], [6, 4], [4]]);
      c.ws.close();
      await Promise.all([a.hellos(4), b.hellos(3)]);
      assert.deepEqual([a.windows.at(-1), b.windows.at(-1)], [6, 6], 'shares grow back when a doorbell leaves');
      a.ws.close();
      b.ws.close();
    } finally {
      await relay.close();
    }
  });
});
