/**
 * The DC-coefficient image of a baseline JPEG: for every 8×8 block of the luma (Y) plane, its
 * DC coefficient (8 × the block's mean brightness − 1024, in the file's quantisation units).
 * Only the entropy-coded data is decoded (Huffman), no IDCT, no colour: AC coefficients are
 * skipped by their sizes. It is the picture at 1/8 scale, cheap enough to compare every frame
 * against a background (src/motion/detector.ts).
 *
 * Baseline sequential DCT only (SOF0/SOF1: what camera sensors and jpeg-js make), any sampling
 * factors (tested: jpeg-js 4:4:4, ffmpeg 4:2:0), restart intervals (read, not yet tested against
 * an encoder that writes them). Anything else is MOTION_JPEG.
 */
import { SealbellError } from '../errors.js';

export interface DcImage {
  /** blocks across and down */
  cols: number;
  rows: number;
  /** DC of each luma block, row by row */
  dc: Int32Array;
  /** the luma quantiser of the DC: a block's mean brightness is 128 + dc × q / 8 */
  q: number;
  /**
   * Adds each block's DC to its cell of a grid, sums[rowCell[y] + colCell[x]], natively where
   * the host has it (hosts/moddable/dc-image.ts); absent, the detector does it in JavaScript.
   */
  sumCells?: (colCell: Int32Array, rowCell: Int32Array, sums: Int32Array) => void;
}

interface Huffman {
  maxcode: Int32Array;
  valptr: Int32Array;
  mincode: Int32Array;
  values: Uint8Array;
}

interface Component {
  id: number;
  h: number;
  v: number;
  dc?: Huffman;
  ac?: Huffman;
  pred: number;
}

/** The most 8×8 luma blocks a frame may have (2048×2048 pixels): the device's DC buffer (hosts/moddable/native/jpeg_dc.h). */
export const MAX_DC_BLOCKS = 1 << 16;

const bad = (why: string): never => {
  throw new SealbellError('MOTION_JPEG', `cannot read the camera frame for motion: ${why}`);
};

function huffman(counts: Uint8Array, values: Uint8Array): Huffman {
  const maxcode = new Int32Array(18).fill(-1);
  const valptr = new Int32Array(17);
  const mincode = new Int32Array(17);
  let code = 0;
  let k = 0;
  for (let l = 1; l <= 16; l++) {
    valptr[l] = k;
    mincode[l] = code;
    code += counts[l - 1];
    k += counts[l - 1];
    maxcode[l] = counts[l - 1] ? code - 1 : -1;
    code <<= 1;
  }
  return { maxcode, valptr, mincode, values };
}

/** Bits of the entropy-coded segment: byte stuffing removed; a marker ends the data. */
class Bits {
  private acc = 0;
  private n = 0;
  constructor(
    private readonly b: Uint8Array,
    public pos: number,
  ) {}

  bit(): number {
    if (this.n === 0) {
      let byte = 0;
      if (this.pos < this.b.length) {
        byte = this.b[this.pos];
        if (byte === 0xff) {
          const next = this.b[this.pos + 1];
          if (next === 0) this.pos += 2;
          else byte = 0; // a marker: pad with zeros (the caller handles restarts)
        } else this.pos++;
      }
      this.acc = byte;
      this.n = 8;
    }
    this.n--;
    return (this.acc >> this.n) & 1;
  }

  bits(count: number): number {
    let v = 0;
    for (let i = 0; i < count; i++) v = (v << 1) | this.bit();
    return v;
  }

  /** At a restart marker: drop the partial byte, step over RSTn. */
  restart(): void {
    this.n = 0;
    if (this.b[this.pos] === 0xff && this.b[this.pos + 1] >= 0xd0 && this.b[this.pos + 1] <= 0xd7) this.pos += 2;
    else bad('a restart marker is missing');
  }
}

function decode(bits: Bits, t: Huffman): number {
  let code = 0;
  for (let l = 1; l <= 16; l++) {
    code = (code << 1) | bits.bit();
    if (code <= t.maxcode[l]) return t.values[t.valptr[l] + code - t.mincode[l]];
  }
  return bad('a Huffman code is not in its table');
}

const extend = (v: number, s: number) => (v < 1 << (s - 1) ? v - (1 << s) + 1 : v);

export function jpegDcImage(jpeg: Uint8Array): DcImage {
  if (jpeg[0] !== 0xff || jpeg[1] !== 0xd8) bad('not a JPEG');
  const dcTables: Huffman[] = [];
  const acTables: Huffman[] = [];
  let components: Component[] = [];
  let width = 0;
  let height = 0;
  let restartInterval = 0;
  const quantDc: number[] = [];
  let lumaTable = 0;
  let p = 2;
  for (;;) {
    if (p + 4 > jpeg.length) bad('it ends before its image data');
    if (jpeg[p] !== 0xff) bad('a marker is expected');
    const marker = jpeg[p + 1];
    if (marker === 0xff) {
      p++;
      continue;
    }
    const length = (jpeg[p + 2] << 8) | jpeg[p + 3];
    const seg = jpeg.subarray(p + 4, p + 2 + length);
    if (seg.length !== length - 2) bad('a segment is cut short');
    if (marker === 0xc0 || marker === 0xc1) {
      if (seg.length < 6 || seg[5] < 1 || seg[5] > 4 || seg.length < 6 + 3 * seg[5]) bad('bad frame header');
      height = (seg[1] << 8) | seg[2];
      width = (seg[3] << 8) | seg[4];
      components = [];
      for (let i = 0; i < seg[5]; i++) components.push({ id: seg[6 + i * 3], h: seg[7 + i * 3] >> 4, v: seg[7 + i * 3] & 15, pred: 0 });
      lumaTable = seg[8] & 3;
      if (!width || !height || !components.length || components.some((c) => c.h < 1 || c.v < 1 || c.h > 4 || c.v > 4)) bad('bad frame header');
    } else if (marker >= 0xc2 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      bad('only baseline JPEG is read (not progressive, lossless or arithmetic-coded)');
    } else if (marker === 0xc4) {
      for (let q = 0; q < seg.length; ) {
        const tc = seg[q] >> 4;
        const th = seg[q] & 15;
        const counts = seg.subarray(q + 1, q + 17);
        const total = counts.reduce((a, c) => a + c, 0);
        const values = seg.subarray(q + 17, q + 17 + total);
        if (counts.length !== 16 || values.length !== total || th > 3) bad('bad Huffman table');
        (tc === 0 ? dcTables : acTables)[th] = huffman(counts, values);
        q += 17 + total;
      }
    } else if (marker === 0xdb) {
      for (let q = 0; q < seg.length; ) {
        const sixteen = seg[q] >> 4;
        if (q + 1 + (sixteen ? 128 : 64) > seg.length) bad('bad quantisation table');
        quantDc[seg[q] & 3] = sixteen ? (seg[q + 1] << 8) | seg[q + 2] : seg[q + 1];
        q += 1 + (sixteen ? 128 : 64);
      }
    } else if (marker === 0xdd) {
      if (seg.length < 2) bad('bad restart interval');
      restartInterval = (seg[0] << 8) | seg[1];
    } else if (marker === 0xda) {
      if (!components.length) bad('image data before the frame header');
      if (seg[0] < 1 || seg[0] > components.length || seg.length < 1 + 2 * seg[0]) bad('bad scan header');
      const scan: Component[] = [];
      for (let i = 0; i < seg[0]; i++) {
        const c = components.find((x) => x.id === seg[1 + i * 2]) ?? bad('the scan names an unknown component');
        c.dc = dcTables[seg[2 + i * 2] >> 4] ?? bad('a missing DC table');
        c.ac = acTables[seg[2 + i * 2] & 15] ?? bad('a missing AC table');
        scan.push(c);
      }
      const image = scanDc(jpeg, p + 2 + length, components, scan, width, height, restartInterval);
      image.q = quantDc[lumaTable] ?? bad('no quantisation table for luma');
      return image;
    } else if (marker === 0xd9) {
      bad('no image data');
    }
    p += 2 + length;
  }
}

function scanDc(jpeg: Uint8Array, start: number, all: Component[], scan: Component[], width: number, height: number, restartInterval: number): DcImage {
  const luma = all[0];
  if (scan[0] !== luma) bad('the first scan does not start with luma');
  const hmax = Math.max(...all.map((c) => c.h));
  const vmax = Math.max(...all.map((c) => c.v));
  const single = scan.length === 1;
  // A scan of one component is not interleaved: its blocks in raster order, one per "MCU".
  const mcuCols = single ? Math.ceil(Math.ceil((width * luma.h) / hmax) / 8) : Math.ceil(width / (8 * hmax));
  const mcuRows = single ? Math.ceil(Math.ceil((height * luma.v) / vmax) / 8) : Math.ceil(height / (8 * vmax));
  const cols = single ? mcuCols : mcuCols * luma.h;
  const rows = single ? mcuRows : mcuRows * luma.v;
  if (cols * rows > MAX_DC_BLOCKS) bad('the frame is larger than 2048×2048');
  const dc = new Int32Array(cols * rows);
  const bits = new Bits(jpeg, start);
  for (const c of scan) c.pred = 0;
  const total = mcuCols * mcuRows;
  for (let m = 0; m < total; m++) {
    if (restartInterval && m > 0 && m % restartInterval === 0) {
      bits.restart();
      for (const c of scan) c.pred = 0;
    }
    const mx = m % mcuCols;
    const my = (m - mx) / mcuCols;
    for (const c of scan) {
      const bh = single ? 1 : c.h;
      const bv = single ? 1 : c.v;
      for (let by = 0; by < bv; by++) {
        for (let bx = 0; bx < bh; bx++) {
          const s = decode(bits, c.dc!);
          if (s > 11) bad('a DC difference is too large');
          c.pred += s ? extend(bits.bits(s), s) : 0;
          for (let k = 1; k < 64; ) {
            const rs = decode(bits, c.ac!);
            const size = rs & 15;
            if (size === 0) {
              if (rs !== 0xf0) break; // end of block
              k += 16;
              continue;
            }
            bits.bits(size); // the AC value itself is not needed
            k += (rs >> 4) + 1;
          }
          if (c === luma) dc[(my * bv + by) * cols + mx * bh + bx] = c.pred;
        }
      }
    }
  }
  return { cols, rows, dc, q: 0 };
}
