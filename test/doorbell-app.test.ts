/**
 * The doorbell firmware (src/app, the app every board runs) end to end on the
 * Node host: the device's HTTP server and WebSocket client over Node sockets, its
 * flash spool on a NOR flash in RAM. A provisioned doorbell boots into setup; the
 * phone sets it up; the doorbell registers its roster with the relay; a press
 * records a clip from a real JPEG camera into the flash spool; it reaches the
 * relay; the phone downloads it and Debian `age -d` opens it. Then a long press
 * reopens setup, and a second one is a factory reset.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { FlashSpoolStorage } from '../src/uplink/flash-spool.js';
import { isSetUp } from '../src/setup/setup-mode.js';
import { VERIFIER_KEY } from '../src/setup/verifier-record.js';
import { hasIdentity } from '../src/device/identity.js';
import { provision } from '../tools/provision.js';
import { phoneSetup, readPhone } from '../tools/phone/index.js';
import { phoneLogin, registerOnRelay } from '../tools/phone/relay-sync.js';
import { requireTool, run, seededRandom, tempDir } from './helpers.js';
import { freshPhone } from './setup-fixtures.js';
import { ADMIN_TOKEN, closeRelays, startTestRelay } from './relay-helpers.js';
import { stopDoorbells, testDoorbell } from './app-helpers.js';

describe('the doorbell app on the Node host', function () {
  this.timeout(180_000);
  afterEach(async () => {
    await stopDoorbells();
    await closeRelays();
  });

  it('provisioned → setup → roster at the relay → press → clip in the flash spool → relay → phone → age -d', async () => {
    requireTool('age');
    const relay = await startTestRelay();
    const prov = await provision({ out: tempDir('app-factory'), random: seededRandom('app/factory') });
    const phone = freshPhone('app');
    const rig = testDoorbell(prov, 'app/device');
    rig.boot();
    assert.deepEqual(rig.store.get(VERIFIER_KEY), prov.verifierRecord, 'the provisioning record is installed at boot');
    assert.equal(rig.app.status, 'setup');
    assert.deepEqual(rig.ap, [`open sealbell-${rig.app.identity.deviceId.slice(0, 4)}`]);
    assert.equal(rig.app.press('button', rig.now), undefined, 'no roster yet: nothing to seal to');

    const url = await rig.setupUrl();
    const outcome = await phoneSetup({ dir: phone.dir, endpoint: url, code: prov.manualCode, wifi: { ssid: 'Home', password: 'correct horse battery' }, relayUrl: relay.url, account: phone.account, random: seededRandom('app/setup') });
    assert.equal(outcome.deviceId, rig.app.identity.deviceId);
    assert.equal(isSetUp(rig.store), true);
    await registerOnRelay({ dir: phone.dir, deviceId: outcome.deviceId, adminToken: ADMIN_TOKEN, account: phone.account });
    await rig.until(() => rig.app.uplink?.state === 'ready', 'uplink ready');
    assert.deepEqual(rig.ap.slice(1), ['close'], 'the access point closed after setup');
    await rig.runUntil(() => rig.app.doorbell.pool.available === rig.app.doorbell.pool.size, 'clip headers prepared');

    const clipId = rig.app.press('button', rig.now)!;
    assert.ok(clipId);
    await rig.runUntil(() => !rig.app.doorbell.recording, 'clip recorded');
    await rig.until(() => rig.app.spool.empty, 'clip uploaded');
    assert.ok(rig.lights.includes('recording') && rig.lights.includes('idle'));

    const client = await phoneLogin(phone.dir, outcome.deviceId);
    const out = tempDir('app-download');
    const got = await client.download(clipId, out, { devicePub: outcome.devicePublicKey });
    assert.equal(got.state, 'verified');
    assert.equal(got.checked, true);
    const plainFile = path.join(out, 'clip.mkv');
    run('age', ['-d', '-i', path.join(phone.dir, 'identity.key'), '-o', plainFile, got.age]);
    assert.equal(fs.readFileSync(plainFile).subarray(0, 4).toString('hex'), '1a45dfa3', 'a Matroska file');
    assert.ok(fs.statSync(got.age).size > 50_000);
    assert.equal(readPhone(phone.dir).recipient.startsWith('age1'), true);

    // A reboot (same store and flash) comes back set up and online, with the same identity.
    await rig.stop();
    const again = testDoorbell(prov, 'app/device-boot2', { from: { store: rig.store, flash: rig.flash, now: rig.now } });
    again.boot();
    assert.equal(again.app.identity.deviceId, outcome.deviceId);
    assert.equal(again.app.setup.state, 'closed');
    assert.equal(again.setupOpen, false);
    await again.until(() => again.app.uplink?.state === 'ready', 'uplink ready after a reboot');
  });

  it('long press reopens setup; a long press while it is open is a factory reset (new identity, spool wiped)', async () => {
    const prov = await provision({ out: tempDir('app-factory2'), random: seededRandom('app2/factory') });
    const phone = freshPhone('app2');
    const rig = testDoorbell(prov, 'app2/device');
    rig.boot();
    const first = rig.app.identity.deviceId;
    await phoneSetup({ dir: phone.dir, endpoint: await rig.setupUrl(), code: prov.manualCode, wifi: { ssid: 'Home', password: '' }, relayUrl: 'http://127.0.0.1:9', account: phone.account, random: seededRandom('app2/setup') });
    await rig.runUntil(() => rig.app.setup.state === 'closed' && !rig.setupOpen && rig.app.uplink !== undefined, 'operating');
    // the relay is unreachable (port 9): a clip waits in the flash spool
    await rig.runUntil(() => rig.app.doorbell.pool.available > 0, 'a header');
    assert.ok(rig.press());
    await rig.runUntil(() => !rig.app.doorbell.recording, 'clip recorded');
    assert.equal(rig.app.spool.empty, false);

    rig.longPress();
    assert.equal(rig.app.setup.state, 'open');
    assert.ok(rig.setupOpen, 'the setup endpoint is back');
    await rig.setupUrl();
    assert.equal(rig.app.identity.deviceId, first, 'reopening setup keeps the identity');
    rig.longPress();
    assert.notEqual(rig.app.identity.deviceId, first, 'factory reset: a new identity');
    assert.equal(isSetUp(rig.store), false);
    assert.equal(rig.app.setup.state, 'open', 'and setup is open for the new owner');
    assert.equal(rig.app.spool.empty, true, 'the old owner’s clips are gone');
    assert.deepEqual(new FlashSpoolStorage(rig.flash).list(), []);
    assert.deepEqual(rig.store.get(VERIFIER_KEY), prov.verifierRecord, 'the provisioning record stays');
  });

  it('makes no key before the platform says its RNG is ready (ESP32: the radio runs); then boots as usual', async () => {
    const prov = await provision({ out: tempDir('app-factory3'), random: seededRandom('app3/factory') });
    let ready = false;
    let prepared = 0;
    const rng = { ready: () => ready, prepare: () => void prepared++ };
    const rig = testDoorbell(prov, 'app3/device', { rng });
    rig.boot();
    assert.equal(prepared, 1, 'the app asked the platform to start its entropy source');
    assert.equal(hasIdentity(rig.store), false, 'no identity yet');
    assert.equal(rig.setupOpen, false, 'no setup (its SPAKE2+ share is a secret) yet');
    assert.equal(rig.press(), undefined);
    rig.longPress(); // ignored: nothing to reopen yet
    await rig.runUntil(() => rig.logs.includes('waiting for the hardware RNG before making keys'), 'the wait is logged', 1000);
    assert.equal(hasIdentity(rig.store), false, 'time passing alone does not make keys');
    ready = true;
    await rig.runUntil(() => rig.setupOpen, 'setup opens once the RNG is ready');
    assert.equal(hasIdentity(rig.store), true);
    assert.equal(rig.app.setup.state, 'open');
    await rig.setupUrl();
    // A doorbell that has its identity does not wait at the next boot.
    await rig.stop();
    ready = false;
    const again = testDoorbell(prov, 'app3/device-boot2', { from: { store: rig.store, flash: rig.flash, now: rig.now }, rng });
    again.boot();
    assert.equal(again.app.identity.deviceId, rig.app.identity.deviceId);
  });
});
