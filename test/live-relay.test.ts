// Live view end to end on loopback: the real core (LiveSessions on the device's Uplink)
// through the real relay to the phone's receiver. Only roster phones get a session; a
// revoked phone loses it at its next session; what the relay handles is sealed (no JPEG);
// the session ends by timeout or when the phone leaves; the phone writes a file ffprobe reads.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { generateIdentity, identityToRecipient } from '../src/age/x25519.js';
import { signingKeyFromSeed, type SigningKey } from '../src/minisign.js';
import { encodeAuthKey, signRoster, type Roster } from '../src/roster/roster.js';
import { encodeRosterBundle } from '../src/roster/bundle.js';
import { recipientsOf, RosterStore } from '../src/roster/roster-store.js';
import { DeviceRoster } from '../src/roster/device-roster.js';
import { nobleAead } from '../src/crypto/noble.js';
import { LiveSessions } from '../src/live/sessions.js';
import { SealbellError } from '../src/errors.js';
import { SyntheticCamera } from '../hosts/node/camera.js';
import { phoneAuthKeyFromSeed, PhoneClient, publishRoster, type PhoneAuthKey } from '../tools/relay/phone-client.js';
import { watchLive, type LiveResult } from '../tools/phone/live.js';
import { LiveFile } from '../tools/phone/live-file.js';
import { MemoryStore, requireTool, run, seededRandom, tempDir } from './helpers.js';
import { closeRelays, drive, expectApiError, sleep, startTestRelay, T0, TestDevice, type Clock } from './relay-helpers.js';

interface Phone {
  name: string;
  identity: string;
  auth: PhoneAuthKey;
}

const phone = (name: string): Phone => ({
  name,
  identity: generateIdentity(seededRandom(`live-relay/${name}/age`)),
  auth: phoneAuthKeyFromSeed(seededRandom(`live-relay/${name}/auth`)(32)),
});

function rosterOf(device: string, epoch: number, phones: Phone[]): Roster {
  return {
    v: 1,
    device,
    epoch,
    phones: phones.map((p) => ({ name: p.name, recipient: identityToRecipient(p.identity), auth: encodeAuthKey(p.auth.publicKey) })),
    history: null,
  };
}

const bundle = (r: Roster, key: SigningKey) => encodeRosterBundle(signRoster(r, key));
const JPEG_SOI = Buffer.from([0xff, 0xd8, 0xff]);

/** A TCP pass-through that keeps every byte going either way (what a wiretap on the relay would see). */
async function tap(target: number): Promise<{ port: number; bytes: () => Buffer; close: () => void }> {
  const seen: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (d) => {
      seen.push(d);
      upstream.write(d);
    });
    upstream.on('data', (d) => {
      seen.push(d);
      client.write(d);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    bytes: () => Buffer.concat(seen),
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

describe('live view through the relay', function () {
  this.timeout(60_000);
  afterEach(closeRelays);

  const authority = signingKeyFromSeed(seededRandom('live-relay/authority')(32));
  const [alice, bob, mallory] = ['alice', 'bob', 'mallory'].map(phone);
  const camera = new SyntheticCamera({ width: 160, height: 120 });

  async function setUp(seed: string, o: { phones?: Phone[]; tapDevice?: boolean; maxDuration?: number } = {}) {
    const relay = await startTestRelay();
    const tapped = o.tapDevice ? await tap(relay.port) : undefined;
    const clock: Clock = { now: T0 };
    const kv = new MemoryStore();
    let sessions: LiveSessions | undefined;
    const uplinkUrl = tapped ? `ws://127.0.0.1:${tapped.port}/v1/uplink` : relay.uplinkUrl;
    const dev = await TestDevice.create({
      seed,
      relay: { url: relay.url, uplinkUrl },
      clock,
      kv,
      uplink: {
        live: {
          onLiveRequest: (r, now) => sessions!.onLiveRequest(r, now),
          onLiveStop: (s) => sessions!.onLiveStop(s),
          onLiveDisconnect: () => sessions!.onLiveDisconnect(),
        },
      },
      roster: (identity, doorbell) => {
        const rosters = new RosterStore(kv, identity.deviceId);
        if (!rosters.load()) rosters.accept(bundle(rosterOf(identity.deviceId, 1, o.phones ?? [alice, bob]), authority), authority.publicKey);
        doorbell.setRecipients(recipientsOf(rosters.load()!.roster));
        return new DeviceRoster({ rosters, identity, onChange: (r) => doorbell.setRecipients(recipientsOf(r.roster)) });
      },
    });
    const rosters = new RosterStore(kv, dev.id);
    sessions = new LiveSessions({
      aead: nobleAead,
      random: dev.random,
      identity: dev.identity,
      roster: () => rosters.load()?.roster,
      width: camera.width,
      height: camera.height,
      maxDuration: o.maxDuration,
    });
    sessions.attach(dev.uplink);
    dev.uplink.start(clock.now);
    await drive(clock, [dev], () => dev.uplink.state === 'ready', { what: 'connect' });
    // the relay has heard the roster: a roster phone can log in
    for (let i = 0; ; i++) {
      const ok = await PhoneClient.login(relay.url, dev.id, (o.phones ?? [alice])[0].auth).then(() => true, () => false);
      if (ok) break;
      if (i > 200) throw new Error('the relay never learnt the roster');
      await sleep(5);
    }
    let frameNo = 0;
    /** The camera runs while someone watches: one frame per 100 ms of simulated time, with real I/O in between. */
    const pump = async (until: () => boolean, what: string) => {
      for (let i = 0; i < 2000 && !until(); i++) {
        clock.now += 100;
        dev.uplink.tick(clock.now);
        if (sessions!.active) sessions!.frame(camera.capture(frameNo++, clock.now), clock.now);
        else sessions!.tick(clock.now);
        await sleep(3);
      }
      if (!until()) throw new Error(`did not happen: ${what}`);
    };
    return { relay, clock, dev, rosters, sessions, pump, tapped };
  }

  /** Watches for up to `seconds` (real time) while the camera pumps; resolves with the result and the frames. */
  async function watch(env: Awaited<ReturnType<typeof setUp>>, who: Phone, seconds: number, until?: (frames: number) => boolean) {
    const client = await PhoneClient.login(env.relay.url, env.dev.id, who.auth);
    const frames: { ctr: number; time: number; data: Uint8Array }[] = [];
    let done = false;
    let result: LiveResult | undefined;
    let error: unknown;
    const p = watchLive({
      client,
      identity: who.identity,
      devicePub: env.dev.identity.publicKeyText,
      seconds,
      onFrame: (f) => frames.push({ ...f, data: f.data.slice() }),
    }).then(
      (r) => (result = r),
      (e) => (error = e),
    ).finally(() => (done = true));
    await env.pump(() => done || (until !== undefined && until(frames.length)), 'the watch ends');
    if (!done) {
      // the phone's time is up: let it leave
      await p;
    }
    return { result, error, frames };
  }

  it('a roster phone watches: frames arrive decrypted, in order; the session ends when the phone leaves', async () => {
    const env = await setUp('live-basic');
    const w = await watch(env, alice, 1.5);
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
    const env = await setUp('live-timeout', { maxDuration: 1_000 });
    const w = await watch(env, alice, 30);
    assert.equal(w.error, undefined, String(w.error));
    assert.equal(w.result!.ended, 'timeout');
    assert.ok(w.frames.length >= 5 && w.frames.length <= 11, `${w.frames.length} frames in 1 s at 10 fps`);
    assert.equal(env.sessions.active, false);
  });

  it('a phone not in the roster cannot start or join: the relay refuses it, and so does the device', async () => {
    const env = await setUp('live-not-in-roster');
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
    env.sessions.onLiveRequest({ session: 'forged1', phone: encodeAuthKey(mallory.auth.publicKey), request: new Uint8Array(16) }, env.clock.now);
    assert.deepEqual(refused, ['forged1:LIVE_NOT_IN_ROSTER']);
    assert.deepEqual(sent, []);
    env.sessions.attach(env.dev.uplink);
  });

  it('a revoked phone loses live view at its next session (and at once, the current one)', async () => {
    const env = await setUp('live-revoke');
    const first = await watch(env, bob, 0.8);
    assert.equal(first.error, undefined, String(first.error));
    assert.ok(first.frames.length > 0);
    // The owner revokes Bob while he watches again.
    const client = await PhoneClient.login(env.relay.url, env.dev.id, bob.auth);
    const frames: number[] = [];
    let outcome: LiveResult | SealbellError | undefined;
    void watchLive({ client, identity: bob.identity, devicePub: env.dev.identity.publicKeyText, seconds: 30, onFrame: (f) => frames.push(f.ctr) }).then(
      (r) => (outcome = r),
      (e) => (outcome = e),
    );
    await env.pump(() => frames.length >= 3, 'Bob watches');
    await publishRoster(env.relay.url, env.dev.id, bundle(rosterOf(env.dev.id, 2, [alice]), authority));
    await env.pump(() => env.rosters.load()!.roster.epoch === 2 && outcome !== undefined, 'the device takes the update and ends Bob\'s session');
    assert.equal((outcome as LiveResult).ended, 'roster');
    // His next session: the relay no longer lets him in (the device would refuse him too).
    await expectApiError(PhoneClient.login(env.relay.url, env.dev.id, bob.auth), 403, 'PHONE_NOT_ALLOWED');
    env.sessions.attach({ sendLive: () => assert.fail('no opening for a revoked phone'), refuseLive: (_s, code) => assert.equal(code, 'LIVE_NOT_IN_ROSTER'), endLive: () => {} });
    env.sessions.onLiveRequest({ session: 'again', phone: encodeAuthKey(bob.auth.publicKey), request: new Uint8Array(16) }, env.clock.now);
    env.sessions.attach(env.dev.uplink);
    // Alice still watches.
    const w = await watch(env, alice, 0.6);
    assert.equal(w.error, undefined, String(w.error));
    assert.ok(w.frames.length > 0);
  });

  it('the relay handles only sealed records: a tap on the device\'s connection finds no JPEG', async () => {
    const env = await setUp('live-tap', { tapDevice: true });
    const w = await watch(env, alice, 1.2);
    assert.equal(w.error, undefined, String(w.error));
    assert.ok(w.frames.length >= 5);
    const seen = env.tapped!.bytes();
    const plain = w.frames.reduce((n, f) => n + f.data.length, 0);
    assert.ok(seen.length > plain, `the tap saw ${seen.length} bytes for ${plain} bytes of frames`);
    assert.equal(seen.indexOf(JPEG_SOI), -1, 'no JPEG start-of-image marker (FF D8 FF) in what the relay received');
    for (const f of w.frames.slice(0, 3)) assert.equal(seen.indexOf(Buffer.from(f.data.subarray(100, 132))), -1, 'no run of frame bytes');
    assert.ok(env.relay.live.bytesForwarded > plain, 'and the relay forwarded them on');
    // the same check finds a JPEG when there is one (the test can fail)
    assert.notEqual(Buffer.concat([seen, Buffer.from(w.frames[0].data)]).indexOf(JPEG_SOI), -1);
    env.tapped!.close();
  });

  it('the phone writes a Matroska file ffprobe reads, with every frame', async () => {
    requireTool('ffprobe');
    const env = await setUp('live-file');
    const out = path.join(tempDir('live-file'), 'live.mkv');
    const file = new LiveFile(out);
    const client = await PhoneClient.login(env.relay.url, env.dev.id, alice.auth);
    let done = false;
    const p = watchLive({
      client,
      identity: alice.identity,
      devicePub: env.dev.identity.publicKeyText,
      seconds: 1.2,
      onOpen: (i) => file.begin(i.width, i.height, i.start),
      onFrame: (f) => file.frame(f.data, f.time),
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
