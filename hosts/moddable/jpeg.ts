/**
 * Frame checks and the simulator's frame cycle, pure.
 */

/**
 * A whole JPEG starts with SOI (FF D8 FF) and ends with EOI (FF D9). The ESP32
 * camera driver can hand over a frame cut short when the sensor or DMA falls
 * behind; recording one would make a clip with an undecodable frame. Some
 * sensors pad after EOI, so EOI is looked for within the last `tail` bytes.
 */
export function isWholeJpeg(bytes: Uint8Array, tail = 32): boolean {
  const n = bytes.length;
  if (n < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8 || bytes[2] !== 0xff) return false;
  for (let i = n - 2; i >= Math.max(2, n - tail); i--) {
    if (bytes[i] === 0xff && bytes[i + 1] === 0xd9) return true;
  }
  return false;
}

/** Which of `count` stored frames to show at frame number `n` (simulator camera). */
export function frameIndex(n: number, count: number): number {
  if (!(count > 0)) throw new RangeError('no frames to cycle');
  return ((n % count) + count) % count;
}

/** The resource names of the simulator's frames: sim-frame-0.jfif, sim-frame-1.jfif, … */
export function frameResourceName(i: number): string {
  return `sim-frame-${i}.jfif`;
}

/** The simulator's still scene (tools/sim-scene.ts), for camera motion. */
export const SCENE_RESOURCE = 'sim-scene.jfif';

/** The walk-by over the still scene: sim-walk-0.jfif, sim-walk-1.jfif, … */
export function walkResourceName(i: number): string {
  return `sim-walk-${i}.jfif`;
}
