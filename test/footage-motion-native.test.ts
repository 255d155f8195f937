// The device's DC-image decoder in C (hosts/moddable/native/jpeg_dc.c) gives exactly the DC
// image of the JavaScript one (src/motion/jpeg-dc.ts) on camera frames of several sizes and
// samplings, and refuses what it refuses. (Not yet bound to XS: the motion bench measures it.)
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { SyntheticCamera } from '../hosts/node/camera.js';
import { jpegDcImage } from '../src/motion/jpeg-dc.js';
import { ROOT, prng, requireTool, run, tempDir, testSeed } from './helpers.js';
import { buildJpegDc } from '../tools/bench/motion-native.js';

describe('camera motion: the native DC-image decoder', function () {
  this.timeout(120_000);
  const dir = tempDir('motion-native');
  let bin = '';
  before(async () => {
    requireTool('cc');
    const b = await buildJpegDc(ROOT);
    assert.ok(b.bin, b.why);
    bin = b.bin!;
  });

  const native = (jpeg: Uint8Array) => {
    const file = path.join(dir, 'frame.jpg');
    fs.writeFileSync(file, jpeg);
    const [head, values] = execFileSync(bin, [file]).toString().trim().split('\n');
    const [cols, rows, q] = head.split(' ').map(Number);
    return { cols, rows, q, dc: values.split(' ').map(Number) };
  };
  const js = (jpeg: Uint8Array) => {
    const img = jpegDcImage(jpeg);
    return { cols: img.cols, rows: img.rows, q: img.q, dc: Array.from(img.dc) };
  };

  it('the same DC image as the JavaScript decoder: SVGA, QVGA, a walk-by, 4:2:0 from ffmpeg', function () {
    requireTool('ffmpeg');
    const frames: Uint8Array[] = [
      new SyntheticCamera({ width: 800, height: 600 }).capture(5, 0),
      new SyntheticCamera({ width: 320, height: 240, quality: 40 }).capture(9, 0),
    ];
    const walker = new SyntheticCamera({ width: 160, height: 120, still: true });
    walker.walkBy(0, 4);
    frames.push(walker.capture(2, 0));
    fs.writeFileSync(path.join(dir, 'in.jpg'), frames[1]);
    run('ffmpeg', ['-v', 'error', '-y', '-i', path.join(dir, 'in.jpg'), '-pix_fmt', 'yuvj420p', '-q:v', '3', path.join(dir, 'sub.jpg')]);
    frames.push(new Uint8Array(fs.readFileSync(path.join(dir, 'sub.jpg'))));
    for (const f of frames) assert.deepEqual(native(f), js(f));
  });

  it('mutated frames: the C decoder (under AddressSanitizer and UBSan) never reads out of bounds, and agrees with JavaScript on each', function () {
    const seed = Number(testSeed('jpeg-dc fuzz'));
    const asan = path.join(dir, 'jpeg-dc-asan');
    const native = path.join(ROOT, 'hosts', 'moddable', 'native');
    run('cc', ['-g', '-O1', '-std=c99', '-Wall', '-Wextra', '-Werror', '-fsanitize=address,undefined', '-fno-sanitize-recover=all', `-I${native}`, '-o', asan, path.join(ROOT, 'test', 'native', 'jpeg-dc-main.c'), path.join(native, 'jpeg_dc.c')]);
    const rnd = prng(seed).next;
    const base = new SyntheticCamera({ width: 160, height: 120 }).capture(3, 0);
    const file = path.join(dir, 'fuzz.jpg');
    for (let i = 0; i < 300; i++) {
      const f = base.slice(0, rnd() < 0.2 ? Math.floor(rnd() * base.length) : base.length);
      for (let j = 1 + Math.floor(rnd() * 6); j > 0; j--) f[Math.floor(rnd() * f.length)] = Math.floor(rnd() * 256);
      fs.writeFileSync(file, f);
      const r = spawnSync(asan, [file]);
      assert.ok(r.status === 0 || r.status === 1, `case ${i}: ${r.stderr.toString().slice(0, 500)}`);
      let expected: string;
      try {
        const img = jpegDcImage(f);
        expected = `${img.cols} ${img.rows} ${img.q}\n${Array.from(img.dc).join(' ')}`;
      } catch {
        expected = 'error';
      }
      assert.equal(r.status === 0 ? r.stdout.toString().trim() : 'error', expected, `case ${i}`);
    }
  });

  it('refuses what the JavaScript decoder refuses: not a JPEG, progressive, cut short, a cut quantisation table, larger than 2048×2048', function () {
    const frame = new SyntheticCamera({ width: 160, height: 120 }).capture(1, 0);
    const at = (marker: number) => frame.findIndex((b, i) => b === 0xff && frame[i + 1] === marker);
    const huge = frame.slice();
    huge.set([0xff, 0xff], at(0xc0) + 5); // SOF0 height 65535: 20 × 8192 blocks
    const cutTable = frame.slice();
    cutTable.set([0, 40], at(0xdb) + 2); // DQT length: 38 bytes for a 64-entry table
    const file = path.join(dir, 'bad.jpg');
    for (const bad of [new Uint8Array([1, 2, 3, 4]), Uint8Array.of(0xff, 0xd8, 0xff, 0xc2, 0, 2, 0, 0), frame.subarray(0, 300), huge, cutTable]) {
      assert.throws(() => jpegDcImage(bad), { code: 'MOTION_JPEG' });
      fs.writeFileSync(file, bad);
      const r = spawnSync(bin, [file]);
      assert.equal(r.status, 1);
      assert.match(r.stdout.toString(), /^error -\d+/);
    }
  });
});
