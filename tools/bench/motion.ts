/**
 * Camera-motion figures on the simulator camera's 800×600 frames: the XS meter units per frame of
 * the JavaScript DC-image decoder and the zone grid (`motion_xs_units_per_frame`), and the x86-64
 * instructions of the same decoding in C (`motion_x86_instructions_per_frame`, callgrind).
 */
import { SyntheticCamera } from '../../hosts/node/camera.js';
import { bytesToHex } from '../../src/bytes.js';
import { openXs } from '../xs/run.js';
import { nativeMotionInstructions } from './motion-native.js';

export async function motionFigures(root: string): Promise<Record<string, number | string>> {
  const camera = new SyntheticCamera({ width: 800, height: 600 });
  const frame = camera.capture(7, 1_800_000_000_000);
  const s = await openXs('tools/bench/xs-motion-entry.ts', { root });
  try {
    await s.call('load', bytesToHex(frame));
    const units = async (op: string) => (await s.call(op)).meter.compute;
    for (const op of ['noop', 'dc', 'detect', 'detect']) await units(op); // warm-up (the background is set)
    const noop = await units('noop');
    const dc = (await units('dc')) - noop;
    const detect = (await units('detect')) - noop;
    return {
      motion_frame_bytes: frame.length,
      motion_xs_units_per_frame: dc + detect,
      motion_xs_dc_image_units_per_frame: dc,
      motion_xs_zone_grid_units_per_frame: detect,
      motion_xs_units_per_frame_byte: +(dc / frame.length).toFixed(1),
      // the same decoding in C (hosts/moddable/native/jpeg_dc.c, not yet bound to XS), by callgrind
      motion_x86_instructions_per_frame: await nativeMotionInstructions(root, frame),
    };
  } finally {
    await s.close();
  }
}
