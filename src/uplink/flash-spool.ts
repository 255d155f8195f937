/**
 * The spool's storage on a device: records in a flash partition (`spool` in
 * each board's partition table), behind the core's SpoolStorage interface.
 *
 * NOR flash is erased in sectors (4 KiB on ESP32) to all 1s, and a write can
 * only turn 1s into 0s. So each record starts on a sector boundary and takes
 * whole sectors; nothing is rewritten in place:
 *
 *   sector s:  header (32 bytes) ‖ payload …  (continues over the next sectors)
 *   header:    "SBR1" ‖ id (u32) ‖ length (u32) ‖ payload CRC-32 ‖ header CRC-32 (of the 16 bytes before)
 *              ‖ commit (1: 0xFF, then 0x00) ‖ removed (1: 0xFF, then 0x00) ‖ 10 × 0xFF
 *
 * Append: erase the sectors (unless already known erased), write payload, then
 * header, then clear the commit byte. A crash before the commit leaves a record
 * that recovery ignores; so append is all or nothing. Remove: clear the removed
 * byte. The sectors of removed or half-written records are erased later, ahead
 * of the write position, in idle time (`maintain`) or when a write needs them.
 *
 * Space: records go at the first run of free sectors from the last write on,
 * wrapping around, so the partition wears evenly. A record of n bytes takes
 * ceil((n + 32) / sector) sectors: a sealed 64 KiB chunk 17 sectors, a clip's
 * begin and end records one each. `recommendedCapacity` leaves room for that.
 *
 * Recovery reads only the 32-byte head of each sector; a record's payload CRC
 * is checked whenever the whole record is read.
 */
import { SealbellError } from '../errors.js';
import type { SpoolRecordInfo, SpoolStorage } from './storage.js';
import { crc32 } from '../crc32.js';

/** A flash partition (or a file standing in for one). */
export interface FlashArea {
  /** bytes; a whole number of sectors */
  readonly byteLength: number;
  /** the erase unit (sector), bytes */
  readonly blockSize: number;
  read(offset: number, length: number): Uint8Array;
  /** Programs bytes: only 1 → 0 changes take effect on real flash. */
  write(offset: number, bytes: Uint8Array): void;
  /** Sets a whole sector to 0xFF. */
  erase(sector: number): void;
}

export const RECORD_HEADER = 32;
const MAGIC = [0x53, 0x42, 0x52, 0x31]; // "SBR1"
const COMMIT = 20;
const REMOVED = 21;
/** the largest record the spool writes: a sealed chunk with its spool framing, with room to spare */
export const MAX_RECORD = 65_552 + 2 + 64 + 4;

const enum Sector {
  Dirty = 0,
  Erased = 1,
  Live = 2,
}

interface Located {
  sector: number;
  length: number;
  crc: number;
}

/** Sectors a record of `length` payload bytes takes. */
export function sectorsFor(length: number, blockSize: number): number {
  return Math.ceil((length + RECORD_HEADER) / blockSize);
}

/**
 * A spool capacity (record bytes) this area can always hold in practice: half
 * of it after keeping two of the largest records free, so sector rounding
 * (≤ one sector per record) and fragmentation never run it out of room.
 */
export function recommendedCapacity(byteLength: number, blockSize: number): number {
  const sectors = Math.floor(byteLength / blockSize) - 2 * sectorsFor(MAX_RECORD, blockSize);
  return Math.max(0, Math.floor((sectors * blockSize) / 2));
}

export function encodeRecordHeader(id: number, length: number, payloadCrc: number): Uint8Array {
  const h = new Uint8Array(RECORD_HEADER).fill(0xff);
  const v = new DataView(h.buffer);
  h.set(MAGIC, 0);
  v.setUint32(4, id);
  v.setUint32(8, length);
  v.setUint32(12, payloadCrc);
  v.setUint32(16, crc32(h.subarray(0, 16)));
  return h;
}

interface Header {
  id: number;
  length: number;
  crc: number;
  committed: boolean;
  removed: boolean;
}

export function decodeRecordHeader(h: Uint8Array): Header | undefined {
  if (h.length < RECORD_HEADER) return undefined;
  for (let i = 0; i < 4; i++) if (h[i] !== MAGIC[i]) return undefined;
  const v = new DataView(h.buffer, h.byteOffset, RECORD_HEADER);
  if (v.getUint32(16) !== crc32(h.subarray(0, 16))) return undefined;
  // Only a fully cleared commit byte commits: a power cut while programming it leaves
  // some bits set, and the record (whose payload was written before) counts as never written.
  return { id: v.getUint32(4), length: v.getUint32(8), crc: v.getUint32(12), committed: h[COMMIT] === 0, removed: h[REMOVED] !== 0xff };
}

export interface FlashSpoolStorageOptions {
  /** sectors to keep erased ahead of the write position (default: two of the largest records) */
  reserve?: number;
}

export class FlashSpoolStorage implements SpoolStorage {
  private readonly sectors: number;
  private readonly bs: number;
  private readonly state: Uint8Array;
  private readonly records = new Map<number, Located>();
  private nextId = 1;
  /** where the next record is looked for */
  private head = 0;
  private readonly reserve: number;
  /** sectors known erased */
  private erasedCount = 0;

  constructor(
    private readonly area: FlashArea,
    o: FlashSpoolStorageOptions = {},
  ) {
    this.bs = area.blockSize;
    this.sectors = Math.floor(area.byteLength / this.bs);
    if (this.sectors < 2 || this.bs < RECORD_HEADER * 2) throw new SealbellError('SPOOL_CONFIG', 'the spool flash area is too small');
    this.state = new Uint8Array(this.sectors); // all Dirty: nothing is assumed erased after a restart
    this.reserve = Math.min(o.reserve ?? 2 * sectorsFor(MAX_RECORD, this.bs), this.sectors);
    this.recover();
  }

  /** Bytes of the area; sectors of a size; how many are erased and ready. */
  get stats(): { sectors: number; live: number; erased: number; records: number } {
    let live = 0;
    for (let s = 0; s < this.sectors; s++) if (this.state[s] === Sector.Live) live++;
    return { sectors: this.sectors, live, erased: this.erasedCount, records: this.records.size };
  }

  append(record: Uint8Array): number {
    const k = sectorsFor(record.length, this.bs);
    const start = this.findRun(k);
    if (start < 0) {
      throw new SealbellError('SPOOL_STORAGE_FULL', `no room in the spool flash for a record of ${record.length} bytes`);
    }
    for (let s = start; s < start + k; s++) this.ensureErased(s);
    const id = this.nextId++;
    const base = start * this.bs;
    const crc = crc32(record);
    if (record.length) this.area.write(base + RECORD_HEADER, record);
    this.area.write(base, encodeRecordHeader(id, record.length, crc));
    this.area.write(base + COMMIT, Uint8Array.of(0));
    for (let s = start; s < start + k; s++) this.setState(s, Sector.Live);
    this.records.set(id, { sector: start, length: record.length, crc });
    this.head = (start + k) % this.sectors;
    return id;
  }

  read(id: number, length?: number): Uint8Array {
    const r = this.records.get(id);
    if (!r) throw new SealbellError('SPOOL_RECORD', `no spool record ${id}`);
    const n = Math.min(r.length, length ?? r.length);
    const bytes = this.area.read(r.sector * this.bs + RECORD_HEADER, n);
    if (n === r.length && crc32(bytes) !== r.crc) throw new SealbellError('SPOOL_RECORD', `spool record ${id} is damaged (CRC mismatch)`);
    return bytes;
  }

  remove(id: number): void {
    const r = this.records.get(id);
    if (!r) return;
    this.area.write(r.sector * this.bs + REMOVED, Uint8Array.of(0));
    this.records.delete(id);
    const k = sectorsFor(r.length, this.bs);
    for (let s = r.sector; s < r.sector + k; s++) this.setState(s, Sector.Dirty);
  }

  list(): SpoolRecordInfo[] {
    return [...this.records.entries()].sort((a, b) => a[0] - b[0]).map(([id, r]) => ({ id, size: r.length }));
  }

  /**
   * Idle work: erases up to `budget` sectors ahead of the write position until
   * `reserve` sectors are erased. Returns how many it erased (0: nothing to do).
   */
  maintain(budget = 4): number {
    let done = 0;
    for (let i = 0; i < this.sectors && done < budget && this.erasedCount < this.reserve; i++) {
      const s = (this.head + i) % this.sectors;
      if (this.state[s] === Sector.Dirty) {
        this.ensureErased(s);
        done++;
      }
    }
    return done;
  }

  /** Removes every record (factory reset). */
  wipe(): void {
    for (const id of [...this.records.keys()]) this.remove(id);
  }

  // -------------------------------------------------------------------------------------

  private setState(s: number, next: Sector): void {
    if (this.state[s] === Sector.Erased) this.erasedCount--;
    if (next === Sector.Erased) this.erasedCount++;
    this.state[s] = next;
  }

  private ensureErased(s: number): void {
    if (this.state[s] === Sector.Erased) return;
    this.area.erase(s);
    this.setState(s, Sector.Erased);
  }

  /** First sector of `k` consecutive sectors with no live record, from the head on; -1 if none. */
  private findRun(k: number): number {
    if (k > this.sectors) return -1;
    let start = this.head;
    let checked = 0;
    while (checked < this.sectors + k) {
      if (start + k > this.sectors) {
        // A record does not wrap around the end of the area.
        checked += this.sectors - start;
        start = 0;
        continue;
      }
      let live = -1;
      for (let s = start + k - 1; s >= start; s--) {
        if (this.state[s] === Sector.Live) {
          live = s;
          break;
        }
      }
      if (live < 0) return start;
      checked += live + 1 - start;
      start = live + 1;
      if (start >= this.sectors) start = 0;
    }
    return -1;
  }

  private recover(): void {
    let newest = -1;
    for (let s = 0; s < this.sectors; ) {
      const h = decodeRecordHeader(this.area.read(s * this.bs, RECORD_HEADER));
      if (!h) {
        s++;
        continue;
      }
      if (h.id >= this.nextId) this.nextId = h.id + 1;
      const k = sectorsFor(h.length, this.bs);
      if (!h.committed || h.removed || s + k > this.sectors || this.records.has(h.id)) {
        s++;
        continue;
      }
      this.records.set(h.id, { sector: s, length: h.length, crc: h.crc });
      for (let i = s; i < s + k; i++) this.state[i] = Sector.Live;
      if (h.id > newest) {
        newest = h.id;
        this.head = (s + k) % this.sectors;
      }
      s += k;
    }
  }
}
