// The opening side rejects every kind of damage to a clip or its manifest,
// each with its own error code, and never hands out a partial result as valid.
import assert from 'node:assert/strict';
import { ClipOpener, PayloadVerifier } from '../src/clip/opener.js';
import { verifySignedManifest } from '../src/clip/signed-manifest.js';
import { decodePublicKey } from '../src/minisign.js';
import { nobleBackend } from '../src/crypto/noble.js';
import { concatBytes, utf8ToBytes } from '../src/bytes.js';
import { CHUNK_SIZE, SEALED_CHUNK_SIZE } from '../src/age/stream.js';
import { makeRig, recordClip, type RecordedClip, type TestRig } from './helpers.js';
import { errorCode as code } from './helpers.js';

/** Opens `age` as phone 0 against the signed manifest, feeding it in odd-sized pieces. */
function open(rig: TestRig, clip: RecordedClip, age: Uint8Array, o: { identity?: string; manifest?: Uint8Array; signature?: string; devicePub?: string } = {}) {
  const manifest = verifySignedManifest(o.manifest ?? clip.manifest, o.signature ?? clip.signature, decodePublicKey(o.devicePub ?? rig.devicePub));
  const opener = new ClipOpener({ backend: nobleBackend, identities: [o.identity ?? rig.phones[0]], manifest });
  for (let i = 0; i < age.length; i += 7777) opener.push(age.subarray(i, i + 7777));
  return opener.end();
}

describe('opening a clip rejects tampering, each with its own error', function () {
  const rig = makeRig('tamper');
  // ~200 KB: segments are [header+nonce, chunk0, chunk1, chunk2, chunk3(last, short)]
  const clip = recordClip(rig, 1_800_000_000_000, 20, 10_000);
  const other = recordClip(rig, 1_800_000_100_000, 20, 10_000);
  const headerLength = clip.segments[0].length;

  it('the intact clip opens and matches its manifest', function () {
    const opened = open(rig, clip, clip.age);
    assert.equal(opened.frames, 20);
    assert.equal(clip.segments.length, 5);
    assert.equal(clip.segments[1].length, SEALED_CHUNK_SIZE);
  });

  it('a flipped byte in a chunk: CHUNK_AUTH', function () {
    const bad = clip.age.slice();
    bad[headerLength + 70_000] ^= 1;
    assert.equal(code(() => open(rig, clip, bad)), 'CHUNK_AUTH');
  });

  it('a flipped byte in the header: HEADER_MAC or AGE_HEADER', function () {
    const ageHeaderLength = headerLength - 16; // segment 0 ends with the 16-byte payload nonce
    for (const at of [30, ageHeaderLength - 10, ageHeaderLength - 50]) {
      const bad = clip.age.slice();
      bad[at] ^= 1;
      assert.match(code(() => open(rig, clip, bad)), /^(HEADER_MAC|AGE_HEADER|NO_IDENTITY)$/);
    }
  });

  it('a flipped payload nonce: CHUNK_AUTH (wrong payload key)', function () {
    const bad = clip.age.slice();
    bad[headerLength - 1] ^= 0x80;
    assert.equal(code(() => open(rig, clip, bad)), 'CHUNK_AUTH');
  });

  it('truncation at a chunk boundary or inside a chunk: TRUNCATED', function () {
    const cut = headerLength + 2 * SEALED_CHUNK_SIZE;
    assert.equal(code(() => open(rig, clip, clip.age.subarray(0, cut))), 'TRUNCATED');
    assert.equal(code(() => open(rig, clip, clip.age.subarray(0, cut + 5))), 'TRUNCATED');
    assert.equal(code(() => open(rig, clip, clip.age.subarray(0, cut + 5000))), 'TRUNCATED');
    assert.equal(code(() => open(rig, clip, clip.age.subarray(0, clip.age.length - 1))), 'TRUNCATED');
    assert.equal(code(() => open(rig, clip, clip.age.subarray(0, headerLength - 3))), 'TRUNCATED');
    assert.equal(code(() => open(rig, clip, clip.age.subarray(0, 40))), 'TRUNCATED');
  });

  it('appended bytes after the last chunk: TRAILING_DATA', function () {
    assert.equal(code(() => open(rig, clip, concatBytes(clip.age, new Uint8Array(20)))), 'TRAILING_DATA');
    assert.equal(code(() => open(rig, clip, concatBytes(clip.age, clip.segments[4]))), 'TRAILING_DATA');
  });

  it('two chunks swapped: CHUNK_REORDERED', function () {
    const s = clip.segments;
    const bad = concatBytes(s[0], s[2], s[1], s[3], s[4]);
    assert.equal(code(() => open(rig, clip, bad)), 'CHUNK_REORDERED');
  });

  it('a chunk spliced in from another clip: CHUNK_AUTH', function () {
    const s = clip.segments;
    const bad = concatBytes(s[0], s[1], other.segments[2], s[3], s[4]);
    assert.equal(code(() => open(rig, clip, bad)), 'CHUNK_AUTH');
  });

  it('a wrong identity: NO_IDENTITY', function () {
    const stranger = makeRig('stranger').phones[0];
    assert.equal(code(() => open(rig, clip, clip.age, { identity: stranger })), 'NO_IDENTITY');
  });

  it('a manifest that does not match the clip: MANIFEST_MISMATCH', function () {
    assert.equal(code(() => open(rig, clip, other.age)), 'MANIFEST_MISMATCH');
    // and without any key, from the payload hash alone
    const v = new PayloadVerifier(nobleBackend, verifySignedManifest(clip.manifest, clip.signature, decodePublicKey(rig.devicePub)));
    v.push(other.age);
    assert.equal(code(() => v.end()), 'MANIFEST_MISMATCH');
  });

  it('an edited manifest: MANIFEST_SIGNATURE', function () {
    const edited = utf8ToBytes(new TextDecoder().decode(clip.manifest).replace('"frames":20', '"frames":19'));
    assert.equal(code(() => open(rig, clip, clip.age, { manifest: edited })), 'MANIFEST_SIGNATURE');
  });

  it('a manifest signed by another device: WRONG_DEVICE', function () {
    const impostor = makeRig('impostor');
    const forged = recordClip(impostor, 1_800_000_000_000, 3);
    // the impostor's manifest against our device key, and our manifest against the impostor's key
    assert.equal(code(() => open(rig, clip, clip.age, { manifest: forged.manifest, signature: forged.signature })), 'WRONG_DEVICE');
    assert.equal(code(() => open(rig, clip, clip.age, { devicePub: impostor.devicePub })), 'WRONG_DEVICE');
  });

  it('the header stays valid after the opener reads only part of a chunk boundary', function () {
    // feeding byte by byte around the header/payload boundary must not change the result
    const opener = new ClipOpener({ backend: nobleBackend, identities: [rig.phones[1]] });
    for (let i = 0; i < headerLength + 40; i++) opener.push(clip.age.subarray(i, i + 1));
    opener.push(clip.age.subarray(headerLength + 40));
    assert.equal(opener.end().frames, 20);
    assert.ok(CHUNK_SIZE > 0);
  });
});
