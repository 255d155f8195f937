/**
 * The simulator's camera. The SDK's Linux camera delivers YUYV only, so the
 * simulator shows small baseline JPEG frames stored as resources, at a steady
 * rate: by default it cycles sim-frames/sim-frame-N.jfif (each showing its
 * number); with `scene: 'still'` it shows one still scene (sim-scene.jfif), the
 * picture camera motion needs, and `walkBy()` sends someone across it
 * (sim-walk-N.jfif, made by tools/sim-scene.ts). Resources are read-only host
 * buffers: frames are handed over without a copy.
 */
import Resource from 'Resource';
import Timer from 'timer';
import Time from 'time';
import type { FrameHandler, FrameSource } from './types.js';
import { frameIndex, frameResourceName, SCENE_RESOURCE, walkResourceName } from './jpeg.js';

export interface SyntheticCameraOptions {
  width: number;
  height: number;
  fps?: number;
  /** 'numbered' (default): the numbered frames in turn; 'still': the still scene, for camera motion */
  scene?: 'numbered' | 'still';
  onFrame: FrameHandler;
}

export class SyntheticCamera implements FrameSource {
  readonly width: number;
  readonly height: number;
  /** frames not given: late timer repeats fired back to back (see `tick`) */
  private skipped = 0;
  /** Time.ticks of the last frame given */
  private last = Number.NEGATIVE_INFINITY;
  private readonly frames: Uint8Array[] = [];
  private readonly walk: Uint8Array[] = [];
  private readonly interval: number;
  private timer: Timer | undefined;
  private n = 0;
  /** the walk-by's next frame while someone crosses the picture */
  private walking: number | undefined;

  constructor(private readonly o: SyntheticCameraOptions) {
    this.width = o.width;
    this.height = o.height;
    this.interval = Math.max(1, Math.round(1000 / (o.fps ?? 10)));
    if (o.scene === 'still') {
      if (!Resource.exists(SCENE_RESOURCE)) throw new Error(`sim camera: no ${SCENE_RESOURCE} resource in the build`);
      this.frames.push(new Uint8Array(new Resource(SCENE_RESOURCE)));
    } else {
      for (let i = 0; Resource.exists(frameResourceName(i)); i++) {
        this.frames.push(new Uint8Array(new Resource(frameResourceName(i))));
      }
    }
    if (this.frames.length === 0) throw new Error('sim camera: no sim-frame-N.jfif resources in the build');
    for (let i = 0; Resource.exists(walkResourceName(i)); i++) this.walk.push(new Uint8Array(new Resource(walkResourceName(i))));
  }

  /** Someone crosses the picture from the next frame on (the walk-by frames once); false if the build has none. */
  walkBy(): boolean {
    if (this.walk.length === 0) return false;
    this.walking = 0;
    return true;
  }

  private next(): Uint8Array {
    if (this.walking !== undefined) {
      const frame = this.walk[this.walking++];
      if (this.walking >= this.walk.length) this.walking = undefined;
      this.n++;
      return frame;
    }
    return this.frames[frameIndex(this.n++, this.frames.length)];
  }

  get dropped(): number {
    return this.skipped;
  }

  /**
   * After the loop was busy (a TLS handshake or sealing in XS, slow under QEMU) the SDK's timer
   * fires the late repeats back to back: a burst of frames a real camera never gives, which
   * filled the 3 s pre-roll with 472 frames in QEMU and overflowed the spool. A frame that comes
   * less than half an interval after the last is skipped, as a camera drops what it had no time for.
   */
  private tick(): void {
    const t = Time.ticks;
    if (t - this.last < this.interval / 2) {
      this.skipped++;
      return;
    }
    this.last = t;
    this.o.onFrame(this.next());
  }

  get frameCount(): number {
    return this.frames.length;
  }

  start(): void {
    if (this.timer) return;
    this.timer = Timer.repeat(() => this.tick(), this.interval);
  }

  stop(): void {
    if (this.timer) Timer.clear(this.timer);
    this.timer = undefined;
  }

  close(): void {
    this.stop();
    this.frames.length = 0;
    this.walk.length = 0;
  }
}
