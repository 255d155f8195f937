// The phone's live pipeline against a relay that misbehaves: it replays, reorders, drops
// and forges records, replays an opening from an earlier session, or cuts the stream. The
// device side is the real sealer; the phone side is the receiver the CLI and viewer use.
import assert from 'node:assert/strict';
import { base64 } from '@scure/base';
import { nobleAead } from '../src/crypto/noble.js';
import { generateIdentity, identityToRecipient } from '../src/age/x25519.js';
import { loadOrCreateIdentity } from '../src/device/identity.js';
import { LiveSealer } from '../src/live/sealer.js';
import { encodeLiveFrame } from '../src/uplink/live-wire.js';
import { LiveReceiver } from '../tools/phone/live-receiver.js';
import { MemoryStore, seededRandom } from './helpers.js';

function setUp(seed: string) {
  const random = seededRandom(seed);
  const identity = generateIdentity(random);
  const device = loadOrCreateIdentity(new MemoryStore(), random);
  const shown: number[] = [];
  const dropped: string[] = [];
  const receiver = new LiveReceiver({
    aead: nobleAead,
    random,
    identity,
    devicePublicKey: device.key.publicKey,
    device: device.deviceId,
    authSecretKey: random(32),
    onFrame: (f) => shown.push(f.ctr),
    onDropped: (e) => dropped.push(`${e.reason}:${e.ctr}`),
  });
  const start = JSON.parse(receiver.handle(JSON.stringify({ t: 'hello', v: 1, device: device.deviceId, session: 'abc' }))!) as { t: string; request: string };
  assert.equal(start.t, 'start');
  const sealerFor = (request: Uint8Array) =>
    new LiveSealer({ aead: nobleAead, random, key: device.key, device: device.deviceId, session: 'abc', request, epoch: 1, start: 0, width: 16, height: 8, recipient: identityToRecipient(identity) });
  const sealer = sealerFor(base64.decode(start.request));
  const opening = encodeLiveFrame('opening', 'abc', sealer.opening);
  const record = (n: number) => encodeLiveFrame('record', 'abc', sealer.frame(Uint8Array.of(0xff, 0xd8, 0xff, n), n * 100));
  return { receiver, sealer, sealerFor, opening, record, shown, dropped };
}

describe('the phone against a misbehaving relay', function () {
  it('replayed, reordered, dropped and forged records: only fresh genuine frames are shown, the rest flagged', () => {
    const t = setUp('receiver-1');
    t.receiver.handle(t.opening);
    const r = [0, 1, 2, 3, 4, 5].map(t.record);
    const forged = r[4].slice();
    forged[forged.length - 3] ^= 0x80;
    for (const m of [r[0], r[0], r[2], r[1], forged, r[3], r[5], r[4], r[2]]) t.receiver.handle(m);
    assert.deepEqual(t.shown, [0, 2, 3, 5]);
    assert.deepEqual(t.dropped, ['replayed:0', 'late:1', 'forged:4', 'late:4', 'replayed:2']);
    assert.equal(t.receiver.opener!.stats.skipped, 2, 'record 1 and 4 never shown in order');
    assert.equal(t.receiver.state, 'open');
  });

  it('an opening replayed from an earlier session is refused: nothing is shown', () => {
    const t = setUp('receiver-2');
    const old = t.sealerFor(new Uint8Array(16).fill(7)); // answered another request
    t.receiver.handle(encodeLiveFrame('opening', 'abc', old.opening));
    assert.equal(t.receiver.state, 'failed');
    assert.equal(t.receiver.error?.code, 'LIVE_REQUEST');
    t.receiver.handle(encodeLiveFrame('record', 'abc', old.frame(Uint8Array.of(1), 0)));
    assert.deepEqual(t.shown, []);
  });

  it('a record before the opening, a second opening, a frame of another session: protocol errors', () => {
    for (const bad of ['early', 'twice', 'other']) {
      const t = setUp(`receiver-3-${bad}`);
      if (bad === 'early') t.receiver.handle(t.record(0));
      if (bad === 'twice') {
        t.receiver.handle(t.opening);
        t.receiver.handle(t.opening);
      }
      if (bad === 'other') t.receiver.handle(encodeLiveFrame('opening', 'xyz', t.sealer.opening));
      assert.equal(t.receiver.error?.code, 'LIVE_PROTOCOL', bad);
    }
  });

  it('a stream cut without the device\'s end record is reported; one with it is not', () => {
    const cut = setUp('receiver-4');
    cut.receiver.handle(cut.opening);
    cut.receiver.handle(cut.record(0));
    cut.receiver.closed(1006, '');
    assert.equal(cut.receiver.error?.code, 'LIVE_CUT');
    const whole = setUp('receiver-5');
    whole.receiver.handle(whole.opening);
    whole.receiver.handle(whole.record(0));
    whole.receiver.handle(encodeLiveFrame('record', 'abc', whole.sealer.end('timeout', 500)));
    whole.receiver.closed(1000, '');
    assert.equal(whole.receiver.state, 'ended');
    assert.equal(whole.receiver.endReason, 'timeout');
  });

  it('refusals from the relay or the device come through with their code', () => {
    const t = setUp('receiver-6');
    t.receiver.handle(JSON.stringify({ t: 'error', code: 'LIVE_NOT_IN_ROSTER', message: 'not in the roster' }));
    assert.equal(t.receiver.error?.code, 'LIVE_NOT_IN_ROSTER');
  });
});
