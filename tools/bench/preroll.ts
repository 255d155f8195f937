/**
 * Pre-roll figures: host memory for 3 s of SVGA at 10 fps (the hosted simulator's camera at
 * 800×600: real JPEGs of a moving test picture; a busy real scene makes larger frames, up to
 * ~50 KB each), and the ring's own use of it.
 */
import { SyntheticCamera } from '../../hosts/node/camera.js';
import { PreRoll } from '../../src/device/preroll.js';
import { SyntheticMicrophone } from '../../hosts/node/microphone.js';

export function preRollMemory(): Record<string, number> {
  const camera = new SyntheticCamera({ width: 800, height: 600 });
  const ring = new PreRoll({ duration: 3000, capacity: 4 * 1024 * 1024 });
  const t0 = 1_800_000_000_000;
  let largest = 0;
  // 10 s of camera, then what the ring holds for a trigger at the last frame
  for (let n = 0; n <= 100; n++) {
    const jpeg = camera.capture(n, t0 + n * 100);
    largest = Math.max(largest, jpeg.length);
    ring.push(jpeg, t0 + n * 100);
  }
  const held = ring.frames(t0 + 100 * 100);
  // the same with a microphone: 100 ms of 16 kHz mono PCM before each frame, in the same ring
  const mic = new SyntheticMicrophone();
  const both = new PreRoll({ duration: 3000, capacity: 4 * 1024 * 1024 });
  for (let n = 0; n <= 100; n++) {
    const t = t0 + n * 100;
    both.pushAudio(mic.capture(t - 100, t), t - 100);
    both.push(camera.capture(n, t), t);
  }
  // what a trigger seals: from the first held frame on (sound before it is left out)
  const all = both.held(t0 + 100 * 100);
  const fromFirst = all.slice(all.findIndex((f) => !f.audio));
  const sound = fromFirst.filter((f) => f.audio).reduce((a, f) => a + f.data.length, 0);
  return {
    preroll_bytes_3s_svga_10fps: held.reduce((a, f) => a + f.data.length, 0),
    preroll_frames_3s_svga_10fps: held.length,
    preroll_largest_svga_frame_bytes: largest,
    preroll_default_ring_bytes: 2 * 1024 * 1024,
    preroll_bytes_3s_svga_10fps_with_audio: fromFirst.reduce((a, f) => a + f.data.length, 0),
    preroll_audio_bytes_3s: sound,
  };
}
