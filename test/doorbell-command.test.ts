// `sealbell doorbell` as a person meets it: keys on a terminal (under `script`, a real
// pseudo-terminal), one doorbell per state folder, a taken setup port, ringing a doorbell
// that is not running, and a camera playing an MJPEG file made by ffmpeg.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { FileCamera, jpegSize } from '../hosts/node/frame-file.js';
import { ROOT, requireTool, run, tempDir } from './helpers.js';
import { Running, sealbell } from './cli-helpers.js';

describe('sealbell doorbell, the command', function () {
  this.timeout(120_000);
  const running: Running[] = [];
  after(async () => {
    for (const r of running) await r.stop();
  });

  it('takes keys on a terminal: p presses, l holds the button, q stops it cleanly', async () => {
    requireTool('script');
    const state = tempDir('door-keys');
    const child = spawn('script', ['-qec', `${process.execPath} ${path.join(ROOT, 'bin/sealbell.js')} doorbell --state ${state} --setup-port 0`, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    const seen = (re: RegExp) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${re} in:\n${out}`)), 60_000);
        const check = () => re.test(out) && (clearTimeout(timer), child.stdout.off('data', check), resolve());
        child.stdout.on('data', check);
        check();
      });
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    await seen(/keys: p or Enter/);
    await seen(/setup endpoint: http/);
    child.stdin.write('p');
    await seen(/button: cannot record/); // the key reached the firmware (not set up: nothing to seal to)
    const before = out.match(/device id ([0-9A-F]{16})/)![1];
    child.stdin.write('l'); // setup is open: holding the button is a factory reset
    await seen(/factory reset/);
    await seen(new RegExp(`device id (?!${before})[0-9A-F]{16}`));
    child.stdin.write('q');
    assert.equal(await exited, 0);
    assert.match(out, /doorbell: stopped/);
  });

  it('one doorbell per state folder; a taken setup port and a doorbell that is not running are clear errors', async () => {
    const state = tempDir('door-one');
    const door = new Running(['doorbell', '--state', state, '--setup-port', '0']);
    running.push(door);
    await door.wait(/setup endpoint: http/);
    const second = await sealbell(['doorbell', '--state', state, '--setup-port', '0']);
    assert.equal(second.status, 1);
    assert.match(second.stderr, /already running.*\[DOORBELL_RUNNING\]/);
    assert.equal(await door.stop(), 0);

    const taken = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => taken.once('listening', r));
    const port = (taken.address() as net.AddressInfo).port;
    try {
      const busy = await sealbell(['doorbell', '--state', tempDir('door-port'), '--setup-port', String(port)]);
      assert.equal(busy.status, 1);
      assert.match(busy.stderr, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is in use.*\\[SETUP_PORT\\]`));
      assert.doesNotMatch(busy.stderr, /\n\s+at /, 'no stack trace');
    } finally {
      taken.close();
    }

    const nobody = await sealbell(['doorbell', 'press', '--state', tempDir('door-none')]);
    assert.equal(nobody.status, 1);
    assert.match(nobody.stderr, /no doorbell is running on .*\[DOORBELL_NOT_RUNNING\]/);
  });

  it('--camera FILE plays the frames of an MJPEG file (ffmpeg), at their size, in a loop', () => {
    requireTool('ffmpeg');
    const file = path.join(tempDir('door-camera'), 'walk.mjpeg');
    run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=176x144:rate=5', '-frames:v', '7', '-f', 'mjpeg', file]);
    const camera = new FileCamera(file);
    assert.equal(camera.length, 7);
    assert.deepEqual([camera.width, camera.height], [176, 144]);
    const frames = Array.from({ length: 8 }, (_, n) => camera.capture(n));
    assert.deepEqual(frames[7], frames[0], 'it loops');
    assert.equal(Buffer.concat(frames.slice(0, 7)).length, fs.statSync(file).size, 'every byte of the file is in a frame');
    for (const f of frames) {
      assert.deepEqual([f[0], f[1], f[f.length - 2], f[f.length - 1]], [0xff, 0xd8, 0xff, 0xd9]);
      assert.deepEqual(jpegSize(f), { width: 176, height: 144 });
    }
  });
});
