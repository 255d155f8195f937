// minisign compatibility both ways, and the parser's strictness.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { decodePublicKey, encodePublicKey, sign, signingKeyFromSeed, verify, keyIdHex } from '../src/minisign.js';
import { SealbellError } from '../src/errors.js';
import { requireTool, run, seededRandom, tempDir } from './helpers.js';

describe('minisign signatures', function () {
  const random = seededRandom('minisign');
  const key = signingKeyFromSeed(random(32));
  const message = new TextEncoder().encode('{"clip":"x"}\n');

  it('round-trips and returns the trusted comment', function () {
    const sig = sign(message, key, 'trusted text');
    assert.equal(verify(message, sig, decodePublicKey(encodePublicKey(key.publicKey))), 'trusted text');
  });

  it('what we sign verifies with stock minisign', function () {
    requireTool('minisign');
    const dir = tempDir('minisign');
    fs.writeFileSync(path.join(dir, 'm'), message);
    fs.writeFileSync(path.join(dir, 'm.minisig'), sign(message, key, 'hello'));
    fs.writeFileSync(path.join(dir, 'k.pub'), encodePublicKey(key.publicKey));
    assert.match(run('minisign', ['-V', '-p', path.join(dir, 'k.pub'), '-m', path.join(dir, 'm')]), /Trusted comment: hello/);
    // minisign prints the key id the way keyIdHex does
    assert.match(fs.readFileSync(path.join(dir, 'k.pub'), 'utf8'), new RegExp(`minisign public key ${keyIdHex(key.keyId)}`));
  });

  it('what stock minisign signs verifies with ours; a different key is WRONG key', function () {
    requireTool('minisign');
    const dir = tempDir('minisign-cli');
    run('minisign', ['-G', '-W', '-p', path.join(dir, 'k.pub'), '-s', path.join(dir, 'k.key')]);
    fs.writeFileSync(path.join(dir, 'm'), message);
    run('minisign', ['-S', '-s', path.join(dir, 'k.key'), '-m', path.join(dir, 'm'), '-t', 'from the cli']);
    const pub = decodePublicKey(fs.readFileSync(path.join(dir, 'k.pub'), 'utf8'));
    const sig = fs.readFileSync(path.join(dir, 'm.minisig'), 'utf8');
    assert.equal(verify(message, sig, pub), 'from the cli');
    assert.throws(() => verify(message, sig, decodePublicKey(encodePublicKey(key.publicKey))), (e: SealbellError) => e.code === 'MINISIGN_KEY');
  });

  it('rejects a changed message, a changed trusted comment, and legacy or malformed files', function () {
    const sig = sign(message, key, 'c');
    const pub = decodePublicKey(encodePublicKey(key.publicKey));
    const codeOf = (fn: () => unknown) => {
      try {
        fn();
        return 'accepted';
      } catch (e) {
        return (e as SealbellError).code;
      }
    };
    assert.equal(codeOf(() => verify(new TextEncoder().encode('other'), sig, pub)), 'MINISIGN_SIGNATURE');
    assert.equal(codeOf(() => verify(message, sig.replace('trusted comment: c', 'trusted comment: d'), pub)), 'MINISIGN_SIGNATURE');
    const lines = sig.split('\n');
    const raw = Buffer.from(lines[1], 'base64');
    raw.write('Ed', 0); // legacy, not pre-hashed
    assert.equal(codeOf(() => verify(message, [lines[0], raw.toString('base64'), lines[2], lines[3]].join('\n'), pub)), 'MINISIGN_FORMAT');
    for (const bad of ['', 'x', sig.split('\n').slice(0, 2).join('\n'), sig.replace(/^RU/m, '!!')]) {
      assert.equal(codeOf(() => verify(message, bad, pub)), 'MINISIGN_FORMAT');
    }
  });
});
