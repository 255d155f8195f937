// Setup over the (simulated) access point, end to end: the real SetupMode, the
// phone's client, the Node endpoint on loopback; then the Doorbell seals to the
// roster it was given and the phone opens the clip. Wrong codes, lockout, long
// press, timeout, re-setup and factory reset.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { isSetUp, ATTEMPTS_KEY } from '../src/setup/setup-mode.js';
import { loadDeviceConfig } from '../src/setup/device-config.js';
import { RosterStore, recipientsOf } from '../src/roster/roster-store.js';
import { encodeMessage, parseMessage } from '../src/setup/messages.js';
import { MAX_ATTEMPTS, MAX_MESSAGE_BYTES, SETUP_WINDOW_MS } from '../src/setup/protocol.js';
import { VERIFIER_KEY } from '../src/setup/verifier-record.js';
import { phoneEnroll, phoneRevoke, phoneSetup, readPhone } from '../tools/phone/index.js';
import { signingKeyFromSeed } from '../src/minisign.js';
import { generateIdentity } from '../src/age/x25519.js';
import { recordClip, seededRandom, run, tempDir } from './helpers.js';
import {
  RELAY, T0, WIFI, ManualPhone, ask, doorbellFor, expectError, freshDevice, freshPhone, opens, rejectsCode, serve,
  snapshot, wrongCode, type TestDevice, type TestPhone,
} from './setup-fixtures.js';

function setup(d: TestDevice, phone: TestPhone, code = d.prov.manualCode, extra: { wifi?: typeof WIFI; seed?: string } = {}) {
  return phoneSetup({ dir: phone.dir, endpoint: d.transport, code, wifi: extra.wifi ?? WIFI, relayUrl: RELAY, account: phone.account, random: seededRandom(extra.seed ?? 'phone-setup') });
}

describe('setup over the access point', () => {
  it('fresh doorbell over HTTP on 127.0.0.1 → setup → the Doorbell seals to the roster and the phone opens the clip', async () => {
    const d = await freshDevice('flow');
    const phone = freshPhone('flow');
    const endpoint = await serve(d);
    try {
      assert.match(endpoint.url, /^http:\/\/127\.0\.0\.1:\d+\/setup$/);
      assert.equal(isSetUp(d.store), false);
      const outcome = await phoneSetup({ dir: phone.dir, endpoint: endpoint.url, code: d.prov.manualCode, wifi: WIFI, relayUrl: RELAY, account: phone.account, random: seededRandom('flow/setup') });
      assert.equal(d.mode.state, 'closed');
      assert.equal(isSetUp(d.store), true);
      assert.equal(d.results.length, 1);
      const result = d.results[0];
      assert.equal(result.identity.deviceId, outcome.deviceId);
      assert.deepEqual(loadDeviceConfig(d.store), { wifi: WIFI, relayUrl: RELAY, credential: result.config.credential });
      const stored = new RosterStore(d.store, outcome.deviceId).load()!;
      assert.equal(stored.roster.epoch, 1);
      assert.deepEqual(stored.roster.phones.map((p) => p.recipient), [phone.init.recipient]);
      assert.deepEqual(result.recipients, recipientsOf(stored.roster));
      assert.equal(result.recipients.recipients.length, 2, 'phone + account history recipient');
      // the phone kept the device key, the roster and the credential it gave the device
      const dd = path.join(phone.dir, 'devices', outcome.deviceId);
      assert.equal(fs.readFileSync(path.join(dd, 'device.pub'), 'utf8'), outcome.devicePublicKey);
      assert.equal(JSON.parse(fs.readFileSync(path.join(dd, 'device.json'), 'utf8')).credential, Buffer.from(result.config.credential).toString('base64'));
      // minisign verifies the roster with the account authority key, and the device's acknowledgement
      run('minisign', ['-Vm', path.join(dd, 'roster.json'), '-x', path.join(dd, 'roster.json.minisig'), '-p', path.join(phone.dir, 'authority.pub')]);
      fs.writeFileSync(path.join(dd, 'roster.ack.minisig'), outcome.ack);
      run('minisign', ['-Vm', path.join(dd, 'roster.json'), '-x', path.join(dd, 'roster.ack.minisig'), '-p', path.join(dd, 'device.pub')]);
      // the doorbell seals to the roster: the phone (and the account history key) open the clip
      const rig = doorbellFor(d.store, result.recipients, 'flow');
      assert.equal(rig.devicePub, outcome.devicePublicKey);
      const clip = recordClip(rig, T0 + 60_000, 8);
      assert.equal(opens(clip, readPhone(phone.dir).identity, outcome.devicePublicKey), true);
    } finally {
      await endpoint.close();
    }
  });

  it('the QR payload works too, and a QR code for another doorbell is refused before any guess', async () => {
    const d = await freshDevice('qr');
    const other = await freshDevice('qr-other');
    await rejectsCode(setup(d, freshPhone('qr'), other.prov.qrPayload), 'SETUP_WRONG_DEVICE');
    assert.equal(d.mode.attempts, 0);
    await setup(d, freshPhone('qr'), d.prov.qrPayload.toLowerCase());
    assert.equal(isSetUp(d.store), true);
  });

  it('a typo in the code is caught by its check digit on the phone, before the doorbell is asked', async () => {
    const d = await freshDevice('typo');
    const c = d.prov.code;
    const swapped = c.slice(0, 3) + c[4] + c[3] + c.slice(5);
    if (swapped !== c) await rejectsCode(setup(d, freshPhone('typo'), swapped), 'SETUP_CODE');
    await rejectsCode(setup(d, freshPhone('typo'), c.slice(0, 11)), 'SETUP_CODE');
    assert.equal(d.mode.attempts, 0);
  });

  it('wrong code: a clear error on the phone, counted on the doorbell, nothing stored', async () => {
    const d = await freshDevice('wrong');
    const before = snapshot(d.store);
    const e = await rejectsCode(setup(d, freshPhone('wrong'), wrongCode(d)), 'SETUP_WRONG_CODE');
    assert.match(e.message, /setup code is wrong, or someone is interfering/);
    assert.equal(d.mode.attempts, 1);
    assert.equal(d.mode.state, 'open');
    assert.equal(isSetUp(d.store), false);
    const after = snapshot(d.store);
    after.delete(ATTEMPTS_KEY);
    assert.deepEqual(after, before, 'only the attempt count changed');
  });

  it(`locks after ${MAX_ATTEMPTS} wrong codes, stays locked across a reboot, and a long press reopens it`, async () => {
    const d = await freshDevice('lock');
    const phone = freshPhone('lock');
    for (let i = 0; i < MAX_ATTEMPTS; i++) await rejectsCode(setup(d, phone, wrongCode(d, i)), 'SETUP_WRONG_CODE');
    assert.equal(d.mode.state, 'locked');
    // even the right code is refused now, before any SPAKE2+ work
    await rejectsCode(setup(d, phone), 'SETUP_LOCKED');
    assert.equal(d.mode.attempts, MAX_ATTEMPTS);
    d.reboot();
    d.mode.open(d.now);
    assert.equal(d.mode.state, 'locked', 'pulling the power does not buy more guesses');
    await rejectsCode(setup(d, phone), 'SETUP_LOCKED');
    d.mode.longPress(d.now);
    assert.equal(d.mode.state, 'open');
    assert.equal(d.mode.attempts, 0);
    await setup(d, phone);
    assert.equal(isSetUp(d.store), true);
  });

  it('a session abandoned after the doorbell answered SHARE_P counts as an attempt (its answer tests one guess)', async () => {
    const d = await freshDevice('abandon');
    const m = new ManualPhone(d, wrongCode(d));
    m.params();
    assert.equal(ask(d, m.shareMessage()).type, 'SHARE_V');
    assert.equal(d.mode.attempts, 1);
    m.params(); // a new session replaces it
    assert.equal(d.mode.attempts, 1);
    // the right code confirms and resets the count
    const ok = new ManualPhone(d, d.prov.code);
    ok.open();
    assert.equal(d.mode.attempts, 0);
  });

  it('a wrong CONFIRM_P is refused and ends the session', async () => {
    const d = await freshDevice('confirm');
    const m = new ManualPhone(d, d.prov.code);
    m.params();
    m.shareAndConfirm();
    const bad = m.confirmP.slice();
    bad[0] ^= 1;
    expectError(ask(d, encodeMessage({ type: 'CONFIRM_P', sessionId: m.sid, confirmP: bad })), 'SETUP_WRONG_CODE');
    assert.equal(d.mode.attempts, 1);
    // the genuine one is now too late: the session is over
    expectError(ask(d, encodeMessage({ type: 'CONFIRM_P', sessionId: m.sid, confirmP: m.confirmP })), 'SETUP_UNEXPECTED');
  });

  it('the window closes after its timeout; a long press reopens it', async () => {
    const d = await freshDevice('timeout');
    d.now += SETUP_WINDOW_MS;
    await rejectsCode(setup(d, freshPhone('timeout')), 'SETUP_CLOSED');
    assert.equal(d.mode.state, 'closed');
    d.mode.longPress(d.now);
    assert.equal(d.mode.deadline, d.now + SETUP_WINDOW_MS);
    await setup(d, freshPhone('timeout'));
  });

  it('a window that closes mid-session ends the session', async () => {
    const d = await freshDevice('midway');
    const m = new ManualPhone(d, d.prov.code);
    m.params();
    const confirm = m.shareAndConfirm();
    d.now += SETUP_WINDOW_MS + 1;
    expectError(ask(d, confirm), 'SETUP_CLOSED');
    assert.equal(isSetUp(d.store), false);
  });

  it('a doorbell that is not provisioned says so', async () => {
    const d = await freshDevice('unprovisioned');
    d.store.delete(VERIFIER_KEY);
    await rejectsCode(setup(d, freshPhone('unprovisioned')), 'SETUP_NOT_PROVISIONED');
  });

  it('re-setup by the owner (long press): new Wi-Fi, same authority, epoch + 1, the phones enrolled meanwhile kept', async () => {
    const d = await freshDevice('resetup');
    const phone = freshPhone('resetup');
    const first = await setup(d, phone);
    // a second phone enrolls; the doorbell takes the update (as the relay would deliver it)
    const bob = phoneEnroll({ dir: tempDir('bob'), passphrase: phone.init.passphrase, escrow: phone.init.escrow, rosters: [first.bundle], name: 'Bob', random: seededRandom('bob') });
    new RosterStore(d.store, first.deviceId).accept(bob.updates[0].bundle);
    d.mode.longPress(d.now);
    const wifi = { ssid: 'New Router', password: 'another long password' };
    const second = await setup(d, phone, d.prov.manualCode, { wifi, seed: 'second' });
    assert.equal(second.deviceId, first.deviceId);
    assert.equal(second.roster.roster.epoch, 3);
    assert.deepEqual(second.roster.roster.phones.map((p) => p.name), ['Bob', 'phone 1']);
    assert.deepEqual(loadDeviceConfig(d.store)?.wifi, wifi);
    assert.equal(d.results.length, 2);
    assert.deepEqual(d.results[1].recipients.recipients.length, 3);
  });

  it('re-setup after a revocation handed the account to a new authority: the new one sets it up, the old one cannot', async () => {
    const d = await freshDevice('resetup-handover');
    const phone = freshPhone('resetup-handover');
    const first = await setup(d, phone);
    const bob = phoneEnroll({ dir: tempDir('bob-h'), passphrase: phone.init.passphrase, escrow: phone.init.escrow, rosters: [first.bundle], name: 'Bob', random: seededRandom('bob-h') });
    const rosters = new RosterStore(d.store, first.deviceId);
    rosters.accept(bob.updates[0].bundle);
    // Bob is removed and the account rotated (what `phone revoke` does through the relay)
    const random = seededRandom('resetup-handover/rotate');
    const next = { authority: signingKeyFromSeed(random(32)), history: generateIdentity(random) };
    const [rev] = phoneRevoke({ dir: phone.dir, phone: 'Bob', account: phone.account, rosters: [bob.updates[0].bundle], rotate: next });
    rosters.accept(rev.bundle);
    d.mode.longPress(d.now);
    // the old authority (which Bob may hold) is another owner now
    await rejectsCode(setup(d, phone), 'SETUP_OTHER_OWNER');
    d.mode.longPress(d.now);
    const second = await setup(d, { ...phone, account: next }, d.prov.manualCode, { seed: 'second' });
    assert.equal(second.roster.roster.epoch, 4);
    assert.deepEqual(second.roster.roster.phones.map((p) => p.name), ['phone 1']);
    assert.equal(rosters.load()!.roster.epoch, 4);
  });

  it('someone with the code but another account cannot take over a doorbell that is set up', async () => {
    const d = await freshDevice('takeover');
    await setup(d, freshPhone('owner'));
    const stored = snapshot(d.store);
    d.mode.longPress(d.now);
    // the phone sees the doorbell belongs to another account and stops
    await rejectsCode(setup(d, freshPhone('intruder')), 'SETUP_OTHER_OWNER');
    // (a client that ignores DEVICE_INFO is refused by the doorbell itself: setup-channel.test.ts)
    const after = snapshot(d.store);
    after.delete(ATTEMPTS_KEY);
    assert.deepEqual(after, stored);
  });

  it('factory reset wipes identity, roster and settings but keeps the provisioning record; a new owner can then set it up', async () => {
    const d = await freshDevice('reset');
    const first = await setup(d, freshPhone('old-owner'));
    d.mode.factoryReset();
    assert.deepEqual([...d.store.map.keys()], [VERIFIER_KEY]);
    d.reboot();
    d.mode.open(d.now);
    const second = await setup(d, freshPhone('new-owner'));
    assert.notEqual(second.deviceId, first.deviceId, 'a new identity after a factory reset');
  });

  it('the HTTP endpoint: oversized bodies get 413 without being buffered, other methods and paths are refused', async () => {
    const d = await freshDevice('http');
    const endpoint = await serve(d);
    try {
      const big = await fetch(endpoint.url, { method: 'POST', body: new Uint8Array(MAX_MESSAGE_BYTES + 1) });
      assert.equal(big.status, 413);
      const m = parseMessage(new Uint8Array(await big.arrayBuffer()));
      assert.equal(m.type === 'ERROR' && m.code, 'SETUP_TOO_LARGE');
      assert.equal((await fetch(endpoint.url)).status, 405);
      assert.equal((await fetch(endpoint.url.replace('/setup', '/other'), { method: 'POST', body: 'x' })).status, 404);
      const garbage = await fetch(endpoint.url, { method: 'POST', body: new Uint8Array([1, 2, 3]) });
      assert.equal(garbage.status, 400);
      const g = parseMessage(new Uint8Array(await garbage.arrayBuffer()));
      assert.equal(g.type === 'ERROR' && g.code, 'SETUP_MALFORMED');
      assert.equal(d.mode.state, 'open');
    } finally {
      await endpoint.close();
    }
  });
});
