/**
 * Camera-motion figures on the simulator camera's 800×600 frames: the XS meter units per frame of
 * the JavaScript DC-image decoder and the zone grid (`motion_xs_units_per_frame`); the XS units of
 * the device's path, where the C decoder does the decoding through its XS binding
 * (`motion_xs_native_units_per_frame`: the call, the wrapper and the zone grid); and the x86-64
 * instructions of that C decoding (`motion_x86_instructions_per_frame`, callgrind).
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
      motion_xs_units_per_frame: dc + detect,
      motion_xs_dc_image_units_per_frame: dc,
      motion_xs_zone_grid_units_per_frame: detect,
      motion_xs_units_per_frame_byte: +(dc / frame.length).toFixed(1),
      // what the device runs: the C decoder (hosts/moddable/native/jpeg_dc.c) through its XS binding
      motion_xs_native_units_per_frame: native,
      motion_x86_instructions_per_frame: await nativeMotionInstructions(root, frame),
    };
  } finally {
    await s.close();
  }
}
