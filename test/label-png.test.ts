// The setup label PNG (tools/label-png.ts) is ready to print: the QR code scans, and the title
// and the setup code are drawn on it in characters a person reads — checked here by reading
// them back off the pixels, glyph by glyph.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import jsQRModule from 'jsqr';
import { provision } from '../tools/provision.js';
import { FONT, LABEL_TITLE } from '../tools/label-png.js';
import { seededRandom, tempDir } from './helpers.js';

const jsQR = jsQRModule as unknown as typeof jsQRModule.default;

/** Rows of ink (y ranges) in the image: the title, the QR code, the code. */
function inkBands(png: PNG): [number, number][] {
  const bands: [number, number][] = [];
  let start = -1;
  for (let y = 0; y <= png.height; y++) {
    let ink = false;
    for (let x = 0; y < png.height && x < png.width && !ink; x++) ink = png.data[(y * png.width + x) * 4] < 128;
    if (ink && start < 0) start = y;
    if (!ink && start >= 0) {
      bands.push([start, y]);
      start = -1;
    }
  }
  return bands;
}

/** Reads a line of 5×7 text drawn at a whole scale in rows [y0, y1). */
function readText(png: PNG, [y0, y1]: [number, number]): string {
  const scale = (y1 - y0) / 7;
  assert.ok(Number.isInteger(scale), `text band height ${y1 - y0} is 7 × a whole scale`);
  const inkAt = (x: number, y: number) => png.data[(y * png.width + x) * 4] < 128;
  let left = 0;
  while (![...Array(y1 - y0).keys()].some((dy) => inkAt(left, y0 + dy))) left++;
  let text = '';
  for (let x = left; x + 5 * scale <= png.width; x += 6 * scale) {
    const cell = Array.from({ length: 7 }, (_, r) => Array.from({ length: 5 }, (_, c) => (inkAt(x + c * scale, y0 + r * scale) ? '#' : ' ')).join(''));
    const ch = Object.keys(FONT).find((k) => FONT[k].join() === cell.join());
    assert.ok(ch !== undefined, `an unknown glyph at x=${x}:\n${cell.join('\n')}`);
    text += ch;
  }
  return text.trimEnd();
}

describe('setup label PNG', () => {
  it('carries a title, a QR code that scans, and the setup code in digits', async () => {
    const dir = tempDir('label');
    const r = await provision({ out: dir, random: seededRandom('label') });
    const png = PNG.sync.read(fs.readFileSync(path.join(dir, 'setup-qr.png')));
    const qr = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
    assert.equal(qr?.data, r.qrPayload);
    const bands = inkBands(png);
    assert.equal(readText(png, bands[0]), LABEL_TITLE);
    assert.equal(readText(png, bands[bands.length - 1]), r.manualCode);
  });

  it('the font tells every digit apart', () => {
    const digits = '0123456789'.split('').map((d) => FONT[d].join());
    assert.equal(new Set(digits).size, 10);
  });
});
