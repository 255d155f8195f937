/**
 * The Moddable simulator platform (`mcconfig -p lin`): a synthetic JPEG camera,
 * scripted button presses (the simulator has no GPIO; `config.sealbell.simPresses`),
 * the status LED as log lines, and the SDK's `preference` (a JSON file under
 * the simulator's config folder). The simulator uses the host's network, so
 * there is no Wi-Fi to manage and the clock is already set.
 *
 * manifest.json maps the module "hosts/moddable/platform" to this file for `lin`.
 */
import Preference from 'preference';
import Timer from 'timer';
import { SyntheticCamera } from './sim-camera.js';
import { LoggedLight } from './led-pattern.js';
import { PreferenceStore } from './kv-store.js';
import type { CreatePlatform } from './types.js';

export const createPlatform: CreatePlatform = (o) => {
  const c = o.config;
  const camera = new SyntheticCamera({
    width: c.camera?.width ?? 160,
    height: c.camera?.height ?? 120,
    fps: c.camera?.fps ?? 10,
    onFrame: o.onFrame,
  });
  const timers = (c.simPresses ?? []).map((at) =>
    Timer.set(() => {
      o.log(`sim: button pressed (scripted, ${at} ms after start)`);
      o.inputs.onPress();
    }, at),
  );
  o.log(`sim: camera cycles ${camera.frameCount} JPEG frames of ${camera.width}×${camera.height}`);
  return {
    name: 'lin (Moddable simulator)',
    camera,
    inputs: { close: () => timers.forEach((t) => Timer.clear(t)) },
    light: new LoggedLight(o.log),
    store: new PreferenceStore(Preference),
    hasWifi: false,
  };
};
