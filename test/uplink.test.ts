// The uplink core against an in-memory relay: sends as soon as segments exist, keeps
// the window, sends `end` only after every segment is acknowledged, backs off with
// jitter, resumes idempotently, and gives up on a stalled connection.
import assert from 'node:assert/strict';
import { SealbellError } from '../src/errors.js';
import { Spool } from '../src/uplink/spool.js';
import { MemorySpoolStorage } from '../src/uplink/storage.js';
import { Uplink, type UplinkOptions } from '../src/uplink/uplink.js';
import { utf8ToBytes } from '../src/bytes.js';
import { seededRandom } from './helpers.js';
import { FakeRelay } from './uplink-fakes.js';

const seg = (clip: number, i: number, size = 500) => new Uint8Array(size).fill((clip * 16 + i) & 0xff);
const MANIFEST = utf8ToBytes('{"m":1}\n');

function rig(o: Partial<UplinkOptions> & { seed?: string; capacity?: number } = {}) {
  const relay = new FakeRelay();
  const storage = new MemorySpoolStorage();
  const spool = new Spool({ storage, capacity: o.capacity ?? 1 << 20 });
  const log: string[] = [];
  const uplink = new Uplink({ spool, connect: relay.connect, random: seededRandom(o.seed ?? 'uplink'), log: (l) => log.push(l), ...o });
  return { relay, storage, spool, uplink, log };
}

function writeClip(spool: Spool, id: string, n: number, end = true): void {
  spool.begin(id, 1);
  for (let i = 0; i < n; i++) spool.segment(id, i, seg(id.length, i));
  if (end) spool.end(id, MANIFEST, 'sig');
}

describe('uplink (core, in-memory relay)', function () {
  it('sends each segment as soon as the spool has it, and only then the end', () => {
    const { relay, spool, uplink } = rig();
    uplink.start(0);
    relay.flush();
    assert.equal(uplink.state, 'ready');
    spool.begin('c1', 7);
    spool.segment('c1', 0, seg(1, 0));
    relay.flush();
    assert.equal(relay.stored, 1, 'sent without waiting for a tick');
    assert.deepEqual(relay.clips.get('c1'), { epoch: 7 });
    spool.segment('c1', 1, seg(1, 1));
    spool.end('c1', MANIFEST, 'sig');
    relay.flush();
    assert.equal(relay.clips.get('c1')!.closed, 'verified');
    assert.equal(relay.clips.get('c1')!.segments, 2);
    assert.equal(spool.empty, true);
    assert.equal(uplink.stats.segmentsAcked, 2);
  });

  it('tells the relay its roster after hello; answers an update with what it then holds, or with roster-refused', () => {
    let held: { bundle: Uint8Array; authority: Uint8Array; ack: string } = { bundle: utf8ToBytes('SBR1 epoch 1'), authority: new Uint8Array(32), ack: 'ack 1' };
    const roster = {
      held: () => held,
      update: (b: Uint8Array) => {
        if (!String.fromCharCode(...b).includes('good')) throw new SealbellError('ROSTER_SIGNATURE', 'not signed by the account authority');
        held = { ...held, bundle: b, ack: 'ack 2' };
      },
    };
    const { relay, uplink, log } = rig({ roster });
    uplink.start(0);
    relay.flush();
    const told = () => relay.control.filter((t) => t.startsWith('{"t":"roster"')).map((t) => JSON.parse(t));
    assert.deepEqual(told().map((m) => m.ack), ['ack 1']);
    relay.pushRoster(Buffer.from('forged').toString('base64'));
    relay.flush();
    const refused = relay.control.map((t) => JSON.parse(t)).filter((m) => m.t === 'roster-refused');
    assert.deepEqual(refused.map((m) => m.code), ['ROSTER_SIGNATURE']);
    assert.equal(uplink.state, 'ready', 'a refused update does not cost the connection');
    assert.ok(log.some((l) => /roster update refused: ROSTER_SIGNATURE/.test(l)));
    relay.pushRoster(Buffer.from('good update').toString('base64'));
    relay.flush();
    assert.deepEqual(told().map((m) => m.ack), ['ack 1', 'ack 2']);
    assert.equal(Buffer.from(told()[1].bundle, 'base64').toString(), 'good update');
  });

  it('keeps at most `window` messages in flight and holds `end` until every segment is acknowledged', () => {
    const { relay, spool, uplink } = rig({ window: 3 });
    relay.ackSegments = false;
    uplink.start(0);
    relay.flush();
    writeClip(spool, 'c1', 10);
    relay.flush();
    assert.equal(relay.stored, 3);
    assert.equal(uplink.inFlightCount, 3);
    for (let round = 0; round < 5; round++) {
      relay.releaseAcks();
      relay.flush();
    }
    assert.equal(relay.stored, 10);
    assert.equal(relay.maxUnacked, 3);
    // Every segment went before the end message.
    assert.equal(relay.control.filter((t) => t.includes('"end"')).length, 1);
    assert.equal(spool.empty, true);
  });

  it('a later hello changes the window on the open connection, down and back up (never above its own)', () => {
    const { relay, spool, uplink } = rig({ window: 6 });
    relay.ackSegments = false;
    uplink.start(0);
    relay.flush();
    writeClip(spool, 'c1', 30);
    relay.flush();
    assert.equal(uplink.inFlightCount, 6);
    relay.offerWindow(2);
    relay.flush();
    relay.releaseAcks(); // 6 acknowledged: only 2 go out in their place
    relay.flush();
    assert.equal(uplink.inFlightCount, 2);
    assert.equal(relay.stored, 8);
    relay.offerWindow(16);
    relay.flush();
    assert.equal(uplink.inFlightCount, 6, 'the device keeps its own limit');
    for (let round = 0; round < 10; round++) {
      relay.releaseAcks();
      relay.flush();
    }
    assert.equal(relay.stored, 30);
    assert.equal(spool.empty, true);
  });

  it('backs off exponentially with jitter while the relay is down, capped at the maximum', () => {
    const attempts = (seed: string) => {
      const { relay, uplink } = rig({ seed, initialBackoff: 1000, maxBackoff: 16_000 });
      relay.up = false;
      const times: number[] = [];
      let seen = 0;
      uplink.start(0);
      for (let t = 0; t <= 120_000; t += 50) {
        uplink.tick(t);
        relay.flush();
        if (relay.connects > seen) {
          seen = relay.connects;
          times.push(t);
        }
      }
      return times;
    };
    const a = attempts('backoff-a');
    const gaps = a.slice(1).map((t, i) => t - a[i]);
    gaps.forEach((g, i) => {
      const nominal = Math.min(16_000, 1000 * 2 ** i);
      // The delay is drawn after the failure is noticed (next tick: +50 ms) and fires on a tick (+50 ms).
      assert.ok(g >= nominal / 2 && g <= nominal + 100, `gap ${i}: ${g} ms, nominal ${nominal}`);
    });
    assert.ok(gaps.length >= 9, `${gaps.length} attempts`);
    const b = attempts('backoff-b');
    assert.notDeepEqual(a, b, 'two devices do not retry in lockstep');
  });

  it('resumes after the connection drops: resends what was not acknowledged, and the relay stores it once', () => {
    const { relay, spool, uplink } = rig({ window: 8 });
    relay.ackSegments = false;
    uplink.start(0);
    relay.flush();
    writeClip(spool, 'c1', 6);
    relay.flush();
    assert.equal(relay.stored, 6);
    relay.dropConnection(); // the acks are lost with it
    relay.ackSegments = true;
    relay.flush();
    assert.equal(uplink.state, 'waiting');
    for (let t = 0; t <= 5000 && !spool.empty; t += 100) {
      uplink.tick(t);
      relay.flush();
    }
    assert.equal(spool.empty, true);
    assert.equal(relay.stored, 6);
    assert.equal(relay.duplicates, 6);
    assert.equal(relay.clips.get('c1')!.closed, 'verified');
    for (let i = 0; i < 6; i++) assert.deepEqual(relay.segments.get(`c1#${i}`), seg(2, i));
  });

  it('reconnects when acknowledgements stop coming on an open connection', () => {
    const { relay, spool, uplink } = rig({ ackTimeout: 30_000 });
    relay.ackSegments = false;
    uplink.start(0);
    relay.flush();
    writeClip(spool, 'c1', 2);
    relay.flush();
    uplink.tick(29_000);
    relay.flush();
    assert.equal(uplink.state, 'ready');
    uplink.tick(30_000);
    relay.flush();
    assert.equal(uplink.state, 'waiting');
    relay.ackSegments = true;
    for (let t = 30_000; t <= 40_000 && !spool.empty; t += 100) {
      uplink.tick(t);
      relay.flush();
    }
    assert.equal(spool.empty, true);
    assert.equal(relay.connects, 2);
  });

  it('a clip the relay refuses is dropped from the spool and reported in the next manifest', () => {
    const { relay, spool, uplink } = rig();
    relay.refuse.add('bad');
    uplink.start(0);
    relay.flush();
    writeClip(spool, 'bad', 2);
    writeClip(spool, 'good', 2);
    relay.flush();
    assert.equal(spool.empty, true);
    assert.equal(relay.clips.get('good')!.closed, 'verified');
    assert.deepEqual(spool.takeDropped(), ['bad']);
  });

  it('a clip refused while it is being recorded is not resent in a loop', () => {
    const { relay, spool, uplink } = rig();
    relay.refuse.add('live');
    uplink.start(0);
    relay.flush();
    spool.begin('live', 1);
    spool.segment('live', 0, seg(4, 0));
    relay.flush();
    spool.segment('live', 1, seg(4, 1));
    spool.end('live', MANIFEST, 'sig');
    relay.flush();
    assert.equal(uplink.stats.segmentsSent, 1);
    assert.equal(spool.empty, true);
    assert.deepEqual(spool.takeDropped(), ['live']);
  });

  it('a segment refused for the relay\'s quota stays in the spool, is not dropped, and goes once the relay frees space', () => {
    const { relay, spool, uplink, log } = rig();
    relay.quotaFull = true;
    uplink.start(0);
    relay.flush();
    writeClip(spool, 'full', 3);
    relay.flush();
    assert.ok(uplink.stats.quotaRefusals >= 1);
    assert.equal(relay.stored, 0);
    assert.equal(spool.empty, false);
    assert.deepEqual(spool.takeDropped(), [], 'not dropped: the refusal is not final');
    assert.equal(log.filter((l) => l.startsWith('uplink: the relay refuses uploads: QUOTA_EXCEEDED: over quota; 1 clip(s) wait in the spool')).length, 1);
    // Nothing is sent again before the relay says so (or the retry time): no loop against a full relay.
    const sent = uplink.stats.segmentsSent;
    uplink.tick(30_000);
    relay.flush();
    assert.equal(uplink.stats.segmentsSent, sent);
    assert.equal(uplink.state, 'ready', 'no acknowledgement timeout either');
    relay.quotaOk();
    relay.flush();
    assert.equal(relay.clips.get('full')!.closed, 'verified');
    assert.equal(spool.empty, true);
    assert.ok(log.includes('uplink: the relay has space again: sending what the spool keeps'));
  });

  it('without a word from the relay, segments refused for its quota are tried again after quotaRetry', () => {
    const { relay, spool, uplink } = rig({ quotaRetry: 60_000 });
    relay.quotaFull = true;
    uplink.start(0);
    relay.flush();
    writeClip(spool, 'later', 2);
    relay.flush();
    assert.equal(uplink.nextWakeup(), 60_000);
    relay.quotaFull = false; // space freed, but this relay does not say so
    uplink.tick(59_999);
    relay.flush();
    assert.equal(relay.stored, 0);
    uplink.tick(60_000);
    relay.flush();
    assert.equal(relay.clips.get('later')!.closed, 'verified');
    assert.equal(spool.empty, true);
  });

  it('stopped and started again, it announces its clips again', () => {
    const { relay, spool, uplink } = rig();
    relay.ackSegments = false;
    uplink.start(0);
    relay.flush();
    writeClip(spool, 'c1', 2);
    relay.flush();
    uplink.stop();
    relay.flush();
    relay.ackSegments = true;
    uplink.start(10);
    relay.flush();
    assert.equal(spool.empty, true);
    assert.equal(relay.control.filter((t) => t.includes('"begin"')).length, 2);
  });

  it('does not send to a relay that names another device', () => {
    const { relay, spool, uplink, log } = rig({ deviceId: 'DEVICE0000000002' });
    uplink.start(0);
    writeClip(spool, 'c1', 1);
    relay.flush();
    assert.equal(relay.stored, 0);
    assert.equal(uplink.state, 'waiting');
    assert.match(log.join('\n'), /knows this credential as device DEVICE0000000001/);
  });

  it('after a reboot, a new uplink on the same storage finishes the job', () => {
    const first = rig({ window: 4 });
    first.relay.ackSegments = false;
    first.uplink.start(0);
    first.relay.flush();
    writeClip(first.spool, 'c1', 5);
    writeClip(first.spool, 'c2', 3, false); // being recorded
    first.relay.flush();
    first.relay.releaseAcks(); // 4 acks on the way…
    first.uplink.stop(); // …but the device is gone before it reads them
    first.relay.flush();
    const spool = new Spool({ storage: first.storage, capacity: 1 << 20 });
    assert.deepEqual(spool.recovery.interrupted, ['c2']);
    first.relay.ackSegments = true;
    const uplink = new Uplink({ spool, connect: first.relay.connect, random: seededRandom('reboot') });
    uplink.start(1000);
    first.relay.flush();
    assert.equal(spool.empty, true);
    assert.equal(first.relay.stored, 8);
    assert.equal(first.relay.clips.get('c1')!.closed, 'verified');
    assert.equal(first.relay.clips.get('c2')!.closed, 'incomplete');
  });
});
