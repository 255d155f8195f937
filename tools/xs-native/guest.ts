/**
 * Guest side of tools/xs-native (bundled into XS code; no Node APIs): the
 * device's native AEAD and host buffers as the core sees them on a device,
 * and the XS heap counters. Only inside the xsnap-sealbell worker
 * (tools/xs-native/build.ts), which installs `sealbellNative`.
 */
import { makeAead } from '../../hosts/moddable/native/aead-shell.js';
import type { AeadNatives } from '../../hosts/moddable/native/aead-shell.js';
import type { Aead, Alloc } from '../../src/host.js';
import { makeDcImage, type DcCellsNative, type JpegDcNative } from '../../hosts/moddable/dc-image.js';
import type { DcImage } from '../../src/motion/jpeg-dc.js';

export interface XsHeap {
  /** bytes of XS chunks in use (after gc(): live) */
  chunks: number;
  /** XS slots in use (after gc(): live) */
  slots: number;
  /** the most of each since resetPeak() */
  peakChunks: number;
  peakSlots: number;
  /** what XS has reserved: bytes of chunks, slots */
  chunkCapacity: number;
  slotCapacity: number;
  /** bytes per slot on this machine (32 on x86-64; 16 on the ESP32) */
  slotSize: number;
}

interface SealbellNative extends AeadNatives {
  HostMemory: new (byteLength: number) => ArrayBufferLike;
  jpegDc: JpegDcNative;
  dcCells: DcCellsNative;
  heap(): XsHeap;
  resetPeak(): void;
  fixHeap(): void;
}

const g = globalThis as unknown as { sealbellNative?: SealbellNative; gc?: () => void };

/** True inside the xsnap-sealbell worker. */
export const hasNatives = g.sealbellNative !== undefined;

function natives(): SealbellNative {
  if (!g.sealbellNative) throw new Error('not in the xsnap-sealbell worker (tools/xs-native): no sealbellNative');
  return g.sealbellNative;
}

/** hosts/moddable/native/aead.js, with the same shell over the same C code. */
export function nativeAead(): Aead {
  return makeAead(natives());
}

/** hosts/moddable/dc-image.ts over the device's C decoder (jpeg-dc.js): camera motion's DC image. */
export function nativeDcImage(): (jpeg: Uint8Array) => DcImage {
  return makeDcImage(natives().jpegDc, natives().dcCells);
}

/** hosts/moddable/alloc.ts (hostbuffer.js): bytes in host memory, outside the XS heap. */
export const hostAlloc: Alloc = (n) => new Uint8Array(new (natives().HostMemory)(n));

/** Collects garbage, then returns the counters: the current figures are then the live heap. */
export function liveHeap(): XsHeap {
  g.gc?.();
  return natives().heap();
}

export function heap(): XsHeap {
  return natives().heap();
}

/** Collects garbage and restarts the peaks from the live heap. */
export function resetPeak(): void {
  g.gc?.();
  natives().resetPeak();
}

/** Free room in the heap after a collection: chunk bytes and slots. */
export function freeRoom(): { chunks: number; slots: number } {
  const h = liveHeap();
  return { chunks: h.chunkCapacity - h.chunks, slots: h.slotCapacity - h.slots };
}

/** Keeps the ballast reachable for as long as the machine lives. */
const ballast: unknown[] = [];

/**
 * Turns the heap into a device's: fixed size (no more growth; XS collects when
 * it is full and exits with code 11 when the live data does not fit), with
 * exactly `room` left free — a device's whole heap for what runs from now on,
 * while what is already live (the bundled code and module state, which a
 * device keeps in flash) stays outside the budget. The rest of the reserved
 * heap is filled with ballast: one ArrayBuffer for the chunk bytes, a chain
 * of small objects for the slots. Returns the room left, as measured.
 */
export function fixHeap(room: { chunks: number; slots: number }): { chunks: number; slots: number } {
  // The measuring itself holds a few slots and bytes: aim a little under the room, never over.
  const target = { chunks: room.chunks - 256, slots: room.slots - 16 };
  // an ArrayBuffer costs its bytes plus a chunk header and alignment, and two or three slots
  for (let free = freeRoom(); free.chunks > target.chunks; free = freeRoom()) {
    ballast.push(new ArrayBuffer(Math.max(1, free.chunks - target.chunks - 32)));
  }
  // each link is two slots (the object and its one property)
  for (let free = freeRoom(); free.slots > target.slots; free = freeRoom()) {
    let chain: { next: unknown } | undefined;
    for (let n = Math.ceil((free.slots - target.slots) / 2); n > 0; n--) chain = { next: chain };
    ballast.push(chain);
  }
  natives().fixHeap();
  return freeRoom();
}
