/**
 * Shapes shared by the Moddable bindings (hosts/moddable). Nothing here imports
 * a Moddable module, so the pure parts can be unit-tested in Node.
 */
import type { KeyValueStore, Log } from '../../src/host.js';
import type { AppNetwork, AppOta, AppSpoolStorage, Closable, LedStatus, StatusLight } from '../../src/app/host.js';
import type { HttpHandler } from '../../src/net/http-server.js';

export type { LedStatus, StatusLight };

/** What `mc/config` carries under `sealbell` (set per board in boards/<board>/manifest.json). */
export interface BoardConfig {
  /** board folder name, for logs */
  board?: string;
  camera?: {
    /** frame size; use one the sensor has exactly (320×240, 640×480, 800×600, …): the driver rounds others up */
    width?: number;
    height?: number;
    /** frames per second the synthetic camera produces (simulator) */
    fps?: number;
  };
  /**
   * the board has a microphone (its manifest maps `sealbell/microphone` and defines `audioin`):
   * clips get its sound; absent: video only
   */
  microphone?: { sampleRate?: number };
  /** the doorbell button; `activeLow`: pressed reads 0 (button to GND with a pull-up) */
  button?: InputPinConfig;
  /** optional PIR motion sensor output */
  pir?: InputPinConfig;
  /** status LED; `activeLow`: the LED lights when the pin is 0 */
  led?: { pin: number; activeLow?: boolean };
  /** held this long, the button asks for setup mode (ms) */
  longPressMs?: number;
  /** SNTP servers tried in order */
  sntp?: string[];
  /** seconds a clip runs after the last press (default 10) */
  clipSeconds?: number;
  /** setup endpoint port (default 80 on a device, 8081 in the simulator) */
  setupPort?: number;
  /** the setup access point's name: this plus the first 4 digits of the device id (default "sealbell-") */
  apPrefix?: string;
  /** simulator only: ms after start at which to press the (absent) button */
  simPresses?: number[];
  /** simulator only: bytes of the file standing in for the spool partition (default 4 MiB) */
  simSpoolBytes?: number;
}

export interface InputPinConfig {
  pin: number;
  activeLow?: boolean;
  /** internal pull resistor; default "up" when activeLow, else "none" */
  pull?: 'up' | 'down' | 'none';
}

/** A JPEG frame source. `onFrame`'s bytes are only valid during the call. */
export interface FrameSource {
  readonly width: number;
  readonly height: number;
  start(): void;
  stop(): void;
  close(): void;
  /** frames dropped because they were not whole JPEGs */
  readonly dropped: number;
}

export type FrameHandler = (jpeg: Uint8Array) => void;

/** A microphone: 16-bit mono PCM since the last poll (a view, valid until the next), the first sample taken at `time`. */
export interface MicrophoneSource {
  readonly sampleRate: number;
  poll(now: number): { pcm: Uint8Array; time: number } | undefined;
  close(): void;
}

export interface Inputs {
  close(): void;
}

export interface InputHandlers {
  /** the doorbell button went down (debounced): start or extend a clip now */
  onPress(): void;
  /** held for `longPressMs`: the owner asks for setup mode */
  onLongPress(): void;
  /** the PIR saw motion */
  onMotion(): void;
}

export interface PlatformOptions {
  config: BoardConfig;
  log: Log;
  onFrame: FrameHandler;
  inputs: InputHandlers;
}

/** What differs between a device (platform.ts) and the Moddable simulator (sim-platform.ts). */
export interface Platform {
  readonly name: string;
  readonly camera: FrameSource;
  readonly inputs: Inputs;
  readonly light: StatusLight;
  /** persistent store (`preference`: NVS on ESP32, a file in the simulator) */
  readonly store: KeyValueStore;
  /** true where the `wifi` module drives a real radio */
  readonly hasWifi: boolean;
  /** UTC ms; `sync` sets it from SNTP once online (devices) */
  readonly clock: { now(): number; sync?(): void };
  /** the spool's storage (the `spool` flash partition; a file in the simulator) and its capacity in bytes */
  readonly spool: { storage: AppSpoolStorage; capacity: number };
  readonly network: AppNetwork;
  openSetupEndpoint(handler: HttpHandler): Closable;
  /** where the RNG is not strong from power-on (ESP32: until the radio runs); see AppHost.rng */
  readonly rng?: { ready(): boolean; prepare?(): void };
  /** the SPAKE2+ record from provisioning, when the build or the simulator's folder carries one */
  readonly verifierRecord?: Uint8Array;
  /** where this platform's network reaches a relay host (QEMU: the host's loopback is 10.0.2.2); absent: as given */
  relayHost?(host: string): string;
  /** firmware updates (ota-config.ts); the simulator has none */
  readonly ota?: AppOta;
  /** the board's microphone, where it has one (microphone-loader.ts) */
  readonly microphone?: MicrophoneSource;
}

export type CreatePlatform = (o: PlatformOptions) => Platform;
