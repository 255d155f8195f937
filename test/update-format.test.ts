/**
 * The update documents (docs/update-format.md): the vectors re-made from their seeds and printed
 * in the doc, checked by the stock minisign; strict parsing; the release key files that
 * `sealbell release` writes, usable by minisign itself; the update bundle and uplink messages.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8Decode, utf8ToBytes } from '../src/bytes.js';
import { encodePublicKey } from '../src/minisign.js';
import { authorizeRelease, parseAuthorization, parseRelease, releaseId, signRelease, verifyAuthorization, verifyRelease } from '../src/update/release.js';
import { encodeUpdateBundle, parseUpdateBundle } from '../src/update/bundle.js';
import { parseUpdateDeviceMessage, parseUpdateRelayMessage } from '../src/uplink/update-wire.js';
import { readSecretKey, releaseKeygen } from '../tools/release/keys.js';
import { releaseSign } from '../tools/release/command.js';
import { errorCode, requireTool, ROOT, run, tempDir } from './helpers.js';
import { AUTHORITY, RELEASE_KEY } from './update-fixtures.js';
import { ok, sealbell } from './cli-helpers.js';

const DEVICE = '0123456789ABCDEF';
const vectorImage = () => new Uint8Array(4096).map((_, i) => i % 251);

function vectors() {
  const img = vectorImage();
  const release = signRelease({ v: 1, board: 'esp32_cam', version: '1.4.0', security: 3, size: img.length, sha256: bytesToHex(sha256(img)) }, RELEASE_KEY);
  const auth = authorizeRelease(release.bytes, DEVICE, AUTHORITY);
  return { img, release, auth };
}

describe('update documents (docs/update-format.md)', () => {
  it('the vectors are re-made from their seeds and printed in the doc', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs/update-format.md'), 'utf8');
    const { release, auth } = vectors();
    const expect = [
      bytesToHex(RELEASE_KEY.secretKey),
      bytesToHex(AUTHORITY.secretKey),
      ...encodePublicKey(RELEASE_KEY.publicKey).trim().split('\n'),
      ...encodePublicKey(AUTHORITY.publicKey).trim().split('\n'),
      utf8Decode(release.bytes),
      ...release.signature.trim().split('\n'),
      `Release id \`${releaseId(release.bytes)}\``,
      utf8Decode(auth.bytes),
      ...auth.signature.trim().split('\n'),
    ];
    for (const s of expect) assert.ok(doc.includes(s), `docs/update-format.md lacks ${s.slice(0, 70)}…`);
  });

  it('the stock minisign verifies the release and the authorization', () => {
    requireTool('minisign');
    const dir = tempDir('update-vectors');
    const { release, auth } = vectors();
    const files: [string, Uint8Array, string, Uint8Array][] = [
      ['release.json', release.bytes, release.signature, RELEASE_KEY.publicKey],
      ['authorization.json', auth.bytes, auth.signature, AUTHORITY.publicKey],
    ];
    for (const [name, bytes, sig, key] of files) {
      fs.writeFileSync(path.join(dir, name), bytes);
      fs.writeFileSync(path.join(dir, `${name}.minisig`), sig);
      fs.writeFileSync(path.join(dir, `${name}.pub`), encodePublicKey(key));
      const out = run('minisign', ['-Vm', path.join(dir, name), '-p', path.join(dir, `${name}.pub`)]);
      assert.match(out, /Signature and comment signature verified/);
    }
  });

  it('the vectors verify; one changed field, key or comment is refused with its code', () => {
    const { release, auth } = vectors();
    assert.equal(verifyRelease(release.bytes, release.signature, RELEASE_KEY.publicKey).value.security, 3);
    assert.equal(verifyAuthorization(auth.bytes, auth.signature, AUTHORITY.publicKey, DEVICE, release.bytes).value.device, DEVICE);
    const text = utf8Decode(release.bytes);
    assert.equal(errorCode(() => verifyRelease(utf8ToBytes(text.replace('"security":3', '"security":9')), release.signature, RELEASE_KEY.publicKey)), 'UPDATE_RELEASE_SIGNATURE');
    assert.equal(errorCode(() => verifyRelease(release.bytes, release.signature, AUTHORITY.publicKey)), 'UPDATE_RELEASE_SIGNATURE');
    assert.equal(errorCode(() => verifyRelease(release.bytes, release.signature.replace('security 3', 'security 4'), RELEASE_KEY.publicKey)), 'UPDATE_RELEASE_SIGNATURE');
    assert.equal(errorCode(() => verifyAuthorization(auth.bytes, auth.signature, RELEASE_KEY.publicKey, DEVICE, release.bytes)), 'UPDATE_AUTHORIZATION');
    assert.equal(errorCode(() => verifyAuthorization(auth.bytes, auth.signature, AUTHORITY.publicKey, 'FEDCBA9876543210', release.bytes)), 'UPDATE_OTHER_DEVICE');
    assert.equal(errorCode(() => verifyAuthorization(auth.bytes, auth.signature, AUTHORITY.publicKey, DEVICE, utf8ToBytes(text + ' '))), 'UPDATE_OTHER_RELEASE');
  });

  it('parsing is strict: one byte string per document', () => {
    const { release, auth } = vectors();
    const text = utf8Decode(release.bytes);
    for (const bad of [
      text.replace('{"v":1,', '{ "v":1,'),
      text.replace('"board":"esp32_cam"', '"board":"ESP32"'),
      text.replace('"security":3', '"security":-1'),
      text.replace('"security":3', '"security":3.5'),
      text.replace('"size":4096', '"size":0'),
      text.replace(/"sha256":"[0-9a-f]+"/, '"sha256":"00"'),
      text.replace('"version":"1.4.0"', '"version":"1.4.0 beta"'),
      text.replace('}', ',"extra":1}'),
      '[]',
      'not json',
    ]) assert.equal(errorCode(() => parseRelease(utf8ToBytes(bad))), 'UPDATE_FORMAT', bad);
    const a = utf8Decode(auth.bytes);
    for (const bad of [a.replace(DEVICE, DEVICE.toLowerCase()), a.replace('"v":1', '"v":2'), a.replace(/"release":"[0-9a-f]+"/, '"release":"x"')]) {
      assert.equal(errorCode(() => parseAuthorization(utf8ToBytes(bad))), 'UPDATE_FORMAT', bad);
    }
  });

  it('sealbell release keygen writes a minisign key pair: minisign signs with it, sealbell release sign output verifies with minisign', () => {
    requireTool('minisign');
    const dir = tempDir('release-keys');
    const k = releaseKeygen(path.join(dir, 'release'));
    assert.equal(fs.statSync(k.key).mode & 0o777, 0o600);
    assert.equal(errorCode(() => releaseKeygen(path.join(dir, 'release'))), 'RELEASE_EXISTS');
    const img = path.join(dir, 'image.bin');
    fs.writeFileSync(img, vectorImage());
    const signed = releaseSign({ image: img, key: k.key, board: 'xiao_esp32s3_sense', version: '2.0.0', security: 7 });
    assert.match(run('minisign', ['-Vm', signed.manifestFile, '-p', k.pub]), /security 7/);
    fs.writeFileSync(path.join(dir, 'note.txt'), 'hello');
    run('minisign', ['-S', '-s', k.key, '-m', path.join(dir, 'note.txt')]);
    assert.match(run('minisign', ['-Vm', path.join(dir, 'note.txt'), '-p', k.pub]), /verified/);
    assert.equal(readSecretKey(k.key).keyId.length, 8);
    const enc = fs.readFileSync(k.key, 'utf8').split('\n');
    const raw = Buffer.from(enc[1], 'base64');
    raw[2] = 0x53; // "Sc": an encrypted key
    fs.writeFileSync(path.join(dir, 'enc.key'), `${enc[0]}\n${raw.toString('base64')}\n`);
    assert.equal(errorCode(() => readSecretKey(path.join(dir, 'enc.key'))), 'RELEASE_KEY');
  });

  it('sealbell release keygen and sign as commands: the files, minisign -V, and clear errors', async () => {
    requireTool('minisign');
    const dir = tempDir('release-cli');
    const out = path.join(dir, 'rel');
    assert.match(ok(await sealbell(['release', 'keygen', '--out', out])), /release key [0-9A-F]{16}: secret .*rel\.key/);
    const again = await sealbell(['release', 'keygen', '--out', out]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /\[RELEASE_EXISTS\]/);
    const img = path.join(dir, 'fw.bin');
    fs.writeFileSync(img, vectorImage());
    assert.match(ok(await sealbell(['release', 'sign', img, '--key', `${out}.key`, '--board', 'esp32_cam', '--version', '1.4.0', '--security', '3'])), /release 1\.4\.0 for esp32_cam, security 3, 4096 bytes/);
    assert.match(run('minisign', ['-Vm', `${img}.release.json`, '-p', `${out}.pub`]), /verified/);
    const bad = await sealbell(['release', 'sign', img, '--key', `${out}.key`, '--board', 'esp32_cam', '--version', '1.4.0', '--security', '1.5']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--security must be a whole number/);
    const badBoard = await sealbell(['release', 'sign', img, '--key', `${out}.key`, '--board', 'ESP32', '--version', '1.4.0', '--security', '3']);
    assert.equal(badBoard.status, 1);
    assert.match(badBoard.stderr, /\[UPDATE_FORMAT\]/);
  });

  it('the update bundle round-trips; a cut or garbled one is UPDATE_FORMAT', () => {
    const { img, release, auth } = vectors();
    const b = { release: release.bytes, releaseSignature: release.signature, authorization: auth.bytes, authorizationSignature: auth.signature, image: img };
    const bytes = encodeUpdateBundle(b);
    assert.deepEqual(parseUpdateBundle(bytes), b);
    assert.equal(errorCode(() => parseUpdateBundle(bytes.subarray(0, bytes.length - 1))), 'UPDATE_FORMAT');
    assert.equal(errorCode(() => parseUpdateBundle(utf8ToBytes('SBU2'))), 'UPDATE_FORMAT');
  });

  it('uplink messages: other messages pass through, malformed update messages are WIRE_FORMAT', () => {
    const id = 'a'.repeat(64);
    assert.equal(parseUpdateRelayMessage('{"t":"hello","v":1,"device":"X","window":8}'), undefined);
    assert.equal(parseUpdateDeviceMessage('{"t":"begin","clip":"c","epoch":1}'), undefined);
    assert.deepEqual(parseUpdateRelayMessage(JSON.stringify({ t: 'update-data', release: id, offset: 0, data: 'AAAA' })), { t: 'update-data', release: id, offset: 0, data: 'AAAA' });
    assert.deepEqual(parseUpdateDeviceMessage(JSON.stringify({ t: 'update-want', release: id, offset: 16384 })), { t: 'update-want', release: id, offset: 16384 });
    for (const bad of [
      { t: 'update-data', release: id, offset: -1, data: 'AAAA' },
      { t: 'update-data', release: 'x', offset: 0, data: 'AAAA' },
      { t: 'update-data', release: id, offset: 0, data: 'A'.repeat(30_000) },
      { t: 'update', release: 1, releaseSignature: 's' },
    ]) assert.equal(errorCode(() => parseUpdateRelayMessage(JSON.stringify(bad))), 'WIRE_FORMAT', JSON.stringify(bad));
    for (const bad of [{ t: 'update-refused', code: 'lower', message: '' }, { t: 'firmware', board: 'b', version: 'v', security: -1, recorded: 0, trial: false }]) {
      assert.equal(errorCode(() => parseUpdateDeviceMessage(JSON.stringify(bad))), 'WIRE_FORMAT', JSON.stringify(bad));
    }
  });
});
