/**
 * What the doorbell app needs from the platform it runs on. Each host binds it:
 * hosts/moddable to the SDK (ESP32 boards and the Moddable simulator),
 * hosts/node to Node (the hosted simulator, `sealbell doorbell`, the tests).
 */
import type { Alloc, CryptoBackend, KeyValueStore, Log, Random } from '../host.js';
import type { SpoolStorage } from '../uplink/storage.js';
import type { UplinkConnect } from '../uplink/socket.js';
import type { WifiCredentials } from '../setup/records.js';
import type { UplinkEndpoint } from '../uplink/relay-url.js';
import type { HttpHandler } from '../net/http-server.js';
import type { OtaSlots } from '../update/slots.js';
import type { FirmwareInfo } from '../update/updater.js';
import type { DcImage } from '../motion/jpeg-dc.js';

/** Firmware updates (src/update, docs/update-format.md): what the host gives the app for them. */
export interface AppOta {
  /** the A/B app slots: the SDK's `ota` module on boards, hosts/node/ota-flash.ts on Node */
  slots: OtaSlots;
  /** what runs now */
  firmware: FirmwareInfo;
  /** the release public key built into the firmware (Ed25519, 32 bytes) */
  releaseKey: Uint8Array;
  /** Restarts the device (into the slot set to boot). */
  restart(): void;
  /** ms a trial image has to pass its self-test (default TRIAL_TIMEOUT, 10 min); shorter in tests */
  trialTimeout?: number;
}

/** What the status light shows (each host draws it: an LED pattern, a log line). */
export type LedStatus = 'off' | 'booting' | 'idle' | 'recording' | 'setup' | 'offline' | 'error';

export interface StatusLight {
  show(status: LedStatus): void;
  close(): void;
}

export interface Closable {
  close(): void;
}

/** Wi-Fi as the app needs it; the simulator's is the host's network (always online). */
export interface AppNetwork {
  openAccessPoint(ssid: string): void;
  closeAccessPoint(): void;
  /** Joins the owner's network (leaving any other); reports the link as it comes and goes. */
  join(wifi: WifiCredentials, events: { onOnline(): void; onOffline(): void }): void;
  leave(): void;
}

/** Spool storage; a flash partition may erase ahead in idle time and be wiped at a factory reset. */
export interface AppSpoolStorage extends SpoolStorage {
  /** erases up to `budget` sectors ahead of the write position; returns how many it erased */
  maintain?(budget?: number): number;
  wipe?(): void;
}

/**
 * A microphone (the XIAO ESP32S3 Sense's PDM microphone): the host hands its sound to
 * `DoorbellApp.audio` as 16 kHz mono 16-bit little-endian PCM, in pieces of any length, in
 * order. A board without one leaves `microphone` out: its clips are video only, and their
 * manifests say so (`"audio":null`).
 */
export interface AppMicrophone {
  /** must be 16 000 (the clip's audio track); another rate records no sound */
  sampleRate: number;
}

export interface AppHost {
  log: Log;
  store: KeyValueStore;
  random: Random;
  backend: CryptoBackend;
  alloc?: Alloc;
  /** UTC ms; `sync` asks the network for the time (SNTP) once online */
  clock: { now(): number; sync?(): void };
  camera: { width: number; height: number };
  /**
   * A camera frame's DC image for camera motion, natively where the platform has it (on
   * Moddable: hosts/moddable/dc-image.ts over jpeg_dc.c); absent: src/motion/jpeg-dc.ts.
   */
  dcImage?: (jpeg: Uint8Array) => DcImage;
  /** the microphone, where the board has one */
  microphone?: AppMicrophone;
  light: StatusLight;
  spool: { storage: AppSpoolStorage; capacity: number };
  network: AppNetwork;
  /** Serves the setup endpoint (HTTP) until closed. */
  openSetupEndpoint(handler: HttpHandler): Closable;
  /**
   * The connection to the relay, with the device credential as its bearer token. A socket
   * that reports `buffered` (bytes queued, not yet taken by the network: ws-client.ts does)
   * lets live view skip frames while the connection is backed up.
   * For a TLS relay, `relayCa` (DER, from setup) is the only CA its certificate may chain to;
   * absent, the platform's public CAs.
   */
  uplinkConnect(endpoint: UplinkEndpoint, credential: string, relayCa?: Uint8Array): UplinkConnect;
  /** Runs `fn` after `ms` (outside the current call). */
  later(fn: () => void, ms: number): void;
  /**
   * The platform's RNG, where it is not strong from power-on: on an ESP32 the hardware RNG
   * is only pseudo-random until the radio runs. The app makes no key or secret before
   * `ready()`; `prepare()` starts what makes it ready (the radio). Absent: always ready.
   */
  rng?: { ready(): boolean; prepare?(): void };
  /** firmware updates over the relay; without it the doorbell takes none */
  ota?: AppOta;
  /** The provisioning record given by the build or the simulator's folder, installed when it differs. */
  verifierRecord?: Uint8Array;
}
