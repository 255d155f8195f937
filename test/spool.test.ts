// The spool on its own: what survives a restart, what a full spool drops (and
// reports), and what happens to a clip that alone does not fit. Runs over both
// the in-memory storage and the hosted simulator's file storage.
import assert from 'node:assert/strict';
import { Spool } from '../src/uplink/spool.js';
import { MemorySpoolStorage, type SpoolStorage } from '../src/uplink/storage.js';
import { encodeBegin, encodeSegment } from '../src/uplink/spool-records.js';
import { decodeManifest } from '../src/clip/manifest.js';
import { utf8ToBytes } from '../src/bytes.js';
import { Doorbell } from '../src/device/doorbell.js';
import { loadOrCreateIdentity } from '../src/device/identity.js';
import { nobleBackend } from '../src/crypto/noble.js';
import { generateIdentity, identityToRecipient } from '../src/age/x25519.js';
import { FileSpoolStorage } from '../hosts/node/file-spool-storage.js';
import { fakeFrame, MemorySink, MemoryStore, seededRandom, tempDir } from './helpers.js';
import { errorCode as code } from './helpers.js';
import { TeeSink } from './relay-helpers.js';

const seg = (n: number, size = 1000) => new Uint8Array(size).fill(n & 0xff);
const MANIFEST = utf8ToBytes('{"manifest":1}\n');
const SIG = 'untrusted comment: x\nAAAA\ntrusted comment: y\nBBBB\n';

/** Writes a clip of `n` segments of `size` bytes; `end` false leaves it open (recording). */
function writeClip(spool: Spool, id: string, n: number, size = 1000, end = true): void {
  spool.begin(id, 1);
  for (let i = 0; i < n; i++) spool.segment(id, i, seg(i, size));
  if (end) spool.end(id, MANIFEST, SIG);
}

for (const kind of ['memory', 'file'] as const) {
  describe(`spool (${kind} storage)`, function () {
    let storage: SpoolStorage;
    let reopenStorage: () => SpoolStorage;
    beforeEach(() => {
      if (kind === 'memory') {
        const m = new MemorySpoolStorage();
        storage = m;
        reopenStorage = () => m;
      } else {
        const dir = tempDir('spool-unit');
        storage = new FileSpoolStorage(dir);
        reopenStorage = () => new FileSpoolStorage(dir);
      }
    });

    it('a reopened spool has every unacknowledged segment and every manifest and signature', () => {
      const a = new Spool({ storage, capacity: 1 << 20 });
      writeClip(a, 'c1', 3);
      writeClip(a, 'c2', 2);
      a.ackSegment('c1', 0);
      const b = new Spool({ storage: reopenStorage(), capacity: 1 << 20 });
      assert.deepEqual(b.recovery, { clips: 2, segments: 4, interrupted: [], corrupt: 0 });
      assert.deepEqual(
        b.clips().map((c) => [c.id, c.segments, c.closed, c.epoch]),
        [['c1', [1, 2], 'end', 1], ['c2', [0, 1], 'end', 1]],
      );
      assert.deepEqual(b.readSegment('c1', 2), seg(2));
      assert.deepEqual(b.readClose('c2'), { kind: 'end', segments: 2, manifest: MANIFEST, signature: SIG });
      assert.equal(b.usedBytes, a.usedBytes);
    });

    it('acknowledged segments and closed clips leave the spool (and stay gone after a restart)', () => {
      const a = new Spool({ storage, capacity: 1 << 20 });
      writeClip(a, 'c1', 2);
      assert.equal(a.ackClose('c1'), false, 'not before its segments');
      a.ackSegment('c1', 0);
      a.ackSegment('c1', 1);
      assert.equal(a.ackSegment('c1', 1), false, 'a repeat is ignored');
      assert.equal(a.ackClose('c1'), true);
      assert.equal(a.empty, true);
      assert.equal(a.usedBytes, 0);
      assert.deepEqual(storage.list(), []);
      assert.equal(new Spool({ storage: reopenStorage(), capacity: 1 << 20 }).empty, true);
    });

    it('a clip being recorded when the device died is closed as incomplete, as far as it got', () => {
      const a = new Spool({ storage, capacity: 1 << 20 });
      writeClip(a, 'c1', 3, 1000, false);
      const b = new Spool({ storage: reopenStorage(), capacity: 1 << 20 });
      assert.deepEqual(b.recovery.interrupted, ['c1']);
      assert.deepEqual(b.clips()[0].segments, [0, 1, 2]);
      assert.deepEqual(b.readClose('c1'), { kind: 'incomplete', reason: 'interrupted' });
      assert.equal(code(() => b.segment('c1', 3, seg(3))), 'SPOOL_STATE', 'it takes no more segments');
      // And it is durable: a second restart does not add another close record.
      const c = new Spool({ storage: reopenStorage(), capacity: 1 << 20 });
      assert.deepEqual(c.recovery.interrupted, []);
      assert.deepEqual(c.readClose('c1'), { kind: 'incomplete', reason: 'interrupted' });
    });

    it('when full, drops whole oldest clips, never the one being recorded, and reports them once', () => {
      // Each clip: begin (~15 B) + 3 × ~1016 B + end (~70 B) ≈ 3.1 KB.
      const a = new Spool({ storage, capacity: 7000 });
      writeClip(a, 'c1', 3);
      writeClip(a, 'c2', 3);
      writeClip(a, 'c3', 3, 1000, false);
      assert.deepEqual(a.clips().map((c) => c.id), ['c2', 'c3']);
      assert.deepEqual(a.takeDropped(), ['c1']);
      a.end('c3', MANIFEST, SIG);
      assert.deepEqual(a.takeDropped(), [], 'reported once: the manifest that carried it is stored');
      assert.ok(a.usedBytes <= 7000);
      // c2 is intact.
      for (let i = 0; i < 3; i++) assert.deepEqual(a.readSegment('c2', i), seg(i));
    });

    it('dropped ids survive a restart until a stored manifest has reported them', () => {
      const a = new Spool({ storage, capacity: 7000 });
      writeClip(a, 'c1', 3);
      writeClip(a, 'c2', 3);
      writeClip(a, 'c3', 3, 1000, false);
      assert.deepEqual(a.takeDropped(), ['c1']); // the doorbell took them for c3's manifest…
      // …but died before c3's end was stored.
      const b = new Spool({ storage: reopenStorage(), capacity: 7000 });
      assert.deepEqual(b.takeDropped(), ['c1']);
    });

    it('a clip alone larger than the spool keeps its first part, closes as incomplete overflow and is reported', () => {
      const a = new Spool({ storage, capacity: 5000 });
      writeClip(a, 'old', 2);
      writeClip(a, 'long', 8, 1000, false);
      assert.deepEqual(a.takeDropped(), ['old']);
      a.end('long', MANIFEST, SIG);
      const long = a.clips().find((c) => c.id === 'long')!;
      assert.ok(long.segments.length >= 3 && long.segments.length < 8, `kept ${long.segments}`);
      assert.deepEqual(long.segments, [...long.segments.keys()], 'a prefix');
      assert.deepEqual(a.readClose('long'), { kind: 'incomplete', reason: 'overflow' });
      // The ids the overflowing clip took come back, with itself, for the next manifest.
      assert.deepEqual(a.takeDropped(), ['old', 'long']);
      // After a restart the kept part is still there (the note does not finish a "drop").
      const b = new Spool({ storage: reopenStorage(), capacity: 5000 });
      assert.deepEqual(b.clips().find((c) => c.id === 'long')!.segments, long.segments);
    });

    it('the report of a dropped clip whose manifest reported earlier drops carries those too', () => {
      const a = new Spool({ storage, capacity: 7000 });
      writeClip(a, 'c1', 3);
      writeClip(a, 'c2', 3);
      a.begin('c3', 1);
      for (let i = 0; i < 3; i++) a.segment('c3', i, seg(i));
      assert.deepEqual(a.takeDropped(), ['c1']);
      const manifest = utf8ToBytes(
        '{"v":1,"clip":"c3","device":"D","epoch":1,"roster":"' + '0'.repeat(64) + '","seq":3,"prev":"' + '0'.repeat(64) + '","start":0,"end":0,"frames":0,"payloadSize":0,"payloadSha256":"' + '0'.repeat(64) + '","dropped":["c1"]}\n',
      );
      decodeManifest(manifest);
      a.end('c3', manifest, SIG);
      writeClip(a, 'c4', 3); // drops c2
      writeClip(a, 'c5', 3); // drops c3, whose manifest reported c1
      assert.deepEqual(a.takeDropped(), ['c2', 'c1', 'c3']);
    });

    it('clips that only wait for their end acknowledgement are dropped last', () => {
      const a = new Spool({ storage, capacity: 6000 });
      writeClip(a, 'meta', 2);
      a.ackSegment('meta', 0);
      a.ackSegment('meta', 1);
      writeClip(a, 'data', 3);
      writeClip(a, 'new', 3, 1000, false);
      assert.deepEqual(a.clips().map((c) => c.id), ['meta', 'new']);
      assert.deepEqual(a.takeDropped(), ['data']);
    });

    it('abandoned clips (refused by the relay) leave and are reported', () => {
      const a = new Spool({ storage, capacity: 1 << 20 });
      writeClip(a, 'c1', 2);
      writeClip(a, 'c2', 1, 1000, false);
      a.abandon('c1', 'test');
      assert.deepEqual(a.clips().map((c) => c.id), ['c2']);
      // One still being recorded: the rest of it is not stored either.
      a.abandon('c2', 'test');
      a.segment('c2', 1, seg(1));
      a.end('c2', MANIFEST, SIG);
      assert.equal(a.empty, true);
      assert.equal(a.usedBytes, 0);
      assert.deepEqual(a.takeDropped(), ['c1', 'c2']);
      assert.equal(new Spool({ storage: reopenStorage(), capacity: 1 << 20 }).empty, true);
    });

    it('unreadable records are removed on recovery; the rest is kept', () => {
      const a = new Spool({ storage, capacity: 1 << 20 });
      writeClip(a, 'c1', 2);
      storage.append(new Uint8Array([9, 9, 9]));
      storage.append(encodeSegment('c1', 1, seg(1))); // a duplicate
      storage.append(new Uint8Array([2, 3, 0x61, 0x2f, 0x62, 0, 0, 0, 0, 1])); // "a/b"
      storage.append(encodeBegin('c9', 1).subarray(0, 5));
      const b = new Spool({ storage: reopenStorage(), capacity: 1 << 20 });
      assert.equal(b.recovery.corrupt, 4);
      assert.deepEqual(b.clips().map((c) => [c.id, c.segments]), [['c1', [0, 1]]]);
    });

    it('refuses misuse with SealbellError codes', () => {
      const a = new Spool({ storage, capacity: 1 << 20 });
      assert.equal(code(() => a.begin('../x', 1)), 'BAD_ID');
      assert.equal(code(() => a.segment('nope', 0, seg(0))), 'SPOOL_STATE');
      a.begin('c1', 1);
      assert.equal(code(() => a.begin('c1', 1)), 'SPOOL_STATE');
      assert.equal(code(() => a.segment('c1', 1, seg(1))), 'SPOOL_STATE', 'out of order');
      assert.equal(code(() => a.readSegment('c1', 0)), 'SPOOL_STATE');
      assert.equal(code(() => new Spool({ storage, capacity: 0 })), 'SPOOL_CONFIG');
    });
  });
}

describe('spool wired to the Doorbell', function () {
  it('takeDropped puts the dropped clip ids in the next manifest', () => {
    const random = seededRandom('spool-doorbell');
    const spool = new Spool({ storage: new MemorySpoolStorage(), capacity: 250_000 });
    const sink = new MemorySink();
    const doorbell = new Doorbell({
      backend: nobleBackend,
      random,
      identity: loadOrCreateIdentity(new MemoryStore(), random),
      sink: new TeeSink([spool, sink]),
      width: 320,
      height: 240,
      clipDuration: 60_000,
      takeDropped: () => spool.takeDropped(),
    });
    doorbell.setRecipients({ epoch: 1, recipients: [identityToRecipient(generateIdentity(random))] });
    const ids: string[] = [];
    for (let c = 0; c < 3; c++) {
      const t = 1_800_000_000_000 + c * 100_000;
      ids.push(doorbell.press(t));
      for (let i = 1; i <= 10; i++) doorbell.frame(fakeFrame(i, 10_000), t + i * 100);
      doorbell.finishClip();
    }
    const dropped = ids.map((id) => decodeManifest(sink.clips.get(id)!.manifest).dropped);
    assert.deepEqual(dropped, [[], [], [ids[0]]]);
    assert.deepEqual(spool.clips().map((c) => c.id), [ids[1], ids[2]]);
    // What stays is exactly what was sealed.
    const kept = sink.clips.get(ids[2])!;
    for (let i = 0; i < kept.segments.length; i++) assert.deepEqual(spool.readSegment(ids[2], i), kept.segments[i]);
  });
});
