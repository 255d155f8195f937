/**
 * sealbell on Moddable: the device entry (also the simulator's, with
 * sim-platform.ts in place of platform.ts). It binds the platform to the
 * firmware's wiring (app.ts): camera frames, the button (press, long press) and
 * the PIR go to the app, and a 100 ms timer drives it. First boot: setup mode
 * (access point + setup endpoint). Set up: clips sealed to the roster, spooled
 * in flash, streamed to the relay; live view for the roster's phones.
 *
 * The camera runs from boot on: a press records from the next frame, and a
 * phone that asks for live view gets frames without a clip recording. The app
 * uses a frame only while it records or someone watches (`app.capturing`).
 *
 * globals.ts MUST stay the first import: it installs TextEncoder/TextDecoder and
 * crypto.getRandomValues, which noble reads while its modules load.
 */
import './globals.js';
import config from 'mc/config';
import Timer from 'timer';
import type { Log } from '../../src/host.js';
import { random } from './native/aead.js';
import { dcCellsNative, jpegDcNative } from './native/jpeg-dc.js';
import { makeDcImage } from './dc-image.js';
import { moddableBackend } from './backend.js';
import { hostAlloc } from './alloc.js';
import { DoorbellApp } from '../../src/app/app.js';
import { moddableUplinkConnect } from './uplink-socket.js';
import { createPlatform } from './platform.js';
import type { BoardConfig, Platform } from './types.js';

const TICK_MS = 100;

const log: Log = (message) => trace(`sealbell: ${message}\n`);

export default function main(): void {
  // A release build prints nothing but "XS abort: unhandled exception" for an error that escapes
  // main: say what it was first (the first QEMU boot needed this to be diagnosed).
  try {
    start();
  } catch (e) {
    log(`cannot start: ${String(e)}`);
    throw e;
  }
}

function start(): void {
  const board: BoardConfig = ((config as Record<string, unknown>).sealbell ?? {}) as BoardConfig;
  let app: DoorbellApp | undefined;
  // Input and frame callbacks come from timers and interrupts: nothing may escape them.
  const safely = (what: string, fn: (a: DoorbellApp, now: number) => void) => () => {
    if (!app) return;
    try {
      fn(app, platform.clock.now());
    } catch (e) {
      log(`${what}: ${String(e)}`);
    }
  };

  const platform: Platform = createPlatform({
    config: board,
    log,
    onFrame: (jpeg) =>
      safely('frame', (a, now) => {
        // the sound up to this frame first, so the clip's tracks stay in time order
        const sound = platform.microphone?.poll(now);
        if (sound) a.audio(sound.pcm, sound.time);
        a.frame(jpeg, now);
      })(),
    inputs: {
      onPress: safely('button', (a, now) => void a.press('button', now)),
      onMotion: safely('motion', (a, now) => void a.press('motion', now)),
      onLongPress: safely('long press', (a, now) => a.longPress(now)),
    },
  });
  log(`starting on ${platform.name}`);

  app = new DoorbellApp(
    {
      log,
      store: platform.store,
      random,
      backend: moddableBackend,
      alloc: hostAlloc,
      clock: platform.clock,
      camera: platform.camera,
      dcImage: makeDcImage(jpegDcNative, dcCellsNative),
      ...(platform.microphone ? { microphone: { sampleRate: platform.microphone.sampleRate } } : {}),
      light: platform.light,
      spool: platform.spool,
      network: platform.network,
      openSetupEndpoint: (handler) => platform.openSetupEndpoint(handler),
      uplinkConnect: moddableUplinkConnect(random, platform.relayHost, log),
      later: (fn, ms) => void Timer.set(fn, ms),
      rng: platform.rng,
      verifierRecord: platform.verifierRecord,
      ota: platform.ota,
    },
    { clipDuration: board.clipSeconds ? board.clipSeconds * 1000 : undefined, apPrefix: board.apPrefix },
  );
  app.boot(platform.clock.now());
  platform.camera.start();
  Timer.repeat(() => app!.tick(platform.clock.now()), TICK_MS);
  log(`running: camera ${platform.camera.width}×${platform.camera.height}, tick ${TICK_MS} ms`);
}
