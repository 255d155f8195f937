// age's scrypt (passphrase) recipient (src/age/scrypt.ts): files we write open
// with age-encryption and the Debian `age` CLI; files they write open with ours;
// malformed stanzas are refused.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Decrypter, Encrypter } from 'age-encryption';
import { utf8ToBytes } from '../src/bytes.js';
import { nobleAead } from '../src/crypto/noble.js';
import { decryptAgeFile, decryptWithPassphrase, encryptAgeFile, encryptWithPassphrase } from '../src/age/file.js';
import { unwrapScrypt, wrapScrypt, SCRYPT_WRITE_LOG_N } from '../src/age/scrypt.js';
import { wrapX25519, decodeRecipient, generateIdentity, identityToRecipient } from '../src/age/x25519.js';
import { requireTool, seededRandom, tempDir } from './helpers.js';
import { throwsCode } from './setup-fixtures.js';
import { ageDecryptWithPassphrase } from './tty.js';

const random = seededRandom('age-scrypt');
const pass = utf8ToBytes('abandon ability able about above absent absorb abstract absurd abuse access accident');
const text = 'the account keys, or anything else';

describe('age scrypt recipient', function () {
  this.timeout(120_000);

  it(`writes logN ${SCRYPT_WRITE_LOG_N} by default; age-encryption and Debian age open it with the passphrase`, async () => {
    const file = encryptWithPassphrase(utf8ToBytes(text), pass, random, nobleAead);
    assert.match(new TextDecoder().decode(file.subarray(0, 200)), /\n-> scrypt [A-Za-z0-9+/]{22} 18\n/);
    const d = new Decrypter();
    d.addPassphrase(new TextDecoder().decode(pass));
    assert.equal(await d.decrypt(file, 'text'), text);
    requireTool('age');
    const dir = tempDir('scrypt');
    fs.writeFileSync(path.join(dir, 'f.age'), file);
    assert.equal(await ageDecryptWithPassphrase(path.join(dir, 'f.age'), new TextDecoder().decode(pass)), text);
    await assert.rejects(ageDecryptWithPassphrase(path.join(dir, 'f.age'), 'wrong passphrase'), /incorrect passphrase/);
  });

  it('opens what age-encryption writes; a wrong passphrase is AGE_PASSPHRASE', async () => {
    const e = new Encrypter();
    e.setPassphrase(new TextDecoder().decode(pass));
    e.setScryptWorkFactor(12);
    const file = await e.encrypt(text);
    assert.equal(new TextDecoder().decode(decryptWithPassphrase(file, pass, nobleAead)), text);
    throwsCode(() => decryptWithPassphrase(file, utf8ToBytes('nope'), nobleAead), 'AGE_PASSPHRASE');
  });

  it('refuses malformed stanzas, a stanza that is not alone, and work factors above 2^20', () => {
    const key = random(16);
    const good = wrapScrypt(key, pass, random, 10);
    assert.deepEqual(unwrapScrypt([good], pass), key);
    const x = wrapX25519(key, decodeRecipient(identityToRecipient(generateIdentity(random))), random);
    throwsCode(() => unwrapScrypt([good, x], pass), 'AGE_HEADER');
    throwsCode(() => unwrapScrypt([{ ...good, args: [good.args[0], '010'] }], pass), 'AGE_HEADER');
    throwsCode(() => unwrapScrypt([{ ...good, args: [good.args[0], '21'] }], pass), 'AGE_SCRYPT');
    throwsCode(() => unwrapScrypt([{ ...good, args: [good.args[0]] }], pass), 'AGE_HEADER');
    throwsCode(() => unwrapScrypt([{ ...good, args: [good.args[0].slice(0, 20), '10'] }], pass), 'AGE_HEADER');
    throwsCode(() => unwrapScrypt([{ ...good, body: good.body.slice(1) }], pass), 'AGE_HEADER');
    throwsCode(() => unwrapScrypt([x], pass), 'NO_IDENTITY');
    throwsCode(() => unwrapScrypt([good], new Uint8Array(0)), 'AGE_PASSPHRASE');
    // a whole file with two stanzas: refused even though the scrypt one is correct
    const two = encryptAgeFile(utf8ToBytes(text), (k) => [wrapScrypt(k, pass, random, 10), wrapX25519(k, decodeRecipient(identityToRecipient(generateIdentity(random))), random)], random, nobleAead);
    throwsCode(() => decryptAgeFile(two, (h) => unwrapScrypt(h.stanzas, pass), nobleAead), 'AGE_HEADER');
    // an altered payload fails its chunk authentication
    const file = encryptWithPassphrase(utf8ToBytes(text), pass, random, nobleAead, 10);
    file[file.length - 3] ^= 1;
    throwsCode(() => decryptWithPassphrase(file, pass, nobleAead), 'CHUNK_AUTH');
  });
});
