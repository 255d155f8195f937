/**
 * ByteStream over the SDK's `socket` (and `securesocket` for TLS): what the
 * setup server and the uplink's WebSocket client run on.
 *
 * The SDK socket takes writes only up to the room it reports (`write()` with no
 * arguments: 1 KiB at a time in the simulator), and says when there is room
 * again. In the simulator a write that the kernel takes only in part throws
 * although the bytes are kept; such a write counts as taken, and a timer makes
 * sure writing resumes even if no "writable" message follows.
 */
import { Socket, Listener } from 'socket';
import SecureSocket from 'securesocket';
import Timer from 'timer';
import Time from 'time';
import { pinPeerCertificate, type PinState } from './tls-pin.js';
import type { ByteStream, ByteStreamEvents, OpenStream } from '../../src/net/byte-stream.js';

/** The part of Socket / SecureSocket used here (their SDK typings differ in detail). */
interface SdkSocket {
  callback: (message: number, value?: number) => void;
  /** no argument: the bytes waiting (0 when none) */
  read(): number;
  read(type: typeof ArrayBuffer): ArrayBuffer | undefined;
  write(): number;
  write(data: ArrayBufferView): void;
  close(): void;
}

const RESUME_MS = 20;

class SocketStream implements ByteStream {
  private closed = false;
  private connected = false;
  private resume: Timer | undefined;

  /**
   * `secure`: a TLS client, whose failed handshake the SDK reports only as a socket error.
   * `onConnected`: told the ms from the socket's creation to "connected" (for TLS: TCP
   * connect plus the whole handshake, which the SDK finishes before it says so).
   * `pin`: the relay-CA pin's view of the handshake (tls-pin.ts), with `host` for its messages:
   * unless it checked the certificate the session uses, the connection ends before any byte is written.
   */
  constructor(
    private readonly sock: SdkSocket,
    private readonly events: ByteStreamEvents,
    secure = false,
    onConnected?: (ms: number) => void,
    private readonly pin?: { state: PinState; host: string },
  ) {
    const started = Time.ticks;
    sock.callback = (message, value) => {
      if (this.closed) return;
      try {
        if (message === 1) {
          if (pin && !pin.state.checked) {
            this.end(this.pinRefusal());
            return;
          }
          this.connected = true;
          onConnected?.(Time.ticks - started);
          events.onConnect();
        }
        else if (message === 2) {
          // read(ArrayBuffer) throws "nothing to read" on a board's lwIP socket once drained
          // (the simulator's returns undefined): ask how much is waiting first
          while (sock.read() > 0) {
            const data = sock.read(ArrayBuffer);
            if (!data || data.byteLength === 0) break;
            events.onData(new Uint8Array(data));
            if (this.closed) return;
          }
        } else if (message === 3) this.writable();
        else if (message < 0) this.end(message === -2 ? this.errorReason(secure) : undefined);
      } catch (e) {
        this.end(`socket: ${(e as Error).message}`);
      }
      void value;
    };
  }

  write(bytes: Uint8Array): number {
    if (this.closed) return bytes.length;
    let n = 0;
    while (n < bytes.length) {
      let room = 0;
      try {
        room = this.sock.write();
      } catch {
        break;
      }
      if (room <= 0) break;
      const k = Math.min(room, bytes.length - n);
      try {
        this.sock.write(bytes.subarray(n, n + k));
      } catch {
        // The simulator's socket throws when the kernel took part of it; it keeps the rest.
        n += k;
        break;
      }
      n += k;
    }
    if (n < bytes.length) this.armResume();
    return n;
  }

  close(): void {
    this.shut();
  }

  /** Closes the socket once; false if it was already closed. */
  private shut(): boolean {
    if (this.closed) return false;
    this.closed = true;
    this.clearResume();
    try {
      this.sock.close();
    } catch {
      // already closed by the peer
    }
    return true;
  }

  /** The SDK's securesocket drops the TLS error's text; before the handshake ends, say what it likely was. */
  private errorReason(secure: boolean): string {
    if (this.pin?.state.problem && !this.connected) return this.pinRefusal();
    return secure && !this.connected
      ? 'TLS: connection or handshake failed (a relay certificate that does not chain to the trusted CA is refused this way)'
      : 'socket error';
  }

  private pinRefusal(): string {
    const why = this.pin!.state.problem ?? 'the handshake showed no certificate to check';
    return `TLS: the relay's certificate is not issued by the CA from setup for ${this.pin!.host} (refused: ${why})`;
  }

  private writable(): void {
    this.clearResume();
    this.events.onWritable();
  }

  private armResume(): void {
    if (this.resume) return;
    this.resume = Timer.set(() => {
      this.resume = undefined;
      if (!this.closed) this.events.onWritable();
    }, RESUME_MS);
  }

  private clearResume(): void {
    if (this.resume) Timer.clear(this.resume);
    this.resume = undefined;
  }

  private end(error?: string): void {
    if (!this.shut()) return;
    this.events.onClose(error);
  }
}

/**
 * A client connection; DNS, connect and (with `secure`) the TLS handshake happen before onConnect.
 *
 * TLS: the SDK checks the server's chain (and, in newer SDK versions, its name: `host`, a
 * DNS name or IPv4 address) against the CA certificates the build holds (`ca.ski` and
 * `ca<N>.der` resources, see manifest.json) and against `ca` (DER) when given, which it
 * registers as a trust anchor. It needs the server to send its chain up to that CA (a lone
 * certificate is not matched by name), and the clock set (certificate dates are checked;
 * registering `ca` throws before SNTP has run, and the uplink retries).
 *
 * The SDK's check can be fooled (a chain whose first certificate, the one the session uses,
 * does not verify, followed by the genuine one: tls-pin.ts). With `ca` given, the
 * certificate the session uses must also pass our own check (signed by `ca`'s key, in date,
 * naming `host`), and session resumption is off so that every handshake shows it. Without
 * `ca` (public CAs) only the SDK's check runs (docs/threat-model.md).
 */
export function openTcp(o: { host: string; port: number; secure?: boolean; ca?: Uint8Array; log?: (line: string) => void }): OpenStream {
  return (events) => {
    const secure: Record<string, unknown> = { protocolVersion: 0x303 };
    if (o.ca) {
      secure.certificate = o.ca.slice().buffer;
      // no resumed sessions: a resumed handshake shows no certificate to the pin
      secure.cache = false;
    }
    const tls = o.secure ? new SecureSocket({ host: o.host, port: o.port, secure }) : undefined;
    const sock = tls ? (tls as unknown as SdkSocket) : (new Socket({ host: o.host, port: o.port }) as unknown as SdkSocket);
    // the handshake runs once the TCP connection is up, after this: the hook is in place in time
    const pin = tls && o.ca ? { state: pinPeerCertificate(tls, o.ca, o.host), host: o.host } : undefined;
    // how long TLS takes on the chip (all in XS: the certificate checks and the key exchange)
    const timed = o.secure && o.log ? (ms: number) => o.log!(`tls: connected to ${o.host}:${o.port}, TCP connect and handshake in ${ms} ms`) : undefined;
    return new SocketStream(sock, events, o.secure, timed, pin);
  };
}

/** A connection a Listener has waiting; it is up already (no onConnect). */
export function acceptTcp(listener: Listener, events: ByteStreamEvents): ByteStream {
  return new SocketStream(new Socket({ listener }) as unknown as SdkSocket, events);
}
