// Camera motion on the device decodes the DC image in C (hosts/moddable/native/jpeg_dc.c)
// through its XS binding (xs_jpeg_dc.c) and wrapper (hosts/moddable/dc-image.ts): here they
// run inside a real XS engine (the xsnap-sealbell worker, tools/xs-native) and must give
// exactly the JavaScript decoder's image, refuse bad frames with MOTION_JPEG rather than
// crash, fire the same zones, and cost the XS side far less than the JavaScript path does.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { SyntheticCamera } from '../hosts/node/camera.js';
import { jpegDcImage } from '../src/motion/jpeg-dc.js';
import { bytesToHex } from '../src/bytes.js';
import { buildNativeWorker } from '../tools/xs-native/build.js';
import { openXs, type XsSession } from '../tools/xs/run.js';
import { ROOT, requireTool, run, tempDir } from './helpers.js';

type Plain = { cols: number; rows: number; q: number; dc: number[] } | { error: string; code?: string };

describe('camera motion natively under XS (jpeg_dc.c through its XS binding)', function () {
  this.timeout(300_000);
  let s: XsSession;

  // no compiler or XS sources fails here with what is missing (CI installs them): never a skip
  before(async () => {
    s = await openXs('tools/bench/xs-motion-entry.ts', { root: ROOT, bin: await buildNativeWorker(ROOT) });
  });
  after(() => s?.close());

  const native = async (frame: Uint8Array): Promise<Plain> => {
    await s.call('load', bytesToHex(frame));
    return (await s.call('tryNative')).value as Plain;
  };
  const js = (frame: Uint8Array) => {
    const i = jpegDcImage(frame);
    return { cols: i.cols, rows: i.rows, q: i.q, dc: Array.from(i.dc) };
  };

  it('gives the JavaScript decoder\'s image: the simulator frames, the hosted camera at SVGA, an ffmpeg 4:2:0 frame', async () => {
    const frames: [string, Uint8Array][] = [];
    const simDir = path.join(ROOT, 'hosts', 'moddable', 'sim-frames');
    for (const f of fs.readdirSync(simDir).filter((f) => f.endsWith('.jfif')).sort().slice(0, 3)) {
      frames.push([f, new Uint8Array(fs.readFileSync(path.join(simDir, f)))]);
    }
    const camera = new SyntheticCamera({ width: 800, height: 600 });
    frames.push(['hosted camera 800×600', camera.capture(5, 1_800_000_000_000)]);
    // smaller after a bigger one: the wrapper's reused buffer is cut to the frame's size
    frames.push(['hosted camera 320×240', new SyntheticCamera({ width: 320, height: 240 }).capture(2, 0)]);
    requireTool('ffmpeg');
    const dir = tempDir('motion-native');
    fs.writeFileSync(path.join(dir, 'in.jpg'), frames[3][1]);
    run('ffmpeg', ['-v', 'error', '-i', path.join(dir, 'in.jpg'), '-pix_fmt', 'yuvj420p', '-q:v', '3', path.join(dir, 'sub.jpg')]);
    frames.push(['ffmpeg 4:2:0', new Uint8Array(fs.readFileSync(path.join(dir, 'sub.jpg')))]);
    for (const [what, frame] of frames) assert.deepEqual(await native(frame), js(frame), what);
  });

  it('a cut, foreign or progressive frame is MOTION_JPEG, and the decoder goes on working after it', async () => {
    const good = new SyntheticCamera({ width: 320, height: 240 }).capture(1, 0);
    const bad: [string, Uint8Array][] = [
      ['cut short', good.subarray(0, 300)],
      ['PNG bytes', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])],
      ['progressive', new Uint8Array([0xff, 0xd8, 0xff, 0xc2, 0, 2])],
      ['empty', new Uint8Array(0)],
    ];
    for (const [what, frame] of bad) {
      const r = await native(frame);
      assert.ok('error' in r && r.code === 'MOTION_JPEG', `${what}: ${JSON.stringify(r).slice(0, 200)}`);
    }
    assert.deepEqual(await native(good), js(good));
  });

  it('someone walking across fires the same zones, frame by frame, natively as in JavaScript', async () => {
    const camera = new SyntheticCamera({ width: 320, height: 240, still: true });
    camera.walkBy(6, 12);
    const js: string[][] = [];
    const native: string[][] = [];
    for (let n = 0; n < 22; n++) {
      await s.call('load', bytesToHex(camera.capture(n, n * 100)));
      await s.call('dc');
      await s.call('dcNative');
      js.push((await s.call('detect')).value as string[]);
      native.push((await s.call('detectNative')).value as string[]);
    }
    assert.deepEqual(native, js);
    assert.ok(native.slice(0, 6).every((z) => z.length === 0), 'nothing before the walk');
    assert.ok(native.some((z) => z.length > 0), 'the walk fires');
  });

  it('costs the XS side a small fraction of the JavaScript decoder per SVGA frame (metered)', async () => {
    const frame = new SyntheticCamera({ width: 800, height: 600 }).capture(7, 1_800_000_000_000);
    await s.call('load', bytesToHex(frame));
    const units = async (op: string) => (await s.call(op)).meter.compute;
    for (const op of ['noop', 'dc', 'detect', 'dcNative', 'detectNative']) await units(op); // warm-up
    const noop = await units('noop');
    const jsUnits = (await units('dc')) - noop + (await units('detect')) - noop;
    const nativeUnits = (await units('dcNative')) - noop + (await units('detectNative')) - noop;
    // the JavaScript decoder walks every Huffman code in XS (about 33 million units on SVGA) and the
    // grid adds about 30 units per block; natively both are calls, and the grid's 48 cells remain
    assert.ok(nativeUnits * 1000 < jsUnits, `native ${nativeUnits} units, JavaScript ${jsUnits}`);
    assert.ok(nativeUnits < 20_000, `native ${nativeUnits} units per frame`);
  });
});
