// A hostile relay for tests: a proxy on loopback in front of the real relay that can rewrite any
// HTTP answer and drop, inject or replay any WebSocket message in either direction. Everything
// that passes is recorded, so a test can replay what it saw. (Loopback only.)
import http from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';

export interface TamperHooks {
  /** may return a replacement body (and status) for an HTTP answer */
  http?: (method: string, path: string, status: number, body: Buffer) => { status: number; body: Buffer } | undefined;
  /** relay → client WebSocket message; return false to drop it */
  toClient?: (path: string, data: Buffer, isBinary: boolean) => boolean;
  /** client → relay WebSocket message; return false to drop it */
  toRelay?: (path: string, data: Buffer, isBinary: boolean) => boolean;
}

interface Pair {
  path: string;
  client: WebSocket;
  upstream: WebSocket;
}

export class RelayTamper {
  hooks: TamperHooks = {};
  target = '';
  /** every text message relay → client, by WebSocket path */
  readonly seen: { path: string; text: string }[] = [];
  private readonly pairs = new Set<Pair>();
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
  ) {}

  static async start(): Promise<RelayTamper> {
    const server = http.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const t = new RelayTamper(server, `http://127.0.0.1:${(server.address() as { port: number }).port}`);
    server.on('request', (req, res) => void t.forwardHttp(req, res));
    server.on('upgrade', (req, socket, head) => t.forwardUpgrade(req, socket, head));
    return t;
  }

  /** Sends `text` to every client whose socket path matches, as if the relay had sent it. */
  inject(pathPart: string, text: string): number {
    let n = 0;
    for (const p of this.pairs) {
      if (p.path.includes(pathPart) && p.client.readyState === WebSocket.OPEN) {
        p.client.send(text);
        n++;
      }
    }
    return n;
  }

  async close(): Promise<void> {
    for (const p of this.pairs) {
      p.client.terminate();
      p.upstream.terminate();
    }
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private async forwardHttp(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && !['host', 'connection', 'content-length'].includes(k)) headers[k] = v;
      const method = req.method ?? 'GET';
      const r = await fetch(this.target + req.url, { method, headers, body: method === 'GET' || method === 'HEAD' ? undefined : Buffer.concat(chunks) });
      let status = r.status;
      let body: Buffer = Buffer.from(await r.arrayBuffer());
      const out = this.hooks.http?.(method, (req.url ?? '/').split('?')[0], status, body);
      if (out) ({ status, body } = out);
      const h: Record<string, string> = {};
      r.headers.forEach((v, k) => {
        if (!['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'content-encoding'].includes(k)) h[k] = v;
      });
      res.writeHead(status, { ...h, 'content-length': body.length });
      res.end(body);
    } catch {
      res.destroy();
    }
  }

  private forwardUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = req.url ?? '/';
    const headers: Record<string, string> = {};
    if (req.headers.authorization) headers.authorization = req.headers.authorization;
    const protocols = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    const upstream = new WebSocket(this.target.replace(/^http/, 'ws') + path, protocols, { headers, perMessageDeflate: false, maxPayload: 1 << 24 });
    upstream.on('unexpected-response', (_q, res) => {
      socket.end(`HTTP/1.1 ${res.statusCode} ${res.statusMessage}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      res.resume();
    });
    upstream.on('error', () => socket.destroy());
    upstream.on('open', () => {
      this.wss.handleUpgrade(req, socket, head, (client) => {
        const pair: Pair = { path, client, upstream };
        this.pairs.add(pair);
        upstream.on('message', (data, isBinary) => {
          const buf = data as Buffer;
          if (!isBinary) this.seen.push({ path, text: buf.toString('utf8') });
          if (this.hooks.toClient?.(path, buf, isBinary) === false) return;
          if (client.readyState === WebSocket.OPEN) client.send(buf, { binary: isBinary });
        });
        client.on('message', (data, isBinary) => {
          const buf = data as Buffer;
          if (this.hooks.toRelay?.(path, buf, isBinary) === false) return;
          if (upstream.readyState === WebSocket.OPEN) upstream.send(buf, { binary: isBinary });
        });
        const closeOther = (other: WebSocket) => (code: number, reason: Buffer) => {
          this.pairs.delete(pair);
          if (other.readyState !== WebSocket.OPEN) return;
          if (code === 1000 || (code >= 3000 && code < 5000)) other.close(code, reason);
          else other.terminate();
        };
        upstream.on('close', closeOther(client));
        client.on('close', closeOther(upstream));
        client.on('error', () => {});
      });
    });
  }
}
