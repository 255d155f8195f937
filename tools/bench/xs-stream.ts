/**
 * The XS heap the streaming path needs on a device — doorbell press → camera
 * frames → sealed chunks out — measured under XS (tools/bench/xs-stream-entry.ts
 * in the xsnap-sealbell worker, tools/xs-native) with the device's native AEAD
 * and host buffers, from XS's own heap counters:
 *
 * - streamPeak: the most the heap holds above the idle doorbell (ready headers,
 *   no clip) during the press or any frame, garbage included (each op starts
 *   from a collected heap and reads the peak XS counted);
 * - clipLive: what a recording clip keeps live between frames;
 * - with `fixedRoom`, the same run in a fixed-size heap with that much room
 *   beyond the loaded code (see tools/xs-native/guest.ts fixHeap): it completes
 *   or runs out of memory (XS exit 11) at some op.
 *
 * Sizes are XS's on this x86-64 machine: 32-byte slots (16 on an ESP32) and
 * 64-bit pointers in chunks, so a device needs no more than this.
 */
import { openXs, type XsSession } from '../xs/run.js';
import { XsExitError } from '../xs/xsnap.js';
import type { XsHeap } from '../xs-native/guest.js';
import { buildNativeWorker, NativeWorkerUnavailable } from '../xs-native/build.js';

export const XS_STREAM_ENTRY = 'tools/bench/xs-stream-entry.ts';

/**
 * The XS heap of the Moddable SDK's lilygo_t_camera_plus_s3 target (its
 * manifest's `creation`): 78,848 bytes of chunks and 4,928 slots, fixed
 * (incremental 0) — about 77 KB each on the ESP32-S3.
 */
export const LILYGO_DEFAULT_HEAP = { chunks: 78_848, slots: 4_928 } as const;

export interface HeapRoom {
  chunks: number;
  slots: number;
}

export interface StreamHeapOptions {
  /** the xsnap-sealbell worker (tools/xs-native/build.ts) */
  bin: string;
  /** where the chunk buffer lives: host memory (the device's Alloc) or the XS heap (a control) */
  alloc: 'host' | 'xs';
  /** camera frames to record (15–50 KB each, SVGA JPEG sizes) */
  frames?: number;
  /** run in a fixed-size heap with this much room beyond the loaded code */
  fixedRoom?: HeapRoom;
}

export interface StreamHeapResult {
  /** live heap of the idle doorbell: ready headers, no clip yet */
  idle: XsHeap;
  /** most held above `idle` during the press or a frame (bytes of chunks, slots) */
  streamPeak: HeapRoom;
  /** live above `idle` while the clip records (between frames) */
  clipLive: HeapRoom;
  /** most held above `idle` while the clip ends: last chunk, manifest, Ed25519 signature */
  finishPeak: HeapRoom;
  frames: number;
  chunksOut: number;
  bytesOut: number;
  /** with fixedRoom: the room measured after fixing the heap, and how the run went */
  fixed?: { room: HeapRoom; outcome: string };
}

const above = (h: XsHeap, base: XsHeap, peak = true): HeapRoom => ({
  chunks: (peak ? h.peakChunks : h.chunks) - base.chunks,
  slots: (peak ? h.peakSlots : h.slots) - base.slots,
});
const max = (a: HeapRoom, b: HeapRoom): HeapRoom => ({ chunks: Math.max(a.chunks, b.chunks), slots: Math.max(a.slots, b.slots) });

export const frameSize = (i: number): number => 15_000 + ((i * 7_919) % 35_000);

export async function measureStreamHeap(root: string, o: StreamHeapOptions): Promise<StreamHeapResult> {
  const frames = o.frames ?? 100;
  const s: XsSession = await openXs(XS_STREAM_ENTRY, { root, bin: o.bin });
  let op = 'load';
  const call = async <T>(name: string, arg?: unknown): Promise<T> => {
    op = name;
    return (await s.call(name, arg)).value as T;
  };
  const result: StreamHeapResult = {
    idle: undefined as unknown as XsHeap,
    streamPeak: { chunks: 0, slots: 0 },
    clipLive: { chunks: 0, slots: 0 },
    finishPeak: { chunks: 0, slots: 0 },
    frames: 0,
    chunksOut: 0,
    bytesOut: 0,
  };
  try {
    if (o.fixedRoom) result.fixed = { room: await call<HeapRoom>('fix_heap', o.fixedRoom), outcome: 'running' };
    await call('setup', { alloc: o.alloc });
    const idle = (result.idle = await call<XsHeap>('idle'));
    result.streamPeak = above(await call<XsHeap>('press'), idle);
    for (let i = 0; i < frames; i++) {
      const r = await call<{ heap: XsHeap; chunksOut: number; bytesOut: number }>('frame', frameSize(i));
      result.streamPeak = max(result.streamPeak, above(r.heap, idle));
      result.frames = i + 1;
      result.chunksOut = r.chunksOut;
      result.bytesOut = r.bytesOut;
    }
    result.clipLive = above(await call<XsHeap>('live'), idle, false);
    result.finishPeak = above(await call<XsHeap>('finish'), idle);
    if (result.fixed) result.fixed.outcome = 'completed';
  } catch (e) {
    const exit = (e as { cause?: unknown }).cause;
    if (!(result.fixed && exit instanceof XsExitError && exit.code === 11)) throw e;
    result.fixed.outcome = `out of memory at ${op === 'frame' ? `frame ${result.frames + 1}` : op}`;
  } finally {
    await s.close().catch(() => {});
  }
  return result;
}

/** The xsnap-sealbell worker, or why it cannot be built here. */
export async function nativeWorker(root: string): Promise<{ bin?: string; why?: string }> {
  try {
    return { bin: await buildNativeWorker(root) };
  } catch (e) {
    if (e instanceof NativeWorkerUnavailable) return { why: e.message };
    throw e;
  }
}

/** ESP32 slot size: the figures count slots, a device stores each in 16 bytes. */
const DEVICE_SLOT_BYTES = 16;
const FRAMES = 100;

/** The memory figures of `npm run bench`. */
export async function xsStreamFigures(root: string): Promise<Record<string, number | string>> {
  const { bin, why } = await nativeWorker(root);
  if (!bin) return { xs_stream_heap_bytes: `not measured: ${why}` };
  const host = await measureStreamHeap(root, { bin, alloc: 'host', frames: FRAMES });
  const xs = await measureStreamHeap(root, { bin, alloc: 'xs', frames: FRAMES });
  const fixed = await measureStreamHeap(root, { bin, alloc: 'host', frames: FRAMES, fixedRoom: LILYGO_DEFAULT_HEAP });
  return {
    // press + 100 frames (15–50 KB) of the first clip, above the idle doorbell, garbage included:
    // chunk bytes + slots × 16 (ESP32 slot size); the two parts follow
    xs_stream_heap_bytes: host.streamPeak.chunks + host.streamPeak.slots * DEVICE_SLOT_BYTES,
    xs_stream_heap_chunk_bytes: host.streamPeak.chunks,
    xs_stream_heap_slots: host.streamPeak.slots,
    // live while the clip records: host Alloc, and the control with the chunk buffer in the XS heap
    xs_stream_clip_live_chunk_bytes: host.clipLive.chunks,
    xs_stream_clip_live_chunk_bytes_if_alloc_in_xs_heap: xs.clipLive.chunks,
    // the clip's end allocates this much (transient; the Ed25519 signature under noble), collected as it goes
    xs_clip_end_allocated_chunk_bytes: host.finishPeak.chunks,
    // setup, two ready headers, press, 100 frames, end of clip in a fixed heap with the lilygo default room
    xs_lilygo_default_heap_room: `${fixed.fixed!.room.chunks} chunk bytes + ${fixed.fixed!.room.slots} slots`,
    xs_lilygo_default_heap_stream: `${fixed.fixed!.outcome} (${fixed.frames} frames, ${fixed.chunksOut} chunks out)`,
  };
}
