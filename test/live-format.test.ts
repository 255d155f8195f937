// The live-view format (docs/live-format.md): the vector is reproduced byte for byte,
// the doc shows it, and the phone's opener drops and flags replayed, reordered and
// forged records, and refuses openings that are forged, replayed or not for it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { LiveRequestCheck, liveRequestMessage, MAX_REQUEST_SKEW } from '../src/live/request.js';
import { decodeAuthKey } from '../src/roster/roster.js';
import path from 'node:path';
import { bytesToHex, hexToBytes } from '../src/bytes.js';
import { nobleAead } from '../src/crypto/noble.js';
import { decodePublicKey } from '../src/minisign.js';
import { generateIdentity, identityToRecipient } from '../src/age/x25519.js';
import { loadOrCreateIdentity } from '../src/device/identity.js';
import { LiveSealer } from '../src/live/sealer.js';
import { openLiveSession, type LiveEvent } from '../src/live/opener.js';
import { parseOpening, readRecordHeader } from '../src/live/format.js';
import { ReplayWindow } from '../src/live/replay-window.js';
import { decodeLiveFrame, encodeLiveFrame, parseLiveDeviceMessage, parseLiveRelayMessage } from '../src/uplink/live-wire.js';
import { SealbellError } from '../src/errors.js';
import { errorCode, MemoryStore, ROOT, seededRandom } from './helpers.js';
import { makeLiveVector, openLiveVector, type LiveVector } from './live-vector.js';
import { updatingVectors } from '../tools/vectors/rewrite-guard.js';

const FILE = path.join(ROOT, 'test/vectors/live-v1.json');

function fixture(seed = 'live-format') {
  const random = seededRandom(seed);
  const identity = generateIdentity(random);
  const device = loadOrCreateIdentity(new MemoryStore(), random);
  const request = random(16);
  const sealer = new LiveSealer({
    aead: nobleAead,
    random,
    key: device.key,
    device: device.deviceId,
    session: 's1',
    request,
    epoch: 1,
    start: 1_000,
    width: 320,
    height: 240,
    recipient: identityToRecipient(identity),
  });
  const open = (over: { identity?: string; request?: Uint8Array; device?: string; opening?: Uint8Array } = {}) =>
    openLiveSession(over.opening ?? sealer.opening, {
      aead: nobleAead,
      identity: over.identity ?? identity,
      devicePublicKey: device.key.publicKey,
      device: over.device ?? device.deviceId,
      request: over.request ?? request,
    });
  const frame = (n: number) => sealer.frame(Uint8Array.of(0xff, 0xd8, 0xff, n), 1_000 + n).slice();
  return { random, identity, device, request, sealer, open, frame };
}

const kinds = (events: LiveEvent[]) => events.map((e) => (e.t === 'dropped' ? `${e.reason}:${e.ctr}` : `${e.t}:${e.ctr}`));

describe('live format', function () {
  if (updatingVectors()) fs.writeFileSync(FILE, JSON.stringify(makeLiveVector(), null, 2) + '\n');
  const v: LiveVector = JSON.parse(fs.readFileSync(FILE, 'utf8'));

  it('the sealer reproduces the vector byte for byte', function () {
    assert.deepEqual(makeLiveVector(), v);
  });

  it('the opener opens the vector: fields, frames and the end record', function () {
    const opener = openLiveVector(v);
    assert.equal(opener.info.session, v.session);
    assert.equal(opener.info.kid, v.kid);
    assert.equal(opener.info.epoch, 3);
    assert.equal(new TextDecoder().decode(opener.info.header), v.header);
    for (const r of v.records) {
      const e = opener.open(hexToBytes(r.record));
      assert.equal(e.t, r.kind);
      assert.equal((e as { ctr: number }).ctr, r.ctr);
      assert.equal((e as { time: number }).time, r.time);
      if (e.t === 'frame') assert.equal(bytesToHex(e.data), r.data);
      if (e.t === 'end') assert.equal(e.reason, 'timeout');
      // the record header is kid ‖ ctr
      assert.deepEqual(readRecordHeader(hexToBytes(r.record)), { kid: v.kid, ctr: r.ctr });
    }
    assert.equal(opener.closed, true);
  });

  it('the signed request: the doorbell accepts it once, and nothing altered or replayed', function () {
    const r = v.signedRequest;
    const asked = { device: v.device, session: v.session, request: hexToBytes(v.request), time: r.time };
    assert.equal(bytesToHex(liveRequestMessage(asked)), r.message);
    const check = new LiveRequestCheck();
    const key = decodeAuthKey(r.auth);
    const sig = hexToBytes(r.signature);
    check.check(asked, sig, key, v.start);
    assert.equal(errorCode(() => check.check(asked, sig, key, v.start)), 'LIVE_REPLAYED');
    assert.equal(errorCode(() => new LiveRequestCheck().check({ ...asked, session: 'other' }, sig, key, v.start)), 'LIVE_SIGNATURE');
    assert.equal(errorCode(() => new LiveRequestCheck().check({ ...asked, time: r.time + 1 }, sig, key, v.start)), 'LIVE_SIGNATURE');
    assert.equal(errorCode(() => new LiveRequestCheck().check(asked, sig, key, v.start + MAX_REQUEST_SKEW + 1000)), 'LIVE_STALE');
  });

  it('docs/live-format.md shows this vector', function () {
    const doc = fs.readFileSync(path.join(ROOT, 'docs/live-format.md'), 'utf8').replace(/\n\s*/g, '\n');
    const wrapped = (hex: string) => hex.match(/.{1,64}/g)!.join('\n');
    const texts = [
      v.identity,
      v.recipient,
      ...v.devicePublicKey.trim().split('\n'),
      ...v.header.trim().split('\n'),
      v.request,
      v.nonce,
      v.recordKey,
      v.session,
      `0x${v.kid.toString(16).padStart(8, '0')}`,
      wrapped(v.opening),
      ...v.records.map((r) => wrapped(r.record)),
      v.signedRequest.auth,
      wrapped(v.signedRequest.message),
      wrapped(v.signedRequest.signature),
    ];
    for (const text of texts) assert.ok(doc.includes(text), `the doc lacks: ${text}`);
  });

  it('replayed, reordered and forged records are dropped and flagged; frames go on', function () {
    const f = fixture();
    const opener = f.open();
    const r = [0, 1, 2, 3, 4].map(f.frame);
    const forged = r[3].slice();
    forged[forged.length - 1] ^= 1;
    const events = [
      opener.open(r[0]),
      opener.open(r[0]), // replayed
      opener.open(r[2]), // record 1 overtaken
      opener.open(r[1]), // late: reordered
      opener.open(r[1]), // now a replay of what was seen late
      opener.open(forged), // a changed tag
      opener.open(r[3]),
      opener.open(r[4]),
    ];
    assert.deepEqual(kinds(events), ['frame:0', 'replayed:0', 'frame:2', 'late:1', 'replayed:1', 'forged:3', 'frame:3', 'frame:4']);
    assert.equal(events[2].t === 'frame' && events[2].skipped, 1);
    assert.deepEqual(opener.stats, { frames: 4, skipped: 1, replayed: 2, late: 1, stale: 0, forged: 1, closed: 0 });
  });

  it('forgeries of every kind: header fields, ciphertext, key id, a record of another session, junk', function () {
    const f = fixture();
    const other = fixture('live-format-other');
    const opener = f.open();
    const good = f.frame(0);
    const mutate = (at: number) => {
      const b = good.slice();
      b[at] ^= 0x40;
      return b;
    };
    const events = [
      opener.open(mutate(11)), // counter changed: the nonce changes, authentication fails
      opener.open(mutate(0)), // key id changed
      opener.open(mutate(20)), // ciphertext
      opener.open(other.frame(0)), // another session's record
      opener.open(new Uint8Array(10)), // too short to be a record
      opener.open(new Uint8Array(200_000)), // too long
    ];
    assert.ok(events.every((e) => e.t === 'dropped' && e.reason === 'forged'), JSON.stringify(kinds(events)));
    // nothing forged moved the window: the genuine record 0 still opens
    assert.equal(opener.open(good).t, 'frame');
    assert.equal(opener.stats.forged, 6);
  });

  it('a record far behind the window is stale; records after the end are dropped', function () {
    const f = fixture();
    const opener = f.open();
    const records = Array.from({ length: 70 }, (_, i) => f.frame(i));
    opener.open(records[0]);
    opener.open(records[69]);
    assert.equal(kinds([opener.open(records[1])])[0], 'stale:1');
    assert.equal(kinds([opener.open(records[10])])[0], 'late:10');
    const end = f.sealer.end('stopped', 2_000).slice();
    assert.deepEqual(kinds([opener.open(end)]), ['end:70']);
    assert.equal(kinds([opener.open(records[68])])[0], 'closed:68');
    assert.throws(() => f.sealer.frame(Uint8Array.of(1), 3_000), (e: unknown) => e instanceof SealbellError && e.code === 'LIVE_CLOSED');
  });

  it('openings: forged, replayed from another request, for another phone or device, malformed', function () {
    const f = fixture();
    const tampered = f.sealer.opening.slice();
    tampered[40] ^= 1;
    assert.equal(errorCode(() => f.open({ opening: tampered })), 'LIVE_SIGNATURE');
    assert.equal(errorCode(() => f.open({ request: new Uint8Array(16) })), 'LIVE_REQUEST');
    assert.equal(errorCode(() => f.open({ identity: generateIdentity(f.random) })), 'NO_IDENTITY');
    assert.equal(errorCode(() => f.open({ device: '0123456789ABCDEF' })), 'LIVE_WRONG_DEVICE');
    assert.equal(errorCode(() => f.open({ opening: f.sealer.opening.subarray(0, 100) })), 'LIVE_FORMAT');
    assert.equal(errorCode(() => f.open({ opening: new Uint8Array(5000) })), 'LIVE_FORMAT');
    assert.equal(errorCode(() => parseOpening(new Uint8Array([...f.sealer.opening, 0]))), 'LIVE_FORMAT');
    // An opening signed by a device but re-made by someone else (another header): the signature breaks.
    const other = fixture('live-format-other');
    assert.equal(errorCode(() => f.open({ opening: other.sealer.opening })), 'LIVE_WRONG_DEVICE');
  });

  it('fuzz: 3,000 mutated records and 500 mutated openings never crash the opener and are never shown', function () {
    const f = fixture();
    const opener = f.open();
    const good = f.frame(0);
    const rand = seededRandom('live-fuzz');
    for (let i = 0; i < 3000; i++) {
      const r = rand(4);
      const b = good.slice();
      const n = 1 + (r[0] % 4);
      for (let k = 0; k < n; k++) b[(r[1] * 256 + r[2] + k * 7) % b.length] ^= 1 + (r[3] % 255);
      const e = opener.open(b);
      assert.equal(e.t, 'dropped');
      if (i % 6 !== 0) continue;
      const o = f.sealer.opening.slice();
      o[(r[1] * 256 + r[2]) % o.length] ^= 1 + (r[3] % 255);
      assert.throws(() => f.open({ opening: o }), (err: unknown) => err instanceof SealbellError);
    }
    assert.equal(opener.open(good).t, 'frame');
  });

  it('the replay window by itself', function () {
    const w = new ReplayWindow();
    assert.equal(w.check(5), 'new');
    assert.equal(w.accept(5), 5);
    assert.equal(w.check(5), 'replayed');
    assert.equal(w.check(4), 'late');
    assert.equal(w.accept(200), 194);
    assert.equal(w.check(137), 'late');
    assert.equal(w.check(136), 'stale');
    assert.equal(w.check(5), 'stale');
  });

  it('live frames and control messages on the uplink connection', function () {
    const frame = encodeLiveFrame('record', 'abc', Uint8Array.of(1, 2, 3));
    assert.equal(bytesToHex(frame), '0303616263010203');
    assert.deepEqual({ ...decodeLiveFrame(frame), bytes: [...decodeLiveFrame(frame).bytes] }, { kind: 'record', session: 'abc', bytes: [1, 2, 3] });
    assert.equal(decodeLiveFrame(encodeLiveFrame('opening', 'abc', Uint8Array.of(9))).kind, 'opening');
    for (const bad of ['0203', '02032e2e2f01', '0400', '0203616263']) {
      assert.equal(errorCode(() => decodeLiveFrame(hexToBytes(bad))), 'WIRE_FORMAT', bad);
    }
    const phone = 'iojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w=';
    const sig = 'A'.repeat(85) + 'A==';
    const signed = `"time":1795694400000,"signature":"${sig}"`;
    assert.deepEqual(parseLiveRelayMessage(`{"t":"live","session":"abc","phone":"${phone}","request":"AAECAwQFBgcICQoLDA0ODw==",${signed}}`), {
      t: 'live', session: 'abc', phone, request: 'AAECAwQFBgcICQoLDA0ODw==', time: 1795694400000, signature: sig,
    });
    // A request without the phone's signature, or with a malformed time, is not a live request.
    assert.equal(errorCode(() => parseLiveRelayMessage(`{"t":"live","session":"abc","phone":"${phone}","request":"AAECAwQFBgcICQoLDA0ODw=="}`)), 'WIRE_FORMAT');
    assert.equal(errorCode(() => parseLiveRelayMessage(`{"t":"live","session":"abc","phone":"${phone}","request":"AAECAwQFBgcICQoLDA0ODw==","time":-1,"signature":"${sig}"}`)), 'WIRE_FORMAT');
    assert.equal(parseLiveRelayMessage('{"t":"ack","clip":"a","seg":1}'), undefined);
    assert.equal(errorCode(() => parseLiveRelayMessage(`{"t":"live","session":"../x","phone":"${phone}","request":"AAECAwQFBgcICQoLDA0ODw=="}`)), 'WIRE_FORMAT');
    assert.equal(errorCode(() => parseLiveRelayMessage(`{"t":"live","session":"a","phone":"${phone}","request":"AAEC"}`)), 'WIRE_FORMAT');
    assert.deepEqual(parseLiveDeviceMessage('{"t":"live-end","session":"abc","reason":"timeout"}'), { t: 'live-end', session: 'abc', reason: 'timeout' });
    assert.equal(errorCode(() => parseLiveDeviceMessage('{"t":"live-refused","session":"abc","code":"lower","message":""}')), 'WIRE_FORMAT');
  });
});
