/**
 * A camera that plays JPEG frames from a file, over and over: a file of
 * concatenated JPEGs, which is what an MJPEG file (`ffmpeg -f mjpeg`) is, or a
 * single JPEG. The frame size comes from the first frame's SOF header.
 */
import fs from 'node:fs';
import { SealbellError } from '../../src/errors.js';

/** Splits concatenated JPEGs at their SOI (FF D8) / EOI (FF D9) markers, walking segments so EOI-like bytes inside data do not cut. */
export function splitJpegs(bytes: Uint8Array): Uint8Array[] {
  const frames: Uint8Array[] = [];
  let i = 0;
  while (i + 1 < bytes.length) {
    if (bytes[i] !== 0xff || bytes[i + 1] !== 0xd8) {
      i++;
      continue;
    }
    const start = i;
    let j = i + 2;
    let end = -1;
    while (j + 3 < bytes.length) {
      if (bytes[j] !== 0xff) return frames; // not a marker where one must be: stop at the damage
      const marker = bytes[j + 1];
      if (marker === 0xff) {
        j++;
        continue;
      }
      const length = (bytes[j + 2] << 8) | bytes[j + 3];
      j += 2 + length;
      if (marker === 0xda) {
        // entropy-coded data: runs to the next marker that is not a stuffed 00 or a restart
        while (j + 1 < bytes.length && !(bytes[j] === 0xff && bytes[j + 1] !== 0x00 && (bytes[j + 1] < 0xd0 || bytes[j + 1] > 0xd7))) j++;
        if (bytes[j + 1] === 0xd9) {
          end = j + 2;
          break;
        }
      }
    }
    if (end < 0) break;
    frames.push(bytes.subarray(start, end));
    i = end;
  }
  return frames;
}

/** The width and height in a JPEG's SOF0..SOF3 header. */
export function jpegSize(jpeg: Uint8Array): { width: number; height: number } {
  let j = 2;
  while (j + 8 < jpeg.length && jpeg[j] === 0xff) {
    const marker = jpeg[j + 1];
    if (marker >= 0xc0 && marker <= 0xc3) return { height: (jpeg[j + 5] << 8) | jpeg[j + 6], width: (jpeg[j + 7] << 8) | jpeg[j + 8] };
    j += 2 + ((jpeg[j + 2] << 8) | jpeg[j + 3]);
  }
  throw new SealbellError('CAMERA_FILE', 'no frame size in the first JPEG (no SOF header)');
}

export class FileCamera {
  readonly width: number;
  readonly height: number;
  private readonly frames: Uint8Array[];

  constructor(file: string) {
    this.frames = splitJpegs(new Uint8Array(fs.readFileSync(file)));
    if (!this.frames.length) throw new SealbellError('CAMERA_FILE', `${file} holds no whole JPEG frame`);
    const size = jpegSize(this.frames[0]);
    if (this.frames.some((f) => { const s = jpegSize(f); return s.width !== size.width || s.height !== size.height; })) {
      throw new SealbellError('CAMERA_FILE', `the frames in ${file} are not all ${size.width}×${size.height}`);
    }
    this.width = size.width;
    this.height = size.height;
  }

  get length(): number {
    return this.frames.length;
  }

  capture(n: number): Uint8Array {
    return this.frames[n % this.frames.length];
  }
}
