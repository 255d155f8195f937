// The phone side: init (passphrase, account keys, escrow), enroll a second phone
// from the passphrase and escrow alone, revoke a phone; the doorbell takes each
// signed roster update, and clips recorded afterwards follow the roster.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Decrypter } from 'age-encryption';
import { validateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { generateIdentity, identityToRecipient } from '../src/age/x25519.js';
import { RosterStore, recipientsOf } from '../src/roster/roster-store.js';
import { phoneEnroll, phoneInit, phoneRevoke, phoneSetup, unlockAccount, readPhone, openEscrow } from '../tools/phone/index.js';
import { encodeAccount, parseAccount } from '../tools/phone/escrow.js';
import { signingKeyFromSeed } from '../src/minisign.js';
import { readRoster } from '../tools/phone/state.js';
import { recordClip, requireTool, seededRandom, tempDir } from './helpers.js';
import { RELAY, T0, WIFI, doorbellFor, freshDevice, freshPhone, opens, rejectsCode, stanzaCount, throwsCode } from './setup-fixtures.js';
import { ageDecryptWithPassphrase } from './tty.js';

describe('phone: init, enroll, revoke', function () {
  this.timeout(300_000);

  it('init: 12-word passphrase shown once, keys in 0600 files, escrow at 2^18 that age-encryption and Debian age open', async () => {
    const dir = tempDir('phone-init');
    const r = phoneInit(dir, { name: 'Alice', random: seededRandom('init') });
    assert.equal(r.passphrase.split(' ').length, 12);
    assert.ok(validateMnemonic(r.passphrase, wordlist));
    for (const f of ['identity.key', 'phone.json', 'escrow.age']) {
      assert.equal(fs.statSync(path.join(dir, f)).mode & 0o777, 0o600, f);
      assert.ok(!fs.readFileSync(path.join(dir, f), 'utf8').includes(r.passphrase), `${f} holds the passphrase`);
    }
    // The account keys are not kept in the clear: a stolen phone cannot sign rosters or use the history key.
    const account = unlockAccount(dir, r.passphrase);
    const secretsAtRest = fs.readdirSync(dir).filter((f) => f !== 'escrow.age').map((f) => fs.readFileSync(path.join(dir, f)));
    for (const [what, secret] of [['authority', Buffer.from(account.authority.secretKey).toString('base64')], ['history', account.history]]) {
      assert.ok(secretsAtRest.every((b) => !b.includes(secret)), `the account ${what} key is on disk in the clear`);
    }
    throwsCode(() => unlockAccount(dir, 'legal winner thank year wave sausage worth useful legal winner thank yellow'), 'AGE_PASSPHRASE');
    throwsCode(() => phoneInit(dir), 'PHONE_EXISTS');
    const escrow = fs.readFileSync(r.escrowPath);
    assert.match(escrow.subarray(0, 120).toString(), /-> scrypt \S+ 18\n/);
    // age-encryption (npm)
    const d = new Decrypter();
    d.addPassphrase(r.passphrase);
    const viaNpm = parseAccount(await d.decrypt(escrow));
    assert.deepEqual(viaNpm.authority.publicKey, account.authority.publicKey);
    assert.equal(viaNpm.history, account.history);
    // Debian age, passphrase typed into a pseudo-terminal
    requireTool('age');
    const viaCli = parseAccount(new TextEncoder().encode(await ageDecryptWithPassphrase(r.escrowPath, r.passphrase)));
    assert.equal(viaCli.history, account.history);
    // ours, with the passphrase typed sloppily
    assert.equal(openEscrow(escrow, '  ' + r.passphrase.toUpperCase().replace(/ /g, '   ') + '\n').history, account.history);
    throwsCode(() => openEscrow(escrow, r.passphrase.split(' ').reverse().join(' ')), 'PASSPHRASE_TYPO');
  });

  it('the escrow after a revocation: the new keys and the rotated-away ones round-trip; malformed lists are ESCROW_FORMAT', () => {
    const random = seededRandom('escrow-previous');
    const key = () => signingKeyFromSeed(random(32));
    const a = { authority: key(), history: generateIdentity(random), previous: [generateIdentity(random)], previousAuthorities: [key()] };
    const back = parseAccount(encodeAccount(a));
    assert.deepEqual(back.authority.publicKey, a.authority.publicKey);
    assert.deepEqual(back.previous, a.previous);
    assert.deepEqual(back.previousAuthorities!.map((k) => k.publicKey), a.previousAuthorities.map((k) => k.publicKey));
    const plain = parseAccount(encodeAccount({ authority: a.authority, history: a.history }));
    assert.equal(plain.previous, undefined);
    assert.equal(plain.previousAuthorities, undefined);
    const text = new TextDecoder().decode(encodeAccount(a));
    for (const bad of [
      text.replace(/"previousAuthorities":\[.*\]/, '"previousAuthorities":{}'),
      text.replace(/"previousAuthorities":\[("[^"]+")\]/, (_m, one: string) => `"previousAuthorities":[${Array(5).fill(one).join(',')}]`),
      text.replace(/"previousAuthorities":\["[^"]+"/, '"previousAuthorities":["AAAA"'),
      text.replace(/"previous":\["[^"]+"/, '"previous":["AGE-SECRET-KEY-1X"'),
      text.replace('"previous"', '"earlier"'),
    ]) throwsCode(() => parseAccount(new TextEncoder().encode(bad)), 'ESCROW_FORMAT');
  });

  it('enroll by passphrase, then revoke: the doorbell follows each signed roster; clips recorded afterwards follow it too', async () => {
    const d = await freshDevice('enroll');
    const alice = freshPhone('alice', 'Alice');
    const setup = await phoneSetup({ dir: alice.dir, endpoint: d.transport, code: d.prov.manualCode, wifi: WIFI, relayUrl: RELAY, account: alice.account, random: seededRandom('enroll/setup') });
    const deviceId = setup.deviceId;
    const rosters = new RosterStore(d.store, deviceId);
    const rig = doorbellFor(d.store, d.results[0].recipients, 'enroll');
    const account = alice.account;
    const history = account.history;
    const aliceId = readPhone(alice.dir).identity;
    const before = recordClip(rig, T0 + 10_000, 5);
    assert.equal(stanzaCount(before), 2);

    // Bob: only the passphrase and the escrow bytes (and the current roster, from the relay)
    const bobDir = tempDir('bob');
    const escrow = new Uint8Array(fs.readFileSync(alice.init.escrowPath));
    await rejectsCode(Promise.resolve().then(() => phoneEnroll({ dir: bobDir, passphrase: 'legal winner thank year wave sausage worth useful legal winner thank yellow', escrow, rosters: [setup.bundle], name: 'Bob' })), 'AGE_PASSPHRASE');
    const enrolled = phoneEnroll({ dir: bobDir, passphrase: alice.init.passphrase, escrow, rosters: [setup.bundle], name: 'Bob', random: seededRandom('bob') });
    assert.equal(enrolled.updates.length, 1);
    const up = enrolled.updates[0];
    assert.equal(up.roster.roster.epoch, 2);
    assert.deepEqual(up.roster.roster.phones.map((p) => p.name), ['Alice', 'Bob']);
    const r2 = rosters.accept(up.bundle);
    rig.doorbell.setRecipients(recipientsOf(r2.roster));
    const bobId = readPhone(bobDir).identity;
    const both = recordClip(rig, T0 + 20_000, 5);
    assert.equal(stanzaCount(both), 3);
    for (const id of [aliceId, bobId, history]) assert.equal(opens(both, id, setup.devicePublicKey), true);
    assert.equal(opens(before, bobId, setup.devicePublicKey), false, 'Bob reads older clips only through the history key');

    // Alice's phone is stolen: Bob revokes it
    const bobAccount = unlockAccount(bobDir, alice.init.passphrase);
    throwsCode(() => phoneRevoke({ dir: bobDir, phone: 'Mallory', account: bobAccount }), 'PHONE_NOT_FOUND');
    const [rev] = phoneRevoke({ dir: bobDir, phone: 'Alice', account: bobAccount });
    assert.equal(rev.roster.roster.epoch, 3);
    const r3 = rosters.accept(rev.bundle);
    rig.doorbell.setRecipients(recipientsOf(r3.roster));
    const after = recordClip(rig, T0 + 30_000, 5);
    assert.equal(stanzaCount(after), 2, 'Bob and the history recipient');
    assert.ok(!new TextDecoder().decode(after.age.subarray(0, 400)).includes(identityToRecipient(aliceId)));
    assert.equal(opens(after, aliceId, setup.devicePublicKey), false, 'the revoked phone cannot open a clip recorded after');
    assert.equal(opens(after, bobId, setup.devicePublicKey), true);
    assert.equal(opens(both, aliceId, setup.devicePublicKey), true, 'clips from before stay readable to it (they were sealed to it)');

    // the older updates, replayed (e.g. by the relay), are refused; the doorbell keeps epoch 3
    for (const old of [setup.bundle, up.bundle]) {
      throwsCode(() => rosters.accept(old), 'ROSTER_EPOCH');
      assert.equal(rosters.load()!.roster.epoch, 3);
    }
    // a tampered update (Alice re-added by editing the roster) is refused
    const tampered = new TextDecoder('latin1').decode(rev.bundle).replace('"epoch":3', '"epoch":4');
    throwsCode(() => rosters.accept(Uint8Array.from(tampered, (c) => c.charCodeAt(0))), 'ROSTER_SIGNATURE');
    assert.equal(rosters.load()!.roster.epoch, 3);
    // and the last phone cannot be removed (nobody could watch)
    throwsCode(() => phoneRevoke({ dir: bobDir, phone: 'Bob', account: bobAccount }), 'PHONE_LAST');
    // Bob's kept roster is the newest
    assert.equal(readRoster(bobDir, deviceId, account.authority.publicKey)!.roster.epoch, 3);
  });

  it('enroll refuses a roster not signed by the escrowed authority', async () => {
    const a = freshPhone('acct-a');
    const b = freshPhone('acct-b');
    const d = await freshDevice('enroll-other');
    const s = await phoneSetup({ dir: b.dir, endpoint: d.transport, code: d.prov.manualCode, wifi: WIFI, relayUrl: RELAY, account: b.account, random: seededRandom('o') });
    throwsCode(() => phoneEnroll({ dir: tempDir('c'), passphrase: a.init.passphrase, escrow: a.init.escrow, rosters: [s.bundle], name: 'C' }), 'ROSTER_SIGNATURE');
  });
});
