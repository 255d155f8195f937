/**
 * The doorbell firmware as a whole, wired from the core's parts: on a first
 * boot it opens setup mode (access point + setup endpoint); once set up it
 * seals clips to the stored roster into the spool, and the uplink streams them
 * to the relay named at setup, taking roster updates back, and serves live view
 * to the roster's phones through it. A long press reopens setup (and lifts a
 * lockout); a long press while setup is open is a factory reset.
 *
 * This is the one wiring of the doorbell. It imports nothing from Node or the
 * SDK: each host gives it its bindings (AppHost, host.ts) — hosts/moddable/main.ts
 * on boards and in the Moddable simulator, hosts/node/doorbell.ts for
 * `sealbell doorbell`, the demo and the tests. It owns no timers: the host calls
 * `tick` every 100 ms or so, and `frame` with each camera frame.
 */
import type { Log } from '../host.js';
import type { UplinkSocket } from '../uplink/socket.js';
import type { AppHost, Closable, LedStatus } from './host.js';
import type { WifiCredentials } from '../setup/records.js';
import type { Roster } from '../roster/roster.js';
import { equalBytes } from '../bytes.js';
import { Doorbell } from '../device/doorbell.js';
import { hasIdentity, loadOrCreateIdentity, type DeviceIdentity } from '../device/identity.js';
import { isSetUp, SetupMode, type SetupResult } from '../setup/setup-mode.js';
import { installVerifierRecord, VERIFIER_KEY } from '../setup/verifier-record.js';
import { loadDeviceConfig } from '../setup/device-config.js';
import { credentialToken } from '../setup/records.js';
import { authorityAfter, recipientsOf, RosterStore } from '../roster/roster-store.js';
import { SettingsStore } from '../settings/settings-store.js';
import { DeviceSettings } from '../settings/device-settings.js';
import type { Settings } from '../settings/settings.js';
import { DeviceRoster } from '../roster/device-roster.js';
import { Spool } from '../uplink/spool.js';
import { PreRoll } from '../device/preroll.js';
import { MotionDetector, type MotionSettings } from '../motion/detector.js';
import { jpegDcImage } from '../motion/jpeg-dc.js';
import type { ClipTrigger } from '../clip/manifest.js';
import { Uplink } from '../uplink/uplink.js';
import { LiveSessions } from '../live/sessions.js';
import { setupHttpHandler } from './setup-http.js';
import { uplinkEndpoint, type UplinkEndpoint } from '../uplink/relay-url.js';
import { Updater } from '../update/updater.js';
import { UpdateLink } from '../update/update-link.js';

export interface AppOptions {
  /** ms a clip runs after the last press (default 10 s) */
  clipDuration?: number;
  /** the access point's name is this plus the first 4 digits of the device id */
  apPrefix?: string;
  /** ms between answering the last setup message and closing the access point (default 2 s) */
  apLinger?: number;
  /** live view: longest session, ms (default 120 s: a phone that wants more asks again) */
  liveMaxDuration?: number;
  /**
   * live view: a frame is skipped (not sealed) while the relay connection holds more than
   * this many bytes unsent (default 128 KiB): a frame that cannot go now is worth nothing
   * later, and the queue is XS heap
   */
  liveBacklog?: number;
  /** pre-roll: ms of frames before a trigger that a clip starts with (default 3 s; 0: none) */
  preRoll?: number;
  /** pre-roll: bytes of host memory (PSRAM on boards) for those frames (default 2 MiB: 3 s of SVGA at 10 fps is 1.0–1.5 MB) */
  preRollBytes?: number;
  /**
   * motion from the camera: the zone map and sensitivity (src/motion/detector.ts); off when absent.
   * Each frame is entropy-decoded in JavaScript here (no native decoder yet): for the hosted doorbell.
   */
  motion?: MotionSettings;
}

const PRE_ROLL = 3000;
const PRE_ROLL_BYTES = 2 * 1024 * 1024;

/** The manifest's name for what a host reports: its button, its PIR pin ("motion" from the pin), camera motion. */
function triggerOf(what: string): ClipTrigger {
  return what === 'button' ? 'press' : what === 'camera-motion' ? 'motion' : 'pir';
}

/** An uplink socket that may say how much it still holds (WsClient.buffered). */
type BufferedSocket = UplinkSocket & { readonly buffered?: number };

const LIVE_BACKLOG = 128 * 1024;

type Status = LedStatus;

export class DoorbellApp {
  identity!: DeviceIdentity;
  doorbell!: Doorbell;
  spool!: Spool;
  setup!: SetupMode;
  uplink: Uplink | undefined;
  /** live view (src/live/sessions.ts), once set up */
  live: LiveSessions | undefined;
  /** firmware updates (when the host has A/B slots): src/update */
  updater: Updater | undefined;
  private updateLink: UpdateLink | undefined;
  /** frames live view skipped because the relay connection was backed up */
  liveSkipped = 0;
  /** the current roster, kept from DeviceRoster's changes: live sessions check it each second */
  private roster: Roster | undefined;
  /** the uplink's current connection, for its backlog */
  private socket: BufferedSocket | undefined;
  private endpoint: Closable | undefined;
  private apOpen = false;
  /** camera motion, when the options or the signed settings give a zone map */
  private motion: MotionDetector | undefined;
  /** the pre-roll ring, made once (host memory) and kept when signed settings turn pre-roll off */
  private preRollRing: PreRoll | undefined;
  /** the epoch of the signed settings the doorbell runs (0: the options' defaults) */
  settingsEpoch = 0;
  private online = false;
  private idleWork = true;
  private idleRetry = 0;
  private lastStatus: Status | undefined;
  /** bumped at each boot: late callbacks of an earlier boot are ignored */
  private generation = 0;
  /** boot waits for the platform's RNG before making any key (AppHost.rng) */
  private waitingForRng = false;

  constructor(
    private readonly host: AppHost,
    private readonly o: AppOptions = {},
  ) {
    this.motion = o.motion ? new MotionDetector(o.motion) : undefined;
  }

  private get log(): Log {
    return this.host.log;
  }

  get status(): Status {
    if (this.doorbell?.recording) return 'recording';
    if (this.setup?.state !== 'closed') return 'setup';
    if (this.uplink && !this.online) return 'offline';
    return 'idle';
  }

  /** Power on (also after a factory reset). */
  boot(now: number): void {
    this.show('booting');
    this.installVerifier();
    const rng = this.host.rng;
    if (rng && !rng.ready() && !hasIdentity(this.host.store)) {
      // No key, code share or clip key from a weak RNG: the identity is the first one made.
      this.log('waiting for the hardware RNG before making keys');
      rng.prepare?.();
      this.waitingForRng = true;
      return;
    }
    this.start(now);
  }

  /** Boot, once the RNG can be trusted: identity, spool, doorbell, setup or operation. */
  private start(now: number): void {
    const h = this.host;
    const generation = ++this.generation;
    this.waitingForRng = false;
    this.identity = loadOrCreateIdentity(h.store, h.random);
    this.log(`device id ${this.identity.deviceId}`);
    this.log(`device public key:\n${this.identity.publicKeyText}`);
    this.spool = new Spool({ storage: h.spool.storage, capacity: h.spool.capacity, log: this.log });
    const r = this.spool.recovery;
    if (r.clips) this.log(`spool: ${r.clips} clip(s), ${r.segments} segment(s) waiting for the relay`);
    this.startUpdater(now, generation);
    const spool = this.spool;
    this.doorbell = new Doorbell({
      backend: h.backend,
      random: h.random,
      identity: this.identity,
      store: h.store,
      sink: spool,
      width: h.camera.width,
      height: h.camera.height,
      clipDuration: this.o.clipDuration,
      alloc: h.alloc,
      preRoll: this.makePreRoll(this.o.preRoll ?? PRE_ROLL),
      audio: this.hasMicrophone(),
      log: this.log,
      takeDropped: () => spool.takeDropped(),
      onClip: (m) => this.log(`clip ${m.clip}: done, ${m.frames} frames in ${m.end - m.start} ms`),
    });
    this.setup = new SetupMode({
      store: h.store,
      random: h.random,
      log: this.log,
      onConfigured: (result) => this.configured(result, generation),
    });
    this.idleWork = true;
    // the options' defaults, until signed settings held in the store say otherwise
    this.settingsEpoch = 0;
    this.motion = this.o.motion ? new MotionDetector(this.o.motion) : undefined;
    this.guard('settings', () => {
      const held = new SettingsStore(h.store, this.identity.deviceId).load();
      if (held) this.applySettings(held.settings);
    });
    if (isSetUp(h.store)) {
      this.operate();
    } else {
      this.log('not set up: opening setup');
      this.openSetup(now);
    }
  }

  /** Sound goes into clips when the host has a microphone at the track's rate. */
  private hasMicrophone(): boolean {
    const mic = this.host.microphone;
    if (mic && mic.sampleRate !== 16_000) this.log(`microphone at ${mic.sampleRate} Hz, not 16000: clips record no sound`);
    return mic?.sampleRate === 16_000;
  }

  /**
   * Sound from the microphone (16 kHz mono s16le PCM, the first sample taken at `time`): into
   * the pre-roll ring and the clip like the frames, while they are used. The host calls it
   * before the frame that follows the samples.
   */
  audio(pcm: Uint8Array, time: number): void {
    const bell = this.doorbell;
    if (!bell?.recording && !this.armed) return;
    this.guard('audio', () => bell.audio(pcm, time));
  }

  /** The pre-roll ring, in host memory; a board that cannot spare the memory records without pre-roll. */
  private makePreRoll(duration: number): PreRoll | undefined {
    if (duration <= 0) return undefined;
    if (this.preRollRing) {
      this.preRollRing.duration = duration;
      return this.preRollRing;
    }
    try {
      return (this.preRollRing = new PreRoll({ duration, capacity: this.o.preRollBytes ?? PRE_ROLL_BYTES, alloc: this.host.alloc }));
    } catch (e) {
      this.log(`pre-roll: no memory for ${this.o.preRollBytes ?? PRE_ROLL_BYTES} bytes (${String(e)}): clips start at the trigger`);
      return undefined;
    }
  }

  /**
   * Signed settings (src/settings): clip length and pre-roll from the next clip on, the zone
   * map and sensitivity from the next frame's motion check.
   */
  private applySettings(s: Settings): void {
    this.doorbell.setClipDuration(s.clipSeconds * 1000);
    this.doorbell.setPreRoll(this.makePreRoll(s.prerollSeconds * 1000));
    this.motion = s.zones ? new MotionDetector({ zones: s.zones, sensitivity: s.sensitivity }) : undefined;
    this.settingsEpoch = s.epoch;
  }

  /** True while frames are used: a clip records, a phone watches live, or, once it can record, the pre-roll or camera motion. */
  get capturing(): boolean {
    return !!this.doorbell?.recording || !!this.live?.active || this.armed;
  }

  /** The pre-roll and camera motion see every frame whenever a clip could start (recipients known). */
  private get armed(): boolean {
    return (!!this.doorbell?.hasPreRoll || !!this.motion) && this.doorbell.pool.recipients !== undefined;
  }

  /**
   * A camera frame, used while a clip records and while a phone watches live. `jpeg` is
   * the camera's buffer (host memory on a device), only valid during the call: both the
   * clip and each live session seal it from there, natively; nothing here copies it.
   */
  frame(jpeg: Uint8Array, now: number): void {
    const live = this.live;
    if (live?.active) this.liveFrame(live, jpeg, now);
    const bell = this.doorbell;
    if (!bell?.recording && !this.armed) return;
    try {
      bell.frame(jpeg, now);
      // after the frame is in the pre-roll, so that it is the clip's trigger frame and poster
      if (this.motion) this.motionFrame(this.motion, jpeg, now);
    } catch (e) {
      // A clip that cannot take a frame is closed with what it has, not left failing at every frame.
      this.log(`frame: ${String(e)}; closing the clip`);
      try {
        bell.finishClip();
      } catch (e2) {
        this.log(`frame: the clip could not be closed: ${String(e2)}`);
      }
    }
  }

  private motionFrame(detector: MotionDetector, jpeg: Uint8Array, now: number): void {
    let zones: string[];
    try {
      zones = detector.frame((this.host.dcImage ?? jpegDcImage)(jpeg));
    } catch (e) {
      return void this.log(`motion: ${String(e)}`);
    }
    if (zones.length) this.press('camera-motion', now, zones);
  }

  private liveFrame(live: LiveSessions, jpeg: Uint8Array, now: number): void {
    if ((this.socket?.buffered ?? 0) > (this.o.liveBacklog ?? LIVE_BACKLOG)) {
      this.liveSkipped++;
      return;
    }
    try {
      live.frame(jpeg, now);
    } catch (e) {
      this.log(`live: ${String(e)}`);
    }
  }

  /** The doorbell button or the PIR: returns the clip id, or undefined when it cannot record. */
  press(what: string, now: number, zones?: string[]): string | undefined {
    if (this.waitingForRng) {
      this.log(`${what}: cannot record yet (starting up)`);
      return undefined;
    }
    try {
      const recording = this.doorbell.recording;
      const clipId = this.doorbell.press(now, triggerOf(what), zones);
      // motion goes on firing while something moves: logged when it starts a clip
      if (!recording || !zones) this.log(`${what}${zones ? ` in zone(s) ${zones.join(',')}` : ''}: clip ${clipId}`);
      this.show('recording');
      return clipId;
    } catch (e) {
      this.log(`${what}: cannot record: ${String(e)}`);
      return undefined;
    }
  }

  /**
   * The button held down. Setup closed (or locked after wrong codes): (re)open it.
   * Setup open: factory reset — identity, roster, settings and the spool are wiped.
   */
  longPress(now: number): void {
    if (this.waitingForRng) return; // nothing to reopen or reset before the first boot has finished
    if (this.setup.state === 'open') return this.factoryReset(now);
    this.log('button held: opening setup');
    this.setup.longPress(now);
    this.openSetup(now);
  }

  factoryReset(now: number): void {
    this.log('button held in setup: factory reset');
    this.shutdown();
    this.setup.factoryReset();
    const storage = this.host.spool.storage;
    if (storage.wipe) storage.wipe();
    else for (const r of storage.list()) storage.remove(r.id);
    this.boot(now);
  }

  /** Time passes (call every ~100 ms). Never throws. */
  tick(now: number): void {
    if (this.waitingForRng) {
      if (this.host.rng!.ready()) {
        this.log('hardware RNG ready: making keys');
        this.guard('boot', () => this.start(now));
      }
      return;
    }
    const bell = this.doorbell;
    this.guard('setup', () => {
      const wasOpen = this.setup.state !== 'closed';
      this.setup.tick(now);
      if (wasOpen && this.setup.state === 'closed') this.closeSetup();
    });
    this.guard('tick', () => bell.tick(now));
    if (this.updater) this.guard('update', () => this.updater!.tick(now) === 'restart' && this.restart(0));
    if (this.uplink) this.guard('uplink', () => this.uplink!.tick(now));
    // sessions end on time even when no frame comes
    if (this.live?.active) this.guard('live', () => this.live!.tick(now));
    // idle work (clip headers: X25519 under XS; erasing flash) waits while a clip records or a
    // phone watches (a pre-roll ring filling is not a reason: it runs whenever a clip could start)
    if (!this.doorbell?.recording && !this.live?.active) this.idle();
    this.show(this.status);
  }

  /** Stops the network side (before a factory reset or when the host stops the app). */
  shutdown(): void {
    this.generation++;
    this.guard('shutdown', () => {
      if (this.doorbell?.recording) this.doorbell.finishClip();
    });
    // watching phones get an end record (reason "shutdown") before the connection goes
    this.guard('shutdown', () => this.live?.stopAll(this.host.clock.now()));
    this.stopUplink();
    this.closeSetup();
    this.host.network.leave();
    this.online = false;
  }

  // -------------------------------------------------------------------------------------

  /**
   * Firmware updates: the store and the spool opened, so a trial image has passed that part
   * of its self-test; reaching the relay (the uplink's hello) is the rest.
   */
  private startUpdater(now: number, generation: number): void {
    const h = this.host;
    const ota = h.ota;
    this.updater = undefined;
    this.updateLink = undefined;
    if (!ota) return;
    const deviceId = this.identity.deviceId;
    const updater = new Updater({
      slots: ota.slots,
      store: h.store,
      firmware: ota.firmware,
      releaseKey: ota.releaseKey,
      deviceId,
      authority: () => new RosterStore(h.store, deviceId).load()?.authority,
      sha256: () => h.backend.sha256(),
      log: this.log,
      trialTimeout: ota.trialTimeout,
    });
    this.log(`firmware ${ota.firmware.version} (${ota.firmware.board}, security ${ota.firmware.security}${updater.onTrial ? ', on trial' : ''})`);
    updater.selfTest('store', now);
    this.updater = updater;
    this.updateLink = new UpdateLink({ updater, log: this.log, onInstalled: () => generation === this.generation && this.restart(500) });
  }

  /** Restarts the device a little later (a message to the relay may still be on its way). */
  private restart(ms: number): void {
    const generation = this.generation;
    this.host.later(() => {
      if (generation !== this.generation) return;
      this.log('restarting');
      this.host.ota?.restart();
    }, ms);
  }

  private installVerifier(): void {
    const record = this.host.verifierRecord;
    if (!record) return;
    const stored = this.host.store.get(VERIFIER_KEY);
    if (stored && equalBytes(stored, record)) return;
    try {
      installVerifierRecord(this.host.store, record);
      this.log('setup: provisioning record installed');
    } catch (e) {
      this.log(`setup: the provisioning record is unusable: ${String(e)}`);
    }
  }

  private openSetup(now: number): void {
    if (this.setup.state === 'closed') this.setup.open(now);
    if (!this.apOpen) {
      this.host.network.openAccessPoint(`${this.o.apPrefix ?? 'sealbell-'}${this.identity.deviceId.slice(0, 4)}`);
      this.apOpen = true;
    }
    if (!this.endpoint) {
      const clock = this.host.clock;
      this.endpoint = this.host.openSetupEndpoint(
        setupHttpHandler({
          mode: this.setup,
          now: () => clock.now(),
          onReply: (r) => {
            if (r.error) this.log(`setup: ${r.error.code}`);
          },
          // the name and message only: no stack (and the message is the engine's, not the request's)
          onFailure: (e) => this.log(`setup: the endpoint failed: ${(e as Error)?.name ?? 'error'}: ${(e as Error)?.message ?? String(e)}`),
        }),
      );
    }
  }

  private closeSetup(): void {
    this.endpoint?.close();
    this.endpoint = undefined;
    if (this.apOpen) this.host.network.closeAccessPoint();
    this.apOpen = false;
  }

  /** Setup stored settings and a roster (called inside the endpoint's request). */
  private configured(result: SetupResult, generation: number): void {
    this.doorbell.setRecipients(result.recipients);
    this.idleWork = true;
    this.log(`setup: sealing to ${result.recipients.recipients.length} recipient(s), roster epoch ${result.recipients.epoch}`);
    // The DONE reply still has to reach the phone over the access point: switch a little later.
    this.host.later(() => {
      if (generation !== this.generation) return;
      this.closeSetup();
      this.stopUplink();
      this.operate();
    }, this.o.apLinger ?? 2000);
  }

  private stopUplink(): void {
    this.uplink?.stop();
    this.uplink = undefined;
    this.live = undefined;
    this.socket = undefined;
    this.roster = undefined;
  }

  /** A set-up doorbell: recipients from the stored roster, Wi-Fi, the uplink to the relay, live view. */
  private operate(): void {
    const h = this.host;
    let relay: UplinkEndpoint;
    let credential: string;
    let relayCa: Uint8Array | undefined;
    let wifi: WifiCredentials;
    try {
      const config = loadDeviceConfig(h.store);
      const held = new RosterStore(h.store, this.identity.deviceId).load();
      if (!config || !held) throw new Error('the settings or the roster are missing');
      relay = uplinkEndpoint(config.relayUrl);
      credential = credentialToken(config.credential);
      relayCa = config.relayCa;
      wifi = config.wifi;
      this.roster = held.roster;
      this.doorbell.setRecipients(recipientsOf(held.roster));
      this.log(`sealing to ${held.roster.phones.length} phone(s)${held.roster.history ? ' and the history recipient' : ''}, roster epoch ${held.roster.epoch}`);
    } catch (e) {
      this.log(`cannot operate: ${String(e)}; long-press to set up again`);
      this.show('error');
      return;
    }
    const rosters = new RosterStore(h.store, this.identity.deviceId);
    const roster = new DeviceRoster({
      rosters,
      identity: this.identity,
      doorbell: this.doorbell,
      onChange: (r) => {
        this.idleWork = true;
        this.roster = r.roster;
        this.log(`roster epoch ${r.roster.epoch}: ${r.roster.phones.length} phone(s)`);
      },
    });
    // Live view: a phone asks through the relay; only a phone in the roster gets a session,
    // sealed to it alone. Its records come from host memory (alloc) like the clip's chunks.
    const live = new LiveSessions({
      aead: h.backend.aead,
      random: h.random,
      identity: this.identity,
      roster: () => this.roster,
      width: h.camera.width,
      height: h.camera.height,
      maxDuration: this.o.liveMaxDuration,
      alloc: h.alloc,
      log: this.log,
    });
    const deviceId = this.identity.deviceId;
    const settings = new DeviceSettings({
      settings: new SettingsStore(h.store, deviceId),
      identity: this.identity,
      authority: () => {
        const held = rosters.load();
        return held && authorityAfter(held);
      },
      apply: (s) => this.applySettings(s),
      log: this.log,
    });
    const connect = h.uplinkConnect(relay, credential, relayCa);
    const uplink = new Uplink({
      spool: this.spool,
      roster,
      live,
      connect: (events) => (this.socket = connect(events)),
      update: this.updateLink,
      settings,
      random: h.random,
      deviceId: this.identity.deviceId,
      log: this.log,
    });
    live.attach(uplink);
    this.uplink = uplink;
    this.live = live;
    this.log(`uplink: relay ${relay.url}${relay.secure ? (relayCa ? ' (TLS: the CA from setup)' : ' (TLS: the public CAs)') : ''}`);
    const generation = this.generation;
    h.network.join(wifi, {
      onOnline: () => {
        if (generation !== this.generation) return;
        this.online = true;
        h.clock.sync?.();
        uplink.start(h.clock.now());
      },
      onOffline: () => {
        if (generation === this.generation) this.online = false;
      },
    });
  }

  private idle(): void {
    if (this.idleRetry > 0) {
      this.idleRetry--;
      return;
    }
    if (this.idleWork) {
      this.guard('idle', () => {
        this.idleWork = this.doorbell.idle();
        if (!this.idleWork && this.doorbell.pool.recipients) this.log(`ready: ${this.doorbell.pool.available} clip header(s) prepared`);
      }) || (this.idleRetry = 300); // a failed header build: try again in ~30 s
      return;
    }
    // A finished clip uses up a header: refill on the next ticks.
    const pool = this.doorbell.pool;
    if (pool.recipients && pool.available < pool.size) this.idleWork = true;
    else if (this.host.spool.storage.maintain) this.guard('spool', () => this.host.spool.storage.maintain!(1)); // one sector erase per tick
  }

  private show(status: Status): void {
    if (status === this.lastStatus) return;
    this.lastStatus = status;
    this.host.light.show(status);
  }

  /** Runs `fn`; logs and swallows what it throws (a timer callback that throws would stop the device). */
  private guard(what: string, fn: () => unknown): boolean {
    try {
      fn();
      return true;
    } catch (e) {
      this.log(`${what}: ${String(e)}`);
      return false;
    }
  }
}
