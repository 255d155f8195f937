/**
 * A WebSocket client (RFC 6455) over a ByteStream, as the uplink needs it: the
 * relay's bearer credential on the upgrade request, binary frames of a whole
 * sealed chunk (65,581 bytes: beyond the SDK `websocket` client's 64 KiB
 * limit), masking with keys from the CSPRNG, back-pressure, ping/pong and the
 * close handshake. It implements the core's UplinkSocket contract
 * (src/uplink/socket.ts): a refused upgrade closes with 4000 + the HTTP status,
 * and `onClose` comes exactly once, never from inside `connect` or `send`.
 */
import { base64 } from '@scure/base';
import { sha1 } from '@noble/hashes/legacy.js';
import { utf8Decode, utf8ToBytes } from '../bytes.js';
import type { Random } from '../host.js';
import type { UplinkSocket, UplinkSocketEvents } from '../uplink/socket.js';
import { ReadBuffer, WriteQueue, type ByteStream, type OpenStream } from './byte-stream.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export const Opcode = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

/** Masks (or unmasks) `bytes` in place with the 4-byte key. */
export type XorInPlace = (bytes: Uint8Array, key: Uint8Array) => void;

export const xorInPlace: XorInPlace = (bytes, key) => {
  for (let i = 0; i < bytes.length; i++) bytes[i] ^= key[i & 3];
};

/** One client frame (FIN set, masked with `key`): header and masked payload in one array. */
export function encodeClientFrame(opcode: number, payload: Uint8Array, key: Uint8Array, xor: XorInPlace = xorInPlace): Uint8Array {
  const n = payload.length;
  const ext = n < 126 ? 0 : n < 65536 ? 2 : 8;
  const out = new Uint8Array(2 + ext + 4 + n);
  out[0] = 0x80 | opcode;
  if (ext === 0) out[1] = 0x80 | n;
  else if (ext === 2) {
    out[1] = 0x80 | 126;
    out[2] = n >>> 8;
    out[3] = n & 0xff;
  } else {
    out[1] = 0x80 | 127;
    // Lengths here are far below 2^32: the top four bytes stay 0.
    new DataView(out.buffer).setUint32(6, n);
  }
  const at = 2 + ext;
  out.set(key.subarray(0, 4), at);
  out.set(payload, at + 4);
  xor(out.subarray(at + 4), key);
  return out;
}

export interface ServerFrame {
  fin: boolean;
  opcode: number;
  payload: Uint8Array;
}

/**
 * Reads one whole server frame from the front of `input`: undefined when more
 * bytes are needed; throws a WsProtocolError on a frame a server must not send.
 */
export function readServerFrame(input: ReadBuffer, maxPayload: number): ServerFrame | undefined {
  const b = input.view();
  if (b.length < 2) return undefined;
  const fin = (b[0] & 0x80) !== 0;
  if (b[0] & 0x70) throw new WsProtocolError(1002, 'reserved bits set');
  const opcode = b[0] & 0x0f;
  if (b[1] & 0x80) throw new WsProtocolError(1002, 'masked frame from the server');
  let n = b[1] & 0x7f;
  let at = 2;
  if (n === 126) {
    if (b.length < 4) return undefined;
    n = (b[2] << 8) | b[3];
    at = 4;
  } else if (n === 127) {
    if (b.length < 10) return undefined;
    const view = new DataView(b.buffer, b.byteOffset, 10);
    if (view.getUint32(2) !== 0) throw new WsProtocolError(1009, 'frame too large');
    n = view.getUint32(6);
    at = 10;
  }
  if (opcode >= 8 && (!fin || n > 125)) throw new WsProtocolError(1002, 'bad control frame');
  if (n > maxPayload) throw new WsProtocolError(1009, 'frame too large');
  if (b.length < at + n) return undefined;
  input.skip(at);
  return { fin, opcode, payload: input.take(n) };
}

export class WsProtocolError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export interface WsClientOptions {
  /** the request target, e.g. /v1/uplink */
  path: string;
  /** the Host header, e.g. relay.example:443 */
  hostHeader: string;
  /** extra request headers (e.g. authorization); never logged */
  headers?: Record<string, string>;
  random: Random;
  /** runs a callback soon, outside the current call (Timer.set(fn, 0) on Moddable) */
  defer: (fn: () => void) => void;
  /** largest message accepted from the server (default 256 KiB) */
  maxMessage?: number;
  /** native in-place XOR for masking (the SDK's Logical.xor); default a JS loop */
  xor?: XorInPlace;
}

type State = 'connecting' | 'handshake' | 'open' | 'closed';

const MAX_RESPONSE_HEAD = 8192;

export class WsClient implements UplinkSocket {
  private state: State = 'connecting';
  private readonly input = new ReadBuffer();
  private readonly output = new WriteQueue();
  private stream: ByteStream | undefined;
  private readonly key: string;
  private readonly maxMessage: number;
  private fragments: Uint8Array[] = [];
  private fragmentOpcode = 0;
  private fragmentBytes = 0;
  private closeAfterFlush = false;
  private reported = false;

  constructor(
    private readonly o: WsClientOptions,
    private readonly events: UplinkSocketEvents,
    open: OpenStream,
  ) {
    this.key = base64.encode(o.random(16));
    this.maxMessage = o.maxMessage ?? 256 * 1024;
    try {
      this.stream = open({
        onConnect: () => this.connected(),
        onData: (bytes) => this.data(bytes),
        onWritable: () => this.flush(),
        onClose: (error) => this.streamClosed(error),
      });
    } catch (e) {
      this.state = 'closed';
      this.report(1006, `could not connect: ${(e as Error).message}`);
    }
  }

  /** The value the server must send as Sec-WebSocket-Accept. */
  static acceptFor(key: string): string {
    return base64.encode(sha1(utf8ToBytes(key + GUID)));
  }

  send(data: Uint8Array | string): void {
    if (this.state !== 'open' || this.closeAfterFlush) return;
    const binary = typeof data !== 'string';
    this.queueFrame(binary ? Opcode.binary : Opcode.text, binary ? data : utf8ToBytes(data));
  }

  close(code = 1000, reason = ''): void {
    if (this.state === 'closed') return;
    this.shut(code, reason, reason);
  }

  /** Bytes queued but not yet taken by the connection. */
  get buffered(): number {
    return this.output.pending;
  }

  // --- connection ------------------------------------------------------------------------

  private connected(): void {
    if (this.state !== 'connecting') return;
    this.state = 'handshake';
    let request = `GET ${this.o.path} HTTP/1.1\r\nHost: ${this.o.hostHeader}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`;
    request += `Sec-WebSocket-Key: ${this.key}\r\nSec-WebSocket-Version: 13\r\n`;
    for (const [name, value] of Object.entries(this.o.headers ?? {})) request += `${name}: ${value}\r\n`;
    this.output.push(utf8ToBytes(`${request}\r\n`));
    this.flush();
  }

  private data(bytes: Uint8Array): void {
    if (this.state === 'closed' || this.state === 'connecting') return;
    this.input.append(bytes);
    try {
      if (this.state === 'handshake' && !this.handshake()) return;
      while (this.state === 'open') {
        const frame = readServerFrame(this.input, this.maxMessage);
        if (!frame) break;
        this.frame(frame);
      }
    } catch (e) {
      if (e instanceof WsProtocolError) this.fail(e.code, e.message);
      else this.fail(1011, 'client error');
    }
  }

  /** True once the upgrade is accepted; false while more of the response is needed. */
  private handshake(): boolean {
    const end = this.input.indexOfHeaderEnd();
    if (end < 0) {
      if (this.input.length > MAX_RESPONSE_HEAD) this.fail(1002, 'upgrade response too long');
      return false;
    }
    const lines = utf8Decode(this.input.take(end)).split('\r\n');
    this.input.skip(4);
    const status = /^HTTP\/1\.1 (\d{3})(?: |$)/.exec(lines[0]);
    if (!status) return this.fail(1002, 'not an HTTP response'), false;
    const code = Number(status[1]);
    if (code !== 101) {
      this.abort(4000 + code, `HTTP ${code}`);
      return false;
    }
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    const upgrade = headers.get('upgrade')?.toLowerCase();
    const connection = headers.get('connection')?.toLowerCase() ?? '';
    if (upgrade !== 'websocket' || !connection.split(',').some((t) => t.trim() === 'upgrade')) {
      return this.fail(1002, 'the server did not upgrade to WebSocket'), false;
    }
    if (headers.get('sec-websocket-accept') !== WsClient.acceptFor(this.key)) {
      return this.fail(1002, 'wrong Sec-WebSocket-Accept'), false;
    }
    if (headers.has('sec-websocket-extensions')) return this.fail(1002, 'an extension was not asked for'), false;
    this.state = 'open';
    this.events.onOpen();
    return true;
  }

  private frame(f: ServerFrame): void {
    switch (f.opcode) {
      case Opcode.text:
      case Opcode.binary:
        if (this.fragments.length) throw new WsProtocolError(1002, 'new message inside a fragmented one');
        if (f.fin) return this.message(f.opcode, f.payload);
        this.fragmentOpcode = f.opcode;
        this.fragments = [f.payload];
        this.fragmentBytes = f.payload.length;
        return;
      case Opcode.continuation: {
        if (!this.fragments.length) throw new WsProtocolError(1002, 'continuation with nothing to continue');
        this.fragmentBytes += f.payload.length;
        if (this.fragmentBytes > this.maxMessage) throw new WsProtocolError(1009, 'message too large');
        this.fragments.push(f.payload);
        if (!f.fin) return;
        const whole = new Uint8Array(this.fragmentBytes);
        let at = 0;
        for (const p of this.fragments) {
          whole.set(p, at);
          at += p.length;
        }
        this.fragments = [];
        return this.message(this.fragmentOpcode, whole);
      }
      case Opcode.ping:
        return this.queueFrame(Opcode.pong, f.payload);
      case Opcode.pong:
        return;
      case Opcode.close: {
        const code = f.payload.length >= 2 ? (f.payload[0] << 8) | f.payload[1] : 1005;
        let reason = '';
        try {
          reason = utf8Decode(f.payload.subarray(2));
        } catch {
          // an unreadable reason is no reason
        }
        this.sendClose(code === 1005 ? 1000 : code, '');
        this.state = 'closed';
        this.closeAfterFlush = true;
        this.flush();
        this.report(code, reason);
        return;
      }
      default:
        throw new WsProtocolError(1002, `unknown opcode ${f.opcode}`);
    }
  }

  private message(opcode: number, payload: Uint8Array): void {
    if (opcode === Opcode.binary) return this.events.onMessage(payload);
    let text: string;
    try {
      text = utf8Decode(payload);
    } catch {
      throw new WsProtocolError(1007, 'text message is not UTF-8');
    }
    this.events.onMessage(text);
  }

  // --- writing -----------------------------------------------------------------------------

  private queueFrame(opcode: number, payload: Uint8Array): void {
    this.output.push(encodeClientFrame(opcode, payload, this.o.random(4), this.o.xor));
    this.flush();
  }

  private sendClose(code: number, reason: string): void {
    const r = utf8ToBytes(reason).subarray(0, 123);
    const payload = new Uint8Array(2 + r.length);
    payload[0] = code >>> 8;
    payload[1] = code & 0xff;
    payload.set(r, 2);
    this.queueFrame(Opcode.close, payload);
  }

  private flush(): void {
    if (!this.stream) return;
    const done = this.output.flush(this.stream);
    if (done && this.closeAfterFlush) {
      this.closeAfterFlush = false;
      this.stream.close();
    }
  }

  // --- ending ------------------------------------------------------------------------------

  /** A protocol failure: close with `code` (when open) and report it. */
  private fail(code: number, why: string): void {
    this.shut(code, '', why);
  }

  /** Sends a close frame (when open) and lets the queue drain before the connection goes; reports `why`. */
  private shut(code: number, closeReason: string, why: string): void {
    if (this.state === 'open') {
      this.sendClose(code, closeReason);
      this.state = 'closed';
      this.closeAfterFlush = true;
      this.flush();
    } else {
      this.state = 'closed';
      this.stream?.close();
    }
    this.report(code, why);
  }

  /** Drops the connection at once (e.g. a refused upgrade) and reports `code`. */
  private abort(code: number, why: string): void {
    this.state = 'closed';
    this.output.clear();
    this.stream?.close();
    this.report(code, why);
  }

  private streamClosed(error?: string): void {
    this.output.clear();
    this.closeAfterFlush = false;
    this.state = 'closed';
    this.report(1006, error ?? 'connection lost');
  }

  private report(code: number, reason: string): void {
    if (this.reported) return;
    this.reported = true;
    this.o.defer(() => this.events.onClose(code, reason));
  }
}
