/**
 * The Moddable simulator platform (`mcconfig -p lin`). The simulator has no
 * camera JPEG, GPIO, Wi-Fi radio or flash partition, so:
 *
 * - camera: a synthetic JPEG camera (sim-camera.ts): numbered frames in turn, or
 *   with `mcconfig … simCamera=still` a still scene that camera motion can watch;
 * - state folder (`config.simState`, default /tmp/sealbell-sim/; set it with
 *   `mcconfig … simState=/some/folder/`): preferences (one file per key),
 *   `spool.flash` standing in for the spool partition, and the provisioning
 *   record `setup-verifier.bin` copied there from `sealbell provision`;
 * - button: a file. Write `press`, `long` or `motion` (the PIR) to <state>/button
 *   and the simulator acts on it within 200 ms and deletes it (scripted presses:
 *   `config.sealbell.simPresses`, ms after start); `walk-by` sends someone across
 *   the camera's picture (camera motion sees it where the signed settings give zones);
 * - network: the host's. The "access point" is a log line and the setup
 *   endpoint listens on `setupPort=N` (mcconfig argument) or
 *   `config.sealbell.setupPort` (default 8081; the SDK's
 *   listener binds every interface, and SPAKE2+ is what protects setup);
 * - the status LED is a log line; the clock is the host's.
 *
 * manifest.json maps the module "hosts/moddable/platform" to this file for `lin`.
 */
import config from 'mc/config';
import Timer from 'timer';
import { File, Directory } from 'file';
import { SyntheticCamera } from './sim-camera.js';
import { LoggedLight } from '../../src/app/logged-light.js';
import { PreferenceStore } from './kv-store.js';
import { FilePreferences } from './file-prefs.js';
import { FileFlashArea } from './file-flash-area.js';
import { FlashSpoolStorage, recommendedCapacity } from '../../src/uplink/flash-spool.js';
import { startSetupServer } from './setup-server.js';
import { verifierFromConfig } from './provisioning.js';
import type { CreatePlatform, PlatformOptions } from './types.js';

const BUTTON_POLL_MS = 200;

function stateFolder(): string {
  const v = (config as Record<string, unknown>).simState;
  const dir = typeof v === 'string' && v.startsWith('/') ? v : '/tmp/sealbell-sim/';
  return dir.endsWith('/') ? dir : `${dir}/`;
}

/** `mcconfig … setupPort=N` wins over config.sealbell.setupPort. */
function setupPort(board: number | undefined): number {
  const v = Number((config as Record<string, unknown>).setupPort);
  return Number.isInteger(v) && v > 0 && v < 65536 ? v : (board ?? 8081);
}

function readVerifier(path: string, o: PlatformOptions): Uint8Array | undefined {
  if (!File.exists(path)) return verifierFromConfig((config as Record<string, unknown>).verifier, o.log);
  const f = new File(path);
  try {
    return new Uint8Array(f.read(ArrayBuffer));
  } finally {
    f.close();
  }
}

/** `mcconfig … simCamera=still`: the still scene camera motion needs. */
function cameraScene(): 'numbered' | 'still' {
  return (config as Record<string, unknown>).simCamera === 'still' ? 'still' : 'numbered';
}

/** The simulated button: a file whose text says what happened. */
function pollButton(path: string, o: PlatformOptions, camera: SyntheticCamera): Timer {
  return Timer.repeat(() => {
    if (!File.exists(path)) return;
    let what = '';
    try {
      const f = new File(path);
      what = f.length ? f.read(String).trim() : 'press';
      f.close();
    } catch {
      // half-written: next time
      return;
    }
    File.delete(path);
    o.log(`sim: button file says "${what}"`);
    if (what === 'long') o.inputs.onLongPress();
    else if (what === 'motion') o.inputs.onMotion();
    else if (what === 'walk-by') o.log(camera.walkBy() ? 'sim: someone walks across the picture' : 'sim: this build has no walk-by frames');
    else o.inputs.onPress();
  }, BUTTON_POLL_MS);
}

export const createPlatform: CreatePlatform = (o) => {
  const c = o.config;
  const state = stateFolder();
  Directory.create(state);
  const camera = new SyntheticCamera({
    width: c.camera?.width ?? 160,
    height: c.camera?.height ?? 120,
    fps: c.camera?.fps ?? 10,
    scene: cameraScene(),
    onFrame: o.onFrame,
  });
  const timers = (c.simPresses ?? []).map((at) =>
    Timer.set(() => {
      o.log(`sim: button pressed (scripted, ${at} ms after start)`);
      o.inputs.onPress();
    }, at),
  );
  timers.push(pollButton(`${state}button`, o, camera));
  const area = new FileFlashArea(`${state}spool.flash`, c.simSpoolBytes ?? 4 << 20);
  o.log(`sim: state in ${state}; camera ${camera.frameCount > 1 ? `cycles ${camera.frameCount} JPEG frames` : 'shows a still scene'} of ${camera.width}×${camera.height}`);
  return {
    name: 'lin (Moddable simulator)',
    camera,
    inputs: { close: () => timers.forEach((t) => Timer.clear(t)) },
    light: new LoggedLight(o.log),
    store: new PreferenceStore(new FilePreferences(`${state}prefs/`)),
    hasWifi: false,
    clock: { now: () => Date.now() },
    spool: { storage: new FlashSpoolStorage(area), capacity: recommendedCapacity(area.byteLength, area.blockSize) },
    network: {
      openAccessPoint: (ssid) => o.log(`sim: access point "${ssid}" (the host's network stands in for it)`),
      closeAccessPoint: () => o.log('sim: access point closed'),
      join: (wifi, events) => {
        o.log(`sim: joining "${wifi.ssid}" (the host's network stands in for it)`);
        Timer.set(() => events.onOnline(), 0);
      },
      leave: () => {},
    },
    openSetupEndpoint: (handler) => startSetupServer({ port: setupPort(c.setupPort), handler, log: o.log }),
    verifierRecord: readVerifier(`${state}setup-verifier.bin`, o),
  };
};
