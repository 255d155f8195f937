/**
 * XS entry for tools/bench/xs.ts: noble ChaCha20-Poly1305 (through the core's
 * `nobleAead`) as named ops, each run as its own xsnap delivery so its `compute`
 * meter can be read (tools/xs/run.ts `measure`).
 *
 * Ops take the plaintext size as argument. Buffers are made on the first call for a
 * size (the harness runs each op once unmeasured first), so a measured `seal` is the
 * AEAD alone plus the dispatch that `noop` also pays.
 */
import { nobleAead } from '../../src/crypto/noble.js';
import { defineOps } from '../xs/guest.js';

const key = new Uint8Array(32).map((_, i) => i + 1);
const nonce = new Uint8Array(12).map((_, i) => 0xa0 + i);
const buffers = new Map<number, { plain: Uint8Array; out: Uint8Array }>();

function buffersFor(size: unknown): { plain: Uint8Array; out: Uint8Array } {
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 0) throw new TypeError('size must be a byte count');
  let b = buffers.get(size);
  if (!b) {
    b = { plain: new Uint8Array(size).map((_, i) => (i * 131) & 0xff), out: new Uint8Array(size + 16) };
    buffers.set(size, b);
  }
  return b;
}

defineOps({
  /** Baseline: dispatch and argument parsing, and the buffer lookup, without the AEAD. */
  noop(size) {
    buffersFor(size);
  },
  seal(size) {
    const { plain, out } = buffersFor(size);
    nobleAead.seal(key, nonce, plain, out);
  },
});
