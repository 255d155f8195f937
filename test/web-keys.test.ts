/**
 * The web app's phone keys as non-extractable WebCrypto keys (web/app/phone-keys.ts), run on
 * Node's WebCrypto (the same X25519 and Ed25519 API the browser has): the secrets cannot be
 * exported, yet they open what stock age seals to the phone, a doorbell's sealed notice and a
 * live session, and sign the live request the doorbell checks. Headers that are not for the
 * phone, or carry a low-order share, are refused as with a text identity.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { base64 } from '@scure/base';
import { ed25519 } from '@noble/curves/ed25519.js';
import { nobleAead, nobleBackend } from '../src/crypto/noble.js';
import { decryptAgeFile, encryptAgeFile } from '../src/age/file.js';
import { encodeHeader, headerShares, openHeader } from '../src/age/header.js';
import { b64encode } from '../src/age/format.js';
import { decodeRecipient, encodeRecipient, generateIdentity, identityToRecipient, wrapX25519 } from '../src/age/x25519.js';
import { toAgeIdentity } from '../src/age/recipients.js';
import { loadOrCreateIdentity } from '../src/device/identity.js';
import { prepareHeader } from '../src/clip/prepared-header.js';
import { openEvent, sealEvent } from '../src/event/event.js';
import { LiveSealer } from '../src/live/sealer.js';
import { liveRequestMessage } from '../src/live/request.js';
import { encodeLiveFrame } from '../src/uplink/live-wire.js';
import { SealbellError } from '../src/errors.js';
import { LiveReceiver } from '../tools/phone/live-receiver.js';
import { authSignerOf, identitiesFor, makeWebKeys, type WebPhoneKeys } from '../web/app/phone-keys.js';
import { MemoryStore, requireTool, run, seededRandom, tempDir } from './helpers.js';

async function webKeys(): Promise<WebPhoneKeys> {
  const keys = await makeWebKeys();
  assert.ok(keys, "Node's WebCrypto has X25519 and Ed25519");
  return keys;
}

const open = async (phone: { webKeys?: WebPhoneKeys; identity?: string }, file: Uint8Array) => {
  const identities = (await identitiesFor(phone, headerShares(file))).map(toAgeIdentity);
  return decryptAgeFile(file, (h) => openHeader(h, identities), nobleAead);
};

describe("the web app's phone keys as non-extractable WebCrypto keys", function () {
  this.timeout(60_000);

  it('are made non-extractable: export is refused, only the public halves are bytes', async () => {
    const k = await webKeys();
    assert.equal(k.age.extractable, false);
    assert.equal(k.auth.extractable, false);
    assert.deepEqual([k.age.algorithm.name, k.age.type, [...k.age.usages]], ['X25519', 'private', ['deriveBits']]);
    assert.deepEqual([k.auth.algorithm.name, k.auth.type, [...k.auth.usages]], ['Ed25519', 'private', ['sign']]);
    for (const key of [k.age, k.auth]) {
      for (const format of ['pkcs8', 'raw'] as const) {
        await assert.rejects(crypto.subtle.exportKey(format, key), `${key.algorithm.name} ${format} export is refused`);
      }
    }
    assert.equal(k.agePublic.length, 32);
    assert.equal(k.authPublic.length, 32);
  });

  it('open a file stock age sealed to the phone; a file for another key is NO_IDENTITY, a low-order share AGE_HEADER', async () => {
    requireTool('age');
    const k = await webKeys();
    const phone = { webKeys: k };
    const recipient = encodeRecipient(k.agePublic);
    const dir = tempDir('web-keys');
    const plain = path.join(dir, 'note.txt');
    fs.writeFileSync(plain, 'someone at the door\n');
    run('age', ['-r', recipient, '-r', identityToRecipient(generateIdentity(seededRandom('other'))), '-o', path.join(dir, 'note.age'), plain]);
    const sealed = new Uint8Array(fs.readFileSync(path.join(dir, 'note.age')));
    assert.equal(Buffer.from(await open(phone, sealed)).toString(), 'someone at the door\n');

    const random = seededRandom('web-keys-files');
    const someoneElse = decodeRecipient(identityToRecipient(generateIdentity(random)));
    const other = encryptAgeFile(Uint8Array.of(1, 2, 3), (fk) => [wrapX25519(fk, someoneElse, random)], random, nobleAead);
    await assert.rejects(open(phone, other), (e: unknown) => e instanceof SealbellError && e.code === 'NO_IDENTITY');

    const fileKey = random(16);
    const lowOrder = encodeHeader(fileKey, [{ type: 'X25519', args: [b64encode(new Uint8Array(32))], body: random(32) }]);
    await assert.rejects(open(phone, lowOrder), (e: unknown) => e instanceof SealbellError && e.code === 'AGE_HEADER' && /low-order/.test(e.message));
  });

  it("open the doorbell's sealed notice (poster included), as the service worker does", async () => {
    const k = await webKeys();
    const random = seededRandom('web-keys-event');
    const device = loadOrCreateIdentity(new MemoryStore(), random);
    const header = prepareHeader({ epoch: 1, recipients: [encodeRecipient(k.agePublic)] }, random);
    const poster = Uint8Array.of(0xff, 0xd8, 0xff, 0xd9);
    const signed = sealEvent({ v: 1, device: device.deviceId, clip: 'clip-1', trigger: 'press', time: 1_700_000_000_000 }, poster, {
      aead: nobleBackend.aead, header: header.header, clipNonce: header.nonce, eventNonce: header.eventNonce, key: header.eventKey, signingKey: device.key,
    });
    const identities = await identitiesFor({ webKeys: k }, headerShares(signed.sealed));
    const e = openEvent(signed.sealed, signed.signature, { aead: nobleBackend.aead, device: device.key, identities });
    assert.equal(e.clip, 'clip-1');
    assert.deepEqual(e.poster, poster);
  });

  it('sign the live request the doorbell checks and open the live session (messages handled in order)', async () => {
    const k = await webKeys();
    const random = seededRandom('web-keys-live');
    const device = loadOrCreateIdentity(new MemoryStore(), random);
    const shown: number[] = [];
    const receiver = new LiveReceiver({
      aead: nobleAead,
      random,
      identityFor: async (shares) => (await identitiesFor({ webKeys: k }, shares))[0],
      sign: authSignerOf({ webKeys: k }).sign,
      devicePublicKey: device.key.publicKey,
      device: device.deviceId,
      onFrame: (f) => shown.push(f.ctr),
    });
    const start = JSON.parse((await receiver.handleAsync(JSON.stringify({ t: 'hello', v: 1, device: device.deviceId, session: 'abc' })))!) as { request: string; time: number; signature: string };
    const request = base64.decode(start.request);
    const message = liveRequestMessage({ device: device.deviceId, session: 'abc', request, time: start.time });
    assert.ok(ed25519.verify(base64.decode(start.signature), message, k.authPublic), 'the request is signed with the WebCrypto key');
    const sealer = new LiveSealer({ aead: nobleAead, random, key: device.key, device: device.deviceId, session: 'abc', request, epoch: 1, start: 0, width: 16, height: 8, recipient: encodeRecipient(k.agePublic) });
    // Given at once, as a socket delivers them: the records wait for the opening's key work.
    const handled = [encodeLiveFrame('opening', 'abc', sealer.opening), ...[0, 1, 2].map((n) => encodeLiveFrame('record', 'abc', sealer.frame(Uint8Array.of(0xff, 0xd8, 0xff, n), n * 100)))].map((m) => receiver.handleAsync(m));
    await Promise.all(handled);
    assert.equal(receiver.state, 'open', receiver.error?.message);
    assert.deepEqual(shown, [0, 1, 2]);
  });

  it('a phone kept as text (a browser without them, or a post-quantum account) opens and signs as before', async () => {
    const random = seededRandom('web-keys-text');
    const identity = generateIdentity(random);
    const seed = random(32);
    const file = encryptAgeFile(Uint8Array.of(9), (fk) => [wrapX25519(fk, decodeRecipient(identityToRecipient(identity)), random)], random, nobleAead);
    assert.deepEqual(await open({ identity }, file), Uint8Array.of(9));
    const signer = authSignerOf({ authSeed: seed });
    assert.deepEqual(signer.publicKey, ed25519.getPublicKey(seed));
    assert.ok(ed25519.verify(await signer.sign(Uint8Array.of(1)), Uint8Array.of(1), signer.publicKey));
  });
});
