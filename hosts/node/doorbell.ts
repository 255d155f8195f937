/**
 * The doorbell firmware (src/app/app.ts, the app the boards run) bound to Node:
 * the hosted simulator behind `sealbell doorbell`, `sealbell demo` and the tests.
 *
 * - store: a folder of files (DIR/store), or one given (tests);
 * - spool: the device's flash spool on a file standing in for the partition (DIR/spool.flash);
 * - camera: the synthetic JPEG camera, or frames from a file;
 * - access point: none; the setup endpoint on 127.0.0.1 stands in for it;
 * - Wi-Fi: this machine's network (online at once), uplink over WebSocket;
 * - status light: log lines;
 * - clock: real (timers drive the app, as on the device) or simulated (a test or the
 *   demo moves it: frames as fast as the CPU goes, real network I/O in between).
 */
import fs from 'node:fs';
import path from 'node:path';
import { setImmediate as yieldToIo, setTimeout as sleep } from 'node:timers/promises';
import type { CryptoBackend, KeyValueStore, Log, Random } from '../../src/host.js';
import type { AppHost, AppNetwork, Closable, LedStatus } from '../../src/app/host.js';
import type { HttpHandler } from '../../src/net/http-server.js';
import { DoorbellApp, type AppOptions } from '../../src/app/app.js';
import { FlashSpoolStorage, recommendedCapacity, type FlashArea } from '../../src/uplink/flash-spool.js';
import { systemRandom } from '../../src/crypto/noble.js';
import { nodeBackend } from './backend.js';
import { SyntheticCamera } from './camera.js';
import { SyntheticMicrophone } from './microphone.js';
import { FileKeyValueStore, privateDir } from './kv-store.js';
import { FileFlashArea } from './flash-file.js';
import { serveHttpHandler, type SetupEndpoint } from './setup-endpoint.js';
import { wsClientConnect } from './uplink-socket.js';
import { FileOtaFlash, type OtaFlashOptions } from './ota-flash.js';
import type { FirmwareInfo } from '../../src/update/updater.js';

/** A frame source: frame `n` taken at `time` (ms since the Unix epoch). */
export interface NodeCamera {
  readonly width: number;
  readonly height: number;
  capture(n: number, time: number): Uint8Array;
}

export interface NodeDoorbellOptions {
  /** the doorbell's flash: DIR/store (key-value), DIR/spool.flash; DIR/setup-verifier.bin is the provisioning record */
  state: string;
  /** the provisioning record (SPAKE2+ verifier) to install; default DIR/setup-verifier.bin when it exists */
  verifier?: Uint8Array;
  /** setup endpoint port on 127.0.0.1 (default 0: any free port) */
  setupPort?: number;
  /** camera frames per second (default 10) */
  fps?: number;
  camera?: NodeCamera;
  /**
   * the microphone's test signal (hosts/node/microphone.ts: a 440 Hz tone, a click at each
   * press) in the clips' audio track; default on. false: a board without a microphone
   */
  microphone?: boolean;
  /** seconds a clip runs after the last press (default 10) */
  clipSeconds?: number;
  /** bytes of the spool's flash file (default 8 MiB) */
  spoolBytes?: number;
  /** a simulated clock starting here (ms since the Unix epoch); default: the real clock */
  simulatedStart?: number;
  random?: Random;
  backend?: CryptoBackend;
  log?: Log;
  /** a platform whose RNG is not strong from power-on (AppHost.rng): the app waits for `ready()` before making keys */
  rng?: { ready(): boolean; prepare?(): void };
  /**
   * Firmware updates: A/B app slots in DIR/ota (hosts/node/ota-flash.ts), the release public
   * key built into this "firmware", and what the simulator runs before any update
   */
  ota?: { releaseKey: Uint8Array; factory?: FirmwareInfo } & Omit<OtaFlashOptions, 'factory'>;
  /** tests: a store and a flash in RAM in place of the files */
  store?: KeyValueStore;
  flash?: FlashArea;
  app?: AppOptions;
}

export const STATE_FILES = { store: 'store', spool: 'spool.flash', verifier: 'setup-verifier.bin', ota: 'ota' } as const;
/** What the hosted simulator runs before any update. */
export const SIMULATOR_FIRMWARE: FirmwareInfo = { board: 'node_sim', version: '0.0.0-sim', security: 0 };
const TICK_MS = 100;
const LOG_KEEP = 2000;

export class NodeDoorbell {
  readonly app: DoorbellApp;
  readonly store: KeyValueStore;
  readonly flash: FlashArea;
  readonly camera: NodeCamera;
  readonly fps: number;
  /** the simulated microphone, unless the options leave it out */
  readonly microphone: SyntheticMicrophone | undefined;
  /** where the next sound starts (ms): samples go to the app with each frame */
  private audioFrom: number | undefined;
  /** the log as the device prints it (the last lines), and every status the light showed */
  readonly logs: string[] = [];
  readonly lights: LedStatus[] = [];
  /** access point events ("open sealbell-1A2B", "close") */
  readonly ap: string[] = [];
  /** frames the camera made (only while the app uses them) */
  frames = 0;
  /** the A/B slots, reopened (the bootloader runs) at each restart; undefined without `ota` */
  otaFlash: FileOtaFlash | undefined;
  /** restarts so far (an installed update, a rollback) */
  restarts = 0;
  private simNow: number | undefined;
  /** simulated clock: when the camera makes its next frame */
  private nextFrame = 0;
  private readonly timers: NodeJS.Timeout[] = [];
  private laters: { at: number; fn: () => void }[] = [];
  private endpoint: Promise<SetupEndpoint> | undefined;
  private lastTick = 0;
  private stopped = false;

  constructor(private readonly o: NodeDoorbellOptions) {
    privateDir(o.state); // the device's secrets and sealed clips: 0700, files 0600
    this.store = o.store ?? new FileKeyValueStore(path.join(o.state, STATE_FILES.store));
    this.flash = o.flash ?? new FileFlashArea(path.join(o.state, STATE_FILES.spool), o.spoolBytes ?? 8 << 20);
    this.camera = o.camera ?? new SyntheticCamera({ width: 320, height: 240 });
    this.fps = o.fps ?? 10;
    this.microphone = o.microphone === false ? undefined : new SyntheticMicrophone();
    this.simNow = o.simulatedStart;
    this.nextFrame = (o.simulatedStart ?? 0) + 1000 / this.fps;
    const log: Log = (line) => {
      this.logs.push(line);
      if (this.logs.length > LOG_KEEP) this.logs.splice(0, this.logs.length - LOG_KEEP);
      o.log?.(line);
    };
    const network: AppNetwork = {
      openAccessPoint: (ssid) => {
        this.ap.push(`open ${ssid}`);
        log(`access point "${ssid}" (simulated: the setup endpoint on 127.0.0.1 stands in for it)`);
      },
      closeAccessPoint: () => {
        this.ap.push('close');
        log('access point closed');
      },
      join: (wifi, events) => {
        log(`joining Wi-Fi "${wifi.ssid}" (simulated: this machine's network)`);
        setImmediate(() => this.stopped || events.onOnline());
      },
      leave: () => {},
    };
    this.otaFlash = this.openOta();
    const self = this;
    const host: AppHost = {
      get ota() {
        const flash = self.otaFlash;
        if (!flash || !o.ota) return undefined;
        return { slots: flash, firmware: flash.firmware, releaseKey: o.ota.releaseKey, restart: () => self.restart() };
      },
      log,
      store: this.store,
      random: o.random ?? systemRandom,
      backend: o.backend ?? nodeBackend,
      clock: { now: () => this.now },
      camera: this.camera,
      ...(this.microphone ? { microphone: { sampleRate: this.microphone.sampleRate } } : {}),
      light: {
        show: (s) => {
          this.lights.push(s);
          log(`light: ${s}`);
        },
        close() {},
      },
      spool: { storage: new FlashSpoolStorage(this.flash), capacity: recommendedCapacity(this.flash.byteLength, this.flash.blockSize) },
      network,
      openSetupEndpoint: (handler) => this.openSetupEndpoint(handler, log),
      // the device's own WebSocket client (src/net/ws-client.ts) over Node's sockets
      uplinkConnect: wsClientConnect(o.random ?? systemRandom),
      later: (fn, ms) => this.later(fn, ms),
      rng: o.rng,
      verifierRecord: o.verifier ?? readIfExists(path.join(o.state, STATE_FILES.verifier)),
    };
    this.app = new DoorbellApp(host, { clipDuration: o.clipSeconds === undefined ? undefined : o.clipSeconds * 1000, ...o.app });
  }

  /** ms since the Unix epoch: the real clock, or the simulated one. */
  get now(): number {
    return this.simNow ?? Date.now();
  }

  get simulated(): boolean {
    return this.simNow !== undefined;
  }

  /** Power on. With the real clock, timers then drive the app (a tick every 100 ms, frames at the camera's rate). */
  boot(): void {
    this.app.boot(this.now);
    if (this.simulated) return;
    this.timers.push(setInterval(() => this.tick(), TICK_MS));
    this.timers.push(setInterval(() => this.frame(), 1000 / this.fps));
  }

  /**
   * Restarts as the device does after an update or a rollback: the app stops, the bootloader
   * picks the slot (a trial that never marked itself valid goes back), the app boots again.
   */
  restart(): void {
    if (this.stopped) return;
    this.restarts++;
    this.app.shutdown();
    this.laters = [];
    this.otaFlash = this.openOta();
    this.app.boot(this.now);
  }

  private openOta(): FileOtaFlash | undefined {
    const ota = this.o.ota;
    if (!ota) return undefined;
    const { releaseKey: _key, factory, ...flash } = ota;
    return new FileOtaFlash(flash.dir ?? path.join(this.o.state, STATE_FILES.ota), { ...flash, factory: factory ?? SIMULATOR_FIRMWARE });
  }

  /** The setup endpoint's URL once it listens (rejects when its port cannot be had, or setup is not open). */
  setupUrl(): Promise<string> {
    if (!this.endpoint) return Promise.reject(new Error('setup is not open'));
    return this.endpoint.then((e) => e.url);
  }

  get setupOpen(): boolean {
    return this.endpoint !== undefined;
  }

  /** The doorbell button (or `what` fired): the clip id, or undefined when it cannot record. */
  press(what: 'button' | 'motion' = 'button'): string | undefined {
    // the test signal clicks at the press: heard in the clip at its trigger
    this.microphone?.click(Math.round(this.now));
    return this.app.press(what, this.now);
  }

  /**
   * Someone walks across the camera's picture (the synthetic camera only), from the next
   * frame on; false if the camera cannot. Camera motion (AppOptions.motion) sees it.
   */
  walkBy(frames = 20): boolean {
    const camera = this.camera as NodeCamera & { walkBy?: (from: number, frames: number) => void };
    if (!camera.walkBy) return false;
    camera.walkBy(this.frames, frames);
    return true;
  }

  /** The button held down: reopens setup; while setup is open, a factory reset. */
  longPress(): void {
    this.app.longPress(this.now);
  }

  /** Empty when the relay has acknowledged everything sealed. */
  get spoolEmpty(): boolean {
    return this.app.spool?.empty ?? true;
  }

  /** Simulated clock: runs `ms` frame by frame as fast as the CPU goes, letting network I/O run between frames. */
  async run(ms: number): Promise<void> {
    const step = 1000 / this.fps;
    for (let t = 0; t < ms && !this.stopped; t += step) {
      await this.holdForRelay(step);
      this.advance(Math.min(step, ms - t));
      await yieldToIo();
    }
  }

  /**
   * Waits until `done()` (real time, up to `bound` ms). A simulated clock moves with real
   * time meanwhile (falling behind it when the CPU cannot keep up), so the uplink's timeouts
   * and backoff mean what they say on a busy machine.
   */
  async until(done: () => boolean | Promise<boolean>, what: string, bound = 60_000): Promise<void> {
    const end = Date.now() + bound;
    let last = Date.now();
    while (!(await done())) {
      if (Date.now() > end) throw new Error(`timed out after ${bound / 1000} s waiting: ${what}\n  ${this.logs.slice(-12).join('\n  ')}`);
      await sleep(10);
      if (this.simulated) {
        // The wall clock's time since the last round, up to a second, frame by frame with I/O
        // between frames (`run`): on a busy machine, where frames cost more than they last,
        // the device's clock falls behind instead of jumping seconds in one synchronous
        // stretch with the relay in this process unheard (and then "late" for it).
        const real = Date.now();
        await this.run(Math.min(Math.max(1, real - last), 1000));
        last = real;
      }
    }
  }

  /**
   * Runs the doorbell until `done()`: `step` ms of simulated time per round as fast as the
   * CPU goes (frames while it records or someone watches), real I/O between rounds; fails
   * after `maxMs` of simulated time. For work the device itself must do (record a clip,
   * stream live view) without waiting for the wall clock.
   */
  async runUntil(done: () => boolean, what: string, maxMs = 300_000, step = 100): Promise<void> {
    for (let t = 0; !done(); t += step) {
      if (t > maxMs) throw new Error(`did not happen within ${maxMs / 1000} s of device time: ${what}\n  ${this.logs.slice(-12).join('\n  ')}`);
      await this.holdForRelay(step);
      this.advance(step);
      await sleep(2);
    }
  }

  /**
   * Simulated time must not race the relay: while an acknowledgement or the relay's hello is
   * due within the next step, wait for real I/O instead (up to a generous 60 s of real time), so
   * a busy machine cannot turn the device's 30 s timeouts into a few real milliseconds. A relay
   * that truly says nothing still times out: after the real bound, time moves on.
   */
  private async holdForRelay(step: number): Promise<void> {
    const uplink = this.app.uplink;
    if (!this.simulated || !uplink) return;
    const end = Date.now() + 60_000;
    while (!this.stopped && Date.now() < end) {
      const due = uplink.relayDeadline();
      if (due === undefined || due > this.simNow! + step) return;
      await sleep(2);
    }
  }

  /** Moves the simulated clock `ms` on at once, with no frames in between: a doorbell left idle for days (tests of retention). */
  jumpClock(ms: number): void {
    if (this.simNow === undefined) throw new Error('jumpClock needs a simulated clock');
    this.simNow += ms;
    this.nextFrame += ms;
    this.tick();
  }

  /** Waits until the relay has everything sealed (see `until`). */
  drain(bound?: number): Promise<void> {
    return this.until(() => this.spoolEmpty, 'the relay acknowledges everything in the spool', bound);
  }

  /** Stops the doorbell as a power-off that lets it finish: a clip in progress is sealed and ended into the spool. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.app.shutdown();
    const e = this.endpoint;
    this.endpoint = undefined;
    await e?.then((s) => s.close(), () => {});
    if (this.flash instanceof FileFlashArea) this.flash.close();
  }

  // -------------------------------------------------------------------------------------

  /** Moves the simulated clock `ms` on: frames at the camera's rate while the app uses them, ticks, due timers. */
  private advance(ms: number): void {
    const end = this.simNow! + ms;
    for (;;) {
      const next = Math.min(end, this.nextFrame);
      this.simNow = next;
      if (next === this.nextFrame) {
        this.frame();
        this.nextFrame += 1000 / this.fps;
      }
      this.runLaters();
      this.tick();
      if (next >= end) return;
    }
  }

  private tick(): void {
    if (this.stopped) return;
    const now = this.now;
    // a tick every ~100 ms of device time, however the clock moves
    if (now - this.lastTick < TICK_MS && this.simulated) return;
    this.lastTick = now;
    this.app.tick(now);
  }

  private frame(): void {
    if (this.stopped || !this.app.capturing) {
      this.audioFrom = undefined;
      return;
    }
    const now = Math.round(this.now);
    // the sound up to this frame first, so the clip's tracks stay in time order
    const mic = this.microphone;
    if (mic) {
      // a microphone buffers about a second, as the device's does: after a gap (a jumped clock) only the last one
      const from = Math.max(this.audioFrom ?? now, now - 1000);
      if (now > from) this.app.audio(mic.capture(from, now), from);
      this.audioFrom = now;
    }
    this.app.frame(this.camera.capture(this.frames++, now), now);
  }

  private later(fn: () => void, ms: number): void {
    if (!this.simulated) {
      setTimeout(() => this.stopped || fn(), ms);
      return;
    }
    this.laters.push({ at: this.now + ms, fn });
  }

  private runLaters(): void {
    const due = this.laters.filter((l) => l.at <= this.now);
    if (!due.length) return;
    this.laters = this.laters.filter((l) => l.at > this.now);
    for (const l of due) l.fn();
  }

  private openSetupEndpoint(handler: HttpHandler, log: Log): Closable {
    const port = this.o.setupPort ?? 0;
    const starting = listen(handler, port);
    this.endpoint = starting;
    starting.then(
      (e) => log(`setup endpoint: ${e.url}`),
      (e: NodeJS.ErrnoException) => log(`setup endpoint: cannot listen on 127.0.0.1:${port} (${e.code ?? e.message})`),
    );
    return {
      close: () => {
        if (this.endpoint === starting) this.endpoint = undefined;
        void starting.then((e) => e.close(), () => {});
      },
    };
  }
}

/** Listens on 127.0.0.1:port; a fixed port just given up by the endpoint before it (a reset) may take a moment to be free. */
async function listen(handler: HttpHandler, port: number): Promise<SetupEndpoint> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await serveHttpHandler(handler, { port });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port === 0 || attempt >= 20) throw e;
      await sleep(100);
    }
  }
}

function readIfExists(file: string): Uint8Array | undefined {
  try {
    return new Uint8Array(fs.readFileSync(file));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}
