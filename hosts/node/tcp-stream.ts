/**
 * ByteStream (src/net/byte-stream.ts) over Node's `net` and `tls`: what the
 * hosted doorbell's setup server and uplink WebSocket client run on, the same
 * protocol code the device runs over the SDK's sockets (hosts/moddable/tcp-stream.ts).
 */
import { X509Certificate } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import type { ByteStream, ByteStreamEvents, OpenStream } from '../../src/net/byte-stream.js';

/**
 * A ByteStream over a Node socket. `window` bounds what a write takes beyond what the
 * socket already holds, so back-pressure reaches the protocol code as on a device.
 */
export function netStream(socket: net.Socket, events: ByteStreamEvents, window = 64 * 1024): ByteStream {
  let closed = false;
  let waiting = false;
  let failure: string | undefined;
  socket.on('data', (b: Buffer) => events.onData(new Uint8Array(b.buffer, b.byteOffset, b.byteLength)));
  socket.on('connect', () => events.onConnect());
  socket.on('error', (e) => void (failure ??= describeError(e))); // always followed by 'close'
  socket.on('close', () => {
    if (!closed) {
      closed = true;
      events.onClose(failure);
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

/** Why a connection failed, in words (a refused TLS certificate says so). */
function describeError(e: Error & { code?: string }): string {
  const code = e.code ?? '';
  const tlsRefusal = /CERT|SELF_SIGNED|UNABLE_TO_(GET_ISSUER|VERIFY)|ALTNAME/.test(code);
  return tlsRefusal ? `TLS: the server's certificate is not trusted: ${e.message} [${code}]` : code ? `${e.message} [${code}]` : e.message;
}

/**
 * A client connection to host:port; TLS when `secure`, checked against `ca` alone when given
 * (PEM, or a DER certificate such as setup hands over), else against Node's CA store.
 * The server name (SNI and the certificate's name check) is the host.
 */
export function openTcp(o: { host: string; port: number; secure?: boolean; ca?: string | Uint8Array }): OpenStream {
  return (events) => {
    if (!o.secure) return netStream(net.connect({ host: o.host, port: o.port }), events);
    // Node's `ca` replaces its CA store: nothing else is trusted then.
    const ca = o.ca instanceof Uint8Array ? new X509Certificate(o.ca).toString() : o.ca;
    const socket = tls.connect({ host: o.host, port: o.port, servername: net.isIP(o.host) ? undefined : o.host, ca });
    // the protocol code starts on the TLS session, not on the TCP connection under it
    const stream = netStream(socket, { ...events, onConnect: () => {} });
    socket.once('secureConnect', () => events.onConnect());
    return stream;
  };
}
