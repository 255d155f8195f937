/**
 * hosts/moddable's spool storage in a flash partition, on a NOR flash in RAM
 * that refuses 0 → 1 writes: records survive a restart, removed ones stay
 * removed, space is reused around the partition, a power cut at any point of an
 * append or a removal leaves the record whole or absent, and the core's Spool
 * runs on it through an outage and a reboot.
 */
import assert from 'node:assert/strict';
import { FlashSpoolStorage, MAX_RECORD, RECORD_HEADER, recommendedCapacity, sectorsFor } from '../src/uplink/flash-spool.js';
import { Spool } from '../src/uplink/spool.js';
import { SealbellError } from '../src/errors.js';
import { RamFlash } from './ram-flash.js';
import { prng } from './helpers.js';

const SECTOR = 4096;

function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

describe('Moddable flash spool storage', () => {
  it('appends, reads, lists and removes; a restart finds exactly the live records', () => {
    const flash = new RamFlash(64 * SECTOR);
    const s = new FlashSpoolStorage(flash);
    const a = s.append(bytes(100, 1));
    const b = s.append(bytes(70_000, 2));
    const c = s.append(new Uint8Array(0));
    assert.ok(a < b && b < c);
    assert.deepEqual(s.read(b), bytes(70_000, 2));
    assert.deepEqual(s.read(b, 10), bytes(70_000, 2).subarray(0, 10));
    assert.deepEqual(s.read(c), new Uint8Array(0));
    s.remove(a);
    s.remove(12345); // absent: ignored
    assert.throws(() => s.read(a), /no spool record/);
    assert.deepEqual(s.list(), [{ id: b, size: 70_000 }, { id: c, size: 0 }]);
    const again = new FlashSpoolStorage(flash);
    assert.deepEqual(again.list(), s.list());
    assert.deepEqual(again.read(b), bytes(70_000, 2));
    // ids keep rising past what was ever stored, removed records included
    assert.ok(again.append(bytes(5, 3)) > c);
    assert.equal(sectorsFor(70_000, SECTOR), 18);
    assert.equal(sectorsFor(MAX_RECORD, SECTOR), 17, 'a sealed chunk with its spool framing takes 17 sectors');
  });

  it('reuses freed sectors around the partition and says so plainly when full', () => {
    const flash = new RamFlash(40 * SECTOR);
    const s = new FlashSpoolStorage(flash);
    let erasesBefore = 0;
    for (let round = 0; round < 30; round++) {
      const id = s.append(bytes(3 * SECTOR, round)); // 4 sectors each
      assert.deepEqual(s.read(id), bytes(3 * SECTOR, round));
      if (round % 2 === 1) for (const r of s.list()) s.remove(r.id);
      erasesBefore = flash.erases;
    }
    assert.ok(erasesBefore >= 100, 'sectors are erased and reused');
    for (const r of s.list()) s.remove(r.id);
    const ids: number[] = [];
    for (let i = 0; i < 10; i++) ids.push(s.append(bytes(3 * SECTOR, 100 + i)));
    assert.throws(() => s.append(bytes(10, 0)), (e: unknown) => e instanceof SealbellError && e.code === 'SPOOL_STORAGE_FULL');
    s.remove(ids[4]);
    const id = s.append(bytes(SECTOR * 2, 7)); // fits in the hole
    assert.deepEqual(s.read(id), bytes(SECTOR * 2, 7));
    const back = new FlashSpoolStorage(flash);
    assert.deepEqual(back.list().map((r) => r.id), [...ids.slice(0, 4), ...ids.slice(5), id]);
  });

  it('erases ahead in idle time, so appends during a clip only program', () => {
    const flash = new RamFlash(80 * SECTOR);
    const s = new FlashSpoolStorage(flash, { reserve: 20 });
    let n = 0;
    while (s.maintain(4) > 0) n++;
    assert.equal(s.stats.erased, 20);
    const erases = flash.erases;
    s.append(bytes(60_000, 1)); // 15 sectors
    assert.equal(flash.erases, erases, 'no erase while appending');
    assert.ok(n >= 5);
  });

  it('a damaged record is reported on a whole read, not returned', () => {
    const flash = new RamFlash(16 * SECTOR);
    const s = new FlashSpoolStorage(flash);
    const id = s.append(bytes(1000, 1));
    flash.bytes[RECORD_HEADER + 500] &= 0x0f; // a bit rots to 0
    assert.throws(() => s.read(id), (e: unknown) => e instanceof SealbellError && e.code === 'SPOOL_RECORD');
    assert.equal(s.read(id, 100).length, 100, 'a head read (recovery) still works');
  });

  it('a power cut at any programming step leaves each record whole or absent', () => {
    // Count the steps of one append and one removal on a partly used flash, then cut at each one.
    const prepare = () => {
      const flash = new RamFlash(24 * SECTOR);
      const s = new FlashSpoolStorage(flash);
      const keep = s.append(bytes(5000, 1));
      const gone = s.append(bytes(2000, 2));
      s.remove(gone);
      return { flash, s, keep };
    };
    const probe = prepare();
    const w0 = probe.flash.writes + probe.flash.erases;
    probe.s.append(bytes(9000, 3));
    probe.s.remove(probe.s.list()[0].id);
    const steps = probe.flash.writes + probe.flash.erases - w0;
    assert.ok(steps >= 5, `append + remove take ${steps} steps`);
    for (let cut = 0; cut <= steps; cut++) {
      const { flash, s, keep } = prepare();
      flash.cutAfter(cut);
      let newId: number | undefined;
      newId = s.append(bytes(9000, 3));
      s.remove(keep);
      flash.revive();
      const after = new FlashSpoolStorage(flash);
      const ids = after.list().map((r) => r.id);
      for (const id of ids) {
        // whatever is listed reads back whole and unchanged
        const data = after.read(id);
        assert.deepEqual(data, id === keep ? bytes(5000, 1) : bytes(9000, 3), `cut at ${cut}: record ${id}`);
      }
      assert.ok(ids.every((id) => id === keep || id === newId), `cut at ${cut}: ${ids}`);
      // and the storage keeps working after the cut
      const more = after.append(bytes(100, 9));
      assert.ok(ids.every((id) => id < more));
      assert.deepEqual(after.read(more), bytes(100, 9));
    }
  });

  it('runs the core Spool: a relay outage fills it, whole old clips are dropped, a reboot resumes', () => {
    const flash = new RamFlash(240 * SECTOR); // 960 KiB: the esp32_cam board's spool partition before it had A/B app slots
    const capacity = recommendedCapacity(flash.byteLength, SECTOR);
    assert.ok(capacity > 3 * 65_600, `capacity ${capacity}`);
    const rand = prng(20261127);
    let spool = new Spool({ storage: new FlashSpoolStorage(flash), capacity });
    const clips: string[] = [];
    // 16 clips of 1–4 chunks with nothing acknowledged: far more than fits
    for (let c = 0; c < 16; c++) {
      const id = `20261127T0000${String(c).padStart(2, '0')}Z-abcdef`;
      clips.push(id);
      spool.begin(id, 1);
      const n = 1 + rand.int(4);
      for (let i = 0; i <= n; i++) spool.segment(id, i, bytes(i === n ? 1 + rand.int(60_000) : 65_552, c * 10 + i));
      spool.end(id, new TextEncoder().encode(`{"clip":"${id}"}`), 'sig');
      assert.ok(spool.usedBytes <= capacity);
    }
    const held = spool.clips().map((c) => c.id);
    assert.ok(held.length >= 1 && held.length < 16, `held ${held.length}`);
    assert.deepEqual(held, clips.slice(clips.length - held.length), 'the newest clips are kept, whole');
    // reboot: the same clips, segments intact
    spool = new Spool({ storage: new FlashSpoolStorage(flash), capacity });
    assert.deepEqual(spool.clips().map((c) => c.id), held);
    for (const c of spool.clips()) {
      for (const i of c.segments) assert.equal(spool.readSegment(c.id, i).length > 0, true);
    }
    // the relay comes back: everything is acknowledged away, and the flash takes new clips again
    for (const c of spool.clips()) {
      for (const i of c.segments) spool.ackSegment(c.id, i);
      spool.ackClose(c.id);
    }
    assert.equal(spool.empty, true);
    spool.begin('20261127T010000Z-abcdef', 2);
    for (let i = 0; i < 4; i++) spool.segment('20261127T010000Z-abcdef', i, bytes(65_552, 500 + i));
    assert.deepEqual(spool.readSegment('20261127T010000Z-abcdef', 3), bytes(65_552, 503));
  });
});
