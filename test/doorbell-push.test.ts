/**
 * A press rings the phone (docs/event-format.md, docs/relay-api.md "Push"), end to end on loopback:
 * the doorbell app on the Node host seals and signs an event notice; the relay stores it as
 * ciphertext and sends a Web Push (RFC 8291, VAPID) through a real local push service
 * (web-push-testing), whose decrypted payload is only a reference; the service worker's handler
 * (web/push, run here in Node) and `phone watch`'s opener fetch the sealed event, check it and get
 * the clip's poster. A revoked phone gets no push and cannot open later events; a relay that
 * replays or rewrites an event is caught.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { provision } from '../tools/provision.js';
import { phoneSetup, readPhone } from '../tools/phone/index.js';
import { enrollFromRelay, phoneLogin, registerOnRelay, revokeOnRelay } from '../tools/phone/relay-sync.js';
import { readDevice } from '../tools/phone/state.js';
import { showEvent } from '../tools/phone/events.js';
import { ClipOpener } from '../src/clip/opener.js';
import { nobleBackend } from '../src/crypto/noble.js';
import { decodePublicKey } from '../src/minisign.js';
import { openEvent } from '../src/event/event.js';
import { SealbellError } from '../src/errors.js';
import { handlePush, notificationForPush, relayLogin, type FetchLike, type PushDeps, type SeenEvents } from '../web/push/handler.js';
import { seededRandom, tempDir } from './helpers.js';
import { freshPhone } from './setup-fixtures.js';
import { ADMIN_TOKEN, closeRelays, movePhoneToRelay, startSecondRelay, startTestRelay } from './relay-helpers.js';
import { stopDoorbells, testDoorbell } from './app-helpers.js';
import WebSocket from 'ws';
import { loadOrCreateIdentity } from '../src/device/identity.js';
import { encodeEventFrame } from '../src/uplink/wire.js';
import { newDeviceCredential, publishPhoneKeys, registerDevice } from '../tools/relay/owner-client.js';
import { newPhoneAuthKey, PhoneClient, RelayApiError } from '../tools/relay/phone-client.js';
import { MemoryStore } from './helpers.js';
import { startPushService, type LocalPushService, type TestSubscription } from '../tools/bench/push-service.js';

const JPEG_SOI = Buffer.from([0xff, 0xd8, 0xff]);

function memorySeen(): SeenEvents {
  const keys = new Set<string>();
  return { has: (k) => keys.has(k), add: (k) => void keys.add(k) };
}

/** Every file under `dir` (the relay's data: SQLite, WAL, segment logs, VAPID keys). */
function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

describe('a press rings the phone: sealed event, Web Push, service worker handler', function () {
  this.timeout(240_000);
  let push: LocalPushService | undefined;
  afterEach(async () => {
    await stopDoorbells();
    await closeRelays();
    await push?.close();
    push = undefined;
  });

  it('press → sealed event at the relay → push with only a reference → the handler shows "Front door — someone rang" with the clip\'s poster; a revoked phone gets nothing', async () => {
    const relay = await startTestRelay();
    push = await startPushService();
    const prov = await provision({ out: tempDir('push-factory'), random: seededRandom('push/factory') });
    const owner = freshPhone('push-owner', 'owner');
    // No pre-roll: an idle doorbell then takes no frames, so waiting on this busy machine stays cheap
    // (the poster is the first frame after the press; test/event-format.test.ts covers pre-roll).
    const rig = testDoorbell(prov, 'push/device', { app: { preRoll: 0, clipDuration: 2000 } });
    rig.boot();
    const outcome = await phoneSetup({ dir: owner.dir, endpoint: await rig.setupUrl(), code: prov.manualCode, wifi: { ssid: 'Home', password: 'correct horse battery' }, relayUrl: relay.url, account: owner.account, random: seededRandom('push/setup') });
    const deviceId = outcome.deviceId;
    await registerOnRelay({ dir: owner.dir, deviceId, adminToken: ADMIN_TOKEN, account: owner.account });
    await rig.until(() => rig.app.uplink?.state === 'ready', 'uplink ready');

    // A second phone joins with the passphrase (the doorbell confirms while it runs).
    const tabletDir = tempDir('push-tablet');
    const enrolled = enrollFromRelay({ dir: tabletDir, relay: relay.url, passphrase: owner.init.passphrase, name: 'tablet', wait: { timeoutMs: 60_000 } });
    let enrollDone = false;
    void enrolled.finally(() => (enrollDone = true)).catch(() => {});
    await rig.until(() => enrollDone, 'the tablet is enrolled', 120_000);
    await enrolled;
    await rig.runUntil(() => rig.app.doorbell.pool.available === rig.app.doorbell.pool.size, 'clip headers prepared for both phones');

    // On PostgreSQL (test/relay-postgres-suite.test.ts) the tablet talks to a second relay process
    // on the same database: its subscription is made there, the push sent by the doorbell's relay.
    const relayB = await startSecondRelay(relay.dataDir);
    if (relayB) movePhoneToRelay(tabletDir, deviceId, relayB.url);
    // Both phones subscribe (the relay's VAPID key is the applicationServerKey: every relay process's).
    const vapid = (await (await fetch(`${relay.url}/v1/push/key`)).json()) as { publicKey: string };
    assert.equal(vapid.publicKey, relay.push.vapidPublicKey);
    if (relayB) assert.equal(relayB.push.vapidPublicKey, vapid.publicKey);
    const ownerSub = await push.subscribe(vapid.publicKey);
    const tabletSub = await push.subscribe(vapid.publicKey);
    await (await phoneLogin(owner.dir, deviceId)).subscribePush(ownerSub.json);
    await (await phoneLogin(tabletDir, deviceId)).subscribePush(tabletSub.json);

    const pressAt = rig.now;
    const clipId = rig.app.press('button', rig.now)!;
    const arrived = (s: TestSubscription, n: number) => rig.until(() => push!.messages(s).length >= n, `push ${n} reaches a phone`);
    await Promise.all([arrived(ownerSub, 1), arrived(tabletSub, 1)]);
    const payload = push.messages(ownerSub)[0];
    // The push holds no event content: no clip id, no time, no trigger, no JPEG (raw or base64).
    const parsed = JSON.parse(payload);
    assert.deepEqual(Object.keys(parsed), ['v', 'device', 'ref']);
    assert.equal(parsed.device, deviceId);
    assert.match(parsed.ref, /^[0-9a-f]{32}$/);
    assert.ok(!payload.includes(clipId) && !payload.includes('press') && !payload.includes('/9j/') && !Buffer.from(payload).includes(JPEG_SOI), `payload: ${payload}`);

    // The service worker's handler (web/push) opens it, logged in as the owner's phone.
    const phone = readPhone(owner.dir);
    const device = readDevice(owner.dir, deviceId);
    const depsFor = (o: { fetch?: FetchLike; seen?: SeenEvents } = {}): PushDeps => ({
      fetch: o.fetch ?? (fetch as unknown as FetchLike),
      relayUrl: () => device.relayUrl,
      session: (id) => relayLogin(fetch as unknown as FetchLike, device.relayUrl, id, phone.auth.secretKey),
      identities: async () => [phone.identity],
      devicePublicKey: async () => device.publicKeyText,
      doorbellName: () => 'Front door',
      seen: o.seen ?? memorySeen(),
      now: () => rig.now,
      timeZone: 'UTC',
    });
    const seen = memorySeen();
    const n = await handlePush(payload, depsFor({ seen }));
    assert.equal(n.title, 'Front door — someone rang');
    assert.equal(n.options.body, new Date(pressAt).toISOString().slice(11, 16));
    assert.equal(n.options.data.url, `/app/#/live/${deviceId}`);
    assert.equal(n.options.data.clip, clipId);
    assert.match(n.options.image!, /^data:image\/jpeg;base64,\/9j\//);
    const poster = Buffer.from(n.options.image!.split(',')[1], 'base64');

    // …and the poster is the clip's, byte for byte.
    await rig.runUntil(() => !rig.app.doorbell.recording, 'clip recorded');
    await rig.drain();
    const got = await (await phoneLogin(owner.dir, deviceId)).download(clipId, tempDir('push-clip'), { devicePub: device.publicKeyText });
    const opener = new ClipOpener({ backend: nobleBackend, identities: [phone.identity] });
    opener.push(fs.readFileSync(got.age));
    assert.deepEqual(Buffer.from(opener.end().poster!), poster);

    // The relay's data holds no JPEG anywhere (ciphertext and signed metadata only).
    for (const f of filesUnder(relay.dataDir)) assert.equal(fs.readFileSync(f).indexOf(JPEG_SOI), -1, `a JPEG in the relay's ${path.relative(relay.dataDir, f)}`);

    // A relay that pushes the same reference again (a replay): refused, once shown.
    await assert.rejects(handlePush(payload, depsFor({ seen })), (e: SealbellError) => e.code === 'EVENT_REPLAYED');
    // A relay that rewrites the sealed event: the doorbell's signature catches it.
    const rewriting: FetchLike = async (url, init) => {
      const res = await fetch(url, init);
      const body = (await res.json()) as { event: string; signature: string };
      const bytes = Buffer.from(body.event, 'base64');
      bytes[bytes.length - 40] ^= 1;
      return { status: 200, ok: true, json: async () => ({ ...body, event: bytes.toString('base64') }) };
    };
    await assert.rejects(handlePush(payload, depsFor({ fetch: rewriting })), (e: SealbellError) => e.code === 'EVENT_SIGNATURE');
    const refusal = await notificationForPush(payload, depsFor({ fetch: rewriting }));
    assert.equal(refusal.title, 'Front door — a notice was refused');
    assert.match(refusal.options.body, /\[EVENT_SIGNATURE\]$/);
    // An unknown reference: a clear code from the relay.
    await assert.rejects(handlePush(JSON.stringify({ ...parsed, ref: 'f'.repeat(32) }), depsFor()), (e: SealbellError) => e.code === 'EVENT_UNKNOWN');

    // phone watch's opener: the same event, its poster written to a file; again: EVENT_REPLAYED.
    const client = await phoneLogin(owner.dir, deviceId);
    const { sealed, signature } = await client.event(parsed.ref);
    const shown = await showEvent({ dir: owner.dir, deviceId, sealed, signature, name: 'Front door', now: rig.now, timeZone: 'UTC' });
    assert.equal(shown.line, `Front door — someone rang, ${new Date(pressAt).toISOString().slice(11, 16)}`);
    assert.deepEqual(fs.readFileSync(shown.posterFile!), poster);
    await assert.rejects(showEvent({ dir: owner.dir, deviceId, sealed, signature, now: rig.now }), (e: SealbellError) => e.code === 'EVENT_REPLAYED');

    // The owner revokes the tablet; the doorbell takes the new roster.
    const revoked = revokeOnRelay({ dir: owner.dir, phone: 'tablet', account: owner.account, passphrase: owner.init.passphrase, logN: 10, random: seededRandom('push/revoke') });
    let revokeDone = false;
    void revoked.finally(() => (revokeDone = true)).catch(() => {});
    await rig.until(() => revokeDone, 'the tablet is revoked');
    await revoked;
    await rig.until(() => rig.app.doorbell.pool.recipients?.recipients.length === 2, 'the doorbell seals to the owner and the history recipient only');
    await rig.runUntil(() => rig.app.doorbell.pool.available === rig.app.doorbell.pool.size, 'headers for the new roster');

    // Next press: the owner's phone rings, the tablet's does not.
    const second = rig.app.press('button', rig.now)!;
    await arrived(ownerSub, 2);
    const ref2 = JSON.parse(push.messages(ownerSub)[1]).ref as string;
    const n2 = await handlePush(push.messages(ownerSub)[1], depsFor({ seen }));
    assert.equal(n2.options.data.clip, second);
    await rig.runUntil(() => !rig.app.doorbell.recording, 'second clip recorded');
    await rig.drain();
    assert.equal(push.messages(tabletSub).length, 1, 'the revoked tablet got no push');
    // The tablet cannot log in any more, and the sealed event is not for it.
    await assert.rejects(phoneLogin(tabletDir, deviceId), (e: { code?: string }) => e.code === 'PHONE_NOT_ALLOWED');
    const ev2 = await (await phoneLogin(owner.dir, deviceId)).event(ref2);
    assert.throws(
      () => openEvent(ev2.sealed, ev2.signature, { aead: nobleBackend.aead, device: decodePublicKey(device.publicKeyText), identities: [readPhone(tabletDir).identity] }),
      (e: SealbellError) => e.code === 'EVENT_NOT_FOR_YOU',
    );
    assert.ok(relay.push.stats.dropped >= 1, 'the tablet\'s subscription was dropped');
  });

  it('the relay refuses with clear codes: no session, a bad subscription, an unknown or malformed event reference, an event the device did not sign', async () => {
    const relay = await startTestRelay();
    const device = loadOrCreateIdentity(new MemoryStore(), seededRandom('push-refusals/device'));
    const credential = newDeviceCredential();
    await registerDevice(relay.url, ADMIN_TOKEN, { credential, publicKey: device.publicKeyText });
    const key = newPhoneAuthKey();
    await publishPhoneKeys(relay.url, credential, device.deviceId, [key.publicKey]);
    const phone = await PhoneClient.login(relay.url, device.deviceId, key);
    const vapid = (await (await fetch(`${relay.url}/v1/push/key`)).json()) as { publicKey: string };
    assert.equal(Buffer.from(vapid.publicKey, 'base64url').length, 65, 'an uncompressed P-256 key (applicationServerKey)');
    const status = async (p: Promise<unknown>) => p.then(() => 'ok', (e: RelayApiError) => `${e.status} ${e.code}`);
    const good = { endpoint: 'https://push.example/send/abc', keys: { p256dh: Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 1)]).toString('base64url'), auth: Buffer.alloc(16, 2).toString('base64url') } };
    const noSession = await fetch(`${relay.url}/v1/devices/${device.deviceId}/push`, { method: 'POST', body: JSON.stringify(good) });
    assert.equal(noSession.status, 401);
    assert.equal(((await noSession.json()) as { error: { code: string } }).error.code, 'UNAUTHENTICATED');
    assert.equal(await status(phone.subscribePush(good)), 'ok');
    for (const bad of [
      { ...good, endpoint: 'http://push.example/send/abc' },
      { ...good, endpoint: 'not a url' },
      { ...good, keys: { ...good.keys, p256dh: Buffer.alloc(65, 4).toString('base64url').slice(0, 40) } },
      { ...good, keys: { ...good.keys, auth: 'short' } },
      { endpoint: good.endpoint },
    ]) assert.equal(await status(phone.subscribePush(bad as typeof good)), '400 BAD_SUBSCRIPTION', JSON.stringify(bad));
    assert.equal(await status(phone.event('0'.repeat(32))), '404 UNKNOWN_EVENT');
    assert.equal(await status(phone.event('..')), '400 BAD_ID');
    const gone = await fetch(`${relay.url}/v1/devices/${device.deviceId}/push`, { method: 'DELETE', headers: { authorization: `Bearer ${(phone as unknown as { token: string }).token}` }, body: JSON.stringify({ endpoint: 'https://push.example/other' }) });
    assert.equal(gone.status, 404);

    // The device's uplink: an event with a signature that does not verify is refused, not stored.
    const ws = new WebSocket(relay.uplinkUrl, { headers: { authorization: `Bearer ${credential}` } });
    const replies: { t: string; event?: string; code?: string }[] = [];
    ws.on('message', (d) => replies.push(JSON.parse(String(d))));
    await new Promise((r) => ws.once('open', r));
    await new Promise<void>((r) => { const t = setInterval(() => replies.some((m) => m.t === 'hello') && (clearInterval(t), r()), 5); });
    const forged = 'untrusted comment: x\nRURQ7kvjeNMrGrBNzk0zenBT3m36V/InG35T7wNatRdpl6ECm/tzpHKjggqQksPMys/zReCxBqfeNjq6ObWSxraZ6hmL82gB4gE=\ntrusted comment: sealbell event c1 device ' + device.deviceId + '\n49CYtjzobDUZr/fNloHaQ3zNvr1cE8ZTMid3DnpqSsqdNoY/fwmI0Lk2D8dLfKPIPBvFrijc3P5en5TI8LDkDg==\n';
    ws.send(encodeEventFrame('c1', new TextEncoder().encode('age-encryption.org/v1\n'), forged));
    await new Promise<void>((r) => { const t = setInterval(() => replies.some((m) => m.t === 'ack') && (clearInterval(t), r()), 5); });
    assert.deepEqual(replies.find((m) => m.t === 'ack'), { t: 'ack', clip: 'c1', event: 'refused', code: 'EVENT_SIGNATURE' });
    ws.close();
  });
});
