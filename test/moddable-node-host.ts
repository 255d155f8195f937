/**
 * Node stand-ins for the Moddable SDK bindings of hosts/moddable, for tests:
 * a ByteStream over `net` (in place of the SDK's `socket`), a setup server on
 * 127.0.0.1 (in place of the `socket` Listener), the uplink connector built
 * from the same WsClient the device uses, and a NOR flash in RAM that refuses
 * what real flash cannot do. The protocol code under test is the device's own.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { ByteStream, ByteStreamEvents, OpenStream } from '../hosts/moddable/byte-stream.js';
import { HttpConnection, type HttpHandler } from '../hosts/moddable/http-server.js';
import { WsClient } from '../hosts/moddable/ws-client.js';
import type { UplinkEndpoint } from '../src/uplink/relay-url.js';
import type { FlashArea } from '../hosts/moddable/flash-spool-storage.js';
import type { UplinkConnect } from '../src/uplink/socket.js';
import type { Random } from '../src/host.js';

/** A ByteStream over a Node socket, with a small write window so back-pressure is exercised. */
export function netStream(socket: net.Socket, events: ByteStreamEvents, window = 16 * 1024): ByteStream {
  let closed = false;
  let waiting = false;
  socket.on('data', (b: Buffer) => events.onData(new Uint8Array(b)));
  socket.on('connect', () => events.onConnect());
  socket.on('error', () => {});
  socket.on('close', () => {
    if (!closed) {
      closed = true;
      events.onClose();
    }
  });
  socket.on('drain', () => {
    if (waiting) {
      waiting = false;
      events.onWritable();
    }
  });
  return {
    write(bytes) {
      if (closed) return bytes.length;
      const room = Math.max(0, window - socket.writableLength);
      const n = Math.min(room, bytes.length);
      if (n > 0) socket.write(Buffer.from(bytes.subarray(0, n)));
      if (n < bytes.length) {
        waiting = true;
        // 'drain' only fires once Node's own buffer was full; poll for room otherwise.
        if (socket.writableLength === 0) setImmediate(() => waiting && ((waiting = false), events.onWritable()));
      }
      return n;
    },
    close() {
      if (closed) return;
      closed = true;
      socket.end();
    },
  };
}

export function netOpen(host: string, port: number): OpenStream {
  return (events) => netStream(net.connect({ host, port }), events);
}

export interface TestServer {
  url: string;
  port: number;
  connections: number;
  close(): Promise<void>;
}

/** The device's HttpConnection behind a Node listener on 127.0.0.1. */
export async function serveHttp(handler: HttpHandler, o: { port?: number; chunked?: boolean } = {}): Promise<TestServer> {
  const sockets = new Set<net.Socket>();
  const result = { url: '', port: 0, connections: 0, close: async () => {} };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    result.connections++;
    const conn = new HttpConnection(handler);
    conn.attach(netStream(socket, conn));
  });
  await new Promise<void>((resolve) => server.listen(o.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  result.port = port;
  result.url = `http://127.0.0.1:${port}/setup`;
  result.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return result;
}

/** The device's uplink connector (WsClient) over Node sockets. */
export function wsConnect(random: Random, onClient?: (c: WsClient) => void): (e: UplinkEndpoint, credential: string) => UplinkConnect {
  return (endpoint, credential) => (events) => {
    const client = new WsClient(
      {
        path: endpoint.path,
        hostHeader: endpoint.hostHeader,
        headers: { authorization: `Bearer ${credential}` },
        random,
        defer: (fn) => setImmediate(fn),
      },
      events,
      netOpen(endpoint.host, endpoint.port),
    );
    onClient?.(client);
    return client;
  };
}

/**
 * NOR flash in RAM: erase sets a sector to 0xFF; a write that would turn a 0
 * bit into 1 throws (real flash would silently keep the 0). `cutAfter` makes
 * the n-th programming operation from now stop half-way and every later one do
 * nothing, as a power cut would.
 */
export class RamFlash implements FlashArea {
  readonly bytes: Uint8Array;
  writes = 0;
  erases = 0;
  private cut: number | undefined;
  dead = false;

  constructor(
    readonly byteLength: number,
    readonly blockSize = 4096,
  ) {
    this.bytes = new Uint8Array(byteLength).fill(0xff);
  }

  /** The next `n` operations succeed; the one after is torn and the device is "dead" from then on. */
  cutAfter(n: number): void {
    this.cut = n;
  }

  private op(): 'ok' | 'torn' | 'dead' {
    if (this.dead) return 'dead';
    if (this.cut === undefined) return 'ok';
    if (this.cut-- > 0) return 'ok';
    this.dead = true;
    return 'torn';
  }

  read(offset: number, length: number): Uint8Array {
    if (offset < 0 || offset + length > this.byteLength) throw new RangeError('read outside the flash');
    return this.bytes.slice(offset, offset + length);
  }

  write(offset: number, data: Uint8Array): void {
    if (offset < 0 || offset + data.length > this.byteLength) throw new RangeError('write outside the flash');
    for (let i = 0; i < data.length; i++) {
      if (data[i] & ~this.bytes[offset + i] & 0xff) throw new Error(`flash write sets a 0 bit to 1 at ${offset + i}`);
    }
    const how = this.op();
    if (how === 'dead') return;
    this.writes++;
    const n = how === 'torn' ? Math.floor(data.length / 2) : data.length;
    for (let i = 0; i < n; i++) this.bytes[offset + i] &= data[i];
    if (how === 'torn' && n < data.length) this.bytes[offset + n] &= data[n] | 0x0f; // a half-programmed byte
  }

  erase(sector: number): void {
    const how = this.op();
    if (how === 'dead') return;
    this.erases++;
    const start = sector * this.blockSize;
    const end = how === 'torn' ? start + this.blockSize / 2 : start + this.blockSize;
    this.bytes.fill(0xff, start, end);
  }

  /** Power back on: operations work again. */
  revive(): void {
    this.dead = false;
    this.cut = undefined;
  }
}
