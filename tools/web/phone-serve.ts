/**
 * `sealbell phone serve`: the phone web app for a self-hosted setup, on a port of this
 * machine: /app/ as the relay serves it (tools/web/serve.ts), and /v1/… passed through to the
 * relay (HTTP and WebSocket, byte for byte) so the page talks to one origin. The page logs in
 * with the relay's own origin (it reads it from /app/relay.json). Keys stay in the browser:
 * this server sees what the relay sees.
 *
 *   const s = await startPhoneServer({ port: 8090, relayUrl: 'http://127.0.0.1:8080' });
 *   console.log(`open ${s.url}`);
 */
import http from 'node:http';
import net from 'node:net';
import { SealbellError } from '../../src/errors.js';
import { APP_PATH, handleWebApp } from './serve.js';

export interface PhoneServerOptions {
  port: number;
  /** default 127.0.0.1 */
  host?: string;
  relayUrl: string;
  /** a built (and signed) app folder; else a development build */
  appDir?: string;
  log?: (line: string) => void;
}

export interface PhoneServer {
  /** the app's address */
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startPhoneServer(o: PhoneServerOptions): Promise<PhoneServer> {
  const host = o.host ?? '127.0.0.1';
  let relay: URL;
  try {
    relay = new URL(o.relayUrl);
  } catch {
    throw new SealbellError('SERVE_OPTIONS', `not a relay URL: ${o.relayUrl.slice(0, 80)}`);
  }
  if (relay.protocol !== 'http:') throw new SealbellError('SERVE_OPTIONS', 'phone serve passes plain http:// relays through (loopback); put TLS in front of both');
  const relayPort = Number(relay.port || 80);
  const source = { dir: o.appDir, relayUrl: relay.origin };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://serve');
    if (url.pathname.startsWith('/v1/')) return proxyHttp(req, res, relay, relayPort);
    if (handleWebApp(source, req, res)) return;
    res.writeHead(url.pathname === '/' ? 302 : 404, url.pathname === '/' ? { location: APP_PATH } : { 'content-type': 'text/plain' });
    res.end(url.pathname === '/' ? '' : 'not found\n');
  });

  // WebSocket upgrades under /v1/ go to the relay byte for byte (live view).
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://serve');
    if (!url.pathname.startsWith('/v1/')) return socket.destroy();
    const upstream = net.connect(relayPort, relay.hostname, () => {
      const lines = [`${req.method} ${url.pathname}${url.search} HTTP/1.1`];
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
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}${APP_PATH}`;
  o.log?.(`phone serve: ${url} (relay ${relay.origin})`);
  return {
    url,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** One HTTP request passed through to the relay, bodies streamed both ways. */
function proxyHttp(req: http.IncomingMessage, res: http.ServerResponse, relay: URL, relayPort: number): void {
  const upstream = http.request({ host: relay.hostname, port: relayPort, method: req.method, path: req.url, headers: { ...req.headers, host: relay.host } }, (r) => {
    res.writeHead(r.statusCode ?? 502, r.headers);
    r.pipe(res);
  });
  upstream.on('error', () => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
    res.end('{"error":{"code":"RELAY_UNREACHABLE","message":"phone serve cannot reach the relay"}}');
  });
  req.pipe(upstream);
}
