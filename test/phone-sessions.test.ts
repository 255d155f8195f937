/**
 * Phone login sessions and challenges in the relay's store (tools/relay/phone-auth.ts): on
 * SQLite (the default) they live in relay.sqlite, as SHA-256 only, so a relay restart keeps
 * them; expired ones stop counting at once and are swept; a challenge is used once; the
 * per-source allowance of outstanding challenges holds. (Across relay processes on
 * PostgreSQL: relay-postgres.test.ts.)
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import { loadOrCreateIdentity } from '../src/device/identity.js';
import { authMessage, MAX_CHALLENGES_PER_SOURCE, PhoneAuth } from '../tools/relay/phone-auth.js';
import { newPhoneAuthKey, PhoneClient } from '../tools/relay/phone-client.js';
import { newDeviceCredential, publishPhoneKeys, registerDevice } from '../tools/relay/owner-client.js';
import { SqliteRelayStore } from '../tools/relay/sqlite-store.js';
import { tokenHash } from '../tools/relay/tokens.js';
import { MemoryStore, seededRandom, tempDir } from './helpers.js';
import { ADMIN_TOKEN, closeRelays, startTestRelay } from './relay-helpers.js';

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

describe('phone sessions in the relay store (SQLite)', function () {
  this.timeout(60_000);
  afterEach(closeRelays);

  it('a session survives a relay restart; relay.sqlite keeps SHA-256 of the token, never the token', async () => {
    const relay = await startTestRelay();
    const identity = loadOrCreateIdentity(new MemoryStore(), seededRandom('sessions/restart'));
    const credential = newDeviceCredential();
    const device = await registerDevice(relay.url, ADMIN_TOKEN, { credential, publicKey: identity.publicKeyText });
    const key = newPhoneAuthKey();
    await publishPhoneKeys(relay.url, credential, device, [key.publicKey]);
    const phone = await PhoneClient.login(relay.url, device, key);
    assert.deepEqual(await phone.clips(), []);
    const token = (phone as unknown as { token: string }).token;

    const port = Number(new URL(relay.url).port);
    await relay.close();
    for (const f of ['relay.sqlite', 'relay.sqlite-wal']) {
      const file = path.join(relay.dataDir, f);
      if (!fs.existsSync(file)) continue;
      const bytes = fs.readFileSync(file);
      assert.equal(bytes.includes(token), false, `no session token in ${f}`);
    }
    const store = new SqliteRelayStore(relay.dataDir);
    try {
      const row = await store.phoneSession(tokenHash(token));
      assert.equal(row?.device, device);
      assert.equal(row?.publicKey, b64(key.publicKey));
    } finally {
      await store.close();
    }

    await startTestRelay(relay.dataDir, port);
    assert.deepEqual(await phone.clips(), [], 'the session made before the restart still works');
  });

  it('challenges and sessions expire (simulated clock), are swept, are used once, and one source keeps its allowance', async () => {
    const store = new SqliteRelayStore(tempDir('sessions-store'));
    let now = 1_000_000;
    const allowed = new Set<string>();
    const origin = 'http://relay.example';
    const auth = new PhoneAuth({ origin, store, policy: { isAllowed: async (_d, k) => allowed.has(b64(k)) }, now: () => now, challengeTtl: 60_000, sessionTtl: 3_600_000 });
    const key = newPhoneAuthKey();
    allowed.add(b64(key.publicKey));
    const answer = (challenge: string) => ({
      challenge,
      publicKey: b64(key.publicKey),
      signature: b64(ed25519.sign(authMessage(new Uint8Array(Buffer.from(challenge, 'base64')), origin), key.secretKey)),
    });
    try {
      // Used once.
      const c1 = (await auth.challenge('DEV1', '10.0.0.1')).challenge;
      const { token } = await auth.login('DEV1', answer(c1));
      await assert.rejects(auth.login('DEV1', answer(c1)), { code: 'BAD_CHALLENGE' });
      assert.equal((await auth.session(token))?.device, 'DEV1');
      // A challenge answered after its minute: refused.
      const late = (await auth.challenge('DEV1', '10.0.0.1')).challenge;
      now += 60_001;
      await assert.rejects(auth.login('DEV1', answer(late)), { code: 'BAD_CHALLENGE' });

      // One address fills its allowance; another still gets challenges; expired ones stop counting.
      const flood: string[] = [];
      for (let i = 0; i < MAX_CHALLENGES_PER_SOURCE; i++) flood.push((await auth.challenge('DEV1', '10.0.0.2')).challenge);
      await assert.rejects(auth.challenge('DEV1', '10.0.0.2'), { code: 'SLOW_DOWN' });
      await auth.challenge('DEV1', '10.0.0.3');
      now += 60_001;
      await auth.challenge('DEV1', '10.0.0.2');

      // A session past its hour is gone, and swept from the store with the expired challenges.
      now += 3_600_000;
      assert.equal(await auth.session(token), undefined);
      const c2 = (await auth.challenge('DEV1', '10.0.0.1')).challenge; // sweeps
      assert.deepEqual(await store.phoneSessionsOf('DEV1'), []);
      assert.equal(await store.takeChallenge(tokenHash(flood[0])), undefined, 'expired challenges are swept');
      assert.equal((await store.takeChallenge(tokenHash(c2)))?.device, 'DEV1', 'the fresh one stays');
      const c3 = (await auth.challenge('DEV1', '10.0.0.1')).challenge;

      // A revoked phone's sessions end (revalidate, as a roster change calls it).
      const { token: t2 } = await auth.login('DEV1', answer(c3));
      assert.ok(await auth.session(t2));
      allowed.clear();
      await auth.revalidate('DEV1');
      assert.deepEqual(await store.phoneSessionsOf('DEV1'), []);
      assert.equal(await auth.session(t2), undefined);
    } finally {
      await store.close();
    }
  });
});
