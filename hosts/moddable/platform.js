/**
 * The device platform (ESP32 boards): the board camera, the doorbell button and
 * optional PIR on GPIO, the status LED, preferences in NVS, the spool in the
 * `spool` flash partition, Wi-Fi (setup access point and station), the setup
 * endpoint on port 80 and the SNTP clock. Pins and sizes come from the board's
 * `config.sealbell` (boards/<board>/manifest.json).
 *
 * The simulator build maps this module to sim-platform.ts instead (manifest.json).
 */
import Preference from 'preference';
import config from 'mc/config';
import { JpegCamera } from './camera.js';
import { Button, MotionSensor } from './inputs.js';
import { StatusLed } from './led.js';
import { LoggedLight } from '../../src/app/logged-light.js';
import { PreferenceStore } from './kv-store.js';
import { Clock } from './clock.js';
import { DeviceNetwork } from './wifi.js';
import { PartitionFlashArea } from './flash-area.js';
import { FlashSpoolStorage, recommendedCapacity } from '../../src/uplink/flash-spool.js';
import { startSetupServer } from './setup-server.js';
import { verifierFromConfig } from './provisioning.js';
import { otaFromConfig } from './ota-config.js';
import { moddableOtaSlots } from './ota-slots.js';
import { restart } from './native/ota-state.js';
export const createPlatform = (o) => {
    const c = o.config;
    const camera = new JpegCamera({
        width: c.camera?.width ?? 640,
        height: c.camera?.height ?? 480,
        onFrame: o.onFrame,
        onError: (e) => o.log(`camera: ${String(e)}`),
    });
    const inputs = [];
    if (c.button) {
        inputs.push(new Button({
            ...c.button,
            longPressMs: c.longPressMs,
            onPress: () => o.inputs.onPress(),
            onLongPress: () => o.inputs.onLongPress(),
        }));
    }
    else {
        o.log('platform: this board has no doorbell button configured');
    }
    if (c.pir)
        inputs.push(new MotionSensor({ ...c.pir, onMotion: () => o.inputs.onMotion() }));
    const store = new PreferenceStore(Preference);
    const clock = new Clock(store, o.log);
    const area = new PartitionFlashArea('spool');
    const network = new DeviceNetwork(o.log);
    return {
        name: `esp32/${c.board ?? 'board'}`,
        camera,
        inputs: { close: () => inputs.forEach((i) => i.close()) },
        light: c.led ? new StatusLed(c.led) : new LoggedLight(o.log),
        store,
        hasWifi: true,
        clock: { now: () => clock.now(), sync: () => clock.sync(c.sntp) },
        spool: { storage: new FlashSpoolStorage(area), capacity: recommendedCapacity(area.byteLength, area.blockSize) },
        network,
        // esp_fill_random() is only pseudo-random until the radio runs: no key before
        rng: { ready: () => network.radioOn, prepare: () => network.powerRadio() },
        openSetupEndpoint: (handler) => startSetupServer({ port: c.setupPort ?? 80, handler, log: o.log }),
        verifierRecord: verifierFromConfig(config.verifier, o.log),
        ota: otaFromConfig({ ...config, board: c.board }, moddableOtaSlots(), restart, o.log),
    };
};
//# sourceMappingURL=platform.js.map