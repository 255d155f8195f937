// The clip-format test vector (docs/clip-format.md, test/vectors/clip-v1.json):
// the sealer reproduces it byte for byte from its inputs, the opener and the
// stock tools open it. Regenerate with UPDATE_VECTORS=1 only when the format changes on purpose.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { bytesToHex, hexToBytes } from '../src/bytes.js';
import { ClipOpener } from '../src/clip/opener.js';
import { verifySignedManifest } from '../src/clip/signed-manifest.js';
import { decodePublicKey } from '../src/minisign.js';
import { nobleBackend } from '../src/crypto/noble.js';
import { formatIdentityFile } from '../src/age/identity-file.js';
import { MemorySink, MemoryStore, ROOT, requireTool, run, seededRandom, tempDir } from './helpers.js';
import { Doorbell } from '../src/device/doorbell.js';
import { PreRoll } from '../src/device/preroll.js';
import { loadOrCreateIdentity } from '../src/device/identity.js';
import { generateIdentity, identityToRecipient } from '../src/age/x25519.js';
import { updatingVectors } from '../tools/vectors/rewrite-guard.js';

const FILE = path.join(ROOT, 'test/vectors/clip-v1.json');

interface ClipVector {
  comment: string;
  randomSeed: string;
  identity: string;
  recipient: string;
  devicePublicKey: string;
  startTime: number;
  frames: { time: number; jpegHex: string }[];
  plaintextHex: string;
  ageHex: string;
  manifest: string;
  signature: string;
}

/** Everything the vector is made of comes from the seeded generator, in this order. */
function makeVector(): ClipVector {
  const random = seededRandom('sealbell clip vector 1');
  const identity = generateIdentity(random);
  const device = loadOrCreateIdentity(new MemoryStore(), random);
  const sink = new MemorySink();
  let plaintext = '';
  // 1 s of pre-roll: the first two frames come before the press, the second is the trigger frame (poster)
  const preRoll = new PreRoll({ duration: 1000, capacity: 1024 });
  const doorbell = new Doorbell({ backend: nobleBackend, random, identity: device, sink, width: 16, height: 8, headerPoolSize: 1, preRoll });
  doorbell.setRecipients({ epoch: 3, recipients: [identityToRecipient(identity)] });
  doorbell.idle(); // one ready header
  const startTime = Date.UTC(2026, 10, 26, 12, 0, 0);
  const pressTime = startTime + 250;
  const frames = [1, 2, 3].map((n) => ({ time: startTime + n * 100, jpegHex: 'ffd8' + bytesToHex(Uint8Array.of(n, n, n)) + 'ffd9' }));
  doorbell.frame(hexToBytes(frames[0].jpegHex), frames[0].time);
  doorbell.frame(hexToBytes(frames[1].jpegHex), frames[1].time);
  const id = doorbell.press(pressTime);
  doorbell.frame(hexToBytes(frames[2].jpegHex), frames[2].time);
  doorbell.finishClip();
  const clip = sink.clips.get(id)!;
  const opener = new ClipOpener({ backend: nobleBackend, identities: [identity], onPlaintext: (b) => (plaintext += bytesToHex(b)) });
  opener.push(clip.age);
  opener.end();
  return {
    comment: 'sealbell clip v1 vector: see docs/clip-format.md',
    randomSeed: 'sealbell clip vector 1',
    identity,
    recipient: identityToRecipient(identity),
    devicePublicKey: device.publicKeyText,
    startTime,
    frames,
    plaintextHex: plaintext,
    ageHex: bytesToHex(clip.age),
    manifest: new TextDecoder().decode(clip.manifest),
    signature: clip.signature,
  };
}

describe('clip format test vector', function () {
  if (updatingVectors()) fs.writeFileSync(FILE, JSON.stringify(makeVector(), null, 2) + '\n');
  const v: ClipVector = JSON.parse(fs.readFileSync(FILE, 'utf8'));

  it('the sealer reproduces the vector byte for byte', function () {
    assert.deepEqual(makeVector(), v);
  });

  it('the opener decrypts it to the vector plaintext, matching the signed manifest', function () {
    const manifest = verifySignedManifest(new TextEncoder().encode(v.manifest), v.signature, decodePublicKey(v.devicePublicKey));
    const frames: string[] = [];
    let plain = '';
    const opener = new ClipOpener({
      backend: nobleBackend,
      identities: [v.identity],
      manifest,
      onFrame: (f) => frames.push(bytesToHex(f.data)),
      onPlaintext: (b) => (plain += bytesToHex(b)),
    });
    opener.push(hexToBytes(v.ageHex));
    const opened = opener.end();
    assert.equal(plain, v.plaintextHex);
    assert.deepEqual(frames, v.frames.map((f) => f.jpegHex));
    assert.equal(opened.frames, 3);
    assert.equal(manifest.epoch, 3);
  });

  it('docs/clip-format.md shows this vector', function () {
    const doc = fs.readFileSync(path.join(ROOT, 'docs/clip-format.md'), 'utf8');
    const age = Buffer.from(v.ageHex, 'hex');
    const header = age.subarray(0, age.indexOf('\n', age.indexOf('\n---') + 1)).toString();
    for (const text of [v.identity, v.recipient, v.manifest.trim(), ...header.split('\n'), ...v.signature.trim().split('\n')]) {
      assert.ok(doc.includes(text), `the doc lacks: ${text}`);
    }
  });

  it('Debian age decrypts it and minisign verifies its manifest', function () {
    requireTool('age');
    requireTool('minisign');
    const dir = tempDir('vector');
    fs.writeFileSync(path.join(dir, 'id.key'), formatIdentityFile(v.identity, new Date(0)));
    fs.writeFileSync(path.join(dir, 'clip.age'), hexToBytes(v.ageHex));
    fs.writeFileSync(path.join(dir, 'm.json'), v.manifest);
    fs.writeFileSync(path.join(dir, 'm.json.minisig'), v.signature);
    fs.writeFileSync(path.join(dir, 'device.pub'), v.devicePublicKey);
    run('age', ['-d', '-i', path.join(dir, 'id.key'), '-o', path.join(dir, 'p.mkv'), path.join(dir, 'clip.age')]);
    assert.equal(fs.readFileSync(path.join(dir, 'p.mkv')).toString('hex'), v.plaintextHex);
    assert.match(run('minisign', ['-V', '-p', path.join(dir, 'device.pub'), '-m', path.join(dir, 'm.json')]), /verified/);
  });
});
