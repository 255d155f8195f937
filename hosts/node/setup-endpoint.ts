/**
 * The doorbell's setup endpoint in the hosted simulator, standing in for the
 * temporary access point: the device's own HTTP server (src/net/http-server.ts)
 * and setup handler (src/app/setup-http.ts) behind a Node listener on loopback,
 * one connection per request, a few at a time, each given a deadline.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { HttpConnection, type HttpHandler } from '../../src/net/http-server.js';
import { setupHttpHandler, type SetupHttpOptions } from '../../src/app/setup-http.js';
import { netStream } from './tcp-stream.js';

export interface SetupEndpoint {
  /** http://127.0.0.1:<port>/setup */
  url: string;
  port: number;
  /** connections accepted so far */
  readonly connections: number;
  close(): Promise<void>;
}

export interface ServeOptions {
  /** default 127.0.0.1: the simulator never listens beyond this machine */
  host?: string;
  /** default 0 (any free port) */
  port?: number;
  /** connections served at once; more are answered 408 at once (default 4, as on the device) */
  maxConnections?: number;
  /** ms a connection may take to send its request (default 15 000, as on the device) */
  timeoutMs?: number;
}

/** Serves an HTTP handler as the device does. Rejects (e.g. EADDRINUSE) when the port cannot be had. */
export async function serveHttpHandler(handler: HttpHandler, o: ServeOptions = {}): Promise<SetupEndpoint> {
  const open = new Set<{ conn: HttpConnection; socket: net.Socket; timer: NodeJS.Timeout }>();
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    const conn = new HttpConnection(handler, {}, () => {
      clearTimeout(entry.timer);
      open.delete(entry);
    });
    const entry = { conn, socket, timer: setTimeout(() => conn.timeout(), o.timeoutMs ?? 15_000) };
    open.add(entry);
    conn.attach(netStream(socket, conn));
    if (open.size > (o.maxConnections ?? 4)) conn.timeout();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address}:${port}/setup`,
    port,
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const e of [...open]) {
          clearTimeout(e.timer);
          e.socket.destroy();
        }
        open.clear();
        server.close(() => resolve());
      }),
  };
}

/** The setup endpoint for a SetupMode alone (setup tests). */
export function startSetupEndpoint(o: Omit<SetupHttpOptions, 'now'> & ServeOptions & { now?: () => number }): Promise<SetupEndpoint> {
  return serveHttpHandler(setupHttpHandler({ ...o, now: o.now ?? Date.now }), o);
}
