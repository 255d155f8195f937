/**
 * A hostile relay for tests: a proxy on loopback in front of the real relay that sees, and
 * may drop, delay, replay, rewrite or inject, any HTTP answer and any WebSocket message in
 * either direction. Doorbells and phones are pointed at the proxy; the real relay behind it
 * does its honest work, and the hooks are the operator (or the warrant, or the breach) at it.
 *
 *   const p = await startHostileProxy(relay);
 *   p.http = (ex) => ex.req.path.endsWith('/roster') ? { ...ex.res, status: 503 } : ex.res;
 *   p.ws = (m) => (m.dir === 'down' && m.text?.includes('"t":"roster"') ? 'drop' : m.data);
 *
 * Every exchange and message is also kept (`p.seen`) so a test can replay it later.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer, type RawData } from 'ws';

export interface HttpRequestSeen {
  method: string;
  /** path and query, as the client sent them */
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface HttpExchange {
  req: HttpRequestSeen;
  /** what the real relay answered */
  res: HttpAnswer;
}

/** What a hook makes of an HTTP exchange: the answer to give (as is, rewritten or made up), or 'drop' (the connection is cut). */
export type HttpVerdict = HttpAnswer | 'drop';

/** One WebSocket message through the proxy. 'up': client → relay; 'down': relay → client. */
export interface WsMessage {
  dir: 'up' | 'down';
  /** the request path the socket was opened on (/v1/uplink, /v1/devices/<id>/follow, …) */
  path: string;
  data: Buffer;
  isBinary: boolean;
  /** the message as text, for text messages */
  text?: string;
  conn: WsConnection;
}

/** What a hook makes of a WebSocket message: the bytes to pass on (as is or rewritten), or 'drop'. */
export type WsVerdict = Buffer | string | 'drop';

export interface WsConnection {
  path: string;
  /** sends a message of the proxy's own making, as if from the relay ('down') or the client ('up') */
  inject(dir: 'up' | 'down', data: Buffer | string, isBinary?: boolean): void;
  close(): void;
}

export interface HostileProxy {
  /** http://127.0.0.1:<port>: what phones use as the relay URL */
  url: string;
  /** ws://127.0.0.1:<port>/v1/uplink: what doorbells use */
  uplinkUrl: string;
  /** the hook for HTTP: default passes the relay's answer on */
  http: (ex: HttpExchange) => HttpVerdict | Promise<HttpVerdict>;
  /**
   * Before forwarding: answer without asking the relay (inject), 'drop', or undefined to
   * forward. Default: forward everything.
   */
  request: (req: HttpRequestSeen) => HttpVerdict | undefined | Promise<HttpVerdict | undefined>;
  /** the hook for WebSocket messages: default passes them on */
  ws: (m: WsMessage) => WsVerdict | Promise<WsVerdict>;
  /** the relay behind the proxy (http URL) */
  target: string;
  /** everything that went through, in order */
  seen: { http: HttpExchange[]; ws: WsMessage[] };
  connections: Set<WsConnection>;
  close(): Promise<void>;
}

// `host` is passed on as the client sent it: the relay binds phone logins to the origin the phone used.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'content-length']);

function readAll(s: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    s.on('data', (d: Buffer) => parts.push(d));
    s.on('end', () => resolve(Buffer.concat(parts)));
    s.on('error', reject);
  });
}

function forwardHeaders(h: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined && !HOP_BY_HOP.has(k) && !k.startsWith('sec-websocket')) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/**
 * Starts the proxy in front of `relay` (its http URL), or of whatever `target` is set to later:
 * a relay binds phone logins to its public origin, so a test starts the proxy first and then the
 * relay with the proxy's URL as its origin (what a relay behind a reverse proxy does).
 */
export async function startHostileProxy(relay?: { url: string }): Promise<HostileProxy> {
  let upstream = new URL(relay?.url ?? 'http://127.0.0.1:9');
  const sockets = new Set<Duplex>();
  const connections = new Set<WsConnection>();
  const seen: HostileProxy['seen'] = { http: [], ws: [] };

  const ask = (req: HttpRequestSeen): Promise<HttpAnswer> =>
    new Promise((resolve, reject) => {
      const r = http.request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.path, headers: { ...forwardHeaders(req.headers), 'content-length': String(req.body.length) } },
        async (res) => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
          resolve({ status: res.statusCode ?? 502, headers, body: await readAll(res) });
        },
      );
      r.on('error', reject);
      r.end(req.body);
    });

  const answer = (res: ServerResponse, v: HttpVerdict) => {
    if (v === 'drop') return res.socket?.destroy();
    res.writeHead(v.status, { ...v.headers, 'content-length': String(v.body.length) });
    res.end(v.body);
  };

  const server = http.createServer(async (req, res) => {
    try {
      const seenReq: HttpRequestSeen = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body: await readAll(req) };
      const early = await p.request(seenReq);
      if (early !== undefined) return answer(res, early);
      const ex: HttpExchange = { req: seenReq, res: await ask(seenReq) };
      seen.http.push(ex);
      answer(res, await p.http(ex));
    } catch {
      res.socket?.destroy();
    }
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 1 << 21 });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    sockets.add(socket);
    socket.on('error', () => {});
    const path = req.url ?? '/';
    const up = new WebSocket(`ws://${upstream.host}${path}`, { headers: forwardHeaders(req.headers), perMessageDeflate: false, maxPayload: 1 << 21 });
    up.on('unexpected-response', (_r, res) => {
      // The relay refused the upgrade: the client gets the same status.
      socket.end(`HTTP/1.1 ${res.statusCode} ${res.statusMessage}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      res.resume();
    });
    up.on('error', () => socket.destroy());
    up.on('open', () => {
      wss.handleUpgrade(req, socket, head, (down) => {
        const sendTo = (ws: WebSocket, data: Buffer | string, isBinary: boolean) => {
          if (ws.readyState === WebSocket.OPEN) ws.send(data, { binary: isBinary });
        };
        const conn: WsConnection = {
          path,
          inject: (dir, data, isBinary = typeof data !== 'string') => sendTo(dir === 'up' ? up : down, data, isBinary),
          close: () => {
            up.terminate();
            down.terminate();
          },
        };
        connections.add(conn);
        // Messages keep their order through the hooks, however long a hook takes (a delay holds back those after it).
        let chain: Promise<void> = Promise.resolve();
        const relayMessage = (dir: 'up' | 'down', to: WebSocket) => (raw: RawData, isBinary: boolean) => {
          const data = Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw as Buffer);
          const m: WsMessage = { dir, path, data, isBinary, ...(isBinary ? {} : { text: data.toString('utf8') }), conn };
          seen.ws.push(m);
          chain = chain.then(async () => {
            const v = await p.ws(m);
            if (v !== 'drop') sendTo(to, v, typeof v === 'string' ? false : isBinary);
          }).catch(() => {});
        };
        down.on('message', relayMessage('up', up));
        up.on('message', relayMessage('down', down));
        const end = () => {
          connections.delete(conn);
          up.terminate();
          down.terminate();
        };
        down.on('close', end);
        up.on('close', end);
        down.on('error', end);
      });
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const p: HostileProxy = {
    url: `http://127.0.0.1:${port}`,
    uplinkUrl: `ws://127.0.0.1:${port}/v1/uplink`,
    get target() {
      return upstream.href;
    },
    set target(url: string) {
      upstream = new URL(url);
    },
    http: (ex) => ex.res,
    request: () => undefined,
    ws: (m) => m.data,
    seen,
    connections,
    close: async () => {
      for (const c of connections) c.close();
      for (const s of sockets) s.destroy();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return p;
}

/** The message's JSON, if it is a text message holding JSON; undefined otherwise. */
export function wsJson(m: WsMessage): Record<string, unknown> | undefined {
  if (m.text === undefined) return undefined;
  try {
    const v = JSON.parse(m.text);
    return typeof v === 'object' && v !== null ? v : undefined;
  } catch {
    return undefined;
  }
}
