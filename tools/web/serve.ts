/**
 * Serving the phone web app at /app/ (the relay does it next to its API; `sealbell phone
 * serve` does it for a self-hosted setup and passes /v1/… to the relay). The files come from
 * a built folder (`sealbell web build`, signed with `sealbell release sign-app`), read on each
 * request, or, without one, from an unsigned development build made in memory on first use.
 * Nothing here is secret and nothing here is trusted by the app's service worker: it checks
 * release.json's signature itself.
 */
import fs from 'node:fs';
import path from 'node:path';
import type http from 'node:http';
import { buildWebApp } from './build.js';

export const APP_PATH = '/app/';

export interface WebAppSource {
  /** a built app folder; else an in-memory development build */
  dir?: string;
  /** the relay the app talks to, as /app/relay.json tells it (default: this origin) */
  relayUrl?: string;
}

let devBuild: Promise<Map<string, Uint8Array>> | undefined;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.webmanifest': 'application/manifest+json',
  '.json': 'application/json',
  '.minisig': 'text/plain; charset=utf-8',
};

async function file(src: WebAppSource, name: string): Promise<Uint8Array | undefined> {
  if (src.dir) {
    try {
      return new Uint8Array(fs.readFileSync(path.join(src.dir, name)));
    } catch {
      return undefined;
    }
  }
  devBuild ??= buildWebApp();
  return (await devBuild).get(name);
}

/** Handles GET /app and /app/… ; false for anything else. */
export function handleWebApp(src: WebAppSource, req: http.IncomingMessage, res: http.ServerResponse): boolean {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname !== '/app' && !url.pathname.startsWith(APP_PATH)) return false;
  const send = (status: number, type: string, body: Uint8Array | string, extra: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', ...extra });
    res.end(body);
  };
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(405, 'application/json', '{"error":{"code":"METHOD","message":"the app is read-only"}}');
    return true;
  }
  if (url.pathname === '/app') {
    res.writeHead(308, { location: APP_PATH });
    res.end();
    return true;
  }
  const name = url.pathname.slice(APP_PATH.length) || 'index.html';
  if (name === 'relay.json') {
    send(200, 'application/json', JSON.stringify(src.relayUrl ? { relay: src.relayUrl } : {}));
    return true;
  }
  if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(name)) {
    send(404, 'application/json', '{"error":{"code":"NOT_FOUND","message":"no such file in the app"}}');
    return true;
  }
  void file(src, name).then(
    (bytes) => {
      if (!bytes) return send(404, 'application/json', '{"error":{"code":"NOT_FOUND","message":"no such file in the app"}}');
      // The worker's scope is /app/; it may be fetched as a module.
      send(200, TYPES[path.extname(name)] ?? 'application/octet-stream', bytes, name === 'sw.js' ? { 'service-worker-allowed': APP_PATH } : {});
    },
    () => send(500, 'application/json', '{"error":{"code":"APP_BUILD","message":"the app could not be built"}}'),
  );
  return true;
}
