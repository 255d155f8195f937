// `phone pq-upgrade`: a classic account moves to post-quantum keys with signed roster
// updates, one phone at a time; rosters never mix (phones not yet moved are left out until
// they move), the doorbell follows each update, and older clips stay readable.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { RosterStore, recipientsOf } from '../src/roster/roster-store.js';
import { decodeManifest } from '../src/clip/manifest.js';
import { phoneEnroll, phonePqUpgrade, phoneSetup, readPhone, unlockAccount, openEscrow } from '../tools/phone/index.js';
import { recordClip, seededRandom, tempDir } from './helpers.js';
import { RELAY, T0, WIFI, doorbellFor, freshDevice, freshPhone, opens, throwsCode } from './setup-fixtures.js';

describe('phone pq-upgrade: a classic account moves to post-quantum', function () {
  this.timeout(300_000);

  it('the account\'s phone moves first, the other phone follows; clips follow each roster, older clips stay readable', async () => {
    const d = await freshDevice('pq-upgrade');
    const alice = freshPhone('pq-upgrade-alice', 'Alice');
    const passphrase = alice.init.passphrase;
    const setup = await phoneSetup({ dir: alice.dir, endpoint: d.transport, code: d.prov.manualCode, wifi: WIFI, relayUrl: RELAY, account: alice.account, random: seededRandom('pq-upgrade/setup') });
    const rosters = new RosterStore(d.store, setup.deviceId);
    const rig = doorbellFor(d.store, d.results[0].recipients, 'pq-upgrade');
    const escrow = new Uint8Array(fs.readFileSync(alice.init.escrowPath));
    const bobDir = tempDir('pq-upgrade-bob');
    const enrolled = phoneEnroll({ dir: bobDir, passphrase, escrow, rosters: [setup.bundle], name: 'Bob', random: seededRandom('pq-upgrade/bob') });
    rig.doorbell.setRecipients(recipientsOf(rosters.accept(enrolled.updates[0].bundle).roster));
    const classicClip = recordClip(rig, T0 + 10_000, 3);
    const [aliceClassic, bobClassic] = [readPhone(alice.dir).identity, readPhone(bobDir).identity];
    const classicHistory = alice.account.history;

    // Bob cannot move the account: only the phone that can replace the escrow may
    throwsCode(() => phonePqUpgrade({ dir: bobDir, passphrase, escrow, rosters: [enrolled.updates[0].bundle], canReplaceEscrow: false, logN: 10 }), 'PHONE_STATE');
    assert.equal(readPhone(bobDir).identity, bobClassic, 'a refused upgrade changes nothing');

    // Alice moves the account and herself; Bob is left out until he moves
    const a = phonePqUpgrade({ dir: alice.dir, passphrase, escrow, rosters: [enrolled.updates[0].bundle], canReplaceEscrow: true, random: seededRandom('pq-upgrade/a'), logN: 10 });
    assert.ok(a.escrow, 'the account moved: a new escrow to upload');
    assert.deepEqual(a.waiting, ['Bob']);
    const account = openEscrow(a.escrow!, passphrase);
    assert.match(account.history, /^AGE-SECRET-KEY-PQ-1/);
    assert.deepEqual(account.previous, [classicHistory]);
    assert.deepEqual(unlockAccount(alice.dir, passphrase).previous, [classicHistory], 'the new escrow is kept on the phone too');
    const r1 = a.updates[0].roster.roster;
    assert.deepEqual(r1.phones.map((p) => p.name), ['Alice']);
    assert.match(r1.history!, /^age1pq1/);
    rig.doorbell.setRecipients(recipientsOf(rosters.accept(a.updates[0].bundle).roster));
    const aliceNow = readPhone(alice.dir);
    assert.match(aliceNow.identity, /^AGE-SECRET-KEY-PQ-1/);
    assert.deepEqual(aliceNow.previous, [aliceClassic]);
    const pqClip1 = recordClip(rig, T0 + 20_000, 3);
    assert.equal(decodeManifest(pqClip1.manifest).kem, 'mlkem768x25519');
    assert.equal(opens(pqClip1, aliceNow.identity, setup.devicePublicKey), true);
    assert.equal(opens(pqClip1, account.history, setup.devicePublicKey), true);
    assert.equal(opens(pqClip1, bobClassic, setup.devicePublicKey), false, 'Bob gets no new clips until he moves');
    assert.equal(opens(classicClip, aliceNow.previous![0], setup.devicePublicKey), true, 'older clips open with the kept classic key');
    throwsCode(() => phonePqUpgrade({ dir: alice.dir, passphrase, escrow: a.escrow!, rosters: [a.updates[0].bundle], canReplaceEscrow: true, logN: 10 }), 'PHONE_STATE');

    // Bob moves (the escrow and roster as the relay now has them); he is back in
    const b = phonePqUpgrade({ dir: bobDir, passphrase, escrow: a.escrow!, rosters: [a.updates[0].bundle], canReplaceEscrow: false, random: seededRandom('pq-upgrade/b'), logN: 10 });
    assert.equal(b.escrow, undefined);
    assert.deepEqual(b.waiting, []);
    assert.deepEqual(b.updates[0].roster.roster.phones.map((p) => p.name), ['Alice', 'Bob']);
    rig.doorbell.setRecipients(recipientsOf(rosters.accept(b.updates[0].bundle).roster));
    const pqClip2 = recordClip(rig, T0 + 30_000, 3);
    for (const id of [aliceNow.identity, readPhone(bobDir).identity, account.history]) assert.equal(opens(pqClip2, id, setup.devicePublicKey), true);
    assert.equal(opens(classicClip, readPhone(bobDir).previous![0], setup.devicePublicKey), true);

    // a phone enrolled now is post-quantum, like the account
    const carolDir = tempDir('pq-upgrade-carol');
    const c = phoneEnroll({ dir: carolDir, passphrase, escrow: a.escrow!, rosters: [b.updates[0].bundle], name: 'Carol', random: seededRandom('pq-upgrade/c') });
    assert.match(c.recipient, /^age1pq1/);
    assert.equal(rosters.accept(c.updates[0].bundle).roster.phones.length, 3);
  });
});
