// A man-in-the-middle on the setup link (an HTTP proxy on 127.0.0.1 between the
// phone and the doorbell's endpoint) that reads, drops, replays and rewrites every
// message, with or without a guessed setup code. It must never get its keys into
// the roster nor see the Wi-Fi password, and the phone must report the failure.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { p256 } from '@noble/curves/nist.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { SealbellError } from '../src/errors.js';
import { encodeMessage, parseMessage, recordHeader, type SetupMessage } from '../src/setup/messages.js';
import { Spake2PlusProver, Spake2PlusVerifier, registration } from '../src/setup/spake2plus.js';
import { ID_PROVER, ID_VERIFIER, spakeContext } from '../src/setup/protocol.js';
import { encodeConfig } from '../src/setup/records.js';
import { isSetUp } from '../src/setup/setup-mode.js';
import { RosterStore } from '../src/roster/roster-store.js';
import { encodeAuthKey, signRoster } from '../src/roster/roster.js';
import { encodeRosterBundle } from '../src/roster/bundle.js';
import { signingKeyFromSeed } from '../src/minisign.js';
import { generateIdentity, identityToRecipient } from '../src/age/x25519.js';
import { loadOrCreateIdentity } from '../src/device/identity.js';
import { phoneSetup } from '../tools/phone/index.js';
import { seededRandom } from './helpers.js';
import { RELAY, WIFI, freshDevice, freshPhone, scalarsFor, serve, wrongCode, type TestDevice } from './setup-fixtures.js';

type Of<T extends SetupMessage['type']> = Extract<SetupMessage, { type: T }>;
type Forward = (bytes: Uint8Array) => Promise<Uint8Array>;
/** Gets the phone's request (number `i`), may talk to the doorbell through `forward`, returns what the phone gets. */
type Tamper = (request: Uint8Array, forward: Forward, i: number) => Promise<Uint8Array>;

interface Mitm {
  url: string;
  /** every byte string the attacker saw, both ways */
  seen: Uint8Array[];
  close(): Promise<void>;
}

async function startMitm(target: string, tamper: Tamper): Promise<Mitm> {
  const seen: Uint8Array[] = [];
  let i = 0;
  const forward: Forward = async (bytes) => {
    const res = await fetch(target, { method: 'POST', body: bytes, headers: { 'content-type': 'application/octet-stream' } });
    const reply = new Uint8Array(await res.arrayBuffer());
    seen.push(reply);
    return reply;
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const request = new Uint8Array(Buffer.concat(chunks));
      seen.push(request);
      try {
        const reply = await tamper(request, forward, i++);
        res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(reply);
      } catch {
        res.writeHead(502).end(); // the attacker drops the connection
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/setup`,
    seen,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

// The attacker's own account and phone: what it would like to see in the roster.
const evil = seededRandom('attacker');
const evilAuthority = signingKeyFromSeed(evil(32));
const evilPhone = identityToRecipient(generateIdentity(evil));
const evilAuth = encodeAuthKey(ed25519.getPublicKey(evil(32)));

function evilConfig(device: string): Uint8Array {
  const roster = signRoster({ v: 1, device, epoch: 1, phones: [{ name: 'attacker', recipient: evilPhone, auth: evilAuth }], history: null }, evilAuthority);
  return encodeConfig({ wifi: { ssid: 'evil', password: 'attacker-wifi' }, relayUrl: 'https://evil.example/', credential: evil(32), authority: evilAuthority.publicKey, roster: encodeRosterBundle(roster) });
}

const contains = (hay: Uint8Array, needle: Uint8Array) => Buffer.from(hay).includes(Buffer.from(needle));

/** Runs the genuine phone's setup through `tamper`; returns the phone's error (if any). */
async function attempt(d: TestDevice, tamper: Tamper, seed: string, code = d.prov.manualCode): Promise<{ error?: SealbellError; seen: Uint8Array[] }> {
  const endpoint = await serve(d);
  const mitm = await startMitm(endpoint.url, tamper);
  const phone = freshPhone(seed);
  try {
    await phoneSetup({ dir: phone.dir, endpoint: mitm.url, code, wifi: WIFI, relayUrl: RELAY, account: phone.account, random: seededRandom(`${seed}/setup`) });
    return { seen: mitm.seen };
  } catch (e) {
    assert.ok(e instanceof SealbellError, `the phone reports failures as SealbellErrors, got ${String(e)}`);
    return { error: e, seen: mitm.seen };
  } finally {
    await mitm.close();
    await endpoint.close();
  }
}

/** What must hold whatever the attacker did. */
function invariants(d: TestDevice, seen: Uint8Array[]): void {
  const secret = new TextEncoder().encode(WIFI.password);
  for (const bytes of seen) assert.ok(!contains(bytes, secret), 'the attacker saw the Wi-Fi password');
  if (isSetUp(d.store)) {
    const id = loadOrCreateIdentity(d.store, seededRandom('unused')).deviceId;
    const stored = new RosterStore(d.store, id).load()!;
    assert.ok(!stored.roster.phones.some((p) => p.recipient === evilPhone || p.auth === evilAuth), 'attacker key in the roster');
    assert.notDeepEqual(stored.authority, evilAuthority.publicKey);
  }
}

const MESSAGES = 8; // 4 requests, 4 replies in a complete setup

describe('a man in the middle of the setup link', function () {
  this.timeout(600_000);

  it('reading everything: setup works, but the Wi-Fi password, credential and roster never appear in clear', async () => {
    const d = await freshDevice('mitm-read');
    const r = await attempt(d, (req, forward) => forward(req), 'mitm-read');
    assert.equal(r.error, undefined);
    assert.equal(r.seen.length, MESSAGES);
    invariants(d, r.seen);
    const result = d.results[0];
    for (const bytes of r.seen) {
      assert.ok(!contains(bytes, result.config.credential), 'credential in clear');
      assert.ok(!contains(bytes, new TextEncoder().encode(result.roster.roster.phones[0].recipient)), 'roster in clear');
      assert.ok(!contains(bytes, new TextEncoder().encode(WIFI.ssid)), 'network name in clear');
    }
  });

  it('rewriting any one message (a bit flipped in each of the 8): the phone reports failure; no attacker key anywhere', async () => {
    for (let k = 0; k < MESSAGES; k++) {
      for (const bit of [0, 7]) {
        const d = await freshDevice('mitm-flip');
        const flip = (b: Uint8Array, n: number) => {
          const c = b.slice();
          const at = n === k ? Math.min(c.length - 1, 4 + ((k * 13 + bit * 5) % Math.max(1, c.length - 4))) : -1;
          if (at >= 0) c[at] ^= 1 << bit;
          return c;
        };
        const r = await attempt(d, async (req, forward, i) => flip(await forward(flip(req, 2 * i)), 2 * i + 1), `mitm-flip-${k}`);
        assert.ok(r.error, `message ${k} bit ${bit}: the phone did not notice`);
        invariants(d, r.seen);
        // Only a flipped DONE (the last reply) leaves the doorbell set up — with the genuine roster.
        assert.equal(isSetUp(d.store), k === MESSAGES - 1, `message ${k}: ${r.error.code}`);
      }
    }
  });

  it('dropping any one message: the phone reports failure and nothing is stored before CONFIG', async () => {
    for (let k = 0; k < MESSAGES; k++) {
      const d = await freshDevice('mitm-drop');
      const r = await attempt(d, async (req, forward, i) => {
        if (2 * i === k) throw new Error('dropped');
        const reply = await forward(req);
        if (2 * i + 1 === k) throw new Error('dropped');
        return reply;
      }, `mitm-drop-${k}`);
      assert.equal(r.error?.code, 'SETUP_TRANSPORT', `message ${k}`);
      invariants(d, r.seen);
      assert.equal(isSetUp(d.store), k === MESSAGES - 1, `message ${k}`);
    }
  });

  it('replaying every request (each sent twice, then all again in a later window): refused, roster unchanged', async () => {
    const d = await freshDevice('mitm-replay');
    const requests: Uint8Array[] = [];
    const replies: string[] = [];
    const r = await attempt(d, async (req, forward, i) => {
      requests.push(req);
      const reply = await forward(req);
      if (i > 0) {
        const again = parseMessage(await forward(req));
        replies.push(again.type === 'ERROR' ? again.code : again.type);
      }
      return reply;
    }, 'mitm-replay');
    assert.equal(r.error, undefined);
    assert.deepEqual(replies, ['SETUP_UNEXPECTED', 'SETUP_UNEXPECTED', 'SETUP_CLOSED']);
    invariants(d, r.seen);
    const id = d.results[0].identity.deviceId;
    const stored = new RosterStore(d.store, id).load()!;
    d.mode.longPress(d.now);
    const later = requests.map((req) => {
      const m = parseMessage(d.mode.receive(req, d.now).reply);
      return m.type === 'ERROR' ? m.code : m.type;
    });
    assert.deepEqual(later, ['PARAMS', 'SETUP_SESSION', 'SETUP_SESSION', 'SETUP_SESSION']);
    assert.deepEqual(new RosterStore(d.store, id).load()!.bytes, stored.bytes);
    assert.equal(d.mode.attempts, 0);
  });

  it('replaying PARAMS_REQUEST mid-session restarts the doorbell\'s session: the phone reports it, nothing is stored', async () => {
    const d = await freshDevice('mitm-restart');
    const r = await attempt(d, async (req, forward, i) => {
      const reply = await forward(req);
      if (i === 0) await forward(req);
      return reply;
    }, 'mitm-restart');
    assert.equal(r.error?.code, 'SETUP_SESSION');
    invariants(d, r.seen);
    assert.equal(isSetUp(d.store), false);
  });

  it('substituting the CONFIG record with its own (keys, roster, Wi-Fi): refused by the doorbell; the phone reports it', async () => {
    const d = await freshDevice('mitm-inject');
    let sid: Uint8Array = new Uint8Array(8);
    const r = await attempt(d, async (req, forward) => {
      const m = parseMessage(req);
      if (m.type === 'RECORD') {
        // the attacker cannot seal for the channel: its best try is a key of its own
        const device = loadOrCreateIdentity(d.store, seededRandom('unused')).deviceId;
        const header = recordHeader(sid, 0);
        const sealed = chacha20poly1305(evil(32), new Uint8Array(12), header).encrypt(evilConfig(device));
        const reply = await forward(encodeMessage({ type: 'RECORD', sessionId: sid, seq: 0, sealed, header }));
        return reply; // the doorbell's ERROR, passed on
      }
      if (m.type === 'SHARE_P' || m.type === 'CONFIRM_P') sid = m.sessionId;
      return forward(req);
    }, 'mitm-inject');
    assert.equal(r.error?.code, 'SETUP_RECORD_AUTH');
    invariants(d, r.seen);
    assert.equal(isSetUp(d.store), false);
  });

  for (const guessed of [false, true]) {
    it(`running SPAKE2+ itself on both sides ${guessed ? 'with a guessed code' : 'without the code (its own shares)'}: the phone fails, the doorbell counts it, no roster`, async () => {
      const d = await freshDevice(`mitm-active-${guessed}`);
      const guess = wrongCode(d);
      const rnd = seededRandom(`mitm-active-${guessed}`);
      let toPhone: { sid: Uint8Array; salt: Uint8Array; verifier?: Spake2PlusVerifier } | undefined;
      let deviceSid: Uint8Array = new Uint8Array(8);
      const r = await attempt(d, async (req, forward) => {
        const m = parseMessage(req);
        if (m.type === 'PARAMS_REQUEST') {
          // Play the phone toward the doorbell with the guess (or a random share)
          const params = parseMessage(await forward(encodeMessage({ type: 'PARAMS_REQUEST' }))) as Of<'PARAMS'>;
          deviceSid = params.sessionId;
          const shareP = guessed
            ? new Spake2PlusProver({ context: spakeContext(deviceSid, params.salt), idProver: ID_PROVER, idVerifier: ID_VERIFIER, ...scalarsFor(guess, params.salt), random: rnd }).start()
            : p256.Point.BASE.multiply(5n + BigInt(rnd(1)[0])).toBytes(false);
          const sv = parseMessage(await forward(encodeMessage({ type: 'SHARE_P', sessionId: deviceSid, shareP })));
          assert.equal(sv.type, 'SHARE_V');
          // it cannot finish (wrong code): a made-up confirmation, and its CONFIG anyway
          const confirmP = rnd(32);
          const c = parseMessage(await forward(encodeMessage({ type: 'CONFIRM_P', sessionId: deviceSid, confirmP })));
          assert.equal(c.type === 'ERROR' && c.code, 'SETUP_WRONG_CODE');
          // … and play the doorbell toward the phone, same salt, with a record from the guess
          toPhone = { sid: rnd(8), salt: params.salt };
          return encodeMessage({ type: 'PARAMS', sessionId: toPhone.sid, salt: toPhone.salt });
        }
        if (m.type === 'SHARE_P' && toPhone) {
          const { w0, L } = registration(...(Object.values(scalarsFor(guess, toPhone.salt)) as [Uint8Array, Uint8Array]));
          toPhone.verifier = new Spake2PlusVerifier({ context: spakeContext(toPhone.sid, toPhone.salt), idProver: ID_PROVER, idVerifier: ID_VERIFIER, w0, L, random: rnd });
          const { shareV, confirmV } = toPhone.verifier.respond(m.shareP);
          return encodeMessage({ type: 'SHARE_V', sessionId: toPhone.sid, shareV, confirmV });
        }
        return forward(req);
      }, `mitm-active-${guessed}`);
      assert.equal(r.error?.code, 'SETUP_WRONG_CODE');
      assert.match(r.error!.message, /wrong, or someone is interfering/);
      invariants(d, r.seen);
      assert.equal(isSetUp(d.store), false);
      assert.equal(d.mode.attempts, 1, 'the attacker\'s guess was counted');
    });
  }

  it('relaying the handshake but swapping in its own PARAMS salt or session id: the phone fails, nothing stored', async () => {
    for (const field of ['salt', 'sessionId'] as const) {
      const d = await freshDevice('mitm-params');
      const r = await attempt(d, async (req, forward) => {
        const reply = parseMessage(await forward(req));
        if (reply.type !== 'PARAMS') return encodeMessage(reply);
        return encodeMessage({ ...reply, [field]: reply[field].map((b) => b ^ 0x55) });
      }, `mitm-params-${field}`);
      assert.ok(r.error, field);
      invariants(d, r.seen);
      assert.equal(isSetUp(d.store), false);
    }
  });
});
