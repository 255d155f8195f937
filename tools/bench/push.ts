/**
 * Press → push on loopback: the doorbell app on the Node host (real clock, 10 fps, 3 s of
 * pre-roll), the real relay, and a real local Web Push service (web-push-testing: it checks
 * VAPID and decrypts each RFC 8291 payload as a browser would). Each press starts a clip; the
 * time is from the press to the decrypted push at the push service, and on to the
 * notification the service worker's handler (web/push) would show: sealed event fetched
 * from the relay, signature checked, opened, poster as a data: URL. Everything shares this
 * one process's event loop.
 *
 *   push_press_to_push_ms_median / _p95          press → push received
 *   push_press_to_notification_ms_median / _p95  press → notification ready to show
 *
 * Standalone: `node dist/tools/bench/push.js [presses]` prints the figures as JSON.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { NodeDoorbell } from '../../hosts/node/doorbell.js';
import { startRelay } from '../relay/server.js';
import { newDeviceCredential } from '../relay/owner-client.js';
import { quantile, startBenchDoorbell } from './bench-doorbell.js';
import { handlePush, type FetchLike } from '../../web/push/handler.js';
import { startPushService } from './push-service.js';

const round = (x: number) => Math.round(x * 10) / 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(done: () => boolean, what: string, bound = 30_000): Promise<void> {
  const end = Date.now() + bound;
  while (!done()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(1);
  }
}

export async function benchPushLatency(presses = 20): Promise<Record<string, number>> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sealbell-push-bench-'));
  const adminToken = newDeviceCredential();
  const relay = await startRelay({ port: 0, host: '127.0.0.1', dataDir, adminToken });
  const pushService = await startPushService();
  let doorbell: NodeDoorbell | undefined;
  try {
    const bell = await startBenchDoorbell(relay, adminToken, dataDir, { fps: 10, app: { clipDuration: 300 } });
    doorbell = bell.doorbell;
    const { identity, phoneIdentity, client } = bell;
    const d = doorbell;
    const sub = await pushService.subscribe(relay.push.vapidPublicKey);
    await client.subscribePush(sub.json);
    const token = (client as unknown as { token: string }).token;
    const seen = new Set<string>();
    const deps = {
      fetch: fetch as unknown as FetchLike,
      relayUrl: () => relay.url,
      session: async () => token,
      identities: async () => [phoneIdentity],
      devicePublicKey: async () => identity.publicKeyText,
      doorbellName: () => 'Bench door',
      seen: { has: (k: string) => seen.has(k), add: (k: string) => void seen.add(k) },
    };

    const toPush: number[] = [];
    const toNotification: number[] = [];
    for (let i = 0; i < presses; i++) {
      await waitFor(() => !d.app.doorbell.recording && d.app.doorbell.pool.available === d.app.doorbell.pool.size && d.app.uplink?.state === 'ready', 'doorbell ready for a press');
      const before = pushService.messages(sub).length;
      const t0 = performance.now();
      if (!d.press()) throw new Error('the press did not start a clip');
      await waitFor(() => pushService.messages(sub).length > before, 'the push');
      toPush.push(performance.now() - t0);
      await handlePush(pushService.messages(sub)[before], deps);
      toNotification.push(performance.now() - t0);
    }
    toPush.sort((a, b) => a - b);
    toNotification.sort((a, b) => a - b);
    return {
      push_presses: presses,
      push_press_to_push_ms_median: round(quantile(toPush, 0.5)),
      push_press_to_push_ms_p95: round(quantile(toPush, 0.95)),
      push_press_to_notification_ms_median: round(quantile(toNotification, 0.5)),
      push_press_to_notification_ms_p95: round(quantile(toNotification, 0.95)),
    };
  } finally {
    await doorbell?.stop();
    await relay.close();
    await pushService.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

// `node dist/tools/bench/push.js [presses]`
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await benchPushLatency(Number(process.argv[2] ?? 20)), null, 2));
}
