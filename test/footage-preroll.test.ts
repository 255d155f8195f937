// Pre-roll (src/device/preroll.ts): the doorbell keeps the last seconds of frames in one host
// buffer used as a ring, and a trigger seals them into the clip ahead of what follows. The ready
// header stays ready (segment 0 at once), the first chunk leaves at the trigger, the rest of the
// pre-roll is sealed in idle time; the manifest says how much pre-roll the clip holds and what
// triggered it; the poster is the frame at the trigger.
import assert from 'node:assert/strict';
import path from 'node:path';
import { SyntheticCamera } from '../hosts/node/camera.js';
import { nobleBackend } from '../src/crypto/noble.js';
import { Doorbell } from '../src/device/doorbell.js';
import { PreRoll } from '../src/device/preroll.js';
import { loadOrCreateIdentity } from '../src/device/identity.js';
import { generateIdentity, identityToRecipient } from '../src/age/x25519.js';
import { decodeManifest, encodeManifest, type ClipManifest } from '../src/clip/manifest.js';
import { ClipOpener } from '../src/clip/opener.js';
import { verifySignedManifest } from '../src/clip/signed-manifest.js';
import { decodePublicKey } from '../src/minisign.js';
import { provision } from '../tools/provision.js';
import { phoneSetup, readPhone } from '../tools/phone/index.js';
import { phoneLogin, registerOnRelay } from '../tools/phone/relay-sync.js';
import { checkClip } from '../tools/clip-check.js';
import { errorCode, fakeFrame, MemorySink, MemoryStore, requireTool, run, seededRandom, tempDir } from './helpers.js';
import { freshPhone } from './setup-fixtures.js';
import { ADMIN_TOKEN, closeRelays, startTestRelay } from './relay-helpers.js';
import { stopDoorbells, testDoorbell } from './app-helpers.js';
import type { Alloc } from '../src/host.js';

describe('pre-roll: the seconds before the trigger', function () {
  this.timeout(180_000);
  afterEach(stopDoorbells);
  after(closeRelays);

  it('the ring: one host allocation; the newest unbroken run reaching the duration back; wraps evict the oldest', function () {
    const allocs: number[] = [];
    const alloc: Alloc = (n) => (allocs.push(n), new Uint8Array(n));
    const ring = new PreRoll({ duration: 3000, capacity: 40_000, alloc });
    assert.deepEqual(allocs, [40_000], 'one buffer of host memory, made once');
    const t0 = 1_800_000_000_000;
    const sizes: number[] = [];
    for (let i = 0; i < 200; i++) {
      const size = 900 + ((i * 7919) % 1700); // 900–2599 bytes: the ring wraps at odd places
      sizes.push(size);
      ring.push(fakeFrame(i, size), t0 + i * 100);
      const held = ring.frames(t0 + i * 100);
      // unbroken and newest: consecutive frames ending with this one, each byte for byte
      held.forEach((f, k) => {
        const n = i - (held.length - 1 - k);
        assert.equal(f.time, t0 + n * 100);
        assert.deepEqual(f.data, fakeFrame(n, sizes[n]));
      });
      const span = held[held.length - 1].time - held[0].time;
      const bytes = held.reduce((a, f) => a + f.data.length, 0);
      assert.ok(bytes <= 40_000);
      // 3 s back whenever it has seen 3 s and the ring is large enough for that run
      const wanted = sizes.slice(Math.max(0, i - 30), i + 1).reduce((a, b) => a + b, 0);
      if (i >= 30 && wanted <= 40_000 - 2600) assert.ok(span >= 3000, `frame ${i}: ${span} ms held`);
      assert.ok(span <= 3000, 'no older frame than needed');
    }
    assert.equal(allocs.length, 1);
    // a frame larger than the ring empties it (what it held no longer reaches the trigger)
    ring.push(new Uint8Array(50_000), t0 + 200 * 100);
    assert.equal(ring.count, 0);
    assert.equal(ring.tooLarge, 1);
  });

  const phone = generateIdentity(seededRandom('pre-roll phone'));
  function rig(seed: string, preRollMs = 3000) {
    const random = seededRandom(seed);
    const sink = new MemorySink();
    const identity = loadOrCreateIdentity(new MemoryStore(), random);
    const preRoll = new PreRoll({ duration: preRollMs, capacity: 1536 * 1024 });
    const doorbell = new Doorbell({ backend: nobleBackend, random, identity, sink, width: 640, height: 480, clipDuration: 2000, preRoll });
    doorbell.setRecipients({ epoch: 1, recipients: [identityToRecipient(phone)] });
    while (doorbell.idle());
    return { sink, identity, doorbell };
  }

  it('a press seals ≥ 3 s of frames before it: the first chunk leaves at the press, the rest in idle time; manifest and poster say where the trigger is', function () {
    const { sink, identity, doorbell } = rig('pre-roll clip');
    const camera = new SyntheticCamera({ width: 640, height: 480 });
    const shots = new Map<number, Uint8Array>();
    let now = Date.UTC(2026, 11, 3, 8, 0, 0);
    let n = 0;
    const shoot = () => {
      now += 100;
      shots.set(now, camera.capture(n++, now));
      doorbell.frame(shots.get(now)!, now);
    };
    for (let i = 0; i < 50; i++) shoot(); // 5 s of the camera before anyone comes
    const triggerFrame = now;
    const id = doorbell.press(now + 40, 'press'); // the press, 40 ms after the last frame
    const clip = sink.clips.get(id)!;
    assert.ok(clip.segments.length >= 2, 'segment 0 and the first full chunk left at the press');
    assert.equal(clip.segments[1].length, 65_552);
    assert.equal(clip.segments.length, 2, 'only the first chunk at the press: the rest waits for idle time');
    while (doorbell.idle()); // the app's idle ticks: the remaining pre-roll is sealed
    while (doorbell.recording) shoot();
    const manifest = decodeManifest(clip.manifest);
    assert.equal(manifest.trigger, 'press');
    assert.equal(manifest.start + manifest.preRoll!, triggerFrame, 'the trigger frame is at start + preRoll');
    assert.ok(manifest.preRoll! >= 3000, `${manifest.preRoll} ms of pre-roll`);
    assert.ok(manifest.start <= triggerFrame - 3000, 'the clip starts ≥ 3 s before the trigger frame');
    const times: number[] = [];
    const opener = new ClipOpener({
      backend: nobleBackend,
      identities: [phone],
      manifest: verifySignedManifest(clip.manifest, clip.signature, decodePublicKey(identity.publicKeyText)),
      onFrame: (f) => {
        times.push(manifest.start + f.timestamp);
        assert.deepEqual(f.data, shots.get(manifest.start + f.timestamp), 'each frame is the camera\'s, at its time');
      },
    });
    opener.push(clip.age);
    const opened = opener.end();
    assert.deepEqual(opened.poster, shots.get(triggerFrame), 'the poster is the frame at the trigger');
    assert.deepEqual(times, [...times].sort((a, b) => a - b), 'in order');
    assert.deepEqual(times.map((t, i) => (i === 0 ? 100 : t - times[i - 1])).filter((d) => d !== 100), [], 'no frame missing between the pre-roll and what followed');
    assert.equal(times[0], manifest.start);
  });

  it('a frame arriving before idle time has sealed the pre-roll waits its turn; finishing a clip early seals the pre-roll first', function () {
    const { sink, doorbell } = rig('pre-roll order');
    let now = 1_800_000_000_000;
    for (let i = 1; i <= 40; i++) doorbell.frame(fakeFrame(i, 6000), (now += 100));
    const id = doorbell.press((now += 10), 'pir');
    doorbell.frame(fakeFrame(41, 6000), (now += 90)); // no idle time in between
    doorbell.finishClip();
    const clip = sink.clips.get(id)!;
    const m = decodeManifest(clip.manifest);
    assert.equal(m.trigger, 'pir');
    const seen: number[] = [];
    const opener = new ClipOpener({ backend: nobleBackend, identities: [phone], onFrame: (f) => seen.push(f.data[2]) });
    opener.push(clip.age);
    assert.equal(opener.end().frames, m.frames);
    // frames 10–40 (3 s back from frame 40), then 41
    assert.deepEqual(seen, Array.from({ length: 32 }, (_, k) => fakeFrame(10 + k, 6000)[2]));
  });

  it('the manifest fields are optional and trailing: old manifests still parse; one without the other, a bad trigger, a trigger past the end, zones without motion are refused', function () {
    const base: ClipManifest = { v: 1, clip: 'c1', device: 'D1', epoch: 1, roster: 'b'.repeat(64), seq: 1, prev: '0'.repeat(64), start: 1000, end: 5000, frames: 40, payloadSize: 100, payloadSha256: 'a'.repeat(64), dropped: [] };
    assert.deepEqual(decodeManifest(encodeManifest(base)), base);
    const withTrigger = { ...base, trigger: 'pir' as const, preRoll: 3000 };
    assert.match(new TextDecoder().decode(encodeManifest(withTrigger)), /"dropped":\[\],"trigger":"pir","preRoll":3000\}\n$/);
    const motion = { ...base, trigger: 'motion' as const, preRoll: 3000, zones: ['A', 'C'] };
    assert.match(new TextDecoder().decode(encodeManifest(motion)), /"trigger":"motion","preRoll":3000,"zones":\["A","C"\]\}\n$/);
    assert.deepEqual(decodeManifest(encodeManifest(motion)), motion);
    const bad = (m: object) => errorCode(() => encodeManifest(m as ClipManifest));
    assert.equal(bad({ ...base, trigger: 'press' }), 'MANIFEST_FORMAT');
    assert.equal(bad({ ...base, preRoll: 10 }), 'MANIFEST_FORMAT');
    assert.equal(bad({ ...base, trigger: 'doorknock', preRoll: 0 }), 'MANIFEST_FORMAT');
    assert.equal(bad({ ...base, trigger: 'press', preRoll: 4001 }), 'MANIFEST_FORMAT');
    assert.equal(bad({ ...base, trigger: 'motion', preRoll: 0 }), 'MANIFEST_FORMAT', 'motion names its zones');
    assert.equal(bad({ ...base, trigger: 'press', preRoll: 0, zones: ['A'] }), 'MANIFEST_FORMAT', 'zones only for motion');
    assert.equal(bad({ ...base, trigger: 'motion', preRoll: 0, zones: ['C', 'A'] }), 'MANIFEST_FORMAT', 'sorted');
    assert.equal(bad({ ...base, trigger: 'motion', preRoll: 0, zones: ['a'] }), 'MANIFEST_FORMAT');
    const text = '{"v":1,"clip":"c1","device":"D1","epoch":1,"roster":"' + 'b'.repeat(64) + '","seq":1,"prev":"' + '0'.repeat(64) + '","start":1000,"end":5000,"frames":40,"payloadSize":100,"payloadSha256":"' + 'a'.repeat(64) + '","dropped":[],"preRoll":3000,"trigger":"motion"}\n';
    assert.equal(errorCode(() => decodeManifest(new TextEncoder().encode(text))), 'MANIFEST_FORMAT', 'the order is fixed');
  });

  it('the app (hosted doorbell): default 3 s of pre-roll; a PIR trigger makes a clip that starts ≥ 3 s before its trigger frame, names it, and opens with Debian age', async () => {
    requireTool('age');
    const relay = await startTestRelay();
    const prov = await provision({ out: tempDir('preroll-factory'), random: seededRandom('preroll/factory') });
    const phoneState = freshPhone('preroll');
    const d = testDoorbell(prov, 'preroll/device');
    d.boot();
    const outcome = await phoneSetup({ dir: phoneState.dir, endpoint: await d.setupUrl(), code: prov.manualCode, wifi: { ssid: 'Home', password: 'correct horse battery' }, relayUrl: relay.url, account: phoneState.account, random: seededRandom('preroll/setup') });
    await registerOnRelay({ dir: phoneState.dir, deviceId: outcome.deviceId, adminToken: ADMIN_TOKEN, account: phoneState.account });
    await d.until(() => d.app.uplink?.state === 'ready', 'uplink ready');
    await d.runUntil(() => d.app.doorbell.pool.available === d.app.doorbell.pool.size, 'clip headers prepared');
    assert.equal(d.app.capturing, true, 'set up: the camera runs for the pre-roll');
    const framesBefore = d.frames;
    await d.run(4000);
    assert.ok(d.frames - framesBefore >= 39, 'the camera ran with no clip and no viewer');
    const clipId = d.app.press('motion', d.now)!; // the hosts' "motion" input is the PIR pin
    await d.runUntil(() => !d.app.doorbell.recording, 'clip recorded');
    await d.until(() => d.app.spool.empty, 'clip uploaded');
    const client = await phoneLogin(phoneState.dir, outcome.deviceId);
    const out = tempDir('preroll-download');
    const got = await client.download(clipId, out, { devicePub: outcome.devicePublicKey });
    const { manifest, opened } = checkClip({ age: got.age, manifest: got.manifest!, signature: got.signature! }, outcome.devicePublicKey, { identities: [readPhone(phoneState.dir).identity] });
    assert.equal(manifest.trigger, 'pir');
    assert.ok(manifest.preRoll! >= 3000, `${manifest.preRoll} ms of pre-roll`);
    assert.ok(opened!.poster, 'it has a poster');
    const plainFile = path.join(out, 'clip.mkv');
    run('age', ['-d', '-i', path.join(phoneState.dir, 'identity.key'), '-o', plainFile, got.age]);
    const frames = run('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', plainFile]).trim();
    assert.equal(Number(frames), manifest.frames);
  });
});
