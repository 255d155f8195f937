/**
 * XS entry for the memory figures (tools/bench/xs-stream.ts, test/xs-native.test.ts):
 * the XS heap the streaming path needs — doorbell press → camera frames →
 * sealed chunks out — with the device's native AEAD and host buffers, inside
 * the xsnap-sealbell worker (tools/xs-native). Each op starts from a
 * collected heap with the peaks reset, and returns XS's own counters, so the
 * peak of an op (live data plus its garbage, no collection needed) can be
 * compared with the idle doorbell's live heap.
 *
 * Frames are host buffers, as the camera's ("buffer/disposable") are; the
 * chunk buffer comes from the host Alloc (or, with `alloc: "xs"`, from the XS
 * heap: the control that shows what a 64 KiB buffer in the heap looks like).
 * SHA-256 of each chunk is a stand-in for the SDK's native Digest (one call
 * per chunk, no JS per byte).
 */
import { Doorbell } from '../../src/device/doorbell.js';
import { loadOrCreateIdentity } from '../../src/device/identity.js';
import type { RecipientSet } from '../../src/clip/prepared-header.js';
import { encodeRecipient } from '../../src/age/x25519.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { systemRandom } from '../../src/crypto/noble.js';
import type { ClipSink, CryptoBackend } from '../../src/host.js';
import { MemoryKeyValueStore } from '../../src/memory-store.js';
import { defineOps } from '../xs/guest.js';
import { fixHeap, heap, hostAlloc, liveHeap, nativeAead, resetPeak } from '../xs-native/guest.js';

const recipients: RecipientSet = {
  epoch: 1,
  recipients: [1, 2, 3].map((i) => encodeRecipient(x25519.getPublicKey(new Uint8Array(32).fill(i)))),
};
const backend: CryptoBackend = {
  name: 'native C (xs-native)',
  aead: nativeAead(),
  sha256: () => ({ update() {}, digest: () => new Uint8Array(32) }),
};

let chunksOut = 0;
let bytesOut = 0;
/** Hands segments on, as the uplink writes them to its socket: nothing kept. */
const sink: ClipSink = {
  begin() {},
  segment(_id, index, bytes) {
    if (index >= 1) chunksOut++;
    bytesOut += bytes.length;
  },
  end() {},
};

let doorbell: Doorbell | undefined;
let now = 1_800_000_000_000;

function bell(): Doorbell {
  if (!doorbell) throw new Error('no doorbell: call setup first');
  return doorbell;
}

defineOps({
  /** arg: { alloc: "host" | "xs" } — where the chunk buffer lives */
  setup(arg) {
    const xsAlloc = (arg as { alloc?: string } | undefined)?.alloc === 'xs';
    const identity = loadOrCreateIdentity(new MemoryKeyValueStore(), systemRandom);
    doorbell = new Doorbell({
      backend, random: systemRandom, identity, sink, width: 800, height: 600,
      clipDuration: 600_000, maxClipDuration: 600_000,
      alloc: xsAlloc ? (n) => new Uint8Array(n) : hostAlloc,
    });
    doorbell.setRecipients(recipients);
  },
  /** fills the ready-header pool; returns the live heap of the idle doorbell */
  idle() {
    while (bell().idle());
    return liveHeap();
  },
  press() {
    resetPeak();
    bell().press((now += 60_000));
    return heap();
  },
  /** arg: frame size in bytes; one camera frame in a fresh host buffer */
  frame(size) {
    const frame = hostAlloc(size as number);
    resetPeak();
    bell().frame(frame, (now += 40));
    return { heap: heap(), chunksOut, bytesOut, buffered: bell().currentClip?.buffered ?? 0 };
  },
  /** the end of the clip: last chunk, manifest, Ed25519 signature */
  finish() {
    resetPeak();
    bell().finishClip();
    return heap();
  },
  live: () => liveHeap(),
  /** arg: { chunks, slots } — from now on the heap is fixed, with that much room (see guest.ts) */
  fix_heap: (room) => fixHeap(room as { chunks: number; slots: number }),
});
