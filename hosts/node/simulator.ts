/**
 * The hosted simulator's device: the real core (src/device/doorbell.ts) wired
 * to Node bindings — a synthetic JPEG camera, a file-backed key-value store, the
 * system CSPRNG — and driven by a clock that can run in real time or simulated.
 */
import { Doorbell, type DoorbellOptions } from '../../src/device/doorbell.js';
import { loadOrCreateIdentity, type DeviceIdentity } from '../../src/device/identity.js';
import { systemRandom } from '../../src/crypto/noble.js';
import { nodeBackend } from './backend.js';
import type { ClipSink, CryptoBackend, Log, Random } from '../../src/host.js';
import { SyntheticCamera } from './camera.js';
import { FileKeyValueStore } from './kv-store.js';

export interface SimulatedDeviceOptions {
  /** the device's persistent store: a folder, or a store already open */
  stateDir?: string;
  store?: FileKeyValueStore;
  sink: ClipSink;
  fps?: number;
  width?: number;
  height?: number;
  /** simulated start time, ms since the Unix epoch */
  startTime?: number;
  random?: Random;
  backend?: CryptoBackend;
  log?: Log;
  doorbell?: Partial<DoorbellOptions>;
}

export class SimulatedDevice {
  readonly store: FileKeyValueStore;
  readonly identity: DeviceIdentity;
  readonly camera: SyntheticCamera;
  readonly doorbell: Doorbell;
  readonly fps: number;
  /** simulated time, ms since the Unix epoch */
  now: number;
  private frameNumber = 0;

  constructor(o: SimulatedDeviceOptions) {
    const random = o.random ?? systemRandom;
    if (!o.store && !o.stateDir) throw new Error('SimulatedDevice needs a store or a stateDir');
    this.store = o.store ?? new FileKeyValueStore(o.stateDir!);
    this.identity = loadOrCreateIdentity(this.store, random);
    this.camera = new SyntheticCamera({ width: o.width, height: o.height });
    this.fps = o.fps ?? 10;
    this.now = o.startTime ?? Date.now();
    this.doorbell = new Doorbell({
      backend: o.backend ?? nodeBackend,
      random,
      identity: this.identity,
      store: this.store,
      sink: o.sink,
      width: this.camera.width,
      height: this.camera.height,
      log: o.log,
      ...o.doorbell,
    });
  }

  press(): string {
    return this.doorbell.press(this.now);
  }

  /** Advances simulated time by `ms`, capturing frames at the camera's rate; idle work between clips. */
  run(ms: number): void {
    const interval = 1000 / this.fps;
    const end = this.now + ms;
    while (this.now + interval <= end) {
      this.now += interval;
      const t = Math.round(this.now);
      // Like the real camera, frames are only encoded while someone wants them.
      if (this.doorbell.recording) this.doorbell.frame(this.camera.capture(this.frameNumber++, t), t);
      else {
        this.doorbell.tick(t);
        this.doorbell.idle();
      }
    }
    this.now = end;
    this.doorbell.tick(Math.round(end));
  }

  /** Fills the header pool completely (what idle time does on a real device). */
  prepare(): void {
    while (this.doorbell.idle());
  }
}
