/**
 * Camera-motion figures on the hosted camera's 800×600 frames. The device's path: the C decoder
 * (and the grid's sum) through their XS binding, `motion_x86_instructions_per_frame` for the C
 * decoding (callgrind) and `motion_xs_units_per_frame` for the JavaScript around it (the call, the
 * wrapper, the detector's cells and zones). The hosted doorbell's path, all JavaScript:
 * `motion_xs_js_units_per_frame` (DC-image decoder + grid, split into the two keys after it).
 */
import { SyntheticCamera } from '../../hosts/node/camera.js';
import { bytesToHex } from '../../src/bytes.js';
import { openXs } from '../xs/run.js';
import { nativeMotionInstructions } from './motion-native.js';
import { nativeWorker } from './xs-stream.js';

export async function motionFigures(root: string): Promise<Record<string, number | string>> {
  const camera = new SyntheticCamera({ width: 800, height: 600 });
  const frame = camera.capture(7, 1_800_000_000_000);
  const { bin, why } = await nativeWorker(root);
  const s = await openXs('tools/bench/xs-motion-entry.ts', { root, bin });
  try {
    await s.call('load', bytesToHex(frame));
    const units = async (op: string) => (await s.call(op)).meter.compute;
    for (const op of ['noop', 'dc', 'detect', 'detect']) await units(op); // warm-up (the background is set)
    const noop = await units('noop');
    const dc = (await units('dc')) - noop;
    const detect = (await units('detect')) - noop;
    let native: number | string = `not measured: ${why}`;
    if (bin) {
      for (const op of ['dcNative', 'detectNative', 'dcNative', 'detectNative']) await units(op);
      native = (await units('dcNative')) - noop + (await units('detectNative')) - noop;
    }
    return {
      motion_frame_bytes: frame.length,
      // what the device runs: hosts/moddable/native/jpeg_dc.c through its XS binding
      motion_x86_instructions_per_frame: await nativeMotionInstructions(root, frame),
      motion_xs_units_per_frame: native,
      // what the hosted doorbell runs: src/motion/jpeg-dc.ts and the detector in JavaScript
      motion_xs_js_units_per_frame: dc + detect,
      motion_xs_js_dc_image_units_per_frame: dc,
      motion_xs_js_zone_grid_units_per_frame: detect,
      motion_xs_js_units_per_frame_byte: +(dc / frame.length).toFixed(1),
    };
  } finally {
    await s.close();
  }
}
