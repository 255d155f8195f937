// The uplink end to end on loopback: the real core (Doorbell → Spool → Uplink) over
// `ws` to the real relay. Outages, device reboots, a full spool and twenty doorbells
// at once: every segment arrives once, and the relay's copy is what the device sealed.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { UplinkConnect } from '../src/uplink/socket.js';
import { decodeManifest } from '../src/clip/manifest.js';
import { concatBytes } from '../src/bytes.js';
import { PhoneClient, newPhoneAuthKey } from '../tools/relay/phone-client.js';
import { publishPhoneKeys } from '../tools/relay/owner-client.js';
import { tempDir } from './helpers.js';
import { closeRelays, drive, relayClip, startTestRelay, T0, TestDevice, type Clock } from './relay-helpers.js';

describe('uplink and relay', function () {
  this.timeout(120_000);
  afterEach(closeRelays);

  it('outage: the relay is down for 60 simulated seconds mid-clip; every segment arrives once, byte-identical', async () => {
    const dataDir = tempDir('relay-outage');
    let relay = await startTestRelay(dataDir);
    const port = relay.port;
    const clock: Clock = { now: T0 };
    const dev = await TestDevice.create({ seed: 'outage', relay, clock });
    dev.uplink.start(clock.now);
    await drive(clock, [dev], () => dev.uplink.state === 'ready', { what: 'connect' });

    // Half a clip goes up while the relay is there…
    const clip1 = dev.startClip(clock.now);
    dev.addFrames(clock.now, 1, 20); // ~200 KB: 3 segments sealed so far
    await drive(clock, [dev], () => dev.uplink.stats.segmentsAcked >= 3, { what: 'first segments acknowledged' });
    const storedBeforeOutage = relay.stats.segmentsStored;

    // …then the relay dies mid-clip.
    await relay.close();
    await drive(clock, [dev], () => dev.uplink.state === 'waiting', { what: 'notice the outage' });
    dev.addFrames(clock.now, 21, 30);
    dev.doorbell.finishClip();
    const clip2 = dev.recordClip(clock.now + 10_000, 25);
    const connectsBefore = dev.uplink.stats.connects;
    const outageStart = clock.now;
    await drive(clock, [dev], () => clock.now - outageStart >= 60_000, { step: 250, rounds: 1000 });
    const attempts = dev.uplink.stats.connects - connectsBefore;
    // Backoff with jitter: 1, 2, 4, 8, 16, 32 s nominal (each between half and all of it).
    assert.ok(attempts >= 5 && attempts <= 12, `${attempts} reconnect attempts in 60 s`);
    assert.equal(dev.uplink.state === 'ready', false);
    assert.ok(!dev.spool.empty, 'the spool still holds the unsent segments');

    // The relay comes back on the same port and data folder.
    relay = await startTestRelay(dataDir, port);
    await drive(clock, [dev], () => dev.spool.empty, { step: 1000, rounds: 200, what: 'drain after the outage' });

    for (const id of [clip1, clip2]) {
      const held = relayClip(dataDir, dev.id, id)!;
      assert.equal(held.state, 'verified', `${id} verified`);
      assert.deepEqual(held.age, dev.sealedAge(id), `${id}: the relay's copy is byte-identical`);
      assert.equal(held.segments, dev.sealed.clips.get(id)!.segments.length);
    }
    const total = dev.sealed.clips.get(clip1)!.segments.length + dev.sealed.clips.get(clip2)!.segments.length;
    // Stored exactly once across both relay lives (repeats are acknowledged, never stored twice).
    assert.equal(storedBeforeOutage + relay.stats.segmentsStored, total);
    await relay.close();
  });

  it('reboot: a device recreated mid-upload from its storage resumes; nothing lost or duplicated', async () => {
    const relay = await startTestRelay();
    const clock: Clock = { now: T0 };
    // Lose the relay's acknowledgements of clip 1 after its first two segments: the relay has
    // those segments, the device does not know it, so it must resend them after the reboot.
    let passAcks: RegExp | undefined;
    const lossy = (c: UplinkConnect): UplinkConnect => (events) =>
      c({
        ...events,
        onMessage: (data) => {
          if (passAcks && typeof data === 'string' && /"t":"ack"/.test(data) && !passAcks.test(data)) return;
          events.onMessage(data);
        },
      });
    // (a window wide enough that the unacknowledged segments do not hold up clip 2)
    const dev = await TestDevice.create({ seed: 'reboot', relay, clock, wrapConnect: lossy, window: 32 });
    const clip1 = dev.recordClip(clock.now, 40); // recorded while offline: ~400 KB, 8 segments
    passAcks = new RegExp(`"clip":"${clip1}","seg":[01]\\b`);
    const segs1 = dev.sealed.clips.get(clip1)!.segments.length;
    dev.uplink.start(clock.now);
    // (the relay acknowledges a batch at once: wait for the two acknowledgements let through to arrive)
    await drive(clock, [dev], () => relay.stats.segmentsStored === segs1 && dev.uplink.stats.segmentsAcked >= 2, { what: 'clip 1 reaches the relay' });
    assert.equal(dev.uplink.stats.segmentsAcked, 2);

    // A second clip is being recorded when the power goes.
    const clip2 = dev.startClip(clock.now + 60_000);
    dev.addFrames(clock.now + 60_000, 1, 15); // 2 segments sealed (header + one chunk)
    const segs2 = dev.sealed.clips.get(clip2)!.segments.length;
    await drive(clock, [dev], () => relay.stats.segmentsStored === segs1 + segs2, { what: 'clip 2 so far reaches the relay' });
    dev.crash();

    const after = dev.reboot({ wrapConnect: undefined });
    assert.deepEqual(after.spool.recovery.interrupted, [clip2]);
    assert.equal(after.spool.recovery.segments, segs1 - 2 + segs2);
    after.uplink.start(clock.now);
    const clip3 = after.recordClip(clock.now + 120_000, 12);
    await drive(clock, [after], () => after.spool.empty, { what: 'drain after reboot' }).catch((e) => {
      throw new Error(`${e.message}\n${after.log.join('\n')}\n${JSON.stringify(after.spool.clips())} ${after.uplink.state} ${after.uplink.inFlightCount}`);
    });

    const c1 = relayClip(relay.dataDir, dev.id, clip1)!;
    assert.equal(c1.state, 'verified');
    assert.deepEqual(c1.age, dev.sealedAge(clip1));
    const c2 = relayClip(relay.dataDir, dev.id, clip2)!;
    assert.equal(c2.state, 'incomplete');
    assert.equal(c2.reason, 'interrupted');
    assert.deepEqual(c2.age, dev.sealedAge(clip2), 'the interrupted clip is kept as far as it got');
    const c3 = relayClip(relay.dataDir, dev.id, clip3)!;
    assert.equal(c3.state, 'verified');
    assert.deepEqual(c3.age, after.sealedAge(clip3));
    // Resent after the reboot: the relay acknowledged them again without storing them twice.
    assert.equal(relay.stats.duplicateSegments, segs1 - 2 + segs2);
    assert.equal(relay.stats.segmentsStored, segs1 + segs2 + after.sealed.clips.get(clip3)!.segments.length);
    await relay.close();
  });

  it('full spool: oldest whole clips are dropped, newer ones intact, and the gap is reported in the next manifest', async () => {
    const relay = await startTestRelay();
    const clock: Clock = { now: T0 };
    // ~150 KB per clip (4 segments); room for two of them. The relay is out of reach at first.
    const dev = await TestDevice.create({ seed: 'full', relay, clock, capacity: 340_000 });
    const ids = [0, 1, 2, 3].map((i) => dev.recordClip(clock.now + i * 100_000, 15));
    // One clip longer than the whole spool: kept as far as it fits, closed as incomplete.
    const long = dev.recordClip(clock.now + 500_000, 60);
    assert.ok(dev.spool.usedBytes <= dev.spool.capacity);

    const manifests = () => new Map([...dev.sealed.clips].map(([id, c]) => [id, decodeManifest(c.manifest)]));
    assert.deepEqual(manifests().get(ids[0])!.dropped, []);
    assert.deepEqual(manifests().get(ids[1])!.dropped, []);
    assert.deepEqual(manifests().get(ids[2])!.dropped, [ids[0]]);
    assert.deepEqual(manifests().get(ids[3])!.dropped, [ids[1]]);

    // The relay is reachable again; the next clip reports the whole gap. Clips 2 and 3,
    // whose manifests reported clips 0 and 1, were dropped for the long clip: so all are
    // reported again, and the long clip (which lost its tail) too.
    dev.uplink.start(clock.now);
    await drive(clock, [dev], () => dev.spool.empty, { what: 'drain' });
    const last = dev.recordClip(clock.now + 600_000, 5);
    assert.deepEqual(manifests().get(last)!.dropped, [ids[0], ids[2], ids[1], ids[3], long]);
    await drive(clock, [dev], () => dev.spool.empty, { what: 'drain' });

    for (const id of ids) assert.equal(relayClip(relay.dataDir, dev.id, id)?.state, 'dropped', `${id} reported dropped`);
    const kept = relayClip(relay.dataDir, dev.id, long)!;
    assert.equal(kept.state, 'incomplete');
    assert.equal(kept.reason, 'overflow');
    const sealedLong = dev.sealed.clips.get(long)!.segments;
    assert.ok(kept.segments >= 4 && kept.segments < sealedLong.length, `kept ${kept.segments} of ${sealedLong.length} segments`);
    assert.deepEqual(kept.age, concatBytes(...sealedLong.slice(0, kept.segments)), 'its first segments, as sealed');
    const l = relayClip(relay.dataDir, dev.id, last)!;
    assert.equal(l.state, 'verified');
    assert.deepEqual(l.age, dev.sealedAge(last));

    // Phones see it the same way.
    const key = newPhoneAuthKey();
    await publishPhoneKeys(relay.url, dev.o.credential, dev.id, [key.publicKey]);
    const phone = await PhoneClient.login(relay.url, dev.id, key);
    const listed = new Map((await phone.clips()).map((c) => [c.clip, c]));
    assert.equal(listed.get(ids[0])!.state, 'dropped');
    assert.equal(listed.get(long)!.state, 'incomplete');
    assert.equal(listed.get(last)!.state, 'verified');
    assert.deepEqual(listed.get(last)!.dropped, [ids[0], ids[2], ids[1], ids[3], long]);
    await relay.close();
  });

  it('load: 20 doorbells upload concurrently on loopback with no loss', async () => {
    const relay = await startTestRelay();
    const clock: Clock = { now: T0 };
    const devices = await Promise.all(
      Array.from({ length: 20 }, (_, i) => TestDevice.create({ seed: `load-${i}`, relay, clock, spoolDir: tempDir(`load-${i}`) })),
    );
    for (const d of devices) d.uplink.start(clock.now);
    await drive(clock, devices, () => devices.every((d) => d.uplink.state === 'ready'), { what: 'all connected' });
    // Everyone records two clips, frames interleaved, while the uploads run.
    const clips: { dev: TestDevice; id: string }[] = [];
    for (const round of [0, 1]) {
      const t = clock.now + round * 100_000;
      const ids = devices.map((d) => d.startClip(t));
      for (let f = 1; f <= 25; f += 5) {
        for (const d of devices) d.addFrames(t, f, 5);
        await drive(clock, devices, () => true);
      }
      devices.forEach((d, i) => {
        d.doorbell.finishClip();
        clips.push({ dev: d, id: ids[i] });
      });
    }
    await drive(clock, devices, () => devices.every((d) => d.spool.empty), { what: 'all drained' });
    for (const { dev, id } of clips) {
      const held = relayClip(relay.dataDir, dev.id, id)!;
      assert.equal(held.state, 'verified', `${dev.id}/${id}`);
      assert.deepEqual(held.age, dev.sealedAge(id));
    }
    const total = clips.reduce((n, c) => n + c.dev.sealed.clips.get(c.id)!.segments.length, 0);
    assert.equal(relay.stats.segmentsStored, total);
    assert.equal(relay.stats.duplicateSegments, 0);
    await relay.close();
  });

  it('a phone follows new clips as they arrive and downloads one that checks against the device key', async () => {
    const relay = await startTestRelay();
    const clock: Clock = { now: T0 };
    const dev = await TestDevice.create({ seed: 'follow', relay, clock });
    const key = newPhoneAuthKey();
    await publishPhoneKeys(relay.url, dev.o.credential, dev.id, [key.publicKey]);
    const phone = await PhoneClient.login(relay.url, dev.id, key);
    const events: string[] = [];
    const following = await phone.follow((e) => e.t === 'clip' && events.push(`${e.clip} ${e.state}`));
    dev.uplink.start(clock.now);
    const id = dev.recordClip(clock.now, 20);
    await drive(clock, [dev], () => events.includes(`${id} verified`), { what: 'follow' });
    assert.deepEqual(events, [`${id} receiving`, `${id} verified`]);
    following.close();

    const dir = tempDir('phone');
    const got = await phone.download(id, dir, { devicePub: dev.identity.publicKeyText });
    assert.equal(got.checked, true);
    assert.deepEqual(new Uint8Array(fs.readFileSync(got.age)), dev.sealedAge(id));
    assert.deepEqual(new Uint8Array(fs.readFileSync(got.manifest!)), dev.sealed.clips.get(id)!.manifest);
    assert.equal(fs.readFileSync(got.signature!, 'utf8'), dev.sealed.clips.get(id)!.signature);
    assert.deepEqual(fs.readdirSync(dir).sort(), [`${id}.age`, `${id}.manifest.json`, `${id}.manifest.json.minisig`].sort());
    await relay.close();
  });
});
