/**
 * The service worker's doorbell notifications: a Web Push carries only an opaque reference
 * (docs/event-format.md); the worker fetches the sealed event from the relay, checks the
 * doorbell's signature and opens it with this phone's key (web/push/handler.ts), and shows
 * "<doorbell> — someone rang, 17:02" with the poster frame. A tap opens live view.
 */
/// <reference lib="webworker" />
import { loadPhone, type BrowserPhone } from '../app/keystore.js';
import { notificationForPush, relayLogin, type PushDeps } from '../push/handler.js';
import { authSignerOf, identitiesFor } from '../app/phone-keys.js';

declare const self: ServiceWorkerGlobalScope;

/** Events already shown while this worker lives (the relay's replays are refused by time as well). */
const seen = new Set<string>();

async function phone(): Promise<BrowserPhone> {
  const p = await loadPhone();
  if (!p) throw new Error('this browser holds no enrolled phone');
  return p;
}

const doorbell = async (deviceId: string) => {
  const d = (await phone()).doorbells.find((x) => x.deviceId === deviceId);
  if (!d) throw new Error(`doorbell ${deviceId} is not one of this phone's`);
  return d;
};

const deps: PushDeps = {
  fetch: (u, i) => fetch(u, i),
  relayUrl: async () => (await phone()).relayOrigin,
  session: async (deviceId) => {
    const p = await phone();
    return relayLogin((u, i) => fetch(u, i), p.relayOrigin, deviceId, authSignerOf(p));
  },
  identities: async (_deviceId, shares) => identitiesFor(await phone(), shares),
  devicePublicKey: async (deviceId) => (await doorbell(deviceId)).devicePub,
  seen: { has: (k) => seen.has(k), add: (k) => void seen.add(k) },
};

self.addEventListener('push', (ev) => {
  const payload = ev.data ? ev.data.text() : '';
  ev.waitUntil(
    notificationForPush(payload, deps).then(async (n) => {
      await self.registration.showNotification(n.title, n.options);
      // Open app windows hear of it too: a timeline on screen shows the new clip at once.
      const told = { t: 'notified', title: n.title, body: n.options.body, image: n.options.image, url: n.options.data.url, deviceId: n.options.data.deviceId, clip: n.options.data.clip };
      for (const c of await self.clients.matchAll({ type: 'window', includeUncontrolled: true })) c.postMessage(told);
    }),
  );
});

self.addEventListener('notificationclick', (ev) => {
  ev.notification.close();
  const data = ev.notification.data as { url?: string } | undefined;
  const target = new URL(data?.url ?? '/app/', self.registration.scope).href;
  ev.waitUntil(
    self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then((all) => {
      const open = all.find((c) => c.url.startsWith(self.registration.scope));
      return open ? open.navigate(target).then((c) => c?.focus()) : self.clients.openWindow(target);
    }),
  );
});
