/**
 * A TCP (or TLS) connection as the protocol code in src/net sees it:
 * bytes in, bytes out with back-pressure. Each host binds it: hosts/moddable/tcp-stream.ts
 * to the SDK's `socket` / `securesocket`, hosts/node/tcp-stream.ts to Node's `net` and `tls`.
 * Keeping the HTTP server and WebSocket client on this small interface
 * lets CI run them, unchanged, against the real phone tools and relay.
 */

export interface ByteStreamEvents {
  /** the connection is up (a client stream; accepted streams are up from the start) */
  onConnect(): void;
  /** bytes arrived; the array is the receiver's to keep */
  onData(bytes: Uint8Array): void;
  /** room to write again after `write` took less than it was given */
  onWritable(): void;
  /** the connection ended (peer closed, error, or `close()`); called at most once */
  onClose(error?: string): void;
}

export interface ByteStream {
  /**
   * Writes as much of `bytes` as the connection takes now and returns how many
   * it took; `onWritable` follows when there is room for the rest.
   */
  write(bytes: Uint8Array): number;
  /** Closes at once; bytes already taken by `write` are still sent where the platform allows. */
  close(): void;
}

/** Opens a client connection; events arrive later, never from inside this call. */
export type OpenStream = (events: ByteStreamEvents) => ByteStream;

/**
 * Bytes waiting to be written, in order, with as little copying as possible:
 * each queued array is written straight from where it is.
 */
export class WriteQueue {
  private readonly parts: Uint8Array[] = [];
  private offset = 0;
  private queued = 0;

  /** bytes not yet taken by the stream */
  get pending(): number {
    return this.queued;
  }

  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.parts.push(bytes);
    this.queued += bytes.length;
  }

  /** Writes what the stream takes; true when everything queued has been written. */
  flush(stream: ByteStream): boolean {
    while (this.parts.length) {
      const head = this.parts[0];
      const rest = this.offset ? head.subarray(this.offset) : head;
      const n = stream.write(rest);
      this.queued -= n;
      if (n < rest.length) {
        this.offset += n;
        return false;
      }
      this.parts.shift();
      this.offset = 0;
    }
    return true;
  }

  clear(): void {
    this.parts.length = 0;
    this.offset = 0;
    this.queued = 0;
  }
}

/** Bytes received but not yet consumed by a parser: appended at the end, taken from the front. */
export class ReadBuffer {
  private buf = new Uint8Array(0);
  private start = 0;
  private end = 0;

  get length(): number {
    return this.end - this.start;
  }

  append(bytes: Uint8Array): void {
    if (this.end + bytes.length > this.buf.length) {
      const size = this.end - this.start + bytes.length;
      const next = size <= this.buf.length ? this.buf : new Uint8Array(Math.max(size, this.buf.length * 2, 256));
      next.set(this.buf.subarray(this.start, this.end), 0);
      this.buf = next;
      this.end -= this.start;
      this.start = 0;
    }
    this.buf.set(bytes, this.end);
    this.end += bytes.length;
  }

  /** A view of the unread bytes (valid until the next append). */
  view(): Uint8Array {
    return this.buf.subarray(this.start, this.end);
  }

  /** Takes `n` bytes from the front, as a copy. */
  take(n: number): Uint8Array {
    const out = this.buf.slice(this.start, this.start + n);
    this.skip(n);
    return out;
  }

  skip(n: number): void {
    this.start += n;
    if (this.start === this.end) this.start = this.end = 0;
  }

  /** Index (relative to the unread bytes) of the first CR LF CR LF, or -1. */
  indexOfHeaderEnd(): number {
    const b = this.buf;
    for (let i = this.start; i + 3 < this.end; i++) {
      if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i - this.start;
    }
    return -1;
  }
}
