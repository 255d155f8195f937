/**
 * XS conformance entry for the uplink core (src/uplink): the spool, the uplink and
 * the wire format run unchanged under xsnap, against the in-memory relay of
 * test/uplink-fakes.ts, with a real Doorbell sealing small clips. Bundled and run
 * by test/uplink-xs.test.ts; the same `cases` run in Node there as the reference.
 *
 * Randomness is a seeded ChaCha20 keystream (deterministic, test-only), so Node and
 * XS seal the same bytes and the relay's digest below must match exactly.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, concatBytes, utf8ToBytes } from '../../src/bytes.js';
import { nobleBackend } from '../../src/crypto/noble.js';
import { Doorbell } from '../../src/device/doorbell.js';
import { loadOrCreateIdentity } from '../../src/device/identity.js';
import { generateIdentity, identityToRecipient } from '../../src/age/x25519.js';
import { Spool } from '../../src/uplink/spool.js';
import { MemorySpoolStorage } from '../../src/uplink/storage.js';
import { Uplink } from '../../src/uplink/uplink.js';
import { decodeSegmentFrame, encodeSegmentFrame } from '../../src/uplink/wire.js';
import { runCases, type Case } from '../../tools/xs/guest.js';
import { FakeRelay } from '../uplink-fakes.js';
import { seededRandom } from '../seeded.js';
import { MemoryKeyValueStore } from '../../src/memory-store.js';

/** What the relay holds after the end-to-end case, computed in Node with this code. */
export const EXPECTED_RELAY_DIGEST = 'fa761399a89fcd0ca044cc3de6e44e926d8a7030807c6b57fb2df6e7957c8ec7'; // clips with their poster frames

function expect(cond: unknown, what: string): void {
  if (!cond) throw new Error(what);
}

function frame(n: number, size: number): Uint8Array {
  const f = new Uint8Array(size);
  for (let i = 0; i < size; i++) f[i] = (i * 31 + n * 7) & 0xff;
  return f;
}

/** A doorbell → spool → uplink → in-memory relay; returns the relay and what happened. */
export function endToEnd(): { ids: string[]; digest: string; dropped: string[][]; states: string[]; recovered: number } {
  const random = seededRandom('xs-uplink');
  const relay = new FakeRelay();
  relay.up = false;
  const storage = new MemorySpoolStorage();
  // Room for one ~60 KB clip and a bit: the second clip drops the first while the relay is down.
  let spool = new Spool({ storage, capacity: 100_000 });
  const identity = loadOrCreateIdentity(new MemoryKeyValueStore(), random);
  let uplink = new Uplink({ spool, connect: relay.connect, random, window: 4 });
  const doorbell = new Doorbell({
    backend: nobleBackend,
    random,
    identity,
    sink: { begin: (c, e) => spool.begin(c, e), segment: (c, i, b) => spool.segment(c, i, b), end: (c, m, s) => spool.end(c, m, s) },
    width: 320,
    height: 240,
    clipDuration: 60_000,
    takeDropped: () => spool.takeDropped(),
  });
  doorbell.setRecipients({ epoch: 1, recipients: [identityToRecipient(generateIdentity(random))] });
  const ids: string[] = [];
  const manifests: Uint8Array[] = [];
  const record = (t: number) => {
    ids.push(doorbell.press(t));
    // the poster (the first frame again) and two frames: ~60 KB of video, one final chunk
    for (let i = 1; i <= 2; i++) doorbell.frame(frame(i, 20_000), t + i * 100);
    const m = doorbell.finishClip()!;
    manifests.push(utf8ToBytes(JSON.stringify(m.dropped)));
    return m;
  };
  let now = 1_800_000_000_000;
  uplink.start(now);
  relay.flush();
  const m1 = record(now);
  const m2 = record(now + 100_000);
  // 60 s of outage: reconnect attempts back off.
  for (let t = 0; t < 60_000; t += 500) {
    now += 500;
    uplink.tick(now);
    relay.flush();
  }
  expect(relay.connects >= 5 && relay.connects <= 8, `reconnect attempts: ${relay.connects}`);
  // The device restarts from its storage; the relay is back.
  uplink.stop();
  spool = new Spool({ storage, capacity: 100_000 });
  const recovered = spool.recovery.segments;
  relay.up = true;
  uplink = new Uplink({ spool, connect: relay.connect, random, window: 4 });
  uplink.start(now);
  relay.flush();
  const m3 = record(now + 200_000);
  relay.flush();
  expect(spool.empty, 'the spool drained');
  const all = concatBytes(...ids.flatMap((id) => [utf8ToBytes(id), relay.age(id)]));
  return {
    ids,
    digest: bytesToHex(sha256(all)),
    dropped: [m1.dropped, m2.dropped, m3.dropped],
    states: ids.map((id) => relay.clips.get(id)?.closed ?? 'none'),
    recovered,
  };
}

export const cases: Case[] = [
  {
    name: 'wire: segment frame vector (docs/relay-api.md)',
    run() {
      const bytes = new Uint8Array(16);
      for (let i = 0; i < 16; i++) bytes[i] = i;
      const f = encodeSegmentFrame('20261126T224044Z-a1b2c3', 1, bytes);
      expect(
        bytesToHex(f) === '01173230323631313236543232343034345a2d61316232633300000001000102030405060708090a0b0c0d0e0f',
        `frame ${bytesToHex(f)}`,
      );
      const d = decodeSegmentFrame(f);
      expect(d.clipId === '20261126T224044Z-a1b2c3' && d.index === 1 && bytesToHex(d.bytes) === bytesToHex(bytes), 'decodes back');
    },
  },
  {
    name: 'spool: restart recovery, drop policy and reports',
    run() {
      const storage = new MemorySpoolStorage();
      const a = new Spool({ storage, capacity: 7000 });
      const write = (id: string, end: boolean) => {
        a.begin(id, 1);
        for (let i = 0; i < 3; i++) a.segment(id, i, new Uint8Array(1000).fill(i));
        if (end) a.end(id, utf8ToBytes('{}\n'), 'sig');
      };
      write('c1', true);
      write('c2', true);
      write('c3', false);
      expect(a.takeDropped().join() === 'c1', 'c1 dropped');
      const b = new Spool({ storage, capacity: 7000 });
      expect(b.recovery.interrupted.join() === 'c3', 'c3 interrupted');
      expect(b.takeDropped().join() === 'c1', 'the report survives the restart');
      expect(b.clips().map((c) => `${c.id}:${c.segments.join('')}:${c.closed}`).join() === 'c2:012:end,c3:012:incomplete', 'state rebuilt');
    },
  },
  {
    name: 'doorbell → spool → uplink → relay: outage, restart, full spool; byte-identical to Node',
    run() {
      const r = endToEnd();
      // Clip 1 was dropped for clip 2's final chunk, which is sealed after clip 2's manifest
      // took the dropped ids: so clip 3 reports it (after the restart: the report is durable).
      expect(JSON.stringify(r.dropped) === JSON.stringify([[], [], [r.ids[0]]]), `dropped ${JSON.stringify(r.dropped)}`);
      expect(r.states.join() === 'none,verified,verified', `states ${r.states.join()}`);
      expect(r.recovered === 2, `recovered ${r.recovered}`);
      expect(r.digest === EXPECTED_RELAY_DIGEST, `relay digest ${r.digest}`);
    },
  },
];

runCases(cases);
