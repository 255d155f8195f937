/**
 * Live view from the doorbell firmware (src/app, the app every board runs) on the
 * Node host, set up by the phone tools and connected to the real relay over the
 * device's own WebSocket client. A phone in the roster watches through the relay
 * (`phoneLive`, `watchLive`) and gets decrypted frames; the camera's frames reach
 * live view with no clip recording, and a press while someone watches records a
 * clip too. A phone not in the roster is refused, by the relay and by the device.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { encodeAuthKey } from '../src/roster/roster.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { provision } from '../tools/provision.js';
import { phoneSetup, readPhone } from '../tools/phone/index.js';
import { phoneLogin, registerOnRelay } from '../tools/phone/relay-sync.js';
import { phoneLive, watchLive, type LiveResult } from '../tools/phone/live.js';
import { PhoneClient, phoneAuthKeyFromSeed } from '../tools/relay/phone-client.js';
import type { AppOptions } from '../src/app/app.js';
import { requireTool, run, seededRandom, tempDir } from './helpers.js';
import { freshPhone, type TestPhone } from './setup-fixtures.js';
import { ADMIN_TOKEN, closeRelays, expectApiError, startTestRelay } from './relay-helpers.js';
import { stopDoorbells, testDoorbell } from './app-helpers.js';
import type { NodeDoorbell } from '../hosts/node/doorbell.js';

type Rig = NodeDoorbell;

const JPEG_SOI = 'ffd8ff';

/** A Moddable doorbell set up by `phone`, registered on a relay, its uplink ready. */
async function setUpDoorbell(seed: string, options: AppOptions = {}): Promise<{ rig: Rig; phone: TestPhone; deviceId: string; devicePub: string; relayUrl: string }> {
  const relay = await startTestRelay();
  const prov = await provision({ out: tempDir(`${seed}-factory`), random: seededRandom(`${seed}/factory`) });
  const phone = freshPhone(seed);
  // without pre-roll (which keeps the camera running whenever a clip could start), frames are used only for live view and clips
  const rig = testDoorbell(prov, `${seed}/device`, { app: { preRoll: 0, ...options } });
  rig.boot();
  const outcome = await phoneSetup({ dir: phone.dir, endpoint: await rig.setupUrl(), code: prov.manualCode, wifi: { ssid: 'Home', password: 'correct horse battery' }, relayUrl: relay.url, account: phone.account, random: seededRandom(`${seed}/setup`) });
  await registerOnRelay({ dir: phone.dir, deviceId: outcome.deviceId, adminToken: ADMIN_TOKEN, account: phone.account });
  await rig.until(() => rig.app.uplink?.state === 'ready', 'uplink ready');
  // The relay lets phones in once it has stored the roster the doorbell reports after connecting
  // (slower on PostgreSQL): a login before that is refused, rightly.
  // (a try every 250 ms at most: logins count against the source's allowance of 20 a second)
  let nextTry = 0;
  const lettingIn = async () => {
    if (Date.now() < nextTry) return false;
    nextTry = Date.now() + 250;
    return phoneLogin(phone.dir, outcome.deviceId).then(() => true, () => false);
  };
  await rig.until(lettingIn, 'the relay lets the phone in (the doorbell reported its roster)');
  assert.ok(rig.app.live, 'live view is wired once the doorbell operates');
  return { rig, phone, deviceId: outcome.deviceId, devicePub: outcome.devicePublicKey, relayUrl: relay.url };
}

/** Runs `p` while the doorbell runs (simulated time, camera, real I/O). */
async function whileRunning<T>(rig: Rig, p: Promise<T>, what: string): Promise<T> {
  let done = false;
  const settled = p.finally(() => (done = true));
  settled.catch(() => {});
  await rig.runUntil(() => done, what, 3_600_000);
  return settled;
}

describe('the doorbell app: live view through the relay', function () {
  this.timeout(120_000);
  afterEach(async () => {
    await stopDoorbells();
    await closeRelays();
  });

  it('a roster phone watches with `phone live`: decrypted frames into a file ffprobe reads; the camera runs for it without a clip', async () => {
    requireTool('ffprobe');
    const { rig, phone } = await setUpDoorbell('mlive');
    assert.equal(rig.app.capturing, false, 'nobody watches, nothing records: frames are not used');
    const framesBefore = rig.frames;
    const out = path.join(tempDir('mlive-out'), 'live.mkv');
    const lines: string[] = [];
    const r = await whileRunning(rig, phoneLive({ dir: phone.dir, seconds: 1.5, out, log: (l) => lines.push(l), random: seededRandom('mlive/phone-live'), now: () => rig.now }), 'phone live');
    assert.equal(rig.app.doorbell.recording, false, 'no clip recorded meanwhile');
    assert.ok(r.frames >= 5, `${r.frames} frames`);
    assert.equal(r.ended, 'seconds');
    assert.equal(r.width, 160);
    assert.equal(r.height, 120);
    assert.deepEqual(r.dropped, { skipped: 0, replayed: 0, late: 0, stale: 0, forged: 0, closed: 0 });
    assert.ok(rig.frames - framesBefore >= r.frames, 'the camera ran while the phone watched');
    assert.ok(rig.logs.some((l) => /^live \S+: started for phone 1$/.test(l)), rig.logs.join('\n'));
    const probe = JSON.parse(run('ffprobe', ['-v', 'error', '-count_frames', '-show_streams', '-of', 'json', out])) as { streams: { codec_name: string; width: number; height: number; nb_read_frames: string }[] };
    assert.equal(probe.streams[0].codec_name, 'mjpeg');
    assert.equal(probe.streams[0].width, 160);
    assert.equal(probe.streams[0].height, 120);
    assert.equal(Number(probe.streams[0].nb_read_frames), r.frames);
    assert.ok(fs.statSync(out).size > 1000);
    // The phone left: the relay tells the device, which ends the session and stops using frames.
    await rig.runUntil(() => !rig.app.live!.active, 'the device notices the phone left');
    assert.equal(rig.app.capturing, false);
  });

  it('a press while the phone watches: the clip records and live view goes on, every record in order', async () => {
    const { rig, phone, deviceId, devicePub } = await setUpDoorbell('mlive-press', { clipDuration: 1000 });
    await rig.runUntil(() => rig.app.doorbell.pool.available > 0, 'a clip header');
    const client = await phoneLogin(phone.dir, deviceId);
    const frames: { ctr: number; data: Uint8Array }[] = [];
    let clipId: string | undefined;
    const watching = watchLive({
      client,
      identity: readPhone(phone.dir).identity,
      devicePub,
      seconds: 2,
      now: () => rig.now,
      onFrame: (f) => {
        frames.push({ ctr: f.ctr, data: f.data.slice() });
        if (frames.length === 3) clipId = rig.app.press('button', rig.now);
      },
    });
    const r = await whileRunning(rig, watching, 'watch');
    assert.ok(clipId, 'the press started a clip');
    await rig.runUntil(() => !rig.app.doorbell.recording, 'the clip ends');
    assert.ok(rig.logs.some((l) => l.startsWith(`clip ${clipId}: done,`)), rig.logs.slice(-10).join('\n'));
    assert.ok(r.frames >= 10, `${r.frames} frames`);
    assert.deepEqual(frames.map((f) => f.ctr), frames.map((_, i) => i), 'every record, in order');
    assert.ok(frames.every((f) => Buffer.from(f.data.subarray(0, 3)).toString('hex') === JPEG_SOI), 'decrypted frames are JPEGs');
    await rig.until(() => rig.app.spool.empty, 'the clip uploaded');
  });

  it('a phone not in the roster is refused: the relay does not let it in, and the device would not open a session for it', async () => {
    const { rig, phone, deviceId, devicePub, relayUrl } = await setUpDoorbell('mlive-refuse', { liveMaxDuration: 1500 });
    const stranger = freshPhone('mlive-stranger', 'stranger');
    const strangerAuth = phoneAuthKeyFromSeed(readPhone(stranger.dir).auth.secretKey);
    // 1. The relay knows the doorbell's roster: the stranger cannot log in to ask.
    await expectApiError(PhoneClient.login(relayUrl, deviceId, strangerAuth), 403, 'PHONE_NOT_ALLOWED');
    // 2. A relay that let it through anyway: the device refuses, sends no opening and keeps the camera idle.
    const live = rig.app.live!;
    const refused: string[] = [];
    const sent: string[] = [];
    live.attach({ sendLive: (s, kind) => sent.push(`${s}:${kind}`), refuseLive: (s, code) => refused.push(`${s}:${code}`), endLive: () => {} });
    live.onLiveRequest({ session: 'stranger1', phone: encodeAuthKey(ed25519.getPublicKey(readPhone(stranger.dir).auth.secretKey)), request: new Uint8Array(16).fill(7), time: rig.now, signature: new Uint8Array(64) }, rig.now);
    assert.deepEqual(refused, ['stranger1:LIVE_NOT_IN_ROSTER']);
    assert.deepEqual(sent, []);
    assert.equal(live.active, false);
    assert.equal(rig.app.capturing, false);
    live.attach(rig.app.uplink!);
    // 3. The roster's phone still gets its session, which the device ends on time (with its end record).
    const client = await phoneLogin(phone.dir, deviceId);
    const r: LiveResult = await whileRunning(rig, watchLive({ client, identity: readPhone(phone.dir).identity, devicePub, seconds: 60, now: () => rig.now }), 'watch until the device ends it');
    assert.equal(r.ended, 'timeout');
    assert.ok(r.frames >= 5 && r.frames <= 16, `${r.frames} frames in 1.5 s at 10 fps`);
    assert.equal(rig.app.live!.active, false);
  });

  it('while the relay connection is backed up, live frames are skipped, not queued', async () => {
    // a backlog limit below zero: the connection always counts as backed up
    const { rig, phone, deviceId, devicePub } = await setUpDoorbell('mlive-backlog', { liveBacklog: -1 });
    const client = await phoneLogin(phone.dir, deviceId);
    const r = await whileRunning(rig, watchLive({ client, identity: readPhone(phone.dir).identity, devicePub, seconds: 1, now: () => rig.now }), 'watch');
    assert.equal(r.width, 160, 'the session opened');
    assert.equal(r.frames, 0);
    assert.ok(rig.app.liveSkipped >= 5, `${rig.app.liveSkipped} frames skipped`);
  });
});
