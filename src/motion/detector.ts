/**
 * Motion from the camera's own JPEG frames, with zones. Each frame's DC image
 * (src/motion/jpeg-dc.ts: the picture at 1/8 scale, no IDCT) is averaged over a grid of
 * cells and compared with a running background of the same cells; a cell whose brightness
 * moved by more than the sensitivity's threshold has motion. The grid is the zone map: one
 * string per row, one character per cell, a letter (A–Z) naming the zone the cell belongs
 * to or `.` for a masked cell. Motion in masked cells triggers nothing; otherwise the
 * detector reports the zones that fired.
 */
import { check } from '../errors.js';
import type { DcImage } from './jpeg-dc.js';

export interface MotionSettings {
  /** the zone map: rows of the grid, each a string of one character per cell (A–Z or '.') */
  zones: string[];
  /** 1–100: higher reacts to smaller changes (default 50: a cell's mean brightness moving by ~27 of 255) */
  sensitivity?: number;
}

/** Frames that build the background before anything is reported. */
const WARM_UP = 5;
/** The background follows the scene at 1/8 of each frame's difference (a few seconds at 10 fps). */
const FOLLOW = 1 / 8;

export function checkMotionSettings(s: MotionSettings): void {
  check(
    Array.isArray(s.zones) && s.zones.length >= 1 && s.zones.length <= 32 &&
      s.zones.every((r) => typeof r === 'string' && r.length === s.zones[0].length && /^[A-Z.]{1,32}$/.test(r)),
    'MOTION_SETTINGS',
    'motion zones: 1–32 rows of the same length (1–32 cells), each cell a zone letter A–Z or "." (masked)',
  );
  check(s.sensitivity === undefined || (Number.isInteger(s.sensitivity) && s.sensitivity >= 1 && s.sensitivity <= 100), 'MOTION_SETTINGS', 'motion sensitivity: 1–100');
}

export class MotionDetector {
  private readonly cols: number;
  private readonly rows: number;
  /** brightness change (0–255) that counts as motion in a cell */
  readonly threshold: number;
  private background: Float64Array | undefined;
  private readonly cell: Float64Array;
  /** each cell's sum of block DCs in this frame */
  private readonly sums: Int32Array;
  private seen = 0;
  /** for the DC image's size last seen: each block column's cell column, each block row's first cell, blocks per cell */
  private shape: Layout | undefined;

  constructor(private readonly settings: MotionSettings) {
    checkMotionSettings(settings);
    this.rows = settings.zones.length;
    this.cols = settings.zones[0].length;
    this.threshold = 2 + (100 - (settings.sensitivity ?? 50)) / 2;
    this.cell = new Float64Array(this.rows * this.cols);
    this.sums = new Int32Array(this.rows * this.cols);
  }

  /** The zones with motion in this frame (sorted), or none. */
  frame(img: DcImage): string[] {
    const { cols } = this;
    const cell = this.cell;
    const sums = this.sums.fill(0);
    const { colCell, rowCell, count } = this.layout(img.cols, img.rows);
    if (img.sumCells) img.sumCells(colCell, rowCell, sums);
    else {
      // the hot loop (about 30 XS units per 8×8 block: natively on the device); the cells worked out once per image size
      const dc = img.dc;
      const w = img.cols;
      for (let y = 0, o = 0; y < img.rows; y++, o += w) {
        const base = rowCell[y];
        for (let x = 0; x < w; x++) sums[base + colCell[x]] += dc[o + x];
      }
    }
    // mean brightness of each cell, 0–255
    for (let i = 0; i < cell.length; i++) cell[i] = 128 + ((count[i] ? sums[i] / count[i] : 0) * img.q) / 8;
    if (!this.background || this.background.length !== cell.length) this.background = Float64Array.from(cell);
    const bg = this.background;
    const fired = new Set<string>();
    for (let i = 0; i < cell.length; i++) {
      const zone = this.settings.zones[Math.floor(i / cols)][i % cols];
      if (zone !== '.' && this.seen >= WARM_UP && Math.abs(cell[i] - bg[i]) > this.threshold) fired.add(zone);
      bg[i] += (cell[i] - bg[i]) * FOLLOW;
    }
    this.seen++;
    return [...fired].sort();
  }

  /** Which cell each block of a cols × rows DC image falls in (kept until the size changes). */
  private layout(imgCols: number, imgRows: number): Layout {
    if (this.shape?.imgCols === imgCols && this.shape.imgRows === imgRows) return this.shape;
    const { cols, rows } = this;
    const colCell = new Int32Array(imgCols);
    const rowCell = new Int32Array(imgRows);
    for (let x = 0; x < imgCols; x++) colCell[x] = Math.floor((x * cols) / imgCols);
    for (let y = 0; y < imgRows; y++) rowCell[y] = Math.floor((y * rows) / imgRows) * cols;
    const count = new Float64Array(rows * cols);
    for (let y = 0; y < imgRows; y++) for (let x = 0; x < imgCols; x++) count[rowCell[y] + colCell[x]]++;
    this.shape = { imgCols, imgRows, colCell, rowCell, count };
    return this.shape;
  }
}

interface Layout {
  imgCols: number;
  imgRows: number;
  colCell: Int32Array;
  rowCell: Int32Array;
  count: Float64Array;
}
