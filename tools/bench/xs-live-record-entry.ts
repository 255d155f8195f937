/**
 * XS entry for the live-record cost (tools/bench/live.ts `xsLiveRecordCost`):
 * what sealing one camera frame as a live record costs the device's
 * JavaScript, for a small and a large frame. Run in the xsnap-sealbell worker
 * (tools/xs-native), so the sealing is the device's own native code — the XS
 * binding (xs_aead.c) and C core behind the same JS shell (aead-shell.js) —
 * doing the per-byte work off the meter, as on the device; frames and the
 * record buffer are host memory (the camera's buffers, the device's Alloc).
 * Any JS work that grows with the frame shows as the difference between the two.
 */
import { LiveSealer } from '../../src/live/sealer.js';
import { signingKeyFromSeed } from '../../src/minisign.js';
import { MAX_LIVE_FRAME_BYTES } from '../../src/live/format.js';
import { defineOps } from '../xs/guest.js';
import { hasNatives, heap, hostAlloc, nativeAead, resetPeak } from '../xs-native/guest.js';

if (!hasNatives) throw new Error('xs-live-record-entry runs in the xsnap-sealbell worker (tools/xs-native) only');

const recipient = 'age1s5s0qzvfxzn4gayt0hwtg0hhtgxm7wsdycup4a8t5j5ca25mfe4qt4hs7q';
let counter = 0;
const random = (n: number) => new Uint8Array(n).map((_, i) => (i * 31 + counter++) & 0xff);

export const SMALL_FRAME = 1_000;
export const LARGE_FRAME = MAX_LIVE_FRAME_BYTES;

const sealer = new LiveSealer({
  aead: nativeAead(),
  random,
  key: signingKeyFromSeed(new Uint8Array(32).fill(7)),
  device: '0123456789ABCDEF',
  session: 's',
  request: new Uint8Array(16),
  epoch: 1,
  start: 0,
  width: 800,
  height: 600,
  recipient,
  alloc: hostAlloc,
});
// one camera buffer (host memory); both frames are views of it
const camera = hostAlloc(LARGE_FRAME).fill(0x55);
const small = camera.subarray(0, SMALL_FRAME);
let now = 1_800_000_000_000;

defineOps({
  noop() {},
  frame_small() {
    sealer.frame(small, (now += 100));
  },
  frame_large() {
    sealer.frame(camera, (now += 100));
  },
  /** XS heap (chunk bytes, slots) a large frame's record allocates, garbage included, less what measuring takes */
  frame_large_heap() {
    const measure = (work: () => void) => {
      resetPeak();
      const before = heap();
      work();
      const after = heap();
      return { chunks: after.peakChunks - before.chunks, slots: after.peakSlots - before.slots };
    };
    const empty = measure(() => {});
    const record = measure(() => sealer.frame(camera, (now += 100)));
    return { chunks: record.chunks - empty.chunks, slots: record.slots - empty.slots };
  },
  frame_bytes: () => ({ small: SMALL_FRAME, large: LARGE_FRAME }),
});
