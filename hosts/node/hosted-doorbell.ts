/**
 * The whole doorbell in the hosted simulator, wired as firmware would be: on a
 * first boot it opens setup mode (the loopback endpoint stands in for the access
 * point); once set up it seals clips to the stored roster into a file-backed spool,
 * and the uplink streams them to the relay it was given, taking roster updates back.
 * Time is simulated (frames at the camera rate, as fast as the CPU goes); network
 * I/O is real, on loopback.
 */
import path from 'node:path';
import { setImmediate as yieldToIo } from 'node:timers/promises';
import type { Log, Random } from '../../src/host.js';
import { systemRandom } from '../../src/crypto/noble.js';
import { isSetUp, SetupMode } from '../../src/setup/setup-mode.js';
import { installVerifierRecord } from '../../src/setup/verifier-record.js';
import { loadDeviceConfig } from '../../src/setup/device-config.js';
import { credentialToken } from '../../src/setup/records.js';
import { recipientsOf, RosterStore } from '../../src/roster/roster-store.js';
import { DeviceRoster } from '../../src/roster/device-roster.js';
import { Spool } from '../../src/uplink/spool.js';
import { Uplink } from '../../src/uplink/uplink.js';
import { SealbellError } from '../../src/errors.js';
import { LiveSessions } from '../../src/live/sessions.js';
import { nodeBackend } from './backend.js';
import { SimulatedDevice } from './simulator.js';
import { FileKeyValueStore, privateDir } from './kv-store.js';
import { FileSpoolStorage } from './file-spool-storage.js';
import { startSetupEndpoint, type SetupEndpoint } from './setup-endpoint.js';
import { wsUplinkConnect } from './uplink-socket.js';
import { uplinkEndpoint } from '../../src/uplink/relay-url.js';

export interface HostedDoorbellOptions {
  /** the device's flash: key-value store in <dir>/store, spool in <dir>/spool */
  dir: string;
  fps?: number;
  clipSeconds?: number;
  /** spool capacity in bytes (default 8 MiB) */
  spoolBytes?: number;
  random?: Random;
  log?: Log;
}

export class HostedDoorbell {
  readonly store: FileKeyValueStore;
  readonly setup: SetupMode;
  private readonly random: Random;
  private readonly log: Log;
  private endpoint: SetupEndpoint | undefined;
  private device: SimulatedDevice | undefined;
  private spool: Spool | undefined;
  private uplink_: Uplink | undefined;
  private live_: LiveSessions | undefined;
  private liveFrames = 0;

  /** The factory step: the SPAKE2+ verifier record from `sealbell provision` goes into the store. */
  static install(dir: string, verifierRecord: Uint8Array): void {
    installVerifierRecord(new FileKeyValueStore(path.join(dir, 'store')), verifierRecord);
  }

  constructor(private readonly o: HostedDoorbellOptions) {
    privateDir(o.dir); // the device's secrets and sealed clips: 0700, files 0600
    this.store = new FileKeyValueStore(path.join(o.dir, 'store'));
    this.random = o.random ?? systemRandom;
    this.log = o.log ?? (() => {});
    this.setup = new SetupMode({ store: this.store, random: this.random, log: this.log, onConfigured: () => this.operate() });
  }

  /** Simulated time, ms since the Unix epoch. */
  get now(): number {
    return this.device?.now ?? Date.now();
  }

  get deviceId(): string | undefined {
    return this.device?.identity.deviceId;
  }

  get uplink(): Uplink | undefined {
    return this.uplink_;
  }

  /** Live view (src/live/sessions.ts): phones in the roster ask through the relay. */
  get live(): LiveSessions | undefined {
    return this.live_;
  }

  /** Empty when every sealed segment has been acknowledged by the relay. */
  get spoolEmpty(): boolean {
    return this.spool?.empty ?? true;
  }

  /**
   * Power on. Not set up: opens setup mode and its endpoint on 127.0.0.1 and returns its URL.
   * Set up: starts recording and uploading.
   */
  async boot(): Promise<{ setupUrl?: string }> {
    if (isSetUp(this.store)) {
      this.operate();
      return {};
    }
    this.setup.open(Date.now());
    this.endpoint = await startSetupEndpoint({ mode: this.setup });
    return { setupUrl: this.endpoint.url };
  }

  /** Setup finished (or a set-up doorbell booted): the doorbell, spool and uplink from what is stored. */
  private operate(): void {
    if (this.device) return;
    const config = loadDeviceConfig(this.store);
    if (!config) throw new SealbellError('SETUP_STORE', 'set up, but the settings are missing');
    const spool = (this.spool = new Spool({ storage: new FileSpoolStorage(path.join(this.o.dir, 'spool')), capacity: this.o.spoolBytes ?? 8 << 20, log: this.log }));
    const device = (this.device = new SimulatedDevice({
      store: this.store,
      sink: spool,
      fps: this.o.fps,
      random: this.random,
      log: this.log,
      doorbell: { clipDuration: (this.o.clipSeconds ?? 10) * 1000, takeDropped: () => spool.takeDropped() },
    }));
    const rosters = new RosterStore(this.store, device.identity.deviceId);
    const held = rosters.load();
    if (!held) throw new SealbellError('ROSTER_STORE', 'set up, but no roster is stored');
    device.doorbell.setRecipients(recipientsOf(held.roster));
    const roster = new DeviceRoster({
      rosters,
      identity: device.identity,
      doorbell: device.doorbell,
      onChange: (r) => this.log(`roster epoch ${r.roster.epoch}: ${r.roster.phones.length} phone(s)`),
    });
    const live = (this.live_ = new LiveSessions({
      aead: nodeBackend.aead,
      random: this.random,
      identity: device.identity,
      roster: () => rosters.load()?.roster,
      width: device.camera.width,
      height: device.camera.height,
      log: this.log,
    }));
    this.uplink_ = new Uplink({
      spool,
      roster,
      live,
      connect: wsUplinkConnect({ url: uplinkEndpoint(config.relayUrl).url, credential: credentialToken(config.credential) }),
      random: this.random,
      deviceId: device.identity.deviceId,
      log: this.log,
    });
    live.attach(this.uplink_);
    this.uplink_.start(device.now);
    // The access point goes down once the doorbell is on the owner's network: after the
    // reply that completed setup has reached the phone.
    const endpoint = this.endpoint;
    this.endpoint = undefined;
    if (endpoint) setTimeout(() => void endpoint.close(), 1000).unref();
  }

  /** The camera also runs while someone watches live: one frame per step to the live sessions. */
  private liveFrame(device: SimulatedDevice): void {
    const live = this.live_;
    const now = Math.round(device.now);
    if (live?.active) live.frame(device.camera.capture(this.liveFrames++, now), now);
    else live?.tick(now);
  }

  private operating(): SimulatedDevice {
    if (!this.device) throw new SealbellError('NOT_SET_UP', 'the doorbell is not set up yet');
    return this.device;
  }

  /** Fills the pool of prepared clip headers (idle time). */
  prepare(): void {
    this.operating().prepare();
  }

  /** The button. Returns the clip id. */
  press(): string {
    return this.operating().press();
  }

  /** Runs `ms` of simulated time frame by frame, letting network I/O happen between frames. */
  async run(ms: number): Promise<void> {
    const device = this.operating();
    const step = 1000 / device.fps;
    for (let t = 0; t < ms; t += step) {
      device.run(Math.min(step, ms - t));
      this.liveFrame(device);
      this.uplink_!.tick(Math.round(device.now));
      await yieldToIo();
    }
  }

  /**
   * Lets real I/O run until the relay has everything, or `timeoutMs` of real time passes.
   * The simulated clock moves on meanwhile (a frame interval per few real ms), so
   * reconnect backoff and timeouts still happen.
   */
  async drain(timeoutMs = 30_000): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (!this.spoolEmpty && Date.now() < end) await this.pause();
    return this.spoolEmpty;
  }

  /** Lets real I/O run for `ms` of real time (e.g. for a roster update to arrive), the clock moving on. */
  async idle(ms: number): Promise<void> {
    const end = Date.now() + ms;
    do await this.pause();
    while (Date.now() < end);
  }

  private async pause(): Promise<void> {
    if (this.device) await this.run(1000 / this.device.fps);
    await new Promise((r) => setTimeout(r, 5));
  }

  async close(): Promise<void> {
    this.uplink_?.stop();
    await this.endpoint?.close();
  }
}
