/**
 * Firmware updates end to end on the Node host: the project signs a release (sealbell release
 * sign), the owner authorizes it for one doorbell (phone update), the relay passes it down the
 * uplink, the doorbell app writes it into its inactive slot, restarts into it on trial, passes
 * its self-test (store opened, relay reached) and marks it valid; `phone firmware` shows what
 * runs. A release below the recorded security version and an image the relay altered are
 * refused with their codes, the running firmware untouched; a clip pressed during the update
 * still reaches the relay.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '../src/bytes.js';
import { encodeUpdateBundle } from '../src/update/bundle.js';
import { authorizeRelease } from '../src/update/release.js';
import { provision } from '../tools/provision.js';
import { phoneSetup } from '../tools/phone/index.js';
import { phoneLogin, registerOnRelay } from '../tools/phone/relay-sync.js';
import { phoneFirmware, phoneUpdate } from '../tools/phone/update.js';
import { releaseSign } from '../tools/release/command.js';
import { encodeSecretKey } from '../tools/release/keys.js';
import { relayJson } from '../tools/relay/client-http.js';
import { seededRandom, tempDir } from './helpers.js';
import { freshPhone } from './setup-fixtures.js';
import { ADMIN_TOKEN, closeRelays, startTestRelay } from './relay-helpers.js';
import { stopDoorbells, testDoorbell } from './app-helpers.js';
import { image, RELEASE_KEY } from './update-fixtures.js';

describe('firmware updates through the relay (the doorbell app on the Node host)', function () {
  this.timeout(180_000);
  afterEach(async () => {
    await stopDoorbells();
    await closeRelays();
  });

  it('a release signed by the release key and authorized by the owner installs, boots and is marked valid; refusals leave it running', async () => {
    const relay = await startTestRelay();
    const prov = await provision({ out: tempDir('update-factory'), random: seededRandom('update/factory') });
    const phone = freshPhone('update');
    const rig = testDoorbell(prov, 'update/device', { ota: { releaseKey: RELEASE_KEY.publicKey, slotSize: 256 * 1024 } });
    rig.boot();
    const outcome = await phoneSetup({ dir: phone.dir, endpoint: await rig.setupUrl(), code: prov.manualCode, wifi: { ssid: 'Home', password: 'correct horse battery' }, relayUrl: relay.url, account: phone.account, random: seededRandom('update/setup') });
    const deviceId = outcome.deviceId;
    await registerOnRelay({ dir: phone.dir, deviceId, adminToken: ADMIN_TOKEN, account: phone.account });
    await rig.until(() => rig.app.uplink?.state === 'ready', 'uplink ready');
    const before = await rig.until(async () => !!(await phoneFirmware(phone.dir, deviceId))[0].firmware, 'the doorbell reports its firmware').then(() => phoneFirmware(phone.dir, deviceId));
    assert.equal(before[0].firmware!.version, '0.0.0-sim');
    assert.equal(before[0].firmware!.security, 0);

    // The project signs a release with its key (files as `sealbell release` writes them).
    const work = tempDir('update-release');
    const keyFile = path.join(work, 'release.key');
    fs.writeFileSync(keyFile, encodeSecretKey(RELEASE_KEY), { mode: 0o600 });
    const imageFile = path.join(work, 'sealbell-1.1.0.bin');
    const img = image('relay v1.1.0', 100_000);
    fs.writeFileSync(imageFile, img);
    const signed = releaseSign({ image: imageFile, key: keyFile, board: 'node_sim', version: '1.1.0', security: 2 });

    // A clip pressed just before: it survives the update and reaches the relay.
    await rig.runUntil(() => rig.app.doorbell.pool.available > 0, 'a clip header prepared');
    const clip = rig.app.press('button', rig.now)!;
    await rig.runUntil(() => !rig.app.doorbell.recording, 'clip recorded');

    // The owner authorizes it for this doorbell (phone update) and the relay passes it on.
    const r = await phoneUpdate({ dir: phone.dir, deviceId, release: signed.signatureFile, image: imageFile, account: phone.account });
    assert.equal(r.status.state, 'pending');
    await rig.until(() => rig.restarts === 1 && rig.otaFlash!.firmware.version === '1.1.0', 'the doorbell restarts into 1.1.0');
    await rig.until(() => rig.otaFlash!.runningState() === 'valid', 'the new firmware passes its self-test');
    assert.deepEqual(rig.otaFlash!.image(rig.otaFlash!.running), img);
    assert.equal(rig.app.updater!.recordedSecurity, 2);
    await rig.until(async () => (await phoneFirmware(phone.dir, deviceId))[0].update?.state === 'done', 'the relay hears it runs 1.1.0');
    const after = (await phoneFirmware(phone.dir, deviceId))[0];
    assert.equal(after.firmware!.version, '1.1.0');
    assert.equal(after.firmware!.security, 2);
    assert.equal(after.firmware!.trial, false);
    await rig.until(() => rig.app.spool.empty, 'the clip from before the update reaches the relay');
    assert.equal((await (await phoneLogin(phone.dir, deviceId)).clip(clip)).state, 'verified');

    // A release below the recorded security version: refused by the doorbell, 1.1.0 keeps running.
    const oldFile = path.join(work, 'sealbell-1.0.9.bin');
    fs.writeFileSync(oldFile, image('relay v1.0.9', 60_000));
    const old = releaseSign({ image: oldFile, key: keyFile, board: 'node_sim', version: '1.0.9', security: 1 });
    await phoneUpdate({ dir: phone.dir, deviceId, release: old.manifestFile, image: oldFile, account: phone.account });
    await rig.until(async () => (await phoneFirmware(phone.dir, deviceId))[0].update?.state === 'refused', 'the doorbell refuses the downgrade');
    assert.equal((await phoneFirmware(phone.dir, deviceId))[0].update!.code, 'UPDATE_DOWNGRADE');

    // The relay alters the image (here: an upload that bypasses the phone's own check).
    const nextFile = path.join(work, 'sealbell-1.2.0.bin');
    const next = image('relay v1.2.0', 70_000);
    fs.writeFileSync(nextFile, next);
    const s2 = releaseSign({ image: nextFile, key: keyFile, board: 'node_sim', version: '1.2.0', security: 2 });
    const altered = next.slice();
    altered[50_000] ^= 0x80;
    const auth = authorizeRelease(s2.bytes, deviceId, phone.account.authority);
    await relayJson(relay.url, `v1/devices/${deviceId}/update`, {
      method: 'PUT',
      body: encodeUpdateBundle({ release: s2.bytes, releaseSignature: s2.signature, authorization: auth.bytes, authorizationSignature: auth.signature, image: altered }),
    });
    await rig.until(async () => (await phoneFirmware(phone.dir, deviceId))[0].update?.code === 'UPDATE_IMAGE_HASH', 'the doorbell refuses the altered image');
    assert.equal(rig.restarts, 1, 'no restart');
    assert.equal(rig.otaFlash!.firmware.version, '1.1.0');
    assert.equal(bytesToHex(sha256(rig.otaFlash!.image(rig.otaFlash!.running))), bytesToHex(sha256(img)), 'the running image is untouched');
  });
});
