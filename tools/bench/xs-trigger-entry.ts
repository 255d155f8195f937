/**
 * XS entry for the trigger benchmarks (tools/bench/index.ts): what a button
 * press costs the device's JavaScript with and without a ready header, and what
 * building one 3-recipient header costs. Each op is one xsnap delivery, so its
 * `compute` meter is read on its own.
 *
 * `first_chunk_ready` runs the press and frames up to the first sealed chunk with
 * a stand-in backend that does no JS work for ChaCha20-Poly1305 and SHA-256: on a
 * device those run natively (hosts/moddable/native), off the XS meter; their
 * native cost is measured separately with callgrind.
 */
import { Doorbell } from '../../src/device/doorbell.js';
import { loadOrCreateIdentity } from '../../src/device/identity.js';
import { prepareHeader, type RecipientSet } from '../../src/clip/prepared-header.js';
import { encodeRecipient } from '../../src/age/x25519.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { nobleBackend, systemRandom } from '../../src/crypto/noble.js';
import type { ClipSink, CryptoBackend } from '../../src/host.js';
import { MemoryKeyValueStore } from '../../src/memory-store.js';
import { CHUNK_SIZE } from '../../src/age/stream.js';
import { defineOps } from '../xs/guest.js';

const identity = loadOrCreateIdentity(new MemoryKeyValueStore(), systemRandom);
const recipients: RecipientSet = {
  epoch: 1,
  recipients: [1, 2, 3].map((i) => encodeRecipient(x25519.getPublicKey(new Uint8Array(32).fill(i)))),
};

let firstChunkAt = -1;
const sink: ClipSink = {
  begin() {},
  segment(_id, index) {
    if (index === 1 && firstChunkAt < 0) firstChunkAt = index;
  },
  end() {},
};

/** Native work stands outside the XS meter on a device: this stand-in does none in JS. */
const nativeStandIn: CryptoBackend = {
  name: 'native stand-in',
  aead: {
    seal: (_k, _n, p, out) => out ?? new Uint8Array(p.length + 16),
    open: (_k, _n, s, out) => out ?? new Uint8Array(s.length - 16),
  },
  sha256: () => ({ update() {}, digest: () => new Uint8Array(32) }),
};

function makeDoorbell(backend: CryptoBackend): Doorbell {
  const d = new Doorbell({ backend, random: systemRandom, identity, sink, width: 800, height: 600, headerPoolSize: 1 });
  d.setRecipients(recipients);
  return d;
}
const js = makeDoorbell(nobleBackend);
const native = makeDoorbell(nativeStandIn);
const frame = new Uint8Array(CHUNK_SIZE + 1024).fill(0x55); // one large SVGA JPEG: fills the first chunk
let now = 1_800_000_000_000;

const chunkBuffer = new Uint8Array(CHUNK_SIZE);

defineOps({
  noop() {},
  /** what XS charges for the one copy of frame bytes into the chunk buffer (TypedArray.set) */
  copy_chunk() {
    chunkBuffer.set(frame.subarray(0, CHUNK_SIZE));
  },
  header3() {
    prepareHeader(recipients, systemRandom);
  },
  fill() {
    while (js.idle());
    while (native.idle());
  },
  /** the press itself: with a ready header, segment 0 (header and nonce) goes out at once */
  trigger_ready() {
    js.press((now += 60_000));
  },
  trigger_cold() {
    js.press((now += 60_000));
  },
  first_chunk_ready() {
    firstChunkAt = -1;
    const t = (now += 60_000);
    native.press(t);
    native.frame(frame, t + 40);
    if (firstChunkAt !== 1) throw new Error('the first chunk was not sealed');
  },
  finish() {
    js.finishClip();
    native.finishClip();
  },
});
