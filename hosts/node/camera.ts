/**
 * The hosted simulator's camera: real baseline JPEG frames (jpeg-js) showing a
 * moving test pattern with the frame number and capture time drawn in, so a
 * decrypted clip visibly proves which frames it holds.
 */
import jpeg from 'jpeg-js';

// 5×7 bitmap glyphs, one row per string, '#' = on.
const GLYPHS: Record<string, string[]> = {
  '0': ['.###.', '#...#', '#..##', '#.#.#', '##..#', '#...#', '.###.'],
  '1': ['..#..', '.##..', '..#..', '..#..', '..#..', '..#..', '.###.'],
  '2': ['.###.', '#...#', '....#', '...#.', '..#..', '.#...', '#####'],
  '3': ['#####', '...#.', '..#..', '...#.', '....#', '#...#', '.###.'],
  '4': ['...#.', '..##.', '.#.#.', '#..#.', '#####', '...#.', '...#.'],
  '5': ['#####', '#....', '####.', '....#', '....#', '#...#', '.###.'],
  '6': ['..##.', '.#...', '#....', '####.', '#...#', '#...#', '.###.'],
  '7': ['#####', '....#', '...#.', '..#..', '.#...', '.#...', '.#...'],
  '8': ['.###.', '#...#', '#...#', '.###.', '#...#', '#...#', '.###.'],
  '9': ['.###.', '#...#', '#...#', '.####', '....#', '...#.', '.##..'],
  ':': ['.....', '..#..', '..#..', '.....', '..#..', '..#..', '.....'],
  '.': ['.....', '.....', '.....', '.....', '.....', '.##..', '.##..'],
  '#': ['.#.#.', '.#.#.', '#####', '.#.#.', '#####', '.#.#.', '.#.#.'],
  ' ': ['.....', '.....', '.....', '.....', '.....', '.....', '.....'],
};

export interface CameraOptions {
  width?: number;
  height?: number;
  quality?: number;
  /**
   * a still scene (for camera motion): the test picture does not move and carries no
   * frame number or clock, so only what walks by changes
   */
  still?: boolean;
}

/** Someone walking across the picture: from the left edge to the right one over `frames` frames. */
export interface WalkBy {
  /** the capture number of its first frame */
  from: number;
  frames: number;
}

export class SyntheticCamera {
  readonly width: number;
  readonly height: number;
  private readonly quality: number;
  private readonly still: boolean;
  private readonly rgba: Buffer;

  constructor(o: CameraOptions = {}) {
    this.width = o.width ?? 320;
    this.height = o.height ?? 240;
    this.quality = o.quality ?? 75;
    this.still = o.still ?? false;
    this.rgba = Buffer.alloc(this.width * this.height * 4);
  }

  /** One JPEG frame: frame `n` taken at `time` (ms since the Unix epoch). */
  /** set by walkBy: someone crossing the picture */
  walker: WalkBy | undefined;

  /** Someone walks across the picture, starting at capture `from`, over `frames` frames. */
  walkBy(from: number, frames = 20): void {
    this.walker = { from, frames };
  }

  capture(n: number, time: number): Uint8Array {
    const { width: w, height: h, rgba } = this;
    if (this.still) return this.stillFrame(n);
    const shift = (n * 4) % w;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = (y * w + x) * 4;
        rgba[i] = ((x + shift) * 255) / w;
        rgba[i + 1] = (y * 255) / h;
        rgba[i + 2] = 128 + 127 * Math.sin((x + y + n * 8) / 24);
        rgba[i + 3] = 255;
      }
    }
    const clock = new Date(time).toISOString().slice(11, 23);
    const scale = Math.max(1, Math.floor(w / 80));
    this.text(`#${n}`, 8, 8, scale * 2);
    this.text(clock, 8, h - 8 - 7 * scale, scale);
    return new Uint8Array(jpeg.encode({ data: rgba, width: w, height: h }, this.quality).data);
  }

  private stillFrame(n: number): Uint8Array {
    const { width: w, height: h, rgba } = this;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = (y * w + x) * 4;
        rgba[i] = (x * 255) / w;
        rgba[i + 1] = 96 + (y * 128) / h;
        rgba[i + 2] = 160;
        rgba[i + 3] = 255;
      }
    }
    const walk = this.walker;
    if (walk && n >= walk.from && n < walk.from + walk.frames) {
      // a dark figure, an eighth of the width, in the lower two thirds, left to right
      const bw = Math.round(w / 8);
      const x = Math.round(((n - walk.from) * (w - bw)) / Math.max(1, walk.frames - 1));
      this.box(x, Math.round(h / 3), bw, Math.round((h * 2) / 3) - 4, 16);
    }
    return new Uint8Array(jpeg.encode({ data: rgba, width: w, height: h }, this.quality).data);
  }

  private text(s: string, x0: number, y0: number, scale: number): void {
    let x = x0;
    for (const ch of s) {
      const glyph = GLYPHS[ch] ?? GLYPHS[' '];
      // a dark box behind each glyph keeps the text readable on any background
      this.box(x - scale, y0 - scale, 7 * scale, 9 * scale, 0);
      glyph.forEach((row, gy) => {
        for (let gx = 0; gx < 5; gx++) {
          if (row[gx] === '#') this.box(x + gx * scale, y0 + gy * scale, scale, scale, 255);
        }
      });
      x += 6 * scale;
    }
  }

  private box(x0: number, y0: number, bw: number, bh: number, v: number): void {
    for (let y = Math.max(0, y0); y < Math.min(this.height, y0 + bh); y++) {
      for (let x = Math.max(0, x0); x < Math.min(this.width, x0 + bw); x++) {
        const i = (y * this.width + x) * 4;
        this.rgba[i] = this.rgba[i + 1] = this.rgba[i + 2] = v;
      }
    }
  }
}
