// Camera motion with zones (src/motion/): the DC image of a JPEG (entropy decode, no IDCT)
// against a running background, on a grid whose cells are zones or masked. The hosted
// doorbell's camera walks someone across the picture (`walk-by`); motion inside an enabled
// zone starts a clip whose manifest names the trigger and the zones; outside, nothing.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import jpeg from 'jpeg-js';
import { SyntheticCamera } from '../hosts/node/camera.js';
import { jpegDcImage } from '../src/motion/jpeg-dc.js';
import { MotionDetector } from '../src/motion/detector.js';
import { decodeManifest } from '../src/clip/manifest.js';
import { provision } from '../tools/provision.js';
import { phoneSetup, readPhone } from '../tools/phone/index.js';
import { phoneLogin, registerOnRelay } from '../tools/phone/relay-sync.js';
import { checkClip } from '../tools/clip-check.js';
import { ROOT, errorCode, requireTool, run, seededRandom, tempDir } from './helpers.js';
import { openXs } from '../tools/xs/run.js';
import { bytesToHex } from '../src/bytes.js';
import { freshPhone } from './setup-fixtures.js';
import { ADMIN_TOKEN, closeRelays, startTestRelay } from './relay-helpers.js';
import { stopDoorbells, testDoorbell } from './app-helpers.js';
import { ok, Running, sealbell } from './cli-helpers.js';
import type { MotionSettings } from '../src/motion/detector.js';

/** An image of 8×8 blocks, each one grey level from `levels`. */
function blocks(cols: number, rows: number, level: (x: number, y: number) => number): Uint8Array {
  const w = cols * 8;
  const h = rows * 8;
  const data = Buffer.alloc(w * h * 4);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const g = level(x >> 3, y >> 3);
    data.set([g, g, g, 255], (y * w + x) * 4);
  }
  return new Uint8Array(jpeg.encode({ data, width: w, height: h }, 100).data);
}

describe('camera motion with zones', function () {
  this.timeout(180_000);
  afterEach(stopDoorbells);
  after(closeRelays);

  it('the DC image is each luma block\'s mean (jpeg-js 4:4:4 and ffmpeg 4:2:0)', function () {
    const level = (x: number, y: number) => (x * 37 + y * 91) % 256;
    const file = blocks(12, 9, level);
    const img = jpegDcImage(file);
    assert.deepEqual([img.cols, img.rows], [12, 9]);
    for (let y = 0; y < 9; y++) for (let x = 0; x < 12; x++) {
      assert.ok(Math.abs(128 + (img.dc[y * 12 + x] * img.q) / 8 - level(x, y)) <= 1, `block ${x},${y}`);
    }
    requireTool('ffmpeg');
    const dir = tempDir('motion-jpeg');
    fs.writeFileSync(path.join(dir, 'in.jpg'), file);
    run('ffmpeg', ['-v', 'error', '-i', path.join(dir, 'in.jpg'), '-pix_fmt', 'yuvj420p', '-q:v', '2', '-huffman', 'default', path.join(dir, 'sub.jpg')]);
    const sub = new Uint8Array(fs.readFileSync(path.join(dir, 'sub.jpg')));
    const img2 = jpegDcImage(sub);
    assert.deepEqual([img2.cols, img2.rows], [12, 10], '4:2:0: 16×16 MCUs, so whole MCUs of luma blocks');
    for (let y = 0; y < 9; y++) for (let x = 0; x < 12; x++) {
      assert.ok(Math.abs(128 + (img2.dc[y * 12 + x] * img2.q) / 8 - level(x, y)) <= img2.q, `block ${x},${y} (4:2:0)`);
    }
    assert.equal(errorCode(() => jpegDcImage(new Uint8Array([0xff, 0xd8, 0xff, 0xc2, 0, 2]))), 'MOTION_JPEG', 'progressive is refused');
    assert.equal(errorCode(() => jpegDcImage(file.subarray(0, 200))), 'MOTION_JPEG');
  });

  it('the same DC image under XS as in Node (src/motion runs unchanged on the engine the device uses)', async function () {
    const frame = new SyntheticCamera({ width: 320, height: 240 }).capture(3, 0);
    const s = await openXs('tools/bench/xs-motion-entry.ts', { root: ROOT });
    try {
      await s.call('load', bytesToHex(frame));
      await s.call('dc');
      const xs = (await s.call('image')).value as { cols: number; rows: number; q: number; dc: number[] };
      const node = jpegDcImage(frame);
      assert.deepEqual(xs, { cols: node.cols, rows: node.rows, q: node.q, dc: Array.from(node.dc) });
    } finally {
      await s.close();
    }
  });

  function walk(settings: MotionSettings): { fired: string[][]; firstAt: number } {
    const camera = new SyntheticCamera({ width: 320, height: 240, still: true });
    const d = new MotionDetector(settings);
    const fired: string[][] = [];
    camera.walkBy(10, 20);
    for (let n = 0; n < 40; n++) fired.push(d.frame(jpegDcImage(camera.capture(n, n * 100))));
    return { fired, firstAt: fired.findIndex((z) => z.length > 0) };
  }

  it('a still scene fires nothing; someone walking across fires the zones they cross, not masked cells', function () {
    const all = walk({ zones: ['AAAA', 'AAAA', 'AAAA'] });
    assert.deepEqual(all.fired.slice(0, 10).flat(), [], 'nothing moves before the walk');
    assert.equal(all.firstAt, 10, 'the first frame with the figure');
    // the figure is in the lower two thirds: the top row (zone B) sees nothing
    const split = walk({ zones: ['BBBB', 'AAAA', 'AAAA'] });
    assert.ok(split.fired.flat().includes('A'));
    assert.ok(!split.fired.flat().includes('B'));
    // only the right half is a zone: nothing until the figure gets there
    const right = walk({ zones: ['..CC', '..CC', '..CC'] });
    assert.ok(right.firstAt > 15, `fired at frame ${right.firstAt}`);
    const masked = walk({ zones: ['AAAA', '....', '....'] });
    assert.equal(masked.firstAt, -1, 'motion outside every enabled zone triggers nothing');
    assert.equal(errorCode(() => new MotionDetector({ zones: ['AB', 'A'] })), 'MOTION_SETTINGS');
    assert.equal(errorCode(() => new MotionDetector({ zones: ['a'] })), 'MOTION_SETTINGS');
    assert.equal(errorCode(() => new MotionDetector({ zones: ['A'], sensitivity: 0 })), 'MOTION_SETTINGS');
  });

  async function setUp(seed: string, motion: MotionSettings) {
    const relay = await startTestRelay();
    const prov = await provision({ out: tempDir(`${seed}-factory`), random: seededRandom(`${seed}/factory`) });
    const phone = freshPhone(seed);
    const d = testDoorbell(prov, `${seed}/device`, { app: { motion }, camera: new SyntheticCamera({ width: 160, height: 120, still: true }) });
    d.boot();
    const outcome = await phoneSetup({ dir: phone.dir, endpoint: await d.setupUrl(), code: prov.manualCode, wifi: { ssid: 'Home', password: 'correct horse battery' }, relayUrl: relay.url, account: phone.account, random: seededRandom(`${seed}/setup`) });
    await registerOnRelay({ dir: phone.dir, deviceId: outcome.deviceId, adminToken: ADMIN_TOKEN, account: phone.account });
    await d.until(() => d.app.uplink?.state === 'ready', 'uplink ready');
    await d.runUntil(() => d.app.doorbell.pool.available === d.app.doorbell.pool.size, 'clip headers prepared');
    await d.run(4000); // the background and 3 s of pre-roll
    return { d, phone, outcome };
  }

  it('the hosted doorbell: a walk-by inside a zone starts a clip (trigger motion, its zones, ≥ 3 s of pre-roll, video and sound) that opens with Debian age; the phone\'s file has a Duration and seeks', async () => {
    requireTool('age');
    const { d, phone, outcome } = await setUp('motion-in', { zones: ['....', 'AABB', 'AABB'] });
    assert.equal(d.app.doorbell.recording, false, 'a still scene records nothing');
    assert.ok(d.walkBy(20));
    await d.runUntil(() => d.app.doorbell.recording, 'motion starts a clip', 5000);
    await d.runUntil(() => !d.app.doorbell.recording, 'clip recorded');
    await d.until(() => d.app.spool.empty, 'clip uploaded');
    const client = await phoneLogin(phone.dir, outcome.deviceId);
    const [info] = await client.clips();
    const out = tempDir('motion-download');
    const got = await client.download(info.clip, out, { devicePub: outcome.devicePublicKey });
    const { manifest, opened } = checkClip({ age: got.age, manifest: got.manifest!, signature: got.signature! }, outcome.devicePublicKey, { identities: [readPhone(phone.dir).identity] });
    assert.equal(manifest.trigger, 'motion');
    assert.deepEqual(manifest.zones, ['A'], 'the figure enters from the left: zone A fired first');
    assert.ok(manifest.preRoll! >= 3000);
    assert.ok(opened!.poster);
    assert.deepEqual(decodeManifest(new Uint8Array(fs.readFileSync(got.manifest!))), manifest);
    run('age', ['-d', '-i', path.join(phone.dir, 'identity.key'), '-o', path.join(out, 'clip.mkv'), got.age]);
    // the file a phone writes: both streams, the manifest's frames, a Duration, and ffmpeg -ss seeks into it
    requireTool('ffprobe');
    requireTool('ffmpeg');
    const phoneFile = path.join(out, 'phone.mkv');
    checkClip({ age: got.age, manifest: got.manifest!, signature: got.signature! }, outcome.devicePublicKey, { identities: [readPhone(phone.dir).identity], out: phoneFile, seekable: true });
    const streams = run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type:stream_disposition=attached_pic', '-of', 'csv=p=0', phoneFile]).trim().split('\n');
    assert.ok(streams.includes('video,0') && streams.includes('audio,0'), `streams: ${streams.join(' ')}`);
    assert.ok(manifest.audio, 'the manifest names the sound track');
    const counted = run('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', phoneFile]).trim();
    assert.equal(Number(counted), manifest.frames);
    const duration = Number(JSON.parse(run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'json', phoneFile])).format.duration);
    assert.ok(duration * 1000 >= manifest.preRoll! + 1000, `Duration ${duration} s`);
    const seekTo = 2;
    const first = run('ffprobe', ['-v', 'error', '-read_intervals', `${seekTo}%+#1`, '-select_streams', 'v:0', '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', phoneFile]).trim().split('\n')[0];
    assert.ok(Math.abs(Number(first) - seekTo) <= 0.1, `ffmpeg -ss ${seekTo} found the frame at ${first} s`);
    run('ffmpeg', ['-v', 'error', '-ss', String(seekTo), '-i', phoneFile, '-frames:v', '1', '-f', 'null', '-']);
  });

  it('sealbell doorbell --motion ZONES: walk-by through the control socket; a bad zone map is refused (MOTION_SETTINGS)', async () => {
    const dir = tempDir('motion-cli');
    ok(await sealbell(['provision', '--out', path.join(dir, 'factory'), '--state', path.join(dir, 'door')]));
    const bad = await sealbell(['doorbell', '--state', path.join(dir, 'door'), '--setup-port', '0', '--motion', 'AB/A']);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /MOTION_SETTINGS/);
    const door = new Running(['doorbell', '--state', path.join(dir, 'door'), '--setup-port', '0', '--motion', '..../AABB/AABB']);
    try {
      await door.wait(/setup endpoint: http/);
      assert.match(ok(await sealbell(['doorbell', 'walk-by', '--state', path.join(dir, 'door')])), /walking by/);
      await door.wait(/someone walks across the picture/);
    } finally {
      await door.stop();
    }
  });

  it('the hosted doorbell: a walk-by outside every enabled zone records nothing', async () => {
    const { d } = await setUp('motion-out', { zones: ['AAAA', '....', '....'] });
    assert.ok(d.walkBy(20));
    await d.run(4000);
    assert.equal(d.app.doorbell.recording, false);
    assert.ok(!d.logs.some((l) => /clip .*: recording/.test(l)), 'no clip at all');
  });
});
