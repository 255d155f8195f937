/**
 * age's payload: STREAM (C2SP age spec, "Payload") with 64 KiB ChaCha20-Poly1305
 * chunks, an 11-byte big-endian chunk counter and a last-chunk flag in the nonce.
 * Both directions stream with bounded memory: one chunk of plaintext and one of
 * ciphertext, in buffers the host may allocate (host memory on devices).
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes, writeUintBE } from '../bytes.js';
import { SealbellError } from '../errors.js';
import { TAG_LENGTH, type Aead } from '../crypto/backend.js';

export const CHUNK_SIZE = 64 * 1024;
export const SEALED_CHUNK_SIZE = CHUNK_SIZE + TAG_LENGTH;
export const PAYLOAD_NONCE_LENGTH = 16;
const PAYLOAD_INFO = utf8ToBytes('payload');

export type Alloc = (n: number) => Uint8Array;
const heapAlloc: Alloc = (n) => new Uint8Array(n);

export function payloadKey(fileKey: Uint8Array, nonce: Uint8Array): Uint8Array {
  return hkdf(sha256, fileKey, nonce, PAYLOAD_INFO, 32);
}

export function chunkNonce(out: Uint8Array, counter: number, last: boolean): Uint8Array {
  out.fill(0);
  writeUintBE(out, 5, counter, 6); // bytes 0..4 stay zero: 2^48 chunks is beyond any clip
  out[11] = last ? 1 : 0;
  return out;
}

/** Receives each sealed chunk; `sealed` is only valid during the call. */
export type ChunkHandler = (sealed: Uint8Array, index: number, last: boolean) => void;

export class StreamSealer {
  private readonly plain: Uint8Array;
  private readonly sealed: Uint8Array;
  private readonly nonce = new Uint8Array(12);
  private fill = 0;
  private counter = 0;
  private closed = false;

  constructor(
    private readonly aead: Aead,
    private readonly key: Uint8Array,
    private readonly onChunk: ChunkHandler,
    alloc: Alloc = heapAlloc,
  ) {
    this.plain = alloc(CHUNK_SIZE);
    this.sealed = alloc(SEALED_CHUNK_SIZE);
  }

  /** Plaintext bytes held right now (never more than one chunk). */
  get buffered(): number {
    return this.fill;
  }

  write(data: Uint8Array): void {
    if (this.closed) throw new SealbellError('STREAM_CLOSED', 'write after close');
    let off = 0;
    while (off < data.length) {
      // A full chunk is sealed only once more data arrives: until then it may be the last.
      if (this.fill === CHUNK_SIZE) this.seal(false);
      const n = Math.min(CHUNK_SIZE - this.fill, data.length - off);
      this.plain.set(data.subarray(off, off + n), this.fill);
      this.fill += n;
      off += n;
    }
  }

  close(): void {
    if (this.closed) return;
    this.seal(true);
    this.closed = true;
    this.plain.fill(0);
  }

  private seal(last: boolean): void {
    const n = this.fill;
    const out = this.aead.seal(
      this.key,
      chunkNonce(this.nonce, this.counter, last),
      this.plain.subarray(0, n),
      this.sealed.subarray(0, n + TAG_LENGTH),
    );
    this.fill = 0;
    this.onChunk(out, this.counter++, last);
  }
}

/** Receives each opened chunk; `plain` is only valid during the call. */
export type PlainHandler = (plain: Uint8Array, index: number, last: boolean) => void;

/** How far around a failing chunk to look for the place it came from (error diagnosis only). */
const REORDER_WINDOW = 8;

export class StreamOpener {
  private readonly sealed: Uint8Array;
  private readonly plain: Uint8Array;
  private readonly nonce = new Uint8Array(12);
  private fill = 0;
  private counter = 0;
  private failure: SealbellError | undefined;
  private done = false;

  constructor(
    private readonly aead: Aead,
    private readonly key: Uint8Array,
    private readonly onPlain: PlainHandler,
    alloc: Alloc = heapAlloc,
  ) {
    this.sealed = alloc(SEALED_CHUNK_SIZE);
    this.plain = alloc(CHUNK_SIZE);
  }

  push(data: Uint8Array): void {
    this.guard();
    let off = 0;
    while (off < data.length) {
      if (this.fill === SEALED_CHUNK_SIZE) this.open(false);
      const n = Math.min(SEALED_CHUNK_SIZE - this.fill, data.length - off);
      this.sealed.set(data.subarray(off, off + n), this.fill);
      this.fill += n;
      off += n;
    }
  }

  /** The input ended: what is buffered must be the last chunk. */
  end(): void {
    this.guard();
    if (this.fill === 0) {
      this.fail('TRUNCATED', 'the clip is truncated: its payload has no chunks');
    }
    if (this.fill < TAG_LENGTH) this.fail('TRUNCATED', `the clip is truncated inside chunk ${this.counter}`);
    if (this.fill === TAG_LENGTH && this.counter > 0) {
      this.fail('MALFORMED_PAYLOAD', 'the clip ends with an empty chunk after data (not allowed by age)');
    }
    this.open(true);
    this.done = true;
  }

  private guard(): void {
    if (this.failure) throw this.failure;
    if (this.done) this.fail('TRAILING_DATA', 'data after the final chunk');
  }

  private fail(code: string, message: string): never {
    this.failure = new SealbellError(code, message);
    throw this.failure;
  }

  private tryOpen(counter: number, last: boolean): Uint8Array | undefined {
    const n = this.fill - TAG_LENGTH;
    try {
      return this.aead.open(
        this.key,
        chunkNonce(this.nonce, counter, last),
        this.sealed.subarray(0, this.fill),
        this.plain.subarray(0, n),
      );
    } catch {
      return undefined;
    }
  }

  private open(last: boolean): void {
    const index = this.counter;
    const plain = this.tryOpen(index, last);
    if (!plain) this.diagnose(index, last);
    this.fill = 0;
    this.counter++;
    this.onPlain(plain, index, last);
  }

  /** The chunk did not open where it stands: say why as precisely as the bytes allow. */
  private diagnose(index: number, last: boolean): never {
    if (last && this.tryOpen(index, false)) {
      this.fail('TRUNCATED', `the clip is truncated: it stops after chunk ${index}, which is not the last`);
    }
    if (!last && this.tryOpen(index, true)) {
      this.fail('TRAILING_DATA', `data after the final chunk (chunk ${index} is marked last)`);
    }
    for (let j = Math.max(0, index - REORDER_WINDOW); j <= index + REORDER_WINDOW; j++) {
      if (j === index) continue;
      if (this.tryOpen(j, false) || this.tryOpen(j, true)) {
        this.fail('CHUNK_REORDERED', `chunk ${index} is chunk ${j} of this clip: chunks were reordered`);
      }
    }
    this.fail(
      'CHUNK_AUTH',
      `chunk ${index} fails authentication: its bytes were changed, or it was spliced in from another clip` +
        (last ? ', or bytes were appended after it' : ''),
    );
  }
}
