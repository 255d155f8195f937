// Fuzzing the setup message parsers and the doorbell's state machine with
// mutated genuine messages and random bytes: every input either parses to a
// message that re-encodes to the same bytes or is refused with a SealbellError;
// the doorbell never throws, never stores anything for a mutated message, and the
// genuine phone can finish afterwards. FUZZ_SEED replays a run, FUZZ_CASES runs more.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { hexToBytes, concatBytes } from '../src/bytes.js';
import { SealbellError } from '../src/errors.js';
import { encodeMessage, parseMessage } from '../src/setup/messages.js';
import { parseConfig, parseDeviceInfo, parseDone } from '../src/setup/records.js';
import { parseRosterBundle } from '../src/roster/bundle.js';
import { parseRoster } from '../src/roster/roster.js';
import { parseSetupCode } from '../src/setup/setup-code.js';
import { isSetUp } from '../src/setup/setup-mode.js';
import { ManualPhone, freshDevice, snapshot } from './setup-fixtures.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { encodeConfig } from '../src/setup/records.js';
import { type SetupMessage } from '../src/setup/messages.js';
import { signingKeyFromSeed } from '../src/minisign.js';
import { encodeAuthKey, signRoster } from '../src/roster/roster.js';
import { encodeRosterBundle } from '../src/roster/bundle.js';
import { generateIdentity, identityToRecipient } from '../src/age/x25519.js';
import { ROOT, fuzzCases, prng, seededRandom } from './helpers.js';

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
const CASES = fuzzCases(5_000);
const vectors = JSON.parse(fs.readFileSync(path.join(ROOT, 'test/vectors/setup-v1.json'), 'utf8'));

function mutate(r: ReturnType<typeof prng>, b: Uint8Array, donors: Uint8Array[]): Uint8Array {
  const pos = () => r.int(Math.max(1, b.length));
  switch (r.int(9)) {
    case 0: { const c = b.slice(); c[pos()] ^= 1 << r.int(8); return c; }
    case 1: { const c = b.slice(); for (let k = 0; k < 1 + r.int(6); k++) c[pos()] = r.int(256); return c; }
    case 2: return b.subarray(0, pos());
    case 3: { const p = pos(); return concatBytes(b.subarray(0, p), b.subarray(p + 1 + r.int(40))); }
    case 4: { const p = pos(); return concatBytes(b.subarray(0, p), Uint8Array.of(r.int(256)), b.subarray(p)); }
    case 5: return concatBytes(b, Uint8Array.from({ length: 1 + r.int(30) }, () => r.int(256)));
    case 6: { const d = donors[r.int(donors.length)]; const p = pos(); return concatBytes(b.subarray(0, p), d.subarray(r.int(d.length))); }
    case 7: { const c = b.slice(); if (c.length > 3) c[3] = r.int(256); return c; } // the type byte
    default: return Uint8Array.from({ length: r.int(200) }, () => r.int(256));
  }
}

function refusedCleanly(fn: () => unknown): 'ok' | 'refused' {
  try {
    fn();
    return 'ok';
  } catch (e) {
    if (!(e instanceof SealbellError)) throw new Error(`not a SealbellError: ${String(e)}`);
    assert.match(e.code, /^[A-Z0-9_]+$/);
    return 'refused';
  }
}

describe(`fuzzing setup messages (seed ${SEED}, ${CASES} cases per target)`, function () {
  this.timeout(600_000);
  const genuine: Uint8Array[] = vectors.messages.map((m: { hex: string }) => hexToBytes(m.hex));
  const plain = vectors.plaintexts;

  it('the message parser: parses to something that re-encodes identically, or refuses with a SealbellError', () => {
    const r = prng(SEED);
    let ok = 0;
    for (let i = 0; i < CASES; i++) {
      const input = mutate(r, genuine[r.int(genuine.length)], genuine);
      if (refusedCleanly(() => {
        const m = parseMessage(input);
        assert.deepEqual(encodeMessage(m), input, 'accepted input must be canonical');
      }) === 'ok') ok++;
    }
    assert.ok(ok > 0 && ok < CASES, `${ok} of ${CASES} mutations parsed`);
  });

  it('the record parsers (DEVICE_INFO, CONFIG, DONE), the roster bundle and the setup code parser', () => {
    const r = prng(SEED + 1);
    const inputs = [hexToBytes(plain.deviceInfo), hexToBytes(plain.config), hexToBytes(plain.done)];
    const parsers = [parseDeviceInfo, parseConfig, parseDone, parseRosterBundle, (b: Uint8Array) => parseRoster(parseRosterBundle(b).bytes)];
    const bundle = parseConfig(inputs[1]).roster;
    for (let i = 0; i < CASES; i++) {
      const which = r.int(parsers.length);
      const base = which < 3 ? inputs[which] : bundle;
      refusedCleanly(() => parsers[which](mutate(r, base, inputs)));
      const text = new TextDecoder().decode(mutate(r, new TextEncoder().encode(r.int(2) ? vectors.qrPayload : vectors.manualCode), inputs));
      refusedCleanly(() => parseSetupCode(text));
    }
  });

  it('the doorbell\'s state machine at every stage: no throw, nothing stored, the phone still finishes', async () => {
    const r = prng(SEED + 2);
    const d = await freshDevice('fuzz');
    const m = new ManualPhone(d, d.prov.code);
    const perStage = Math.ceil(CASES / 4);
    /** Mutations of genuine messages (and of this session's), each refused without a trace. */
    const feed = (session: Uint8Array[]) => {
      const before = snapshot(d.store);
      const attempts = d.mode.attempts;
      let fed = 0;
      while (fed < perStage) {
        const input = mutate(r, [...genuine, ...session][r.int(genuine.length + session.length)], session.length ? session : genuine);
        // Messages that are legitimately allowed to move the session on are not mutations of
        // interest here: a well-formed PARAMS_REQUEST (restarts) or CONFIRM_P for this session
        // (a wrong one ends it: one confirmation per guess, see setup-flow.test.ts).
        if (session.some((g) => Buffer.from(g).equals(Buffer.from(input)))) continue; // a splice rebuilt the genuine one
        const t = peek(input);
        if (t?.type === 'PARAMS_REQUEST' || (t?.type === 'CONFIRM_P' && Buffer.from(t.sessionId).equals(Buffer.from(m.sid)))) continue;
        fed++;
        const reply = d.mode.receive(input, d.now);
        assert.ok(reply.error instanceof SealbellError, `a mutated message was accepted: ${Buffer.from(input).toString('hex')}`);
        assert.equal(parseMessage(reply.reply).type, 'ERROR');
        assert.deepEqual(snapshot(d.store), before, 'a mutated message changed the store');
        assert.equal(d.mode.attempts, attempts);
      }
    };
    feed([]);
    m.params();
    feed([m.shareMessage()]);
    const confirm = m.shareAndConfirm();
    feed([confirm]);
    const info = parseMessage(d.mode.receive(confirm, d.now).reply);
    assert.equal(info.type, 'RECORD');
    m.info = parseDeviceInfo(m.channel!.open(info as Extract<SetupMessage, { type: 'RECORD' }>));
    // the channel stage: mutations of a sealed CONFIG (and of everything else) are refused
    const authority = signingKeyFromSeed(new Uint8Array(32).fill(3));
    const roster = signRoster({ v: 1, device: m.deviceId, epoch: 1, phones: [{ name: 'p', recipient: identityToRecipient(generateIdentity(seededRandom('fuzz-p'))), auth: encodeAuthKey(ed25519.getPublicKey(new Uint8Array(32).fill(4))) }], history: null }, authority);
    const config = encodeConfig({ wifi: { ssid: 'net', password: 'password1' }, relayUrl: 'https://relay.example/', credential: new Uint8Array(32), authority: authority.publicKey, roster: encodeRosterBundle(roster) });
    const sealed = m.channel!.seal(config);
    feed([sealed]);
    const done = parseMessage(d.mode.receive(sealed, d.now).reply);
    assert.equal(done.type, 'RECORD', done.type === 'ERROR' ? done.message : '');
    assert.equal(isSetUp(d.store), true);
  });
});

function peek(b: Uint8Array): SetupMessage | undefined {
  try {
    return parseMessage(b);
  } catch {
    return undefined;
  }
}
