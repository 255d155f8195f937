// The escrow's scrypt off the event loop (tools/scrypt-async.ts): Node's crypto.scrypt gives
// noble's bytes, files sealed either way open either way, and while a 2^18 escrow opens the
// event loop keeps turning (the relay, the doorbell and keep-alive sockets carry on).
import assert from 'node:assert/strict';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { utf8ToBytes } from '../src/bytes.js';
import { nobleAead } from '../src/crypto/noble.js';
import { decryptWithPassphrase, decryptWithPassphraseAsync, encryptWithPassphrase, encryptWithPassphraseAsync } from '../src/age/file.js';
import { scryptSync, SCRYPT_WRITE_LOG_N } from '../src/age/scrypt.js';
import { nodeScrypt } from '../tools/scrypt-async.js';
import { deriveScalars, deriveScalarsAsync } from '../src/setup/spake2plus.js';
import { newPassphrase, openEscrow } from '../tools/phone/escrow.js';
import { openEscrowAsync, sealEscrowAsync } from '../tools/phone/escrow-node.js';
import { signingKeyFromSeed } from '../src/minisign.js';
import { generateIdentity } from '../src/age/x25519.js';
import { seededRandom } from './helpers.js';
import { throwsCode } from './setup-fixtures.js';

const seed = 'scrypt-async';
const random = seededRandom(seed);
const pass = utf8ToBytes('abandon ability able about above absent absorb abstract absurd abuse access accident');

describe(`scrypt off the event loop (seed ${seed})`, function () {
  this.timeout(120_000);

  it('Node crypto.scrypt and noble scrypt derive the same bytes', async () => {
    for (const logN of [1, 4, 10, 14]) {
      const input = { password: random(1 + logN), salt: random(44), N: 2 ** logN, r: 8, p: 1, dkLen: 32, maxmem: 128 * 8 * (2 ** logN + 2) };
      assert.deepEqual(await nodeScrypt(input), scryptSync(input), `logN ${logN}`);
    }
  });

  it('the setup code\'s SPAKE2+ scalars (scrypt 2^15) come out the same either way', async () => {
    const ids = { idProver: utf8ToBytes('sealbell phone'), idVerifier: utf8ToBytes('sealbell doorbell') };
    const salt = random(32);
    assert.deepEqual(await deriveScalarsAsync(utf8ToBytes('403765501759'), salt, ids, nodeScrypt), deriveScalars(utf8ToBytes('403765501759'), salt, ids));
    await assert.rejects(deriveScalarsAsync(utf8ToBytes('1'), new Uint8Array(15), ids, nodeScrypt), (e: { code?: string }) => e.code === 'SPAKE2_BAD_SALT');
  });

  it('a file sealed with one opens with the other; a wrong passphrase is AGE_PASSPHRASE either way', async () => {
    const text = utf8ToBytes('the account keys');
    const sync = encryptWithPassphrase(text, pass, random, nobleAead, 12);
    const async = await encryptWithPassphraseAsync(text, pass, random, nobleAead, nodeScrypt, 12);
    assert.deepEqual(await decryptWithPassphraseAsync(sync, pass, nobleAead, nodeScrypt), text);
    assert.deepEqual(decryptWithPassphrase(async, pass, nobleAead), text);
    await assert.rejects(decryptWithPassphraseAsync(sync, utf8ToBytes('nope'), nobleAead, nodeScrypt), (e: { code?: string }) => e.code === 'AGE_PASSPHRASE');
    throwsCode(() => decryptWithPassphrase(async, utf8ToBytes('nope'), nobleAead), 'AGE_PASSPHRASE');
  });

  it(`opening a 2^${SCRYPT_WRITE_LOG_N} escrow leaves the event loop free to turn meanwhile`, async () => {
    const account = { authority: signingKeyFromSeed(random(32)), history: generateIdentity(random) };
    const phrase = newPassphrase(random);
    const escrow = await sealEscrowAsync(account, phrase, random);
    const delay = monitorEventLoopDelay({ resolution: 5 });
    // Ticks counted while the escrow opens: a blocked loop would count none until it is done.
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 10);
    delay.enable();
    const opened = await openEscrowAsync(escrow, phrase);
    delay.disable();
    clearInterval(ticker);
    assert.equal(opened.history, account.history);
    assert.equal(openEscrow(escrow, phrase).history, account.history, 'the sync path opens it too');
    // Run on the loop, scrypt would let no tick through until done. (No bound on time: a busy CPU stretches it.)
    assert.ok(ticks >= 3, `the loop turned ${ticks} times while scrypt ran`);
    console.log(`      event loop: ${ticks} ticks while the escrow opened; longest delay ${(delay.max / 1e6).toFixed(1)} ms`);
  });
});
