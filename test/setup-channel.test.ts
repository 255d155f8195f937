// Bad input to the doorbell in setup mode: malformed, oversized and out-of-order
// messages, replayed/reordered/forged channel records, and CONFIG records whose
// contents fail a check. Each gets a clear error; the doorbell stays in setup with
// its store unchanged, and the genuine phone can still finish afterwards.
import assert from 'node:assert/strict';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { encodeMessage, parseMessage, recordHeader, type SetupMessage } from '../src/setup/messages.js';
import { encodeConfig, parseDeviceInfo, parseDone, type SetupConfig } from '../src/setup/records.js';
import { MAX_MESSAGE_BYTES } from '../src/setup/protocol.js';
import { signRoster, encodeAuthKey, successor, type Roster } from '../src/roster/roster.js';
import { encodeRosterBundle } from '../src/roster/bundle.js';
import { signingKeyFromSeed } from '../src/minisign.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { generateIdentity, identityToRecipient } from '../src/age/x25519.js';
import { isSetUp } from '../src/setup/setup-mode.js';
import { RosterStore } from '../src/roster/roster-store.js';
import { seededRandom } from './helpers.js';
import { RELAY, WIFI, ManualPhone, ask, expectError, freshDevice, snapshot, type TestDevice } from './setup-fixtures.js';

type Of<T extends SetupMessage['type']> = Extract<SetupMessage, { type: T }>;
const random = seededRandom('channel-tests');
const authority = signingKeyFromSeed(random(32));
const phoneId = generateIdentity(random);
const auth = encodeAuthKey(ed25519.getPublicKey(random(32)));

function roster(device: string, epoch = 1, who = phoneId): Roster {
  return { v: 1, device, epoch, phones: [{ name: 'phone', recipient: identityToRecipient(who), auth }], history: null };
}

function config(m: ManualPhone, over: Partial<SetupConfig> = {}, key = authority, r = roster(m.deviceId)): Uint8Array {
  return encodeConfig({ wifi: WIFI, relayUrl: RELAY, credential: new Uint8Array(32).fill(7), authority: key.publicKey, roster: encodeRosterBundle(signRoster(r, key)), ...over });
}

/** Sends `bytes`, expects error `code`, and checks nothing stored or visible changed. */
function refused(d: TestDevice, bytes: Uint8Array, code: string): void {
  const before = snapshot(d.store);
  const state = d.mode.state;
  const attempts = d.mode.attempts;
  expectError(ask(d, bytes), code);
  assert.deepEqual(snapshot(d.store), before);
  assert.equal(d.mode.state, state);
  assert.equal(d.mode.attempts, attempts);
}

function finish(d: TestDevice, m: ManualPhone, bytes = config(m)): void {
  const r = ask(d, m.channel!.seal(bytes));
  assert.equal(r.type, 'RECORD', r.type === 'ERROR' ? `${r.code}: ${r.message}` : r.type);
  parseDone(m.channel!.open(r as Of<'RECORD'>));
  assert.equal(isSetUp(d.store), true);
}

describe('setup messages the doorbell refuses', () => {
  it('malformed, oversized and unknown messages at every stage; the session survives them', async () => {
    const d = await freshDevice('malformed');
    const m = new ManualPhone(d, d.prov.code);
    const junk = (sid: Uint8Array) => [
      [new Uint8Array(0), 'SETUP_MALFORMED'],
      [Uint8Array.of(0x53), 'SETUP_MALFORMED'],
      [Uint8Array.of(0x53, 0x42, 0x02, 0x01), 'SETUP_VERSION'],
      [Uint8Array.of(0x53, 0x42, 0x01, 0x42), 'SETUP_MALFORMED'],
      [Uint8Array.of(0x53, 0x42, 0x01, 0x01, 0x00), 'SETUP_MALFORMED'], // trailing byte
      [encodeMessage({ type: 'SHARE_P', sessionId: sid, shareP: new Uint8Array(65) }).slice(0, 40), 'SETUP_MALFORMED'],
      [new Uint8Array(MAX_MESSAGE_BYTES + 1), 'SETUP_TOO_LARGE'],
      [encodeMessage({ type: 'ERROR', code: 'X', message: 'y' }), 'SETUP_UNEXPECTED'],
      [encodeMessage({ type: 'PARAMS', sessionId: sid, salt: new Uint8Array(16) }), 'SETUP_UNEXPECTED'],
    ] as const;
    // no session yet
    for (const [bytes, code] of junk(new Uint8Array(8))) refused(d, bytes, code);
    refused(d, encodeMessage({ type: 'CONFIRM_P', sessionId: new Uint8Array(8), confirmP: new Uint8Array(32) }), 'SETUP_UNEXPECTED');
    m.params();
    for (const [bytes, code] of junk(m.sid)) refused(d, bytes, code);
    // out of order: CONFIRM_P before SHARE_P; a record before the channel; another session's id
    refused(d, encodeMessage({ type: 'CONFIRM_P', sessionId: m.sid, confirmP: new Uint8Array(32) }), 'SETUP_UNEXPECTED');
    refused(d, encodeMessage({ type: 'RECORD', sessionId: m.sid, seq: 0, sealed: new Uint8Array(40), header: recordHeader(m.sid, 0) }), 'SETUP_UNEXPECTED');
    refused(d, encodeMessage({ type: 'SHARE_P', sessionId: new Uint8Array(8).fill(1), shareP: new Uint8Array(65) }), 'SETUP_SESSION');
    // invalid shares: refused before any guess is answered (not counted)
    const off = new Uint8Array(65);
    off[0] = 4;
    refused(d, encodeMessage({ type: 'SHARE_P', sessionId: m.sid, shareP: off }), 'SPAKE2_BAD_SHARE');
    const confirm = m.shareAndConfirm();
    assert.equal(d.mode.attempts, 1);
    for (const [bytes, code] of junk(m.sid)) refused(d, bytes, code);
    refused(d, m.shareMessage(), 'SETUP_UNEXPECTED'); // a second SHARE_P
    const info = ask(d, confirm);
    assert.equal(info.type, 'RECORD');
    m.info = parseDeviceInfo(m.channel!.open(info as Of<'RECORD'>));
    assert.equal(d.mode.attempts, 0);
    for (const [bytes, code] of junk(m.sid)) refused(d, bytes, code);
    refused(d, confirm, 'SETUP_UNEXPECTED'); // CONFIRM_P replayed
    // after all that, the genuine phone finishes
    finish(d, m);
  });

  it('channel records: replayed, reordered, forged, or from another session are refused; the genuine record still gets in', async () => {
    const d = await freshDevice('records');
    const m = new ManualPhone(d, d.prov.code);
    m.open();
    const genuine = m.channel!.seal(config(m)); // seq 0
    const g = parseMessage(genuine) as Of<'RECORD'>;
    // a bit flipped in the session id, in the ciphertext, in the tag; bytes appended
    for (const i of [6, genuine.length - 20, genuine.length - 1]) {
      const f = genuine.slice();
      f[i] ^= 0x40;
      refused(d, f, i < 16 ? 'SETUP_SESSION' : 'SETUP_RECORD_AUTH');
    }
    refused(d, new Uint8Array([...genuine, 0]), 'SETUP_RECORD_AUTH');
    // sealed under a key of the attacker's own
    const wrongKey = chacha20poly1305(new Uint8Array(32), new Uint8Array(12), g.header).encrypt(config(m));
    refused(d, encodeMessage({ type: 'RECORD', sessionId: m.sid, seq: 0, sealed: wrongKey, header: g.header }), 'SETUP_RECORD_AUTH');
    // ahead of the expected seq: reordered or skipped
    refused(d, encodeMessage({ type: 'RECORD', sessionId: m.sid, seq: 1, sealed: g.sealed, header: recordHeader(m.sid, 1) }), 'SETUP_OUT_OF_ORDER');
    const other = new Uint8Array(8).fill(9);
    refused(d, encodeMessage({ type: 'RECORD', sessionId: other, seq: 0, sealed: g.sealed, header: recordHeader(other, 0) }), 'SETUP_SESSION');
    // the genuine record, then its replay
    const done = ask(d, genuine);
    assert.equal(done.type, 'RECORD');
    assert.equal(isSetUp(d.store), true);
    expectError(ask(d, genuine), 'SETUP_CLOSED'); // setup is over: the window closed
  });

  it('a record replayed within the session (seq already used) is refused as a replay', async () => {
    const d = await freshDevice('replay');
    const m = new ManualPhone(d, d.prov.code);
    m.open();
    const bad = m.channel!.seal(config(m, {}, authority, roster('0000000000000000'))); // seq 0: wrong device
    refused(d, bad, 'ROSTER_DEVICE');
    refused(d, bad, 'SETUP_REPLAY');
    // the header (seq included) is authenticated: record 0's bytes relabelled as record 1 do not open
    const b = parseMessage(bad) as Of<'RECORD'>;
    refused(d, encodeMessage({ type: 'RECORD', sessionId: m.sid, seq: 1, sealed: b.sealed, header: recordHeader(m.sid, 1) }), 'SETUP_RECORD_AUTH');
    finish(d, m); // seq 1
  });

  it('CONFIG contents that fail a check store nothing, and a corrected CONFIG is then accepted', async () => {
    const d = await freshDevice('config');
    const m = new ManualPhone(d, d.prov.code);
    m.open();
    const other = signingKeyFromSeed(random(32));
    const cases: [Uint8Array, string][] = [
      // a roster for another doorbell
      [config(m, {}, authority, roster('0123456789ABCDEF')), 'ROSTER_DEVICE'],
      // signed by another key than the authority the CONFIG names
      [config(m, { authority: other.publicKey }), 'ROSTER_SIGNATURE'],
      // a roster bundle that is cut short
      [config(m, { roster: encodeRosterBundle(signRoster(roster(m.deviceId), authority)).slice(0, 100) }), 'ROSTER_FORMAT'],
    ];
    for (const [bytes, code] of cases) refused(d, m.channel!.seal(bytes), code);
    // a plain-http relay elsewhere would expose the device credential; the encoder refuses it, so craft it
    const good = config(m);
    const tampered = replaceBytes(good, 'https://relay.example/sealbell', 'http://relay.example/sealbell/');
    refused(d, m.channel!.seal(tampered), 'SETUP_CONFIG');
    refused(d, m.channel!.seal(replaceBytes(good, 'correct horse battery staple', 'short\u0000password\u0000xxxxxxxxxxxxx')), 'SETUP_CONFIG');
    // a record of the wrong kind in the channel
    refused(d, m.channel!.seal(Uint8Array.of(0x10, 0, 0)), 'SETUP_UNEXPECTED');
    refused(d, m.channel!.seal(Uint8Array.of(0x11)), 'SETUP_MALFORMED');
    finish(d, m);
    assert.equal(new RosterStore(d.store, m.deviceId).load()!.roster.epoch, 1);
  });

  it('a doorbell that is set up takes a CONFIG only with its own authority and the successor of its roster', async () => {
    const d = await freshDevice('owned');
    const m = new ManualPhone(d, d.prov.code);
    m.open();
    finish(d, m, config(m, {}, authority, roster(m.deviceId, 5)));
    d.mode.longPress(d.now);
    const n = new ManualPhone(d, d.prov.code, 'second');
    const info = n.open();
    assert.equal(info.epoch, 5);
    assert.deepEqual(info.authority, authority.publicKey);
    const intruder = signingKeyFromSeed(random(32));
    refused(d, n.channel!.seal(config(n, {}, intruder, roster(n.deviceId, 6))), 'ROSTER_AUTHORITY');
    refused(d, n.channel!.seal(config(n, {}, authority, roster(n.deviceId, 5))), 'ROSTER_EPOCH');
    refused(d, n.channel!.seal(config(n, {}, authority, roster(n.deviceId, 4))), 'ROSTER_EPOCH');
    refused(d, n.channel!.seal(config(n, {}, authority, roster(n.deviceId, 6))), 'ROSTER_FORK'); // not chained to epoch 5
    finish(d, n, config(n, {}, authority, successor(roster(n.deviceId, 5), {})));
  });
});

/** `bytes` with the UTF-8 of `from` replaced by that of `to` (same length). */
function replaceBytes(bytes: Uint8Array, from: string, to: string): Uint8Array {
  const f = Buffer.from(from);
  const t = Buffer.from(to);
  assert.equal(f.length, t.length);
  const at = Buffer.from(bytes).indexOf(f);
  assert.ok(at >= 0);
  const out = bytes.slice();
  out.set(t, at);
  return out;
}
