/**
 * sealbell on Moddable: the device entry (also the simulator's, with
 * sim-platform.ts in place of platform.ts). It wires the platform to the core:
 * camera frames → Doorbell.frame, the button (or PIR) → Doorbell.press, a timer
 * → Doorbell.tick and, between clips, Doorbell.idle (ready clip headers).
 *
 * globals.ts MUST stay the first import: it installs TextEncoder/TextDecoder and
 * crypto.getRandomValues, which noble reads while its modules load.
 */
import './globals.js';
import config from 'mc/config';
import Timer from 'timer';
import { Doorbell } from '../../src/device/doorbell.js';
import { loadOrCreateIdentity } from '../../src/device/identity.js';
import { loadDeviceConfig } from '../../src/setup/device-config.js';
import type { ClipSink, KeyValueStore, Log } from '../../src/host.js';
import type { RecipientSet } from '../../src/clip/prepared-header.js';
import { random } from './native/aead.js';
import { moddableBackend } from './backend.js';
import { hostAlloc } from './alloc.js';
import { Clock } from './clock.js';
import { SizeLogSink } from './log-sink.js';
import { WifiStation } from './wifi.js';
import { createPlatform } from './platform.js';
import type { BoardConfig, Platform } from './types.js';

const TICK_MS = 100;

const log: Log = (message) => trace(`sealbell: ${message}\n`);

/**
 * UPLINK SEAM: where sealed clips go. For now only their sizes are logged; the
 * spool (flash) + uplink (relay) sink replaces this.
 */
function createClipSink(log: Log): ClipSink {
  return new SizeLogSink(log);
}

/**
 * ROSTER SEAM: who clips are sealed to. Until the setup protocol enrolls phones
 * and stores a signed roster, a development build may list age recipients in
 * `config.sealbell.devRecipients`.
 */
function initialRecipients(board: BoardConfig): RecipientSet | undefined {
  const dev = board.devRecipients ?? [];
  return dev.length ? { epoch: 0, recipients: dev } : undefined;
}

/** Wi-Fi credentials: the settings setup stored (`setup.config`), else the build's `ssid=`/`password=`. */
function wifiCredentials(store: KeyValueStore): { ssid: string; password?: string } | undefined {
  try {
    const stored = loadDeviceConfig(store)?.wifi;
    if (stored) return { ssid: stored.ssid, password: stored.password || undefined };
  } catch (e) {
    log(`wifi: ${String(e)}`);
  }
  const c = config as Record<string, unknown>;
  return typeof c.ssid === 'string' && c.ssid
    ? { ssid: c.ssid, password: typeof c.password === 'string' && c.password ? c.password : undefined }
    : undefined;
}

export default function main(): void {
  const board: BoardConfig = ((config as Record<string, unknown>).sealbell ?? {}) as BoardConfig;
  let doorbell: Doorbell | undefined;
  let clock: Clock | undefined;

  const press = (what: string): void => {
    if (!doorbell || !clock) return;
    try {
      const clipId = doorbell.press(clock.now());
      log(`${what}: clip ${clipId}`);
      platform.light.show('recording');
    } catch (e) {
      log(`${what}: cannot record: ${String(e)}`);
      platform.light.show('error');
    }
  };

  const platform: Platform = createPlatform({
    config: board,
    log,
    onFrame(jpeg) {
      if (!doorbell?.recording || !clock) return; // frames outside a clip are dropped at once
      try {
        doorbell.frame(jpeg, clock.now());
      } catch (e) {
        // A clip that cannot take a frame is closed with what it has, not left failing at every frame.
        log(`frame: ${String(e)}; closing the clip`);
        try {
          doorbell.finishClip();
        } catch (e2) {
          log(`frame: the clip could not be closed: ${String(e2)}`);
        }
      }
    },
    inputs: {
      onPress: () => press('button'),
      onMotion: () => press('motion'),
      onLongPress() {
        // SETUP SEAM: the setup protocol (temporary AP + SPAKE2+) starts here.
        log('button held: setup mode requested (the setup protocol is not in this build yet)');
        platform.light.show('setup');
      },
    },
  });
  platform.light.show('booting');
  log(`starting on ${platform.name}`);

  const store = platform.store;
  const identity = loadOrCreateIdentity(store, random);
  log(`device id ${identity.deviceId}`);
  log(`device public key:\n${identity.publicKeyText}`);

  clock = new Clock(store, log);
  const sink = createClipSink(log);
  doorbell = new Doorbell({
    backend: moddableBackend,
    random,
    identity,
    sink,
    width: platform.camera.width,
    height: platform.camera.height,
    alloc: hostAlloc,
    log,
    onClip: (m) => log(`clip ${m.clip}: done, ${m.frames} frames in ${m.end - m.start} ms`),
  });

  const recipients = initialRecipients(board);
  if (recipients) {
    doorbell.setRecipients(recipients);
    log(`sealing to ${recipients.recipients.length} recipient(s), roster epoch ${recipients.epoch}`);
  } else {
    log('no phone enrolled yet: presses cannot record until setup');
  }

  let online = !platform.hasWifi; // the simulator uses the host's network
  if (platform.hasWifi) {
    const creds = wifiCredentials(store);
    if (creds) {
      new WifiStation({
        ...creds,
        log,
        onOnline() {
          online = true;
          clock?.sync(board.sntp);
        },
        onOffline() {
          online = false;
        },
      });
    } else {
      log('no Wi-Fi credentials yet (setup stores them; for development build with ssid=… password=…)');
    }
  }

  platform.camera.start();
  let idleWork = true;
  let idleRetry = 0; // ticks to wait after a failed header build
  // An exception escaping a timer callback would stop the device: everything here is caught.
  Timer.repeat(() => {
    const bell = doorbell!;
    try {
      bell.tick(clock!.now());
    } catch (e) {
      log(`tick: ${String(e)}`);
    }
    if (bell.recording) return;
    if (idleRetry > 0) idleRetry--;
    else if (idleWork) {
      try {
        idleWork = bell.idle();
        if (!idleWork) log(`ready: ${bell.pool.available} clip header(s) prepared`);
      } catch (e) {
        log(`idle: ${String(e)}; retrying in 30 s`);
        idleRetry = 30_000 / TICK_MS;
      }
    }
    platform.light.show(online ? 'idle' : 'offline');
    // A finished clip uses up a header: refill on the next ticks.
    if (bell.pool.recipients && bell.pool.available < bell.pool.size) idleWork = true;
  }, TICK_MS);
  log(`running: camera ${platform.camera.width}×${platform.camera.height}, tick ${TICK_MS} ms`);
}

