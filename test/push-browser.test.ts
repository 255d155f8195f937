/**
 * web/push in a real service worker (headless Chromium, playwright-core): a test-only page and
 * service worker (the handler bundled with esbuild) on a loopback origin that also passes /v1/ on
 * to the relay; the relay's push reference for a sealed event is delivered to the worker through
 * the DevTools protocol (ServiceWorker.deliverPushMessage); the worker fetches the sealed event,
 * checks and opens it, and shows the notification; once showNotification has resolved it tells the
 * open pages what it showed (as the app's worker does), and the test reads title and poster there.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { chromium, type BrowserContext } from 'playwright-core';
import { nobleBackend } from '../src/crypto/noble.js';
import { loadOrCreateIdentity } from '../src/device/identity.js';
import { generateIdentity, identityToRecipient } from '../src/age/x25519.js';
import { prepareHeader } from '../src/clip/prepared-header.js';
import { sealEvent } from '../src/event/event.js';
import { encodeEventFrame } from '../src/uplink/wire.js';
import { startRelay, type Relay } from '../tools/relay/server.js';
import { newDeviceCredential, publishPhoneKeys, registerDevice } from '../tools/relay/owner-client.js';
import { newPhoneAuthKey, PhoneClient } from '../tools/relay/phone-client.js';
import { SyntheticCamera } from '../hosts/node/camera.js';
import { startPushService, type LocalPushService } from '../tools/bench/push-service.js';
import { MemoryStore, ROOT, requireTool, seededRandom, tempDir } from './helpers.js';
import { ADMIN_TOKEN } from './relay-helpers.js';

const SW_SOURCE = `
import { notificationForPush, relayLogin } from './web/push/handler.ts';
const C = CONFIG;
const seen = new Set();
const fromB64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const deps = {
  fetch: (u, i) => fetch(u, i),
  relayUrl: () => self.location.origin,
  session: (id) => relayLogin((u, i) => fetch(u, i), self.location.origin, id, fromB64(C.authSeed)),
  identities: async () => [C.identity],
  devicePublicKey: async () => C.devicePub,
  doorbellName: () => 'Front door',
  seen: { has: (k) => seen.has(k), add: (k) => void seen.add(k) },
  timeZone: 'UTC',
};
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));
self.addEventListener('push', (e) => {
  e.waitUntil(notificationForPush(e.data ? e.data.text() : '', deps).then(async (n) => {
    await self.registration.showNotification(n.title, n.options);
    const told = { t: 'notified', title: n.title, body: n.options.body, image: n.options.image, url: n.options.data.url, deviceId: n.options.data.deviceId, clip: n.options.data.clip };
    for (const c of await self.clients.matchAll({ type: 'window', includeUncontrolled: true })) c.postMessage(told);
  }));
});
`;

const PAGE = `<!doctype html><meta charset="utf-8"><title>push test</title><script>
window.sealbellApp = { notified: [] };
navigator.serviceWorker.addEventListener('message', (e) => e.data && e.data.t === 'notified' && window.sealbellApp.notified.push(e.data));
window.ready = navigator.serviceWorker.register('/sw.js').then(() => navigator.serviceWorker.ready);
</script>`;

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Headless Chromium with notifications allowed for `origin`, a page, and what the DevTools protocol reports of its service workers. */
async function launch(origin: string) {
  const browser = await chromium.launchPersistentContext(fs.mkdtempSync(path.join(os.tmpdir(), 'sealbell-chromium-')), { headless: true, executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  await browser.grantPermissions(['notifications'], { origin });
  const page = await browser.newPage();
  const cdp = await browser.newCDPSession(page);
  const workers = new WorkerWatch();
  cdp.on('ServiceWorker.workerRegistrationUpdated', (e: { registrations: Registration[] }) => workers.registrations.push(...e.registrations));
  cdp.on('ServiceWorker.workerVersionUpdated', (e: { versions: Version[] }) => workers.versions.push(...e.versions));
  cdp.on('ServiceWorker.workerErrorReported', (e: { errorMessage: { errorMessage: string; sourceURL: string; lineNumber: number } }) =>
    workers.errors.push(`${e.errorMessage.errorMessage} (${e.errorMessage.sourceURL}:${e.errorMessage.lineNumber})`),
  );
  await cdp.send('ServiceWorker.enable');
  return { browser, page, cdp, workers };
}

type Registration = { registrationId: string; scopeURL: string };
type Version = { registrationId: string; versionId: string; status: string; runningStatus: string };

/** The service worker registrations, versions and errors the DevTools protocol reported. */
class WorkerWatch {
  readonly registrations: Registration[] = [];
  readonly versions: Version[] = [];
  readonly errors: string[] = [];

  /**
   * The registration whose scope `scope` accepts, once one of its versions is activated: a push
   * delivered while the worker is still activating may be dropped (bounded: 60 s).
   */
  async activated(scope: (url: string) => boolean): Promise<Registration> {
    for (let i = 0; i < 600; i++) {
      const reg = this.registrations.find((r) => scope(r.scopeURL));
      if (reg && this.versions.some((v) => v.registrationId === reg.registrationId && v.status === 'activated')) return reg;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no activated service worker: ${this.describe()}`);
  }

  /** What was reported, for a failure message. */
  describe(): string {
    const last = new Map(this.versions.map((v) => [v.versionId, `${v.versionId}:${v.status}/${v.runningStatus}`]));
    return `registrations ${JSON.stringify(this.registrations.map((r) => r.scopeURL))}, versions [${[...last.values()].join(', ')}], errors ${JSON.stringify(this.errors)}`;
  }
}

/** The doorbell's sealed event for `clip` (as src/device/doorbell.ts makes it), sent up its uplink; resolves with the push payload the relay sent. */
async function pushedEvent(
  relay: Relay,
  credential: string,
  device: ReturnType<typeof loadOrCreateIdentity>,
  phoneIdentity: string,
  o: { clip: string; poster: Uint8Array; time: number; random: ReturnType<typeof seededRandom>; push: LocalPushService; sub: Awaited<ReturnType<LocalPushService['subscribe']>>; sent?: (at: number) => void },
): Promise<string> {
  const header = prepareHeader({ epoch: 1, recipients: [identityToRecipient(phoneIdentity)] }, o.random);
  const signed = sealEvent({ v: 1, device: device.deviceId, clip: o.clip, trigger: 'press', time: o.time }, o.poster, {
    aead: nobleBackend.aead, header: header.header, clipNonce: header.nonce, eventNonce: header.eventNonce, key: header.eventKey, signingKey: device.key,
  });
  const ws = new WebSocket(relay.uplinkUrl, { headers: { authorization: `Bearer ${credential}` } });
  await new Promise((r) => ws.once('message', r)); // hello
  const before = o.push.messages(o.sub).length;
  o.sent?.(performance.now());
  ws.send(encodeEventFrame(o.clip, signed.sealed, signed.signature));
  const end = Date.now() + 30_000;
  while (o.push.messages(o.sub).length === before) {
    assert.ok(Date.now() < end, 'the push reaches the push service');
    await new Promise((r) => setTimeout(r, 20));
  }
  ws.close();
  return o.push.messages(o.sub)[before];
}

/**
 * The notifications the page's service worker showed (showNotification resolved) and told the
 * page of, once there are more than `before` (bounded). Not registration.getNotifications():
 * Chromium's answer drops, for good, a notification the platform has not yet reported as
 * displayed, so polling it while the worker shows one loses that one now and then.
 */
const shownAfter = (before: number) => `(async () => {
  for (let i = 0; i < 3000; i++) {
    const n = window.sealbellApp.notified;
    if (n.length > ${before}) return n.slice(${before});
    await new Promise((ok) => setTimeout(ok, 10));
  }
  return [];
})()`;
type Shown = { title: string; body: string; image: string; url: string; deviceId: string; clip?: string }[];

describe('web/push in a service worker (headless Chromium)', function () {
  this.timeout(120_000);
  let browser: BrowserContext | undefined;
  let relay: Relay | undefined;
  let server: http.Server | undefined;
  let push: LocalPushService | undefined;
  afterEach(async () => {
    await browser?.close();
    await relay?.close();
    server?.closeAllConnections();
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    await push?.close();
  });

  it('a push reference delivered over the DevTools protocol: the worker shows "Front door — someone rang" with the poster as its image', async () => {
    requireTool('chromium');
    const random = seededRandom('push-browser');
    const phoneIdentity = generateIdentity(random);
    const key = newPhoneAuthKey();
    const device = loadOrCreateIdentity(new MemoryStore(), random);
    // The page's origin passes /v1/ on to the relay: the app and the relay share an origin, as when the relay serves the app.
    let relayUrl = '';
    let swCode = '';
    server = http.createServer((req, res) => {
      if (req.url === '/') return res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
      if (req.url === '/sw.js') return res.writeHead(200, { 'content-type': 'text/javascript' }).end(swCode);
      if (req.url?.startsWith('/v1/')) {
        const up = http.request(`${relayUrl}${req.url}`, { method: req.method, headers: req.headers }, (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        });
        req.pipe(up);
        return;
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    relay = await startRelay({ port: 0, host: '127.0.0.1', dataDir: tempDir('push-browser-relay'), adminToken: ADMIN_TOKEN, origin });
    relayUrl = relay.url;
    const credential = newDeviceCredential();
    await registerDevice(relay.url, ADMIN_TOKEN, { credential, publicKey: device.publicKeyText });
    await publishPhoneKeys(relay.url, credential, device.deviceId, [key.publicKey]);
    const { build } = await import('esbuild');
    const bundled = await build({
      stdin: { contents: SW_SOURCE, resolveDir: ROOT, loader: 'js', sourcefile: 'push-sw.js' },
      absWorkingDir: ROOT,
      bundle: true,
      write: false,
      format: 'iife',
      platform: 'browser',
      target: 'es2020',
      define: { CONFIG: JSON.stringify({ identity: phoneIdentity, authSeed: Buffer.from(key.secretKey).toString('base64'), devicePub: device.publicKeyText }) },
      logLevel: 'silent',
    });
    swCode = bundled.outputFiles[0].text;

    // A subscription at a local push service tells us the reference the relay pushes.
    push = await startPushService();
    const sub = await push.subscribe(relay.push.vapidPublicKey);
    await (await PhoneClient.login(origin, device.deviceId, key)).subscribePush(sub.json);

    const poster = new SyntheticCamera({ width: 160, height: 120 }).capture(1, Date.now());
    const time = Date.now();
    const payload = await pushedEvent(relay, credential, device, phoneIdentity, { clip: 'browser-clip-1', poster, time, random, push, sub });

    const { browser: b, page, cdp, workers } = await launch(origin);
    browser = b;
    await page.goto(origin + '/');
    await page.evaluate('window.ready');
    const reg = await workers.activated((url) => url.startsWith(origin));
    await cdp.send('ServiceWorker.deliverPushMessage', { origin: origin + '/', registrationId: reg.registrationId, data: payload });
    const shown = (await page.evaluate(shownAfter(0))) as Shown;
    assert.equal(shown.length, 1, `one notification (${workers.describe()})`);
    assert.equal(shown[0].title, 'Front door — someone rang');
    assert.equal(shown[0].body, new Date(time).toISOString().slice(11, 16));
    assert.equal(shown[0].url, `/app/#/live/${device.deviceId}`);
    assert.deepEqual(Buffer.from(shown[0].image.split(',')[1], 'base64'), Buffer.from(poster), 'the poster is the image');
  });
});

describe('the phone web app rings: its own service worker shows the notification (headless Chromium)', function () {
  this.timeout(180_000);
  let browser: BrowserContext | undefined;
  let relay: Relay | undefined;
  let push: LocalPushService | undefined;
  afterEach(async () => {
    await browser?.close();
    await relay?.close();
    await push?.close();
  });

  it('the app served by the relay, with the phone in IndexedDB: a pushed reference becomes "— someone rang" with the poster; its tap opens live view (data.url)', async () => {
    requireTool('chromium');
    const random = seededRandom('push-app');
    const phoneIdentity = generateIdentity(random);
    const key = newPhoneAuthKey();
    const device = loadOrCreateIdentity(new MemoryStore(), random);
    relay = await startRelay({ port: 0, host: '127.0.0.1', dataDir: tempDir('push-app-relay'), adminToken: ADMIN_TOKEN });
    const origin = relay.url.replace(/\/+$/, '');
    const credential = newDeviceCredential();
    await registerDevice(relay.url, ADMIN_TOKEN, { credential, publicKey: device.publicKeyText });
    await publishPhoneKeys(relay.url, credential, device.deviceId, [key.publicKey]);
    push = await startPushService();
    const sub = await push.subscribe(relay.push.vapidPublicKey);
    await (await PhoneClient.login(origin, device.deviceId, key)).subscribePush(sub.json);

    const { browser: b, page, cdp, workers } = await launch(origin);
    browser = b;
    await page.goto(`${origin}/app/`);
    await page.evaluate('navigator.serviceWorker.ready');
    // The phone as the app keeps it after enrolment (web/app/keystore.ts).
    const record = { v: 1, name: 'phone 1', relayOrigin: origin, account: '0'.repeat(16), identity: phoneIdentity, recipient: identityToRecipient(phoneIdentity), authSeed: Array.from(key.secretKey), authorityPub: '', doorbells: [{ deviceId: device.deviceId, devicePub: device.publicKeyText }] };
    await page.evaluate(`new Promise((ok, no) => {
      const r = indexedDB.open('sealbell', 1);
      r.onupgradeneeded = () => r.result.createObjectStore('phone');
      r.onerror = () => no(r.error);
      r.onsuccess = () => {
        const p = ${JSON.stringify(record)};
        p.authSeed = new Uint8Array(p.authSeed);
        const tx = r.result.transaction('phone', 'readwrite');
        tx.objectStore('phone').put(p, 'self');
        tx.oncomplete = () => { r.result.close(); ok(); };
        tx.onerror = () => no(tx.error);
      };
    })`);

    const poster = new SyntheticCamera({ width: 160, height: 120 }).capture(2, Date.now());
    const payload = await pushedEvent(relay, credential, device, phoneIdentity, { clip: 'app-clip-1', poster, time: Date.now(), random, push, sub });

    const reg = await workers.activated((url) => url === `${origin}/app/`); // the app registered its service worker
    await cdp.send('ServiceWorker.deliverPushMessage', { origin: `${origin}/`, registrationId: reg.registrationId, data: payload });
    const shown = (await page.evaluate(shownAfter(0))) as Shown;
    assert.equal(shown.length, 1, `one notification (${workers.describe()})`);
    assert.match(shown[0].title, / — someone rang$/);
    assert.equal(shown[0].url, `/app/#/live/${device.deviceId}`);
    assert.deepEqual(Buffer.from(shown[0].image.split(',')[1], 'base64'), Buffer.from(poster), 'the poster is the image');

    // The figure issue 15 asks for (printed, not asserted): the doorbell's event frame sent → the
    // notification shown by the app's worker, through the relay, the local push service and the
    // browser (delivered over the DevTools protocol). Press → event sent is the bench's part.
    const took: number[] = [];
    for (let i = 0; i < 10; i++) {
      let sentAt = 0;
      const data = await pushedEvent(relay, credential, device, phoneIdentity, { clip: `app-clip-t${i}`, poster, time: Date.now(), random, push, sub, sent: (at) => (sentAt = at) });
      await cdp.send('ServiceWorker.deliverPushMessage', { origin: `${origin}/`, registrationId: reg.registrationId, data });
      const round = (await page.evaluate(shownAfter(i + 1))) as Shown;
      assert.deepEqual(round.map((n) => n.clip), [`app-clip-t${i}`], `notification ${i}`);
      took.push(performance.now() - sentAt);
    }
    took.sort((a, b) => a - b);
    console.log(`      event sent → notification shown: median ${Math.round(took[5])} ms, slowest of 10 ${Math.round(took[9])} ms`);
  });
});
