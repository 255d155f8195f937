/**
 * `sealbell viewer`: a small local web server for the browser viewer. It serves
 * the page and its script (tools/viewer/app.ts, bundled with esbuild at start),
 * and passes /relay/… through to the relay (HTTP and WebSocket) so the page
 * talks to one origin. Decryption happens in the page; this server and the
 * relay see ciphertext only.
 *
 * With a phone's keys (`phoneDir`, or `phone`) it also hands them to the page,
 * at /config.json behind a random token in the URL it returns: listening on
 * loopback only, it is the phone's own machine talking to itself.
 *
 *   const v = await startViewer({ port: 8090, phoneDir, deviceId });
 *   console.log(`open ${v.url}`);
 */
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { base64 } from '@scure/base';
import { SealbellError } from '../../src/errors.js';
import { listDevices, readDevice, readPhone } from '../phone/state.js';
import { PAGE } from './page.js';

export interface ViewerPhone {
  relayUrl: string;
  deviceId: string;
  /** AGE-SECRET-KEY-1… */
  identity: string;
  /** Ed25519 seed of the phone's relay login key */
  authSeed: Uint8Array;
  /** device.pub text */
  devicePub: string;
}

export interface ViewerOptions {
  port: number;
  /** default 127.0.0.1; the page's keys are only served on loopback */
  host?: string;
  /** the relay to pass /relay/… to (default: the phone's) */
  relayUrl?: string;
  /** a phone's folder (tools/phone/state.ts): its keys prefill the page */
  phoneDir?: string;
  deviceId?: string;
  /** or the keys themselves */
  phone?: ViewerPhone;
  log?: (line: string) => void;
}

export interface Viewer {
  /** open this in a browser (carries the config token when keys are served) */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** The repository root, from dist/tools/viewer/ or tools/viewer/. */
function sourceRoot(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return here.includes(`${path.sep}dist${path.sep}`) ? path.resolve(here, '..', '..', '..') : path.resolve(here, '..', '..');
}

/** The page script: tools/viewer/app.ts and what it imports (src/, noble), bundled for browsers. */
export async function bundleViewer(): Promise<string> {
  const { build } = await import('esbuild');
  const root = sourceRoot();
  const result = await build({
    entryPoints: [path.join(root, 'tools/viewer/app.ts')],
    absWorkingDir: root,
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    logLevel: 'silent',
  });
  return result.outputFiles[0].text;
}

function phoneFrom(o: ViewerOptions): ViewerPhone | undefined {
  if (o.phone) return o.phone;
  if (!o.phoneDir) return undefined;
  const p = readPhone(o.phoneDir);
  const devices = listDevices(o.phoneDir);
  const deviceId = o.deviceId ?? (devices.length === 1 ? devices[0] : undefined);
  if (!deviceId) throw new SealbellError('PHONE_STATE', devices.length ? `say which doorbell: ${devices.join(', ')}` : 'this phone knows no doorbell yet');
  const d = readDevice(o.phoneDir, deviceId);
  return { relayUrl: d.relayUrl, deviceId, identity: p.identity, authSeed: p.auth.secretKey, devicePub: d.publicKeyText };
}

export async function startViewer(o: ViewerOptions): Promise<Viewer> {
  const host = o.host ?? '127.0.0.1';
  const log = o.log ?? (() => {});
  const phone = phoneFrom(o);
  const relayUrl = o.relayUrl ?? phone?.relayUrl;
  if (!relayUrl) throw new SealbellError('VIEWER_OPTIONS', 'the viewer needs a relay URL (or a phone that knows one)');
  const relay = new URL(relayUrl);
  const relayPort = Number(relay.port || (relay.protocol === 'https:' ? 443 : 80));
  if (relay.protocol !== 'http:') throw new SealbellError('VIEWER_OPTIONS', 'the viewer passes plain http:// relays through (loopback); put TLS in front of both');
  const script = await bundleViewer();
  const token = randomBytes(24).toString('base64url');
  const config = phone && {
    relayOrigin: relay.origin,
    deviceId: phone.deviceId,
    identity: phone.identity,
    authSeed: base64.encode(phone.authSeed),
    devicePub: phone.devicePub,
  };
  const tokenOk = (t: string | null) => t !== null && t.length === token.length && timingSafeEqual(Buffer.from(t), Buffer.from(token));

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://viewer');
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
      res.end(body);
    };
    if (url.pathname.startsWith('/relay/')) return proxyHttp(req, res, relay, relayPort, url);
    if (req.method !== 'GET') return send(405, 'text/plain', 'method not allowed\n');
    if (url.pathname === '/') return send(200, 'text/html; charset=utf-8', PAGE);
    if (url.pathname === '/app.js') return send(200, 'text/javascript; charset=utf-8', script);
    if (url.pathname === '/config.json') {
      if (!config || !tokenOk(url.searchParams.get('t'))) return send(404, 'application/json', '{"error":{"code":"NO_CONFIG"}}');
      return send(200, 'application/json', JSON.stringify(config));
    }
    send(404, 'text/plain', 'not found\n');
  });

  // WebSocket upgrades under /relay/ are passed to the relay byte for byte (live view).
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://viewer');
    if (!url.pathname.startsWith('/relay/')) return socket.destroy();
    const upstream = net.connect(relayPort, relay.hostname, () => {
      const lines = [`${req.method} ${url.pathname.slice('/relay'.length)}${url.search} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        const name = req.rawHeaders[i];
        lines.push(`${name}: ${name.toLowerCase() === 'host' ? relay.host : req.rawHeaders[i + 1]}`);
      }
      upstream.write(lines.join('\r\n') + '\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    const drop = () => {
      upstream.destroy();
      socket.destroy();
    };
    upstream.on('error', drop);
    socket.on('error', drop);
    upstream.on('close', drop);
    socket.on('close', drop);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, host, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  const base = `http://${host.includes(':') ? `[${host}]` : host}:${port}/`;
  log(`viewer: ${base} (relay ${relay.origin})`);
  return {
    url: config ? `${base}?t=${token}` : base,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** One HTTP request passed through to the relay, bodies streamed both ways. */
function proxyHttp(req: http.IncomingMessage, res: http.ServerResponse, relay: URL, relayPort: number, url: URL): void {
  const headers = { ...req.headers, host: relay.host };
  const upstream = http.request(
    { host: relay.hostname, port: relayPort, method: req.method, path: url.pathname.slice('/relay'.length) + url.search, headers },
    (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    },
  );
  upstream.on('error', () => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
    res.end('{"error":{"code":"RELAY_UNREACHABLE","message":"the viewer cannot reach the relay"}}');
  });
  req.pipe(upstream);
}
