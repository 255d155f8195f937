/**
 * age STREAM sealing (see stream.ts) without a plaintext buffer: each piece
 * written is sealed at once, by the backend's incremental AEAD, into the one
 * chunk buffer (host memory on devices), and a chunk goes out as soon as it is
 * full and more data follows. The core does O(1) work per piece; every byte is
 * handled by the backend (natively on a device). Output is byte-identical to
 * StreamSealer's.
 */
import { CHUNK_SIZE, SEALED_CHUNK_SIZE, chunkNonce, type Alloc, type ChunkHandler } from './stream.js';
import type { Aead, AeadSealStream } from '../crypto/backend.js';
import { SealbellError } from '../errors.js';

const heapAlloc: Alloc = (n) => new Uint8Array(n);

export class StreamWriter {
  /** the chunk being sealed, then its ciphertext‖tag */
  private readonly chunk: Uint8Array;
  private readonly aead: AeadSealStream;
  private readonly nonce = new Uint8Array(12);
  private readonly lastNonce = new Uint8Array(12);
  private counter = 0;
  private closed = false;

  constructor(
    aead: Aead,
    private readonly key: Uint8Array,
    private readonly onChunk: ChunkHandler,
    alloc: Alloc = heapAlloc,
  ) {
    this.chunk = alloc(SEALED_CHUNK_SIZE);
    this.aead = aead.sealStream();
    this.begin();
  }

  /** Bytes of the chunk in progress: in the chunk buffer, not yet handed on (never more than one chunk). */
  get buffered(): number {
    return this.aead.length;
  }

  write(data: Uint8Array): void {
    if (this.closed) throw new SealbellError('STREAM_CLOSED', 'write after close');
    let off = 0;
    while (off < data.length) {
      // A full chunk goes out only once more data arrives: until then it may be the last.
      if (this.aead.length === CHUNK_SIZE) this.emit(false);
      const n = Math.min(CHUNK_SIZE - this.aead.length, data.length - off);
      this.aead.update(n === data.length ? data : data.subarray(off, off + n));
      off += n;
    }
  }

  /** Seals what is held as the last chunk (age requires one, even if empty). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.emit(true);
  }

  private begin(): void {
    this.aead.begin(this.key, chunkNonce(this.nonce, this.counter, false), this.chunk);
  }

  private emit(last: boolean): void {
    // The last-chunk flag is part of the nonce: the chunk is finished under the last chunk's nonce.
    const sealed = last ? this.aead.finish(chunkNonce(this.lastNonce, this.counter, true)) : this.aead.finish();
    this.onChunk(sealed, this.counter++, last);
    if (!last) this.begin();
  }
}
