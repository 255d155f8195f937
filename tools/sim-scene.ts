/**
 * Writes the Moddable simulator camera's still scene and walk-by frames
 * (hosts/moddable/sim-frames/sim-scene.jfif, sim-walk-N.jfif) from the hosted camera's
 * still picture (hosts/node/camera.ts), so camera motion can be shown in the simulator and
 * in QEMU: the scene stands still, a walk-by crosses it. The output is deterministic
 * (test/moddable-parts.test.ts checks the committed files against it).
 *
 *   node dist/tools/sim-scene.js [folder]    (default hosts/moddable/sim-frames)
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SyntheticCamera } from '../hosts/node/camera.js';

export const SIM_WALK_FRAMES = 12;
const WIDTH = 160;
const HEIGHT = 120;

/** name → JPEG bytes: the scene, then the walk-by frames. */
export function simSceneFrames(): Map<string, Uint8Array> {
  const camera = new SyntheticCamera({ width: WIDTH, height: HEIGHT, still: true });
  const out = new Map<string, Uint8Array>([['sim-scene.jfif', camera.capture(0, 0)]]);
  camera.walkBy(1, SIM_WALK_FRAMES);
  for (let i = 0; i < SIM_WALK_FRAMES; i++) out.set(`sim-walk-${i}.jfif`, camera.capture(1 + i, 0));
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  const dir = process.argv[2] ?? path.join(root, 'hosts', 'moddable', 'sim-frames');
  for (const [name, bytes] of simSceneFrames()) {
    fs.writeFileSync(path.join(dir, name), bytes);
    console.log(`${path.join(dir, name)}: ${bytes.length} bytes`);
  }
}
