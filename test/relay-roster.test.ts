// Rosters through the relay: the doorbell tells the relay which signed roster it holds,
// and exactly that roster's phones may log in; an update signed by the account authority
// reaches the doorbell over its uplink (at once, or when it next connects); forged, stale
// and misdirected updates are refused and change nothing.
import assert from 'node:assert/strict';
import { utf8ToBytes } from '../src/bytes.js';
import { signRoster } from '../src/roster/roster.js';
import { encodeRosterRun } from '../src/roster/bundle.js';
import { signingKeyFromSeed, keyIdHex } from '../src/minisign.js';
import { recipientsOf, RosterStore } from '../src/roster/roster-store.js';
import { DeviceRoster } from '../src/roster/device-roster.js';
import { authorityDevices, phoneAuthKeyFromSeed, PhoneClient, publishRoster } from '../tools/relay/phone-client.js';
import { publishPhoneKeys } from '../tools/relay/owner-client.js';
import { MemoryStore, seededRandom } from './helpers.js';
import { closeRelays, drive, expectApiError, startTestRelay, T0, TestDevice, type Clock } from './relay-helpers.js';
import { alice, authority, bob, mallory, phone, rosterBundle, rosterOf } from './live-helpers.js';

const stanzas = (age: Uint8Array) => Buffer.from(age).toString('latin1').split('\n-> X25519 ').length - 1;

describe('rosters through the relay', function () {
  this.timeout(60_000);
  afterEach(closeRelays);

  const carol = phone('carol');

  async function setUp(seed: string) {
    const relay = await startTestRelay();
    const clock: Clock = { now: T0 };
    const kv = new MemoryStore();
    const dev = await TestDevice.create({
      seed,
      relay,
      clock,
      kv,
      roster: (identity, doorbell) => {
        const rosters = new RosterStore(kv, identity.deviceId);
        // what setup left: epoch 1 with Alice
        if (!rosters.load()) rosters.accept(rosterBundle(rosterOf(identity.deviceId, 1, [alice])), authority.publicKey);
        doorbell.setRecipients(recipientsOf(rosters.load()!.roster));
        return new DeviceRoster({
          rosters,
          identity,
          doorbell,
        });
      },
    });
    const rosters = new RosterStore(kv, dev.id);
    const epochHeld = async (epoch: number) => {
      await drive(clock, [dev], () => rosters.load()!.roster.epoch === epoch, { what: `device holds epoch ${epoch}` });
      // and the relay has heard so
      for (let i = 0; ; i++) {
        const held = await PhoneClient.login(relay.url, dev.id, phoneAuthKeyFromSeed(authority.secretKey))
          .then((c) => c.getRoster())
          .then((r) => r.held, () => 0);
        if (held === epoch) return;
        if (i === 300) throw new Error(`the relay did not hear of epoch ${epoch}: ${dev.log.join("; ")}`);
        await drive(clock, [dev], () => true);
      }
    };
    return { relay, clock, dev, rosters, epochHeld };
  }

  it('the doorbell tells its roster on connect: its phones (and the account authority) log in, nobody else', async () => {
    const { relay, dev, epochHeld } = await setUp('connect');
    await expectApiError(PhoneClient.login(relay.url, dev.id, alice.auth), 403, 'PHONE_NOT_ALLOWED');
    dev.uplink.start(T0);
    await epochHeld(1);
    await PhoneClient.login(relay.url, dev.id, alice.auth);
    await PhoneClient.login(relay.url, dev.id, phoneAuthKeyFromSeed(authority.secretKey));
    await expectApiError(PhoneClient.login(relay.url, dev.id, bob.auth), 403, 'PHONE_NOT_ALLOWED');
    // The plain phone list no longer applies to this device.
    await expectApiError(publishPhoneKeys(relay.url, dev.o.credential, dev.id, [bob.auth.publicKey]), 409, 'ROSTER_MANAGED');
    assert.deepEqual(await authorityDevices(relay.url, keyIdHex(authority.keyId)), [dev.id]);
  });

  it('an update signed by the authority reaches the doorbell at once; revoking ends the clip in progress and the login', async () => {
    const { relay, clock, dev, rosters, epochHeld } = await setUp('update');
    dev.uplink.start(clock.now);
    await epochHeld(1);

    const r1 = rosterOf(dev.id, 1, [alice]);
    const r2 = rosterOf(dev.id, 2, [alice, bob], r1);
    assert.equal(await publishRoster(relay.url, dev.id, rosterBundle(r2)), 2);
    await epochHeld(2);
    await PhoneClient.login(relay.url, dev.id, bob.auth);
    const both = dev.recordClip(clock.now + 1000, 3);
    assert.equal(stanzas(dev.sealedAge(both)), 2, 'the next clip is sealed to Alice and Bob');

    // Bob's phone is lost while someone is at the door.
    const during = dev.startClip(clock.now + 10_000);
    dev.addFrames(clock.now + 10_000, 1, 3);
    await publishRoster(relay.url, dev.id, rosterBundle(rosterOf(dev.id, 3, [alice], r2)));
    await epochHeld(3);
    assert.equal(dev.doorbell.recording, false, 'the clip sealed to Bob was ended when he was revoked');
    assert.ok(dev.sealed.clips.get(during)!.manifest, 'and closed properly');
    const after = dev.recordClip(clock.now + 20_000, 3);
    assert.equal(stanzas(dev.sealedAge(after)), 1, 'clips after the revocation are sealed to Alice only');
    await expectApiError(PhoneClient.login(relay.url, dev.id, bob.auth), 403, 'PHONE_NOT_ALLOWED');
    assert.equal(rosters.load()!.roster.epoch, 3);
  });

  it('forged, stale, misdirected and garbled updates are refused by the relay and change nothing', async () => {
    const { relay, clock, dev, rosters, epochHeld } = await setUp('forged');
    // Before the doorbell has told its roster, the relay cannot check an update: refused.
    const r1 = rosterOf(dev.id, 1, [alice]);
    await expectApiError(publishRoster(relay.url, dev.id, rosterBundle(rosterOf(dev.id, 2, [alice, carol], r1))), 409, 'NO_ROSTER');
    dev.uplink.start(clock.now);
    await epochHeld(1);
    const mallory = signingKeyFromSeed(seededRandom('roster-relay/mallory')(32));
    await expectApiError(publishRoster(relay.url, dev.id, rosterBundle(rosterOf(dev.id, 2, [carol], r1), mallory)), 403, 'ROSTER_SIGNATURE');
    await expectApiError(publishRoster(relay.url, dev.id, rosterBundle(r1)), 409, 'STALE_EPOCH');
    await expectApiError(publishRoster(relay.url, dev.id, rosterBundle(rosterOf(dev.id, 1, [alice, carol]))), 409, 'ROSTER_FORK');
    await expectApiError(publishRoster(relay.url, dev.id, rosterBundle(rosterOf(dev.id, 2, [alice, carol], rosterOf(dev.id, 1, [carol])))), 409, 'ROSTER_FORK');
    await expectApiError(publishRoster(relay.url, dev.id, rosterBundle(rosterOf(dev.id, 3, [alice, carol], r1))), 409, 'ROSTER_GAP');
    await expectApiError(publishRoster(relay.url, dev.id, rosterBundle(rosterOf('0123456789ABCDEF', 2, [carol], r1))), 400, 'ROSTER_DEVICE');
    await expectApiError(publishRoster(relay.url, dev.id, utf8ToBytes('SBR1 not a roster')), 400, 'ROSTER_FORMAT');
    await drive(clock, [dev], () => true);
    assert.equal(rosters.load()!.roster.epoch, 1);
    await expectApiError(PhoneClient.login(relay.url, dev.id, carol.auth), 403, 'PHONE_NOT_ALLOWED');
  });

  it('an update published while the doorbell is offline reaches it when it connects', async () => {
    const { relay, clock, dev, epochHeld } = await setUp('offline');
    dev.uplink.start(clock.now);
    await epochHeld(1);
    dev.uplink.stop();
    await publishRoster(relay.url, dev.id, rosterBundle(rosterOf(dev.id, 2, [alice, carol], rosterOf(dev.id, 1, [alice]))));
    // Carol cannot log in until the doorbell holds the roster that lists her.
    await expectApiError(PhoneClient.login(relay.url, dev.id, carol.auth), 403, 'PHONE_NOT_ALLOWED');
    dev.uplink.start(clock.now);
    await epochHeld(2);
    await PhoneClient.login(relay.url, dev.id, carol.auth);
  });

  it('updates published while the doorbell is offline build on what is pending (a run); it takes the run when it connects; a fork of the pending run is refused', async () => {
    const { relay, clock, dev, epochHeld } = await setUp('run');
    dev.uplink.start(clock.now);
    await epochHeld(1);
    dev.uplink.stop();
    const r1 = rosterOf(dev.id, 1, [alice]);
    const r2 = rosterOf(dev.id, 2, [alice, carol], r1);
    const r3 = rosterOf(dev.id, 3, [alice, carol, bob], r2);
    const r4 = rosterOf(dev.id, 4, [alice, bob], r3);
    assert.equal(await publishRoster(relay.url, dev.id, rosterBundle(r2)), 2);
    // another epoch 2 while one is pending: a fork
    await expectApiError(publishRoster(relay.url, dev.id, rosterBundle(rosterOf(dev.id, 2, [alice, bob], r1))), 409, 'ROSTER_FORK');
    // epoch 3 extends the pending run; so does a run of epoch 3 (again) and 4
    assert.equal(await publishRoster(relay.url, dev.id, rosterBundle(r3)), 3);
    // a run that skips a roster is refused whole
    await expectApiError(publishRoster(relay.url, dev.id, encodeRosterRun([r4, rosterOf(dev.id, 6, [alice], r4)].map((r) => signRoster(r, authority)))), 409, 'ROSTER_GAP');
    assert.equal(await publishRoster(relay.url, dev.id, encodeRosterRun([r3, r4].map((r) => signRoster(r, authority)))), 4);
    // at most 4 rosters wait for the doorbell
    const r5 = rosterOf(dev.id, 5, [alice, bob, mallory], r4);
    assert.equal(await publishRoster(relay.url, dev.id, rosterBundle(r5)), 5);
    await expectApiError(publishRoster(relay.url, dev.id, rosterBundle(rosterOf(dev.id, 6, [alice, bob], r5))), 409, 'PENDING_FULL');
    dev.uplink.start(clock.now);
    await epochHeld(5);
    await PhoneClient.login(relay.url, dev.id, bob.auth);
    await expectApiError(PhoneClient.login(relay.url, dev.id, carol.auth), 403, 'PHONE_NOT_ALLOWED');
  });
});
