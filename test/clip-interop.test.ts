// A clip sealed by the real core decrypts with stock tools: Debian's `age`, the
// age-encryption npm package, ffprobe for the video, minisign for the manifest.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Decrypter } from 'age-encryption';
import { SyntheticCamera } from '../hosts/node/camera.js';
import { FileKeyValueStore } from '../hosts/node/kv-store.js';
import { nodeBackend } from '../hosts/node/backend.js';
import { Doorbell } from '../src/device/doorbell.js';
import { loadOrCreateIdentity } from '../src/device/identity.js';
import { ClipFiles } from '../hosts/node/clip-files.js';
import { formatIdentityFile } from '../src/age/identity-file.js';
import { generateIdentity, identityToRecipient } from '../src/age/x25519.js';
import { decodeManifest } from '../src/clip/manifest.js';
import { requireTool, run, seededRandom, tempDir } from './helpers.js';
import { checkClip, clipPaths } from '../tools/clip-check.js';

describe('clip interoperability with standard tools', function () {
  const dir = tempDir('interop');
  const random = seededRandom('interop');
  const phones = [generateIdentity(random), generateIdentity(random), generateIdentity(random)];
  const keyFiles = phones.map((p, i) => {
    const f = path.join(dir, `phone-${i + 1}.key`);
    fs.writeFileSync(f, formatIdentityFile(p, new Date(0)));
    return f;
  });
  const files = new ClipFiles(path.join(dir, 'clips'));
  // The core's Doorbell fed by the hosted simulator's camera at 10 fps.
  const identity = loadOrCreateIdentity(new FileKeyValueStore(path.join(dir, 'device')), random);
  const camera = new SyntheticCamera();
  const doorbell = new Doorbell({ backend: nodeBackend, random, identity, sink: files, width: camera.width, height: camera.height, clipDuration: 3000 });
  fs.writeFileSync(path.join(dir, 'device.pub'), identity.publicKeyText);
  doorbell.setRecipients({ epoch: 7, recipients: phones.map(identityToRecipient) });
  while (doorbell.idle());
  let now = Date.UTC(2026, 10, 26, 12, 0, 0, 500);
  const clipId = doorbell.press(now);
  // 3 s at 10 fps, ~8 KB frames: several 64 KiB chunks
  for (let n = 0; doorbell.recording; n++) {
    now += 100;
    doorbell.frame(camera.capture(n, now), now);
  }
  doorbell.tick(now);
  const paths = clipPaths(files.paths(clipId).age);
  const manifest = decodeManifest(new Uint8Array(fs.readFileSync(paths.manifest)));

  it('records the frames it was given, with their times', function () {
    assert.equal(manifest.frames, 30);
    assert.equal(manifest.epoch, 7);
    assert.equal(manifest.end - manifest.start, 3000);
    assert.ok(fs.statSync(paths.age).size > 3 * 65536, 'several chunks');
  });

  it('decrypts with Debian age for every phone, and ffprobe counts the manifest frame count', function () {
    requireTool('age');
    requireTool('ffprobe');
    for (const key of keyFiles) {
      const out = path.join(dir, 'video.mkv');
      run('age', ['-d', '-i', key, '-o', out, paths.age]);
      const probe = run('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0',
        '-show_entries', 'stream=codec_name,width,height,nb_read_frames', '-of', 'json', out]);
      const s = JSON.parse(probe).streams[0];
      assert.deepEqual([s.codec_name, s.width, s.height, Number(s.nb_read_frames)], ['mjpeg', 320, 240, manifest.frames]);
      const times = run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', out])
        .trim().split('\n').map(Number);
      assert.equal(times.length, manifest.frames);
      assert.equal(times[times.length - 1], (manifest.end - manifest.start) / 1000);
    }
  });

  it('decrypts with the age-encryption npm package to the same bytes the core opener gives', async function () {
    checkClip(paths, identity.publicKeyText, { identities: [phones[1]], out: path.join(dir, 'core.mkv') });
    const d = new Decrypter();
    d.addIdentity(phones[2]);
    const plain = await d.decrypt(new Uint8Array(fs.readFileSync(paths.age)), 'uint8array');
    assert.deepEqual(Buffer.from(plain), fs.readFileSync(path.join(dir, 'core.mkv')));
  });

  it('a stranger\'s identity does not open it', function () {
    requireTool('age');
    const stranger = path.join(dir, 'stranger.key');
    fs.writeFileSync(stranger, formatIdentityFile(generateIdentity(random), new Date(0)));
    assert.throws(() => run('age', ['-d', '-i', stranger, paths.age]), /no identity matched/);
  });

  it('the manifest verifies with stock minisign', function () {
    requireTool('minisign');
    const out = run('minisign', ['-V', '-p', path.join(dir, 'device.pub'), '-m', paths.manifest]);
    assert.match(out, /Signature and comment signature verified/);
    assert.match(out, new RegExp(`sealbell clip ${clipId} device ${identity.deviceId} epoch 7`));
  });
});
