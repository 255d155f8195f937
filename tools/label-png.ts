/**
 * The setup label as a PNG, ready to print: a title, the QR code, and the setup code in
 * digits under it (for typing when the camera will not scan). Text is drawn with a small
 * 5×7 bitmap font of just the characters a label needs; the PNG is 8-bit greyscale,
 * written with node:zlib (no image library at run time).
 */
import zlib from 'node:zlib';
import QRCode from 'qrcode';
import { crc32 } from '../src/crc32.js';

/** 5 columns × 7 rows per glyph, '#' = ink. */
export const FONT: Record<string, string[]> = {
  '0': [' ### ', '#   #', '#  ##', '# # #', '##  #', '#   #', ' ### '],
  '1': ['  #  ', ' ##  ', '  #  ', '  #  ', '  #  ', '  #  ', ' ### '],
  '2': [' ### ', '#   #', '    #', '   # ', '  #  ', ' #   ', '#####'],
  '3': ['#####', '   # ', '  #  ', '   # ', '    #', '#   #', ' ### '],
  '4': ['   # ', '  ## ', ' # # ', '#  # ', '#####', '   # ', '   # '],
  '5': ['#####', '#    ', '#### ', '    #', '    #', '#   #', ' ### '],
  '6': ['  ## ', ' #   ', '#    ', '#### ', '#   #', '#   #', ' ### '],
  '7': ['#####', '    #', '   # ', '  #  ', ' #   ', ' #   ', ' #   '],
  '8': [' ### ', '#   #', '#   #', ' ### ', '#   #', '#   #', ' ### '],
  '9': [' ### ', '#   #', '#   #', ' ####', '    #', '   # ', ' ##  '],
  '-': ['     ', '     ', '     ', '#####', '     ', '     ', '     '],
  ' ': ['     ', '     ', '     ', '     ', '     ', '     ', '     '],
  A: [' ### ', '#   #', '#   #', '#####', '#   #', '#   #', '#   #'],
  B: ['#### ', '#   #', '#   #', '#### ', '#   #', '#   #', '#### '],
  C: [' ### ', '#   #', '#    ', '#    ', '#    ', '#   #', ' ### '],
  D: ['#### ', '#   #', '#   #', '#   #', '#   #', '#   #', '#### '],
  E: ['#####', '#    ', '#    ', '#### ', '#    ', '#    ', '#####'],
  L: ['#    ', '#    ', '#    ', '#    ', '#    ', '#    ', '#####'],
  O: [' ### ', '#   #', '#   #', '#   #', '#   #', '#   #', ' ### '],
  P: ['#### ', '#   #', '#   #', '#### ', '#    ', '#    ', '#    '],
  S: [' ####', '#    ', '#    ', ' ### ', '    #', '    #', '#### '],
  T: ['#####', '  #  ', '  #  ', '  #  ', '  #  ', '  #  ', '  #  '],
  U: ['#   #', '#   #', '#   #', '#   #', '#   #', '#   #', ' ### '],
};

export const LABEL_TITLE = 'SEALBELL SETUP CODE';
const GLYPH_W = 5;
const GLYPH_H = 7;
/** a glyph and the gap after it */
const ADVANCE = GLYPH_W + 1;

/** A greyscale image: 0 ink, 255 paper. */
export interface Canvas {
  width: number;
  height: number;
  pixels: Uint8Array;
}

const textWidth = (text: string, scale: number) => (text.length * ADVANCE - 1) * scale;

function drawText(c: Canvas, text: string, x0: number, y0: number, scale: number): void {
  [...text].forEach((ch, i) => {
    const glyph = FONT[ch];
    if (!glyph) throw new Error(`the label font has no "${ch}"`);
    for (let row = 0; row < GLYPH_H; row++) {
      for (let col = 0; col < GLYPH_W; col++) {
        if (glyph[row][col] !== '#') continue;
        fill(c, x0 + (i * ADVANCE + col) * scale, y0 + row * scale, scale, scale);
      }
    }
  });
}

function fill(c: Canvas, x: number, y: number, w: number, h: number): void {
  for (let yy = y; yy < y + h; yy++) c.pixels.fill(0, yy * c.width + x, yy * c.width + x + w);
}

/** The largest whole scale (at most `max`) at which `text` fits in `width` with `margin` each side. */
const fitScale = (text: string, width: number, margin: number, max: number) => Math.max(1, Math.min(max, Math.floor((width - 2 * margin) / textWidth(text, 1))));

/**
 * The label: title, QR code (error correction M, 4-module quiet zone, `moduleSize` px per
 * module), the manual code in digits. Returns PNG bytes.
 */
export function labelPng(qrText: string, manualCode: string, moduleSize = 8): Uint8Array {
  const qr = QRCode.create(qrText, { errorCorrectionLevel: 'M' }).modules;
  const quiet = 4 * moduleSize;
  const qrSide = qr.size * moduleSize + 2 * quiet;
  const width = Math.max(qrSide, textWidth(manualCode, 4) + 2 * quiet);
  const titleScale = fitScale(LABEL_TITLE, width, moduleSize, 3);
  const codeScale = fitScale(manualCode, width, moduleSize, 4);
  const titleH = GLYPH_H * titleScale;
  const codeH = GLYPH_H * codeScale;
  // paper | title | quiet zone, QR, quiet zone | code | paper
  const top = moduleSize * 2;
  const qrTop = top + titleH;
  const codeTop = qrTop + qrSide;
  const height = codeTop + codeH + moduleSize * 3;
  const c: Canvas = { width, height, pixels: new Uint8Array(width * height).fill(255) };
  drawText(c, LABEL_TITLE, Math.floor((width - textWidth(LABEL_TITLE, titleScale)) / 2), top, titleScale);
  const qrLeft = Math.floor((width - qrSide) / 2) + quiet;
  for (let y = 0; y < qr.size; y++) {
    for (let x = 0; x < qr.size; x++) {
      if (qr.get(y, x)) fill(c, qrLeft + x * moduleSize, qrTop + quiet + y * moduleSize, moduleSize, moduleSize);
    }
  }
  drawText(c, manualCode, Math.floor((width - textWidth(manualCode, codeScale)) / 2), codeTop, codeScale);
  return encodeGreyPng(c);
}

/** PNG (RFC 2083): 8-bit greyscale, no filtering, one IDAT. */
export function encodeGreyPng(c: Canvas): Uint8Array {
  const raw = new Uint8Array((c.width + 1) * c.height);
  for (let y = 0; y < c.height; y++) raw.set(c.pixels.subarray(y * c.width, (y + 1) * c.width), y * (c.width + 1) + 1);
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, c.width);
  v.setUint32(4, c.height);
  ihdr.set([8, 0, 0, 0, 0], 8); // bit depth 8, greyscale, deflate, no filter method, no interlace
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', new Uint8Array(0))]);
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, data.length);
  out.set(Buffer.from(type, 'latin1'), 4);
  out.set(data, 8);
  v.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}
