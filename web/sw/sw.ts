/**
 * The app's service worker (an ES module; its push and notificationclick listeners are in
 * notifications.ts). It pins the release it runs:
 *
 * - install: fetches release.json (and its signature), checks the signature with the release
 *   public key built into this worker (RELEASE_PUB; a development build without one pins
 *   whatever it first fetched), fetches every listed file, checks each one's SHA-256 and keeps
 *   them in a cache named after the release;
 * - fetch: the app's files come from that cache, each checked against the pinned hashes again
 *   as it is served; the relay's API (/v1/…) passes through untouched;
 * - update: on each start of the app it asks the relay for release.json; an unchanged one is
 *   nothing; a new one is taken only when the release key signed it and every file matches,
 *   else it is refused and the page says so, still on the pinned release.
 *
 * What this cannot stop (the browser fetches this worker's own script itself): see
 * docs/threat-model.md, "The phone web app".
 */
/// <reference lib="webworker" />
import { utf8Decode } from '../../src/bytes.js';
import { checkFile, isNewer, parseRelease, RELEASE_FILE, SIGNATURE_FILE, verifyRelease, type AppRelease } from '../release/format.js';
import './notifications.js';

declare const self: ServiceWorkerGlobalScope;
/** the release public key (minisign text), set at build time; '' in a development build */
declare const RELEASE_PUB: string;

const PIN = 'sealbell-pin';
const scopePath = () => new URL(self.registration.scope).pathname;
const url = (path: string) => new URL(path, self.registration.scope).href;

interface Pinned {
  release: AppRelease;
  cache: string;
}

/** What the worker tells the page. */
export interface ReleaseStatus {
  running?: string;
  signed: boolean;
  /** the refusal of the last update the relay offered, if it was refused */
  refused?: string;
}

let refused: string | undefined;

async function pinned(): Promise<Pinned | undefined> {
  const c = await caches.open(PIN);
  const r = await c.match(url(RELEASE_FILE));
  if (!r) return undefined;
  const release = parseRelease(new Uint8Array(await r.arrayBuffer()));
  return { release, cache: `sealbell-app-${release.version}` };
}

const fetchBytes = async (path: string) => {
  const r = await fetch(url(path), { cache: 'no-store' });
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
};

/** The relay's current release.json, checked: signed by the release key (or a development build). */
async function offered(): Promise<{ bytes: Uint8Array; signature?: string; release: AppRelease }> {
  const bytes = await fetchBytes(RELEASE_FILE);
  if (!RELEASE_PUB) return { bytes, release: parseRelease(bytes) };
  const signature = utf8Decode(await fetchBytes(SIGNATURE_FILE));
  return { bytes, signature, release: verifyRelease(bytes, signature, RELEASE_PUB) };
}

/** Fetches, checks and keeps every file of `o`, then pins it. */
async function take(o: { bytes: Uint8Array; signature?: string; release: AppRelease }): Promise<void> {
  const name = `sealbell-app-${o.release.version}`;
  const cache = await caches.open(name);
  for (const f of o.release.files) {
    const bytes = await fetchBytes(f.path);
    checkFile(o.release, f.path, bytes);
    await cache.put(url(f.path), new Response(bytes as BodyInit, { headers: { 'content-type': contentType(f.path) } }));
  }
  const pin = await caches.open(PIN);
  if (o.signature) await pin.put(url(SIGNATURE_FILE), new Response(o.signature));
  await pin.put(url(RELEASE_FILE), new Response(o.bytes as BodyInit));
  for (const k of await caches.keys()) if (k.startsWith('sealbell-app-') && k !== name) await caches.delete(k);
}

function contentType(path: string): string {
  if (path.endsWith('.html')) return 'text/html; charset=utf-8';
  if (path.endsWith('.js')) return 'text/javascript; charset=utf-8';
  if (path.endsWith('.css')) return 'text/css; charset=utf-8';
  if (path.endsWith('.png')) return 'image/png';
  if (path.endsWith('.webmanifest')) return 'application/manifest+json';
  return 'application/octet-stream';
}

/** Looks for an update; returns what the page should show. */
async function check(): Promise<ReleaseStatus> {
  const p = await pinned();
  try {
    const bytes = await fetchBytes(RELEASE_FILE);
    const current = p ? await (await caches.open(PIN)).match(url(RELEASE_FILE)) : undefined;
    const same = current && utf8Decode(new Uint8Array(await current.arrayBuffer())) === utf8Decode(bytes);
    if (!same) {
      const o = await offered();
      if (p && RELEASE_PUB && !isNewer(o.release.version, p.release.version)) {
        throw Object.assign(new Error(`release ${o.release.version} is not newer than ${p.release.version}`), { rollback: true });
      }
      await take(o);
      refused = undefined;
    }
  } catch (e) {
    if (p && (e as { rollback?: boolean }).rollback) refused = `the relay offered an older app release, which is not taken; still running release ${p.release.version} (${(e as Error).message})`;
    else if (p) refused = `the relay offered an app update that is not signed by the sealbell release key; still running release ${p.release.version} (${(e as Error).message})`;
  }
  const now = await pinned();
  return { running: now?.release.version, signed: RELEASE_PUB !== '', ...(refused ? { refused } : {}) };
}

self.addEventListener('install', (ev) => {
  ev.waitUntil(
    (async () => {
      // A worker that already pins a release keeps it: only a signed update replaces it (check).
      if (!(await pinned())) await take(await offered());
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener('activate', (ev) => ev.waitUntil(self.clients.claim()));

self.addEventListener('message', (ev) => {
  const port = ev.ports[0];
  if ((ev.data as { t?: string })?.t === 'check' && port) {
    void check().then(
      (s) => port.postMessage(s),
      (e) => port.postMessage({ signed: RELEASE_PUB !== '', refused: (e as Error).message }),
    );
  }
});

self.addEventListener('fetch', (ev) => {
  const u = new URL(ev.request.url);
  const scope = scopePath();
  if (u.origin !== self.location.origin || !u.pathname.startsWith(scope) || ev.request.method !== 'GET') return;
  let path = u.pathname.slice(scope.length);
  if (path === '' || ev.request.mode === 'navigate') path = 'index.html';
  ev.respondWith(
    (async () => {
      const p = await pinned();
      if (!p || !p.release.files.some((f) => f.path === path)) return fetch(ev.request);
      const hit = await (await caches.open(p.cache)).match(url(path));
      if (!hit) return new Response('this file of the pinned release is missing from the cache', { status: 503 });
      const bytes = new Uint8Array(await hit.arrayBuffer());
      checkFile(p.release, path, bytes); // a cache changed under us is not served
      return new Response(bytes as BodyInit, { headers: { 'content-type': contentType(path), 'x-sealbell-release': p.release.version } });
    })(),
  );
});
