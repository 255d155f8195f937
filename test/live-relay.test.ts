// Live view end to end on loopback: the real core (LiveSessions on the device's Uplink)
// through the real relay to the phone's receiver. Only roster phones get a session; a
// revoked phone loses it at its next session; what the relay handles is sealed (no JPEG);
// the session ends by timeout or when the phone leaves; the phone writes a file ffprobe reads.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { encodeAuthKey } from '../src/roster/roster.js';
import { SealbellError } from '../src/errors.js';
import { PhoneClient, publishRoster } from '../tools/relay/phone-client.js';
import { watchLive, type LiveResult } from '../tools/phone/live.js';
import { LiveFile } from '../tools/phone/live-file.js';
import { requireTool, run, tempDir } from './helpers.js';
import { closeRelays, expectApiError } from './relay-helpers.js';
import { alice, bob, liveSetUp, mallory, rosterBundle, rosterOf, watch } from './live-helpers.js';

const JPEG_SOI = Buffer.from([0xff, 0xd8, 0xff]);


describe('live view through the relay', function () {
  this.timeout(60_000);
  afterEach(closeRelays);


  it('a roster phone watches: frames arrive decrypted, in order; the session ends when the phone leaves', async () => {
    const env = await liveSetUp('live-basic');
    const w = await watch(env, alice, { frames: 5 });
    assert.equal(w.error, undefined, String(w.error));
    assert.ok(w.result);
    assert.ok(w.frames.length >= 5, `${w.frames.length} frames`);
    assert.deepEqual(w.frames.map((f) => f.ctr), w.frames.map((_, i) => i), 'every record, in order');
    assert.ok(w.frames.every((f) => Buffer.from(f.data.subarray(0, 3)).equals(JPEG_SOI)), 'decrypted frames are JPEGs');
    assert.equal(w.result.ended, 'seconds');
    assert.equal(w.result.width, 160);
    // the phone left: the relay told the device, which ended the session
    await env.pump(() => !env.sessions.active, 'the device notices the phone left');
    assert.equal(env.relay.live.sessions, 1);
  });

  it('the session ends by timeout with the device\'s end record', async () => {
    const env = await liveSetUp('live-timeout', { maxDuration: 1_000 });
    const w = await watch(env, alice, { frames: Infinity });
    assert.equal(w.error, undefined, String(w.error));
    assert.equal(w.result!.ended, 'timeout');
    assert.ok(w.frames.length >= 5 && w.frames.length <= 11, `${w.frames.length} frames in 1 s at 10 fps`);
    assert.equal(env.sessions.active, false);
  });

  it('a phone not in the roster cannot start or join: the relay refuses it, and so does the device', async () => {
    const env = await liveSetUp('live-not-in-roster');
    // 1. The relay knows the roster: Mallory cannot even log in.
    await expectApiError(PhoneClient.login(env.relay.url, env.dev.id, mallory.auth), 403, 'PHONE_NOT_ALLOWED');
    // 2. Joining another phone's session is not a thing: sessions are per socket, and a socket needs a login.
    // 3. Even a relay that lets Mallory through gets no opening from the device.
    const refused: string[] = [];
    const sent: string[] = [];
    env.sessions.attach({
      sendLive: (s, kind) => sent.push(`${s}:${kind}`),
      refuseLive: (s, code) => refused.push(`${s}:${code}`),
      endLive: () => {},
    });
    env.sessions.onLiveRequest({ session: 'forged1', phone: encodeAuthKey(mallory.auth.publicKey), request: new Uint8Array(16), time: env.clock.now, signature: new Uint8Array(64) }, env.clock.now);
    assert.deepEqual(refused, ['forged1:LIVE_NOT_IN_ROSTER']);
    assert.deepEqual(sent, []);
    env.sessions.attach(env.dev.uplink);
  });

  it('a revoked phone loses live view at its next session (and at once, the current one)', async () => {
    const env = await liveSetUp('live-revoke');
    const first = await watch(env, bob, { frames: 1 });
    assert.equal(first.error, undefined, String(first.error));
    assert.ok(first.frames.length > 0);
    // The owner revokes Bob while he watches again.
    const client = await PhoneClient.login(env.relay.url, env.dev.id, bob.auth);
    const frames: number[] = [];
    let outcome: LiveResult | SealbellError | undefined;
    void watchLive({ client, identity: bob.identity, devicePub: env.dev.identity.publicKeyText, seconds: 30, now: () => env.clock.now, onFrame: (f) => frames.push(f.ctr) }).then(
      (r) => (outcome = r),
      (e) => (outcome = e),
    );
    await env.pump(() => frames.length >= 3, 'Bob watches');
    await publishRoster(env.relay.url, env.dev.id, rosterBundle(rosterOf(env.dev.id, 2, [alice], rosterOf(env.dev.id, 1, [alice, bob]))));
    // The relay ends Bob's socket as soon as the owner's signed update arrives (REVOKED), and the
    // device ends the session when it takes the update.
    await env.pump(() => env.rosters.load()!.roster.epoch === 2 && outcome !== undefined && !env.sessions.active, 'the relay cuts Bob off and the device ends his session');
    assert.ok(outcome instanceof SealbellError, String(outcome));
    assert.equal(outcome.code, 'REVOKED');
    // His next session: the relay no longer lets him in (the device would refuse him too).
    await expectApiError(PhoneClient.login(env.relay.url, env.dev.id, bob.auth), 403, 'PHONE_NOT_ALLOWED');
    env.sessions.attach({ sendLive: () => assert.fail('no opening for a revoked phone'), refuseLive: (_s, code) => assert.equal(code, 'LIVE_NOT_IN_ROSTER'), endLive: () => {} });
    env.sessions.onLiveRequest({ session: 'again', phone: encodeAuthKey(bob.auth.publicKey), request: new Uint8Array(16), time: env.clock.now, signature: new Uint8Array(64) }, env.clock.now);
    env.sessions.attach(env.dev.uplink);
    // Alice still watches.
    const w = await watch(env, alice, { frames: 1 });
    assert.equal(w.error, undefined, String(w.error));
    assert.ok(w.frames.length > 0);
  });

  it('a doorbell that is offline: the phone is told so at once', async () => {
    const env = await liveSetUp('live-offline');
    env.dev.uplink.stop();
    await env.pump(() => true, 'nothing');
    const w = await watch(env, alice, { frames: 1 });
    assert.ok(w.error instanceof SealbellError, String(w.error));
    assert.equal(w.error.code, 'DEVICE_OFFLINE');
  });

  it('the relay handles only sealed records: a tap on the device\'s connection finds no JPEG', async () => {
    const env = await liveSetUp('live-tap', { tapDevice: true });
    const w = await watch(env, alice, { frames: 5 });
    assert.equal(w.error, undefined, String(w.error));
    assert.ok(w.frames.length >= 5);
    const seen = env.tapped!.bytes();
    const plain = w.frames.reduce((n, f) => n + f.data.length, 0);
    assert.ok(seen.length > plain, `the tap saw ${seen.length} bytes for ${plain} bytes of frames`);
    // A frame's first 32 bytes (start-of-image, JFIF header, tables): a needle random ciphertext cannot match by chance, as 3 bytes would.
    assert.equal(seen.indexOf(Buffer.from(w.frames[0].data.subarray(0, 32))), -1, 'no JPEG header in what the relay received');
    for (const f of w.frames.slice(0, 3)) assert.equal(seen.indexOf(Buffer.from(f.data.subarray(100, 132))), -1, 'no run of frame bytes');
    assert.ok(env.relay.live.bytesForwarded > plain, 'and the relay forwarded them on');
    // the same check finds a JPEG when there is one (the test can fail)
    assert.notEqual(Buffer.concat([seen, Buffer.from(w.frames[0].data)]).indexOf(Buffer.from(w.frames[0].data.subarray(0, 32))), -1);
    env.tapped!.close();
  });

  it('the phone writes a Matroska file ffprobe reads, with every frame', async () => {
    requireTool('ffprobe');
    const env = await liveSetUp('live-file');
    const out = path.join(tempDir('live-file'), 'live.mkv');
    const file = new LiveFile(out);
    const client = await PhoneClient.login(env.relay.url, env.dev.id, alice.auth);
    let done = false;
    const leave = new AbortController();
    let frames = 0;
    const p = watchLive({
      client,
      identity: alice.identity,
      devicePub: env.dev.identity.publicKeyText,
      seconds: 120, // a bound only: the phone leaves after 5 frames
      leave: leave.signal,
      now: () => env.clock.now,
      onOpen: (i) => file.begin(i.width, i.height, i.start),
      onFrame: (f) => {
        file.frame(f.data, f.time);
        if (++frames >= 5) leave.abort();
      },
    }).finally(() => (done = true));
    await env.pump(() => done, 'watch');
    const r = await p;
    file.close();
    assert.ok(r.frames >= 5);
    const probe = JSON.parse(run('ffprobe', ['-v', 'error', '-count_frames', '-show_streams', '-of', 'json', out])) as { streams: { codec_name: string; width: number; nb_read_frames: string }[] };
    assert.equal(probe.streams[0].codec_name, 'mjpeg');
    assert.equal(probe.streams[0].width, 160);
    assert.equal(Number(probe.streams[0].nb_read_frames), r.frames);
    assert.ok(fs.statSync(out).size > 1000);
  });
});
