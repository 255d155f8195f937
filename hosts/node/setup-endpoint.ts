/**
 * The doorbell's setup endpoint in the hosted simulator, standing in for the
 * temporary access point: POST /setup on loopback, one setup message per request
 * body, the reply message as the response body (application/octet-stream).
 * It only carries bytes; every decision is the core's SetupMode.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SetupMode, SetupReply } from '../../src/setup/setup-mode.js';
import { encodeMessage } from '../../src/setup/messages.js';
import { MAX_MESSAGE_BYTES } from '../../src/setup/protocol.js';

export interface SetupEndpointOptions {
  mode: SetupMode;
  /** default 127.0.0.1: the simulator never listens beyond this machine */
  host?: string;
  /** default 0 (any free port) */
  port?: number;
  /** the device clock, ms (default Date.now) */
  now?: () => number;
  /** every reply, e.g. to see errors and completion in tests and the demo */
  onReply?: (r: SetupReply) => void;
}

export interface SetupEndpoint {
  /** http://127.0.0.1:<port>/setup */
  url: string;
  close(): Promise<void>;
}

const OCTETS = { 'content-type': 'application/octet-stream' };

function send(res: http.ServerResponse, status: number, body: Uint8Array): void {
  res.writeHead(status, { ...OCTETS, 'content-length': body.length, 'cache-control': 'no-store' });
  res.end(body);
}

export async function startSetupEndpoint(o: SetupEndpointOptions): Promise<SetupEndpoint> {
  const now = o.now ?? Date.now;
  const server = http.createServer((req, res) => {
    if (req.url !== '/setup') return void res.writeHead(404).end();
    if (req.method !== 'POST') return void res.writeHead(405, { allow: 'POST' }).end();
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      // Refuse oversized bodies as they arrive rather than buffer them.
      if (size > MAX_MESSAGE_BYTES) {
        refused = true;
        const message = `setup message is over the ${MAX_MESSAGE_BYTES}-byte limit`;
        send(res, 413, encodeMessage({ type: 'ERROR', code: 'SETUP_TOO_LARGE', message }));
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (refused) return;
      const r = o.mode.receive(new Uint8Array(Buffer.concat(chunks)), now());
      o.onReply?.(r);
      send(res, 200, r.reply);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address}:${port}/setup`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
