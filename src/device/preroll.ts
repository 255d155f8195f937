/**
 * Pre-roll: the last few seconds of camera frames, kept so that a trigger seals them into
 * the clip ahead of the frames that follow ("what happened just before the press").
 *
 * The frames are copies in ONE buffer of host memory, allocated once through the host's
 * Alloc (PSRAM on the camera boards, never the XS heap), used as a ring: each frame is
 * copied in (TypedArray.set: a native memcpy, no JavaScript work per byte) after the one
 * before, and the next lap starts again at 0. The JavaScript side keeps only each frame's
 * place and time. A frame evicts the oldest frames it overwrites, and frames no longer
 * needed to reach `duration` back go too, so what is held is one unbroken run of the newest
 * frames, at least `duration` long when the ring is large enough.
 *
 * The microphone's sound (16 kHz mono PCM, 32 KB a second: 3 s add 96 KB) goes into the same
 * ring, between the frames, in the order it comes, so a trigger seals both in step.
 */
import type { Alloc } from '../host.js';

export interface PreRollOptions {
  /** ms of frames to hold before a trigger */
  duration: number;
  /** bytes of host memory for the frames (3 s of SVGA at 10 fps is about 1.2 MB) */
  capacity: number;
  alloc?: Alloc;
}

export interface HeldFrame {
  /** the JPEG (or PCM samples), a view into the ring: valid until the next push or clear */
  data: Uint8Array;
  /** capture time (of the first sample, for sound), ms since the Unix epoch */
  time: number;
  /** PCM samples from the microphone, not a frame */
  audio?: true;
}

interface Slot {
  offset: number;
  length: number;
  time: number;
  audio: boolean;
}

export class PreRoll {
  /** ms held before a trigger: signed settings may change it (the ring's capacity stays) */
  duration: number;
  readonly capacity: number;
  private readonly ring: Uint8Array;
  /** oldest first */
  private slots: Slot[] = [];
  /** where the next frame goes */
  private head = 0;
  /** frames too large for the ring (not held) */
  tooLarge = 0;

  constructor(o: PreRollOptions) {
    this.duration = o.duration;
    this.capacity = o.capacity;
    this.ring = o.alloc ? o.alloc(o.capacity) : new Uint8Array(o.capacity);
  }

  /** Bytes of frames held now. */
  get bytes(): number {
    let n = 0;
    for (const s of this.slots) n += s.length;
    return n;
  }

  get count(): number {
    return this.slots.length;
  }

  /** Keeps a copy of a camera frame taken at `time`; the oldest frames make room. */
  push(jpeg: Uint8Array, time: number): void {
    this.keep(jpeg, time, false);
  }

  /** Keeps a copy of PCM samples from the microphone, the first taken at `time`. */
  pushAudio(pcm: Uint8Array, time: number): void {
    this.keep(pcm, time, true);
  }

  private keep(jpeg: Uint8Array, time: number, audio: boolean): void {
    if (jpeg.length > this.capacity) {
      // it cannot be held; the frames before it would no longer run up to the trigger
      this.tooLarge++;
      this.clear();
      return;
    }
    let offset = this.head;
    const slots = this.slots;
    if (offset + jpeg.length > this.capacity) {
      // a new lap: what is left at the ring's end is the oldest, and goes first
      while (slots.length && slots[0].offset >= offset) slots.shift();
      offset = 0;
    }
    const end = offset + jpeg.length;
    while (slots.length && slots[0].offset < end && slots[0].offset + slots[0].length > offset) slots.shift();
    this.ring.set(jpeg, offset);
    slots.push({ offset, length: jpeg.length, time, audio });
    this.head = end;
    this.expire(time);
  }

  /**
   * The frames up to `now`, oldest first (views into the ring): the newest run that reaches
   * `duration` ms back (when the ring holds that much), so the first is at or before now − duration.
   */
  frames(now: number): HeldFrame[] {
    return this.held(now).filter((f) => !f.audio);
  }

  /** Frames and sound up to `now`, in the order they came (as frames() for the frames). */
  held(now: number): HeldFrame[] {
    this.expire(now);
    return this.slots.map((s) => {
      const data = this.ring.subarray(s.offset, s.offset + s.length);
      return s.audio ? { data, time: s.time, audio: true as const } : { data, time: s.time };
    });
  }

  clear(): void {
    this.slots = [];
    this.head = 0;
  }

  /** Drops what comes before the newest frame that already reaches `duration` back from `now`. */
  private expire(now: number): void {
    const slots = this.slots;
    const cutoff = now - this.duration;
    let keepFrom = -1;
    for (let i = 0; i < slots.length && slots[i].time <= cutoff; i++) if (!slots[i].audio) keepFrom = i;
    if (keepFrom > 0) slots.splice(0, keepFrom);
    // the camera stalled: what is held is too old to lead up to a trigger
    if (slots.length && slots[slots.length - 1].time < now - this.duration * 2) slots.length = 0;
  }
}
