/**
 * The pure parts of hosts/moddable: the device clock before and after SNTP,
 * status LED patterns, JPEG frame checks, the simulator's frames (real JPEGs,
 * cycled in order), the provisioning record from the build, and the e2e script's skip.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import jpeg from 'jpeg-js';
import { ClockState, PLAUSIBLE_TIME } from '../hosts/moddable/clock-state.js';
import { PATTERNS, PatternCursor } from '../hosts/moddable/led-pattern.js';
import { LoggedLight } from '../src/app/logged-light.js';
import { frameIndex, frameResourceName, isWholeJpeg, SCENE_RESOURCE, walkResourceName } from '../hosts/moddable/jpeg.js';
import { SIM_WALK_FRAMES, simSceneFrames } from '../tools/sim-scene.js';
import { MotionDetector } from '../src/motion/detector.js';
import { jpegDcImage } from '../src/motion/jpeg-dc.js';
import { verifierFromConfig } from '../hosts/moddable/provisioning.js';
import { ROOT } from './helpers.js';

describe('Moddable clock', () => {
  const floor = Date.UTC(2026, 10, 1);

  it('an ESP32 before SNTP: boot continues from the last known time', () => {
    const c = new ClockState(1234, floor); // Date.now() counts from boot
    assert.equal(c.synced, false);
    assert.equal(c.now(1234), floor);
    assert.equal(c.now(6234), floor + 5000);
  });

  it('without a saved time it is the monotonic count', () => {
    const c = new ClockState(50);
    assert.equal(c.now(1050), 1050);
  });

  it('after SNTP (Time.set) Date.now() is the time', () => {
    const c = new ClockState(1000, floor);
    const real = Date.UTC(2026, 10, 26, 12);
    c.synchronized();
    assert.equal(c.synced, true);
    assert.equal(c.now(real), real);
  });

  it('a host whose clock is already set (the simulator) is synced from the start', () => {
    const t = PLAUSIBLE_TIME + 1;
    const c = new ClockState(t, floor);
    assert.equal(c.synced, true);
    assert.equal(c.now(t + 10), t + 10);
  });
});

describe('Moddable status LED patterns', () => {
  it('every pattern is steady or an even on/off cycle of positive steps', () => {
    for (const [name, p] of Object.entries(PATTERNS)) {
      if (p.length === 1) continue;
      assert.equal(p.length % 2, 0, name);
      assert.ok(p.every((ms) => ms > 0), name);
    }
  });

  it('the cursor alternates on and off and wraps', () => {
    const c = new PatternCursor([100, 200]);
    const steps: [boolean, number][] = [];
    for (let i = 0; i < 4; i++) {
      steps.push([c.on, c.duration]);
      c.next();
    }
    assert.deepEqual(steps, [[true, 100], [false, 200], [true, 100], [false, 200]]);
  });

  it('steady patterns need no timer', () => {
    assert.equal(new PatternCursor(PATTERNS.recording).on, true);
    assert.equal(new PatternCursor(PATTERNS.off).on, false);
    assert.equal(new PatternCursor(PATTERNS.off).duration, Infinity);
  });

  it('the logged light reports changes only', () => {
    const lines: string[] = [];
    const l = new LoggedLight((m) => lines.push(m));
    l.show('idle');
    l.show('idle');
    l.show('recording');
    assert.deepEqual(lines, ['status: idle', 'status: recording']);
  });
});

describe('Moddable camera frames', () => {
  const framesDir = path.join(ROOT, 'hosts', 'moddable', 'sim-frames');
  const files = fs.readdirSync(framesDir).filter((f) => /^sim-frame-\d+\.jfif$/.test(f)).sort((a, b) => parseInt(a.slice(10)) - parseInt(b.slice(10)));

  it('whole JPEGs pass; cut or foreign bytes do not', () => {
    const whole = new Uint8Array(fs.readFileSync(path.join(framesDir, files[0])));
    assert.equal(isWholeJpeg(whole), true);
    assert.equal(isWholeJpeg(whole.subarray(0, whole.length - 100)), false, 'cut short');
    const padded = new Uint8Array(whole.length + 8);
    padded.set(whole);
    assert.equal(isWholeJpeg(padded), true, 'zero padding after EOI');
    assert.equal(isWholeJpeg(new Uint8Array([0xff, 0xd8, 0xff, 0xd9])), true);
    assert.equal(isWholeJpeg(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0xff, 0xd9])), false, 'PNG');
    assert.equal(isWholeJpeg(new Uint8Array(0)), false);
  });

  it('the still scene and its walk-by are what tools/sim-scene.ts makes, and camera motion sees the walk and only the walk', () => {
    const made = simSceneFrames();
    assert.equal(made.size, SIM_WALK_FRAMES + 1);
    for (const [name, bytes] of made) assert.deepEqual(new Uint8Array(fs.readFileSync(path.join(framesDir, name))), bytes, `${name}: run node dist/tools/sim-scene.js`);
    const detector = new MotionDetector({ zones: ['AAAA', 'AAAA', 'AAAA'] });
    const scene = made.get(SCENE_RESOURCE)!;
    const fired: string[][] = [];
    for (let i = 0; i < 10; i++) fired.push(detector.frame(jpegDcImage(scene)));
    for (let i = 0; i < SIM_WALK_FRAMES; i++) fired.push(detector.frame(jpegDcImage(made.get(walkResourceName(i))!)));
    assert.deepEqual(fired.slice(0, 10).flat(), [], 'the still scene fires nothing');
    assert.ok(fired.slice(10).some((z) => z.includes('A')), 'the walk-by fires');
  });

  it('the simulator frames are numbered resources 0..N-1, each a baseline JPEG of 160×120', () => {
    assert.ok(files.length >= 2);
    files.forEach((f, i) => assert.equal(f, frameResourceName(i)));
    for (const f of files) {
      const bytes = new Uint8Array(fs.readFileSync(path.join(framesDir, f)));
      assert.equal(isWholeJpeg(bytes), true, f);
      const img = jpeg.decode(bytes, { useTArray: true });
      assert.deepEqual([img.width, img.height], [160, 120], f);
    }
  });

  it('the simulator cycles the frames in order', () => {
    const seq = Array.from({ length: 20 }, (_, n) => frameIndex(n, 8));
    assert.deepEqual(seq.slice(0, 10), [0, 1, 2, 3, 4, 5, 6, 7, 0, 1]);
    assert.equal(frameIndex(-1, 8), 7);
    assert.throws(() => frameIndex(0, 0), RangeError);
  });
});

describe('Moddable provisioning record and end-to-end script', () => {
  it('takes the verifier from the build as hex, and nothing else', () => {
    const lines: string[] = [];
    const log = (m: string) => lines.push(m);
    assert.deepEqual(verifierFromConfig('53425631ff', log), Uint8Array.of(0x53, 0x42, 0x56, 0x31, 0xff));
    assert.equal(verifierFromConfig(undefined, log), undefined);
    assert.equal(verifierFromConfig('', log), undefined);
    assert.equal(verifierFromConfig('abc', log), undefined);
    assert.equal(verifierFromConfig('zz', log), undefined);
    assert.equal(lines.length, 2);
  });

  it('tools/moddable-e2e skips with a clear message where there is no SDK (as in CI)', () => {
    const env = { ...process.env };
    delete env.MODDABLE;
    const r = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'tools', 'moddable-e2e.js')], { env, encoding: 'utf8' });
    assert.equal(r.status, 0);
    assert.match(r.stdout, /skipped: \$MODDABLE is not set/);
  });
});
