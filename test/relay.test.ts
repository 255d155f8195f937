// The relay on its own terms: who may do what, every bad input refused with a clear
// 4xx (or a WebSocket error and close code) leaving the store unchanged, escrow and
// roster blobs, and the warrant test: nothing on the relay's disk is watchable or a key.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import WebSocket from 'ws';
import { ed25519 } from '@noble/curves/ed25519.js';
import { Encrypter } from 'age-encryption';
import { generateIdentity, identityToRecipient } from '../src/age/x25519.js';
import { utf8ToBytes } from '../src/bytes.js';
import { encodeSegmentFrame, MAX_FRAME_BYTES } from '../src/uplink/wire.js';
import { SyntheticCamera } from '../hosts/node/camera.js';
import { wsUplinkConnect } from '../hosts/node/uplink-socket.js';
import { authMessage } from '../tools/relay/phone-auth.js';
import { getEscrow, newPhoneAuthKey, PhoneClient, putEscrow, RelayApiError } from '../tools/relay/phone-client.js';
import { newDeviceCredential, publishPhoneKeys, registerDevice } from '../tools/relay/owner-client.js';
import { MemoryStore, seededRandom, tempDir } from './helpers.js';
import {
  ADMIN_TOKEN,
  allFiles,
  closeRelays,
  drive,
  errorCode,
  expectApiError,
  rawRequest,
  relayClip,
  snapshotStore,
  storedSessions,
  startTestRelay,
  T0,
  TestDevice,
  type Clock,
} from './relay-helpers.js';

type TestRelay = Awaited<ReturnType<typeof startTestRelay>>;

/** A raw device WebSocket: messages received, and how it closed. */
function rawUplink(relay: TestRelay, credential?: string) {
  const ws = new WebSocket(relay.uplinkUrl, { headers: credential ? { authorization: `Bearer ${credential}` } : {}, maxPayload: 1 << 22 });
  const messages: { t: string; code?: string; clip?: string; seg?: number; close?: string }[] = [];
  let status: number | undefined;
  ws.on('unexpected-response', (_req, res) => {
    status = res.statusCode;
    res.resume();
    ws.terminate();
  });
  ws.on('error', () => {});
  ws.on('message', (d) => messages.push(JSON.parse(String(d))));
  const closed = new Promise<{ code: number; reason: string; status?: number }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString(), status })),
  );
  const hello = new Promise<void>((resolve, reject) => {
    ws.on('message', (d) => {
      if (JSON.parse(String(d)).t === 'hello') resolve();
    });
    void closed.then((c) => reject(new Error(`closed before hello: ${JSON.stringify(c)}`)));
  });
  /** Waits until `n` messages (after hello) arrived. */
  const next = async (n = 1) => {
    for (let i = 0; i < 500 && messages.length < n + 1; i++) await new Promise((r) => setTimeout(r, 5));
    return messages.slice(1);
  };
  return { ws, messages, closed, hello, next };
}

describe('relay', function () {
  this.timeout(120_000);
  afterEach(closeRelays);

  describe('bad input gets a clear refusal and changes nothing stored', function () {
    let relay: TestRelay;
    let dev: TestDevice;
    let clip: string;
    let phoneKey: ReturnType<typeof newPhoneAuthKey>;
    let before: string;

    beforeEach(async () => {
      relay = await startTestRelay();
      const clock: Clock = { now: T0 };
      dev = await TestDevice.create({ seed: 'bad-input', relay, clock });
      phoneKey = newPhoneAuthKey();
      await publishPhoneKeys(relay.url, dev.o.credential, dev.id, [phoneKey.publicKey]);
      dev.uplink.start(clock.now);
      clip = dev.recordClip(clock.now, 10);
      await drive(clock, [dev], () => dev.spool.empty);
      dev.uplink.stop();
      before = snapshotStore(relay.dataDir);
    });

    afterEach(() => {
      assert.equal(snapshotStore(relay.dataDir), before, 'the store is unchanged');
    });

    it('unauthenticated or unknown device: 401 on the uplink upgrade', async () => {
      for (const credential of [undefined, newDeviceCredential(), 'short']) {
        const c = await rawUplink(relay, credential).closed;
        assert.equal(c.status, 401);
      }
      // What the device's host reports to the uplink core: close code 4000 + status.
      const code = await new Promise<number>((resolve) => {
        wsUplinkConnect({ url: relay.uplinkUrl, credential: newDeviceCredential() })({ onOpen() {}, onMessage() {}, onClose: (c) => resolve(c) });
      });
      assert.equal(code, 4401);
      const r = await rawRequest(relay.url, 'PUT', `/v1/devices/${dev.id}/phones`, {
        headers: { authorization: `Bearer ${newDeviceCredential()}`, 'content-type': 'application/json' },
        body: JSON.stringify({ phones: [] }),
      });
      assert.equal(r.status, 401);
    });

    it('forged or unknown phone: 401/403, never a session', async () => {
      const challenge = async () => {
        const r = await rawRequest(relay.url, 'POST', `/v1/devices/${dev.id}/auth/challenge`);
        return (JSON.parse(r.body) as { challenge: string }).challenge;
      };
      const login = async (body: object) => {
        const r = await rawRequest(relay.url, 'POST', `/v1/devices/${dev.id}/auth/session`, {
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        return { status: r.status, code: errorCode(r.body) };
      };
      const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
      const sign = (c: string, key: Uint8Array, origin = relay.url) => b64(ed25519.sign(authMessage(new Uint8Array(Buffer.from(c, 'base64')), origin), key));

      // A key the device never published.
      const stranger = newPhoneAuthKey();
      let c = await challenge();
      assert.deepEqual(await login({ challenge: c, publicKey: b64(stranger.publicKey), signature: sign(c, stranger.secretKey) }), { status: 403, code: 'PHONE_NOT_ALLOWED' });
      // The published key, but the signature is someone else's.
      c = await challenge();
      assert.deepEqual(await login({ challenge: c, publicKey: b64(phoneKey.publicKey), signature: sign(c, stranger.secretKey) }), { status: 401, code: 'BAD_SIGNATURE' });
      // Signed for another relay (origin binding).
      c = await challenge();
      assert.deepEqual(
        await login({ challenge: c, publicKey: b64(phoneKey.publicKey), signature: sign(c, phoneKey.secretKey, 'https://evil.example') }),
        { status: 401, code: 'BAD_SIGNATURE' },
      );
      // A challenge the relay never issued, and one already used.
      const made = b64(new Uint8Array(32).fill(7));
      assert.deepEqual(await login({ challenge: made, publicKey: b64(phoneKey.publicKey), signature: sign(made, phoneKey.secretKey) }), { status: 401, code: 'BAD_CHALLENGE' });
      assert.deepEqual(await login({ challenge: c, publicKey: b64(phoneKey.publicKey), signature: sign(c, phoneKey.secretKey) }), { status: 401, code: 'BAD_CHALLENGE' });
      // Garbage fields.
      assert.deepEqual(await login({ challenge: 'not base64!', publicKey: 1, signature: null }), { status: 400, code: 'BAD_REQUEST' });
      // No session, or a made-up one: no clips.
      for (const token of [undefined, newDeviceCredential()]) {
        const r = await rawRequest(relay.url, 'GET', `/v1/devices/${dev.id}/clips`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
        assert.equal(r.status, 401);
        assert.equal(errorCode(r.body), 'UNAUTHENTICATED');
      }
      assert.equal(storedSessions(relay.dataDir), 0, 'no session was stored for any refused login');
      // The real phone gets in, but not into another device.
      const phone = await PhoneClient.login(relay.url, dev.id, phoneKey);
      assert.equal((await phone.clips()).length, 1);
      const other = await rawRequest(relay.url, 'GET', `/v1/devices/ABCDEF0123456789/clips`, { headers: { authorization: `Bearer ${(phone as unknown as { token: string }).token}` } });
      assert.equal(other.status, 403);
    });

    it('oversized frames: TOO_LARGE and close 4413 (1009 far beyond the limit)', async () => {
      const a = rawUplink(relay, dev.o.credential);
      await a.hello;
      const big = encodeSegmentFrame(clip, 1, new Uint8Array(65_552));
      const over = new Uint8Array(MAX_FRAME_BYTES + 1);
      over.set(big.subarray(0, 2 + clip.length + 4));
      a.ws.send(over);
      const ca = await a.closed;
      assert.equal(ca.code, 4413);
      assert.equal(a.messages.at(-1)?.code, 'TOO_LARGE');

      const b = rawUplink(relay, dev.o.credential);
      await b.hello;
      b.ws.send(new Uint8Array(3 * MAX_FRAME_BYTES));
      assert.equal((await b.closed).code, 1009);

      const c = rawUplink(relay, dev.o.credential);
      await c.hello;
      c.ws.send('x'.repeat(70_000));
      assert.equal((await c.closed).code, 4413);
    });

    it('garbled frames and messages: BAD_FRAME / BAD_MESSAGE / BAD_ID and close 4400', async () => {
      const cases: [Uint8Array | string, string][] = [
        [new Uint8Array([0x04, 1, 0x41, 0, 0, 0, 0, 9]), 'BAD_FRAME'], // an event frame without a sealed event (0x02, 0x03: live frames)
        [new Uint8Array([0x03, 0, 9]), 'BAD_FRAME'], // live frame without a session id
        [new Uint8Array([0x02, 3, 0x2e, 0x2e, 0x2f, 9]), 'BAD_FRAME'], // live frame, session id "../"
        [new Uint8Array([0x01]), 'BAD_FRAME'], // too short
        [new Uint8Array([0x01, 0, 0, 0, 0, 0, 9]), 'BAD_FRAME'], // empty clip id
        [new Uint8Array([0x01, 40, 0x41, 0x42]), 'BAD_FRAME'], // id longer than the frame
        [new Uint8Array([0x01, 3, 0x61, 0x2f, 0x62, 0, 0, 0, 0, 9]), 'BAD_FRAME'], // clip id "a/b"
        [new Uint8Array([0x01, 4, 0x2e, 0x2e, 0x2f, 0x78, 0, 0, 0, 0, 9]), 'BAD_FRAME'], // clip id "../x"
        [new Uint8Array([0x01, 2, 0x41, 0x42, 0, 0, 0, 0]), 'BAD_FRAME'], // no segment bytes
        ['not json', 'BAD_MESSAGE'],
        ['[1,2]', 'BAD_MESSAGE'],
        ['{"t":"begin","clip":"20270115T080000Z-aaaaaa","epoch":-1}', 'BAD_MESSAGE'],
        ['{"t":"end","clip":"20270115T080000Z-aaaaaa","segments":1,"manifest":5,"signature":""}', 'BAD_MESSAGE'],
        ['{"t":"begin","clip":"../x","epoch":1}', 'BAD_ID'],
        ['{"t":"incomplete","clip":"a/b","reason":"interrupted"}', 'BAD_ID'],
        [new Uint8Array([0xff, 0xfe, 0x7b]), 'BAD_FRAME'],
      ];
      for (const [data, code] of cases) {
        const s = rawUplink(relay, dev.o.credential);
        await s.hello;
        s.ws.send(data);
        const c = await s.closed;
        assert.equal(c.code, 4400, `${String(data).slice(0, 40)}: close ${c.code}`);
        assert.equal(s.messages.at(-1)?.code, code, String(data).slice(0, 40));
      }
      // Text that is not UTF-8 in a text frame: ws refuses it itself (1007).
    });

    it('clip-level refusals answer without closing: unknown clip, conflicting or late segments, unknown type', async () => {
      const s = rawUplink(relay, dev.o.credential);
      await s.hello;
      s.ws.send(encodeSegmentFrame('20270115T080000Z-ffffff', 0, new Uint8Array(10)));
      s.ws.send(JSON.stringify({ t: 'end', clip: '20270115T080000Z-ffffff', segments: 1, manifest: '{}', signature: 'x' }));
      s.ws.send(encodeSegmentFrame(clip, 1, new Uint8Array(100))); // different bytes for a stored segment
      s.ws.send(encodeSegmentFrame(clip, 40, new Uint8Array(100))); // new segment for a finished clip
      s.ws.send(JSON.stringify({ t: 'later-feature' }));
      s.ws.send(encodeSegmentFrame(clip, 0, dev.sealed.clips.get(clip)!.segments[0])); // a repeat: acknowledged again
      const got = await s.next(6);
      assert.deepEqual(
        got.map((m) => `${m.t} ${m.code ?? m.seg}`),
        ['error UNKNOWN_CLIP', 'error UNKNOWN_CLIP', 'error SEGMENT_CONFLICT', 'error CLIP_CLOSED', 'error UNKNOWN_TYPE', 'ack 0'],
      );
      assert.equal(s.ws.readyState, WebSocket.OPEN);
      s.ws.close();
      await s.closed;
    });

    it('a second connection of the same device replaces the first: REPLACED, close 4409', async () => {
      const a = rawUplink(relay, dev.o.credential);
      await a.hello;
      const b = rawUplink(relay, dev.o.credential);
      await b.hello;
      assert.equal((await a.closed).code, 4409);
      assert.equal(a.messages.at(-1)?.code, 'REPLACED');
      assert.equal(b.ws.readyState, WebSocket.OPEN);
      b.ws.close();
      await b.closed;
    });

    it('path-like and malformed ids in URLs: 400 BAD_ID', async () => {
      const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
      const paths: [string, string][] = [
        ['GET', '/v1/devices/../clips'],
        ['GET', '/v1/devices/..%2Fx/clips'],
        ['GET', '/v1/devices/a%2Fb/clips'],
        ['GET', `/v1/devices/${dev.id}/clips/..%2F..%2Frelay.sqlite/age`],
        ['GET', `/v1/devices/${dev.id}/clips/.hidden/age`],
        ['POST', '/v1/devices/%2e%2e/auth/challenge'],
        ['PUT', '/v1/devices/..%5C..%5Cx/phones'],
        ['PUT', '/v1/accounts/..%2Fescrow/escrow'],
        ['GET', '/v1/accounts/a%00b/escrow'],
        ['PUT', `/v1/devices/${'x'.repeat(65)}/roster`],
      ];
      for (const [method, p] of paths) {
        const r = await rawRequest(relay.url, method, p, { headers: auth, body: 'x' });
        assert.equal(r.status, 400, `${method} ${p}: ${r.status} ${r.body}`);
        assert.equal(errorCode(r.body), 'BAD_ID', `${method} ${p}`);
      }
      const bad = await rawRequest(relay.url, 'GET', '/v1/devices/%zz/clips');
      assert.equal(bad.status, 400);
      const follow = new WebSocket(`${relay.url.replace('http', 'ws')}/v1/devices/..%2Fx/follow`);
      follow.on('error', () => {});
      const status = await new Promise<number>((resolve) =>
        follow.on('unexpected-response', (_q, res) => {
          res.resume();
          follow.terminate();
          resolve(res.statusCode!);
        }),
      );
      assert.equal(status, 400);
    });

    it('admin, escrow and roster misuse: 401/403/409/413/415', async () => {
      const newDevice = { credential: newDeviceCredential(), publicKey: dev.identity.publicKeyText };
      await expectApiError(registerDevice(relay.url, newDeviceCredential(), newDevice), 401, 'UNAUTHENTICATED');
      await expectApiError(registerDevice(relay.url, ADMIN_TOKEN, newDevice), 409, 'DEVICE_EXISTS');
      await expectApiError(registerDevice(relay.url, ADMIN_TOKEN, { credential: 'short', publicKey: 'x' }), 400, 'BAD_REQUEST');
      await expectApiError(registerDevice(relay.url, ADMIN_TOKEN, { credential: newDeviceCredential(), publicKey: 'untrusted comment: x\nAAAA\n' }), 400, 'BAD_REQUEST');
      await expectApiError(putEscrow(relay.url, 'acct1', newDeviceCredential(), utf8ToBytes('{"plaintext": "keys"}')), 415, 'NOT_AGE_SCRYPT');
      await expectApiError(putEscrow(relay.url, 'acct1', newDeviceCredential(), new Uint8Array(70_000)), 413, 'TOO_LARGE');
      await expectApiError(getEscrow(relay.url, 'acct1'), 404, 'NO_ESCROW');
      const phone = await PhoneClient.login(relay.url, dev.id, phoneKey);
      await expectApiError(phone.getRoster(), 404, 'NO_ROSTER');
      const notJson = await rawRequest(relay.url, 'PUT', `/v1/devices/${dev.id}/phones`, { headers: { authorization: `Bearer ${dev.o.credential}` }, body: '{' });
      assert.equal(notJson.status, 400);
      const tooMany = await rawRequest(relay.url, 'PUT', `/v1/devices/${dev.id}/phones`, {
        headers: { authorization: `Bearer ${dev.o.credential}` },
        body: JSON.stringify({ phones: ['AAAA'] }),
      });
      assert.equal(tooMany.status, 400);
      assert.equal((await rawRequest(relay.url, 'DELETE', '/v1/health')).status, 405);
      assert.equal((await rawRequest(relay.url, 'GET', '/v1/nothing')).status, 404);
      await expectApiError(phone.download('20270115T080000Z-000000', tempDir('phone')), 404, 'UNKNOWN_CLIP');
    });
  });

  it('escrow: an opaque age-scrypt blob; only the first writer may replace it', async () => {
    const relay = await startTestRelay();
    const e = new Encrypter();
    e.setPassphrase('correct horse battery staple');
    e.setScryptWorkFactor(10);
    const escrow = await e.encrypt('account keys');
    const writeToken = newDeviceCredential();
    await putEscrow(relay.url, 'acct-1', writeToken, escrow);
    assert.deepEqual(await getEscrow(relay.url, 'acct-1'), escrow);
    await expectApiError(putEscrow(relay.url, 'acct-1', newDeviceCredential(), escrow), 403, 'FORBIDDEN');
    await putEscrow(relay.url, 'acct-1', writeToken, escrow); // the owner may replace it
  });

  it('warrant test: nothing on the relay\'s disk is plaintext video or a secret', async () => {
    const relay = await startTestRelay();
    const clock: Clock = { now: T0 };
    const WIFI_PASSWORD = 'porch-wifi: Tr0ub4dor&3 correct horse';
    const kv = new MemoryStore();
    kv.set('wifi.password', utf8ToBytes(WIFI_PASSWORD)); // the device knows it; the relay must never see it
    const phones = [generateIdentity(seededRandom('warrant/phone1')), generateIdentity(seededRandom('warrant/phone2'))];
    const historyKey = generateIdentity(seededRandom('warrant/history'));
    const authoritySeed = seededRandom('warrant/authority')(32);
    const dev = await TestDevice.create({ seed: 'warrant', relay, clock, kv, phones: [...phones] });
    dev.doorbell.setRecipients({ epoch: 1, recipients: [...phones, historyKey].map(identityToRecipient) });
    const phoneKey = newPhoneAuthKey();
    await publishPhoneKeys(relay.url, dev.o.credential, dev.id, [phoneKey.publicKey]);
    dev.uplink.start(clock.now);

    // Real JPEG frames from the simulator's camera.
    const camera = new SyntheticCamera({ width: 320, height: 240 });
    const frames: Uint8Array[] = [];
    for (const start of [clock.now, clock.now + 100_000]) {
      dev.doorbell.press(start);
      for (let i = 1; i <= 30; i++) {
        const f = camera.capture(i, start + i * 100);
        frames.push(f);
        dev.doorbell.frame(f, start + i * 100);
      }
      dev.doorbell.finishClip();
    }
    await drive(clock, [dev], () => dev.spool.empty);

    // The account escrow (passphrase-encrypted account keys) and a roster blob.
    const passphrase = 'legal winner thank year wave sausage worth useful legal winner thank yellow';
    const accountSecrets = JSON.stringify({ history: historyKey, authority: Buffer.from(authoritySeed).toString('hex'), wifi: WIFI_PASSWORD });
    const enc = new Encrypter();
    enc.setPassphrase(passphrase);
    enc.setScryptWorkFactor(10);
    const escrowToken = newDeviceCredential();
    await putEscrow(relay.url, 'warrant-account', escrowToken, await enc.encrypt(accountSecrets));
    const phone = await PhoneClient.login(relay.url, dev.id, phoneKey);
    await relay.close();

    // Sanity: the plaintext really has what we look for.
    const has = (hay: Uint8Array, needle: Uint8Array) => Buffer.from(hay).indexOf(Buffer.from(needle)) >= 0;
    const SOI_APP0 = new Uint8Array([0xff, 0xd8, 0xff, 0xe0]);
    const JFIF = utf8ToBytes('JFIF\0');
    assert.ok(frames.every((f) => has(f, SOI_APP0) && has(f, JFIF)));

    const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
    const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
    const forbidden: [string, Uint8Array][] = [
      ['JPEG SOI + APP0 marker', SOI_APP0],
      ['JFIF identifier', JFIF],
      ['Matroska doc type', utf8ToBytes('matroska')],
      ['age secret key prefix', utf8ToBytes('AGE-SECRET-KEY-')],
      ['age secret key prefix (lower case)', utf8ToBytes('age-secret-key-')],
      ...[...phones, historyKey].map((k, i): [string, Uint8Array] => [`age identity ${i}`, utf8ToBytes(k)]),
      ['phone auth key', phoneKey.secretKey],
      ['phone auth key (base64)', utf8ToBytes(b64(phoneKey.secretKey))],
      ['phone auth key (hex)', utf8ToBytes(hex(phoneKey.secretKey))],
      ['account authority key', authoritySeed],
      ['account authority key (hex)', utf8ToBytes(hex(authoritySeed))],
      ['device identity key', kv.get('identity.ed25519')!],
      ['device identity key (base64)', utf8ToBytes(b64(kv.get('identity.ed25519')!))],
      ['Wi-Fi password', utf8ToBytes(WIFI_PASSWORD)],
      ['escrow passphrase', utf8ToBytes(passphrase)],
      ['device credential', utf8ToBytes(dev.o.credential)],
      ['escrow write token', utf8ToBytes(escrowToken)],
      ['admin token', utf8ToBytes(ADMIN_TOKEN)],
      ['phone session token', utf8ToBytes((phone as unknown as { token: string }).token)],
    ];
    const files = allFiles(relay.dataDir);
    assert.ok(files.some((f) => f.endsWith('.log')) && files.some((f) => f.endsWith('relay.sqlite')));
    let scanned = 0;
    for (const file of files) {
      const bytes = fs.readFileSync(file);
      scanned += bytes.length;
      for (const [what, needle] of forbidden) assert.ok(!has(bytes, needle), `${what} found in ${file}`);
    }
    const sealed = [...dev.sealed.clips.keys()].reduce((n, id) => n + dev.sealedAge(id).length, 0);
    assert.ok(scanned > sealed, `scanned ${scanned} bytes, the clips alone are ${sealed}`);
    for (const id of dev.sealed.clips.keys()) assert.equal(relayClip(relay.dataDir, dev.id, id)!.state, 'verified');
  });
});
