/**
 * The QEMU board (`boards/qemu_esp32s3`, Espressif's QEMU, machine `esp32s3`): the device
 * platform (platform.ts) with what QEMU does not model replaced:
 *
 * - network: Ethernet (QEMU's OpenCores `open_eth` NIC, DHCP from `-nic user`) instead of
 *   Wi-Fi. There is no access point: the setup endpoint listens on the Ethernet address
 *   (port 80, forwarded to the host's loopback by `hostfwd`), and "joining" the owner's
 *   Wi-Fi means waiting for the Ethernet address;
 * - camera: the simulator's synthetic JPEG frames (sim-camera.ts, sim-frames/ resources;
 *   `simCamera=still` for the still scene camera motion watches);
 * - button: the serial console. A line `press`, `long` or `motion` typed on UART0 acts as
 *   the button (a short press, a long press, the PIR); `walk-by` sends someone across the picture;
 * - status LED: a log line.
 *
 * Preferences live in NVS and the spool in the `spool` partition of the flash image, so
 * both survive a reboot of QEMU with the same `-drive file=flash.bin`.
 * A relay on the host's 127.0.0.1 is dialled at 10.0.2.2, the user network's name for it
 * (qemu-route.ts). The clock asks SNTP at 10.0.2.2 too (the board's `sntp` setting): the user
 * network has no route to public servers, and TLS checks certificate dates
 * (tools/qemu-e2e.ts answers there).
 *
 * RNG: as on the device boards, no key is made before the hardware RNG has an entropy
 * source (AppHost.rng). There it is the radio; this board has none, so `prepare` switches
 * on the source ESP-IDF's bootloader uses (bootloader_random_enable: SAR ADC noise and the
 * 8 MHz RC clock, boards/qemu_esp32s3/native/qemu-rng.c), and joining the network does too
 * (a set-up doorbell makes clip keys without passing through `prepare`, as a device board's
 * radio comes on when it joins Wi-Fi). QEMU's RNG model gives host randomness either way.
 */
import Preference from 'preference';
import Timer from 'timer';
import config from 'mc/config';
import { SyntheticCamera } from './sim-camera.js';
import { LoggedLight } from '../../src/app/logged-light.js';
import { PreferenceStore } from './kv-store.js';
import { Clock } from './clock.js';
import { PartitionFlashArea } from './flash-area.js';
import { FlashSpoolStorage, recommendedCapacity } from '../../src/uplink/flash-spool.js';
import { startSetupServer } from './setup-server.js';
import { verifierFromConfig } from './provisioning.js';
import { otaFromConfig } from './ota-config.js';
import { moddableOtaSlots } from './ota-slots.js';
import { restart } from './native/ota-state.js';
import { address, readConsole, start } from '../../boards/qemu_esp32s3/native/qemu-eth.js';
import { enableEntropy } from '../../boards/qemu_esp32s3/native/qemu-rng.js';
import { consoleCommands } from './console-commands.js';
import { qemuRelayHost } from './qemu-route.js';
import type { AppNetwork } from '../../src/app/host.js';
import type { Log } from '../../src/host.js';
import type { CreatePlatform } from './types.js';

const POLL_MS = 100;

/** The RNG's entropy source: off until `on()`, which logs what the enable bits read back. */
class EntropySource {
  private enabled = false;

  constructor(private readonly log: Log) {}

  get ready(): boolean {
    return this.enabled;
  }

  on(): void {
    if (this.enabled) return;
    const bits = enableEntropy();
    this.enabled = true;
    this.log(`rng: bootloader_random_enable(): entropy source on (${bits}); the hardware RNG is ready`);
  }
}

/** Ethernet as the app's network: always "on"; online while DHCP has given an address. */
class EthernetNetwork implements AppNetwork {
  private readonly timer: Timer;
  private ip: string | undefined;
  private events: { onOnline(): void; onOffline(): void } | undefined;

  constructor(
    private readonly log: Log,
    private readonly entropy: EntropySource,
  ) {
    start();
    this.log('ethernet: open_eth started (DHCP)');
    // the address is polled from the start, so that setup (before any "join") can say where it listens
    this.timer = Timer.repeat(() => this.poll(), POLL_MS);
  }

  private poll(): void {
    const ip = address();
    if (ip === this.ip) return;
    this.ip = ip;
    this.log(ip ? `ethernet: address ${ip}` : 'ethernet: address lost');
    if (ip) this.events?.onOnline();
    else this.events?.onOffline();
  }

  openAccessPoint(ssid: string): void {
    this.log(`ethernet: no access point on QEMU ("${ssid}"): setup listens on the Ethernet address ${this.ip ?? '(DHCP pending)'}`);
  }

  closeAccessPoint(): void {}

  join(wifi: { ssid: string }, events: { onOnline(): void; onOffline(): void }): void {
    this.events = events;
    this.entropy.on();
    this.log(`ethernet: Wi-Fi "${wifi.ssid}" stands for the Ethernet link on QEMU`);
    if (this.ip) Timer.set(() => this.events === events && this.ip && events.onOnline(), 0);
  }

  leave(): void {
    this.events = undefined;
  }

  close(): void {
    Timer.clear(this.timer);
  }
}

export const createPlatform: CreatePlatform = (o) => {
  const c = o.config;
  const camera = new SyntheticCamera({
    width: c.camera?.width ?? 160,
    height: c.camera?.height ?? 120,
    fps: c.camera?.fps ?? 10,
    scene: (config as Record<string, unknown>).simCamera === 'still' ? 'still' : 'numbered',
    onFrame: o.onFrame,
  });
  const lines = consoleCommands();
  const consoleTimer = Timer.repeat(() => {
    for (const what of lines.push(readConsole())) {
      o.log(`console: "${what}"`);
      if (what === 'long') o.inputs.onLongPress();
      else if (what === 'motion') o.inputs.onMotion();
      else if (what === 'walk-by') o.log(camera.walkBy() ? 'qemu: someone walks across the picture' : 'qemu: this build has no walk-by frames');
      else o.inputs.onPress();
    }
  }, POLL_MS);
  const store = new PreferenceStore(Preference);
  const clock = new Clock(store, o.log);
  const area = new PartitionFlashArea('spool');
  const entropy = new EntropySource(o.log);
  const network = new EthernetNetwork(o.log, entropy);
  o.log(`qemu: camera cycles ${camera.frameCount} JPEG frames of ${camera.width}×${camera.height}; type press, long or motion on the console`);
  return {
    name: `esp32/${c.board ?? 'qemu_esp32s3'} (QEMU)`,
    camera,
    inputs: { close: () => (Timer.clear(consoleTimer), network.close()) },
    light: new LoggedLight(o.log),
    store,
    hasWifi: false,
    clock: { now: () => clock.now(), sync: () => clock.sync(c.sntp) },
    spool: { storage: new FlashSpoolStorage(area), capacity: recommendedCapacity(area.byteLength, area.blockSize) },
    network,
    openSetupEndpoint: (handler) => startSetupServer({ port: c.setupPort ?? 80, handler, log: o.log }),
    relayHost: qemuRelayHost,
    rng: { ready: () => entropy.ready, prepare: () => entropy.on() },
    verifierRecord: verifierFromConfig((config as Record<string, unknown>).verifier, o.log),
    ota: otaFromConfig({ ...(config as Record<string, unknown>), board: c.board }, moddableOtaSlots(), restart, o.log),
  };
};
