/**
 * XS entry for the trigger benchmarks (tools/bench/index.ts): what a button
 * press costs the device's JavaScript with and without a ready header, and what
 * building one 3-recipient header costs. Each op is one xsnap delivery, so its
 * `compute` meter is read on its own.
 *
 * `first_chunk_ready` runs the press and one large frame up to the first sealed
 * chunk the way the device does. Run in the xsnap-sealbell worker
 * (tools/xs-native), the sealing is the device's own native code — the XS
 * binding (xs_aead.c) and C core, from the same JS shell (aead-shell.js) — so
 * its per-byte work runs in C, off the meter, as on the device (callgrind
 * counts it: native_seal_x86_instructions_per_byte), and the 64 KiB chunk
 * buffer and the frame are host memory. In plain xsnap (no natives) a
 * stand-in with the same O(1)-per-call JS shape replaces it. SHA-256 of each
 * sealed chunk is a stand-in in both: on the device it is the SDK's native
 * `crypt` Digest, one call per chunk.
 */
import { Doorbell } from '../../src/device/doorbell.js';
import { PreRoll } from '../../src/device/preroll.js';
import { loadOrCreateIdentity } from '../../src/device/identity.js';
import { prepareHeader, type RecipientSet } from '../../src/clip/prepared-header.js';
import { encodeRecipient } from '../../src/age/x25519.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { nobleBackend, systemRandom } from '../../src/crypto/noble.js';
import type { Aead, AeadSealStream } from '../../src/crypto/backend.js';
import type { Alloc, ClipSink, CryptoBackend } from '../../src/host.js';
import { MemoryKeyValueStore } from '../../src/memory-store.js';
import { CHUNK_SIZE } from '../../src/age/stream.js';
import { defineOps } from '../xs/guest.js';
import { hasNatives, hostAlloc, nativeAead } from '../xs-native/guest.js';

const identity = loadOrCreateIdentity(new MemoryKeyValueStore(), systemRandom);
const recipients: RecipientSet = {
  epoch: 1,
  recipients: [1, 2, 3].map((i) => encodeRecipient(x25519.getPublicKey(new Uint8Array(32).fill(i)))),
};

let chunksOut = 0;
const sink: ClipSink = {
  begin() {},
  segment(_id, index) {
    if (index >= 1) chunksOut++;
  },
  end() {},
  // the device's sink takes event notices: the press seals one (its signing waits for a later tick)
  event() {},
};

/** Outside xs-native only: the native calls' JS shape, with none of their per-byte work. */
class StandInSealStream implements AeadSealStream {
  length = 0;
  private out: Uint8Array | undefined;
  begin(_key: Uint8Array, _nonce: Uint8Array, out: Uint8Array) {
    this.out = out;
    this.length = 0;
  }
  update(piece: Uint8Array) {
    if (!this.out || this.length + piece.length + 16 > this.out.length) throw new RangeError('output too small');
    this.length += piece.length;
  }
  finish() {
    const out = this.out!;
    this.out = undefined;
    return out.subarray(0, this.length + 16);
  }
}
const standInAead: Aead = {
  seal: (_k, _n, p, out) => out ?? new Uint8Array(p.length + 16),
  open: (_k, _n, s, out) => out ?? new Uint8Array(s.length - 16),
  sealStream: () => new StandInSealStream(),
};

/** What seals on the device: its native AEAD (or the stand-in), and a native-Digest stand-in. */
const device: CryptoBackend = {
  name: hasNatives ? 'native C (xs-native)' : 'O(1) stand-in',
  aead: hasNatives ? nativeAead() : standInAead,
  sha256: () => ({ update() {}, digest: () => new Uint8Array(32) }),
};
const deviceAlloc: Alloc = hasNatives ? hostAlloc : (n) => new Uint8Array(n);

function makeDoorbell(backend: CryptoBackend, alloc?: Alloc): Doorbell {
  const d = new Doorbell({ backend, random: systemRandom, identity, sink, width: 800, height: 600, headerPoolSize: 1, alloc });
  d.setRecipients(recipients);
  return d;
}
const js = makeDoorbell(nobleBackend);
// the same with 3 s of pre-roll, its ring in host memory
const preRoll = new PreRoll({ duration: 3000, capacity: 2 * 1024 * 1024, alloc: deviceAlloc });
const withPreRoll = new Doorbell({ backend: device, random: systemRandom, identity, sink, width: 800, height: 600, headerPoolSize: 1, alloc: deviceAlloc, preRoll });
withPreRoll.setRecipients(recipients);
// and with a microphone: 100 ms of 16 kHz mono PCM (3,200 bytes) before each frame, in the same ring
const soundRing = new PreRoll({ duration: 3000, capacity: 2 * 1024 * 1024, alloc: deviceAlloc });
const withSound = new Doorbell({ backend: device, random: systemRandom, identity, sink, width: 800, height: 600, headerPoolSize: 1, alloc: deviceAlloc, preRoll: soundRing, audio: true });
withSound.setRecipients(recipients);
const pcm = deviceAlloc(3200).fill(0x11);
const native = makeDoorbell(device, deviceAlloc);
// one large SVGA JPEG that fills the first chunk (camera frames are host buffers on the device),
// and a larger one: the first chunk then costs the same if no JS work grows with the bytes
const FRAME = CHUNK_SIZE + 1024;
const LARGE_FRAME = FRAME + 60_000;
const POSTER_FRAME = 40_000;
const frameBuffer = deviceAlloc(LARGE_FRAME).fill(0x55);
let now = 1_800_000_000_000;

function firstChunk(frameLength: number): void {
  chunksOut = 0;
  const t = (now += 60_000);
  native.press(t);
  native.frame(frameBuffer.subarray(0, frameLength), t + 40);
  if (chunksOut !== 1) throw new Error(`${chunksOut} chunks sealed, not one`);
}

defineOps({
  noop() {},
  backend: () => device.name,
  header3() {
    prepareHeader(recipients, systemRandom);
  },
  fill() {
    while (js.idle());
    while (native.idle());
    while (withPreRoll.idle());
    while (withSound.idle());
  },
  /** the press itself: with a ready header, segment 0 (header and nonce) goes out at once */
  trigger_ready() {
    js.press((now += 60_000));
  },
  trigger_cold() {
    js.press((now += 60_000));
  },
  first_chunk_ready: () => firstChunk(FRAME),
  first_chunk_ready_large_frame: () => firstChunk(LARGE_FRAME),
  /** an SVGA frame of 40 KB: it fits the first chunk as the poster, then as the first frame it fills it */
  first_chunk_poster: () => firstChunk(POSTER_FRAME),
  /** 31 frames (3 s at 10 fps) of 40 KB into the ring: metered as one delivery */
  preroll_fill() {
    for (let i = 0; i <= 30; i++) withPreRoll.frame(frameBuffer.subarray(0, POSTER_FRAME), (now += 100));
  },
  /** the same with 1 KB frames: the difference per byte is the copy into the ring */
  preroll_fill_small() {
    for (let i = 0; i <= 30; i++) withPreRoll.frame(frameBuffer.subarray(0, 1000), (now += 100));
  },
  /** the press: the header out, then pre-roll sealed until the first chunk has left */
  first_chunk_preroll() {
    chunksOut = 0;
    withPreRoll.press(now + 40);
    if (chunksOut !== 1) throw new Error(`${chunksOut} chunks sealed at the press, not one`);
  },
  /** 3 s of frames and sound into the ring */
  preroll_fill_audio() {
    for (let i = 0; i <= 30; i++) {
      withSound.audio(pcm, now);
      withSound.frame(frameBuffer.subarray(0, POSTER_FRAME), (now += 100));
    }
  },
  /** the press with sound in the pre-roll: up to the first chunk */
  first_chunk_preroll_audio() {
    chunksOut = 0;
    withSound.press(now + 40);
    if (chunksOut !== 1) throw new Error(`${chunksOut} chunks sealed at the press, not one`);
  },
  /** the rest of the pre-roll, in idle time */
  preroll_rest() {
    while (withPreRoll.idle());
  },
  frame_bytes: () => ({ frame: FRAME, large: LARGE_FRAME }),
  finish() {
    js.finishClip();
    native.finishClip();
    withPreRoll.finishClip();
    while (withSound.idle());
    withSound.finishClip();
  },
});
