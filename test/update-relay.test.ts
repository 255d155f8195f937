/**
 * Firmware updates end to end on the Node host: the project signs a release (sealbell release
 * sign), the owner authorizes it for one doorbell (phone update), the relay passes it down the
 * uplink, the doorbell app writes it into its inactive slot, restarts into it on trial, passes
 * its self-test (store opened, relay reached) and marks it valid; `phone firmware` shows what
 * runs. A release below the recorded security version and an image the relay altered are
 * refused with their codes, the running firmware untouched; a clip pressed during the update
 * still reaches the relay.
 *
 * Run again on PostgreSQL (relay-postgres-suite.test.ts), the doorbell stays on the first relay
 * process and the owner's phone uses a second one on the same database: the update the owner
 * publishes there reaches the doorbell's uplink, and its state comes back to the phone.
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
import { ADMIN_TOKEN, closeRelays, expectApiError, movePhoneToRelay, startSecondRelay, startTestRelay } from './relay-helpers.js';
import { stopDoorbells, testDoorbell } from './app-helpers.js';
import { ok, sealbell } from './cli-helpers.js';
import { image, RELEASE_KEY } from './update-fixtures.js';

describe('firmware updates through the relay (the doorbell app on the Node host)', function () {
  this.timeout(300_000); // the rollback's 15 simulated minutes took 150 s on PostgreSQL on a loaded machine
  afterEach(async () => {
    await stopDoorbells();
    await closeRelays();
  });

  /** A doorbell with A/B slots, set up by a phone and connected to a relay. */
  async function setUp(seed: string) {
    const relay = await startTestRelay();
    const prov = await provision({ out: tempDir('update-factory'), random: seededRandom(`${seed}/factory`) });
    const phone = freshPhone(seed);
    const rig = testDoorbell(prov, `${seed}/device`, { fps: 2, ota: { releaseKey: RELEASE_KEY.publicKey, slotSize: 256 * 1024 } }); // 2 fps: a 10-minute trial is 1,200 frames, not 6,000, on a busy machine
    rig.boot();
    const outcome = await phoneSetup({ dir: phone.dir, endpoint: await rig.setupUrl(), code: prov.manualCode, wifi: { ssid: 'Home', password: 'correct horse battery' }, relayUrl: relay.url, account: phone.account, random: seededRandom(`${seed}/setup`) });
    const deviceId = outcome.deviceId;
    await registerOnRelay({ dir: phone.dir, deviceId, adminToken: ADMIN_TOKEN, account: phone.account });
    await rig.until(() => rig.app.uplink?.state === 'ready', 'uplink ready');
    // The relay has recorded the roster the doorbell holds (nobody can authorize an update before).
    await rig.until(async () => ((await (await phoneLogin(phone.dir, deviceId)).heldRoster().catch(() => undefined))?.epoch ?? 0) > 0, 'the relay records the held roster');
    // On PostgreSQL the owner's phone uses a second relay process; the doorbell stays on the first.
    const second = await startSecondRelay(relay.dataDir);
    if (second) movePhoneToRelay(phone.dir, deviceId, second.url);
    const ownerRelay = second ?? relay;
    const work = tempDir('update-release');
    const keyFile = path.join(work, 'release.key');
    fs.writeFileSync(keyFile, encodeSecretKey(RELEASE_KEY), { mode: 0o600 });
    /** A release of a new image, signed as `sealbell release sign` does. */
    const sign = (version: string, security: number, size = 60_000) => {
      const file = path.join(work, `sealbell-${version}.bin`);
      const img = image(`relay v${version}`, size);
      fs.writeFileSync(file, img);
      return { file, img, ...releaseSign({ image: file, key: keyFile, board: 'node_sim', version, security }) };
    };
    const updateState = async () => (await phoneFirmware(phone.dir, deviceId))[0].update;
    return { relay, ownerRelay, phone, rig, deviceId, sign, updateState };
  }

  it('a release signed by the release key and authorized by the owner installs, boots and is marked valid; refusals leave it running', async () => {
    const { ownerRelay, phone, rig, deviceId, sign, updateState } = await setUp('update');
    const before = await rig.until(async () => !!(await phoneFirmware(phone.dir, deviceId))[0].firmware, 'the doorbell reports its firmware').then(() => phoneFirmware(phone.dir, deviceId));
    assert.equal(before[0].firmware!.version, '0.0.0-sim');
    assert.equal(before[0].firmware!.security, 0);

    // The project signs a release with its key (files as `sealbell release` writes them).
    const signed = sign('1.1.0', 2, 100_000);
    const { img, file: imageFile } = signed;
    const old = sign('1.0.9', 1);

    // Nobody but the account authority the doorbell holds can queue an update at the relay.
    const stranger = freshPhone('update/stranger');
    const forged = authorizeRelease(signed.bytes, deviceId, stranger.account.authority);
    await expectApiError(
      relayJson(ownerRelay.url, `v1/devices/${deviceId}/update`, {
        method: 'PUT',
        body: encodeUpdateBundle({ release: signed.bytes, releaseSignature: signed.signature, authorization: forged.bytes, authorizationSignature: forged.signature, image: img }),
      }),
      403,
      'UPDATE_AUTHORIZATION',
    );
    assert.equal(await updateState(), undefined, 'nothing queued');

    // A clip pressed just before: it survives the update and reaches the relay.
    await rig.runUntil(() => rig.app.doorbell.pool.available > 0, 'a clip header prepared');
    const clip = rig.app.press('button', rig.now)!;
    await rig.runUntil(() => !rig.app.doorbell.recording, 'clip recorded');

    // The owner authorizes it for this doorbell (sealbell phone update) and the relay passes it on.
    const env = { SEALBELL_PASSPHRASE: phone.init.passphrase };
    const wrong = await sealbell(['phone', 'update', '--dir', phone.dir, '--device', deviceId, signed.signatureFile, old.file], { env });
    assert.equal(wrong.status, 1);
    assert.match(wrong.stderr, /\[UPDATE_IMAGE_SIZE\]/, 'the phone checks the image against the release before signing anything');
    const out = ok(await sealbell(['phone', 'update', '--dir', phone.dir, '--device', deviceId, signed.signatureFile, imageFile], { env }));
    assert.match(out, /release 1\.1\.0 \(security 2\) authorized and queued/);
    assert.ok((await updateState())?.state, 'the relay keeps the update and its state');
    await rig.until(() => rig.restarts === 1 && rig.otaFlash!.firmware.version === '1.1.0', 'the doorbell restarts into 1.1.0');
    await rig.until(() => rig.otaFlash!.runningState() === 'valid', 'the new firmware passes its self-test');
    assert.deepEqual(rig.otaFlash!.image(rig.otaFlash!.running), img);
    assert.equal(rig.app.updater!.recordedSecurity, 2);
    await rig.until(async () => (await phoneFirmware(phone.dir, deviceId))[0].update?.state === 'done', 'the relay hears it runs 1.1.0');
    const after = (await phoneFirmware(phone.dir, deviceId))[0];
    assert.equal(after.firmware!.version, '1.1.0');
    assert.equal(after.firmware!.security, 2);
    assert.equal(after.firmware!.trial, false);
    assert.match(ok(await sealbell(['phone', 'firmware', '--dir', phone.dir])), new RegExp(`doorbell ${deviceId}: firmware 1\\.1\\.0 \\(node_sim\\), security 2, as of .*; update to 1\\.1\\.0 \\(security 2\\): done`));
    // phone status shows it too, beside the roster
    assert.match(ok(await sealbell(['phone', 'status', '--dir', phone.dir])), /  firmware: 1\.1\.0 \(node_sim\), security version 2; update to 1\.1\.0 \(security 2\): done/);
    await rig.until(() => rig.app.spool.empty, 'the clip from before the update reaches the relay');
    assert.equal((await (await phoneLogin(phone.dir, deviceId)).clip(clip)).state, 'verified');

    // A release below the recorded security version: refused by the doorbell, 1.1.0 keeps running.
    await phoneUpdate({ dir: phone.dir, deviceId, release: old.manifestFile, image: old.file, account: phone.account });
    await rig.until(async () => (await phoneFirmware(phone.dir, deviceId))[0].update?.state === 'refused', 'the doorbell refuses the downgrade');
    assert.equal((await phoneFirmware(phone.dir, deviceId))[0].update!.code, 'UPDATE_DOWNGRADE');

    // The relay alters the image (here: an upload that bypasses the phone's own check).
    const s2 = sign('1.2.0', 2, 70_000);
    const altered = s2.img.slice();
    altered[50_000] ^= 0x80;
    const auth = authorizeRelease(s2.bytes, deviceId, phone.account.authority);
    await relayJson(ownerRelay.url, `v1/devices/${deviceId}/update`, {
      method: 'PUT',
      body: encodeUpdateBundle({ release: s2.bytes, releaseSignature: s2.signature, authorization: auth.bytes, authorizationSignature: auth.signature, image: altered }),
    });
    await rig.until(async () => (await phoneFirmware(phone.dir, deviceId))[0].update?.code === 'UPDATE_IMAGE_HASH', 'the doorbell refuses the altered image');
    assert.equal(rig.restarts, 1, 'no restart');
    assert.equal(rig.otaFlash!.firmware.version, '1.1.0');
    assert.equal(bytesToHex(sha256(rig.otaFlash!.image(rig.otaFlash!.running))), bytesToHex(sha256(img)), 'the running image is untouched');
  });

  it('a new firmware that cannot reach the relay fails its self-test and the doorbell goes back to the previous one', async () => {
    const { relay, phone, rig, deviceId, sign, updateState } = await setUp('update-rollback');
    const port = Number(new URL(relay.url).port);
    const r = sign('2.0.0', 4);
    await phoneUpdate({ dir: phone.dir, deviceId, release: r.signatureFile, image: r.file, account: phone.account });
    // The relay goes away as soon as the image is written: the new firmware will not reach it.
    await rig.until(() => rig.logs.some((l) => l.includes('written and checked')), 'the image is written');
    await relay.close();
    await rig.until(() => rig.restarts === 1, 'the doorbell restarts into 2.0.0');
    assert.equal(rig.otaFlash!.firmware.version, '2.0.0');
    assert.equal(rig.otaFlash!.runningState(), 'trial');
    await rig.runUntil(() => rig.restarts === 2, 'the trial ends', 15 * 60_000, 1000);
    assert.equal(rig.otaFlash!.firmware.version, '0.0.0-sim', 'back on the previous firmware');
    assert.equal(rig.otaFlash!.runningState(), 'valid');
    assert.equal(rig.app.updater!.recordedSecurity, 0, 'the failed firmware never raised the security version');
    assert.ok(rig.logs.some((l) => l.includes('failed its self-test (relay not reached)')));
    // The relay comes back: it hears the doorbell runs the old firmware, and tells the owner.
    await startTestRelay(relay.dataDir, port);
    await rig.until(async () => (await updateState().catch(() => undefined))?.code === 'UPDATE_ROLLED_BACK', 'the owner learns the update rolled back');
    assert.equal((await phoneFirmware(phone.dir, deviceId))[0].firmware!.version, '0.0.0-sim');
  });
});
