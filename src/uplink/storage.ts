/**
 * What the spool needs from a host to keep sealed segments across a restart:
 * a store of numbered records. A file per record in the hosted simulator
 * (hosts/node/file-spool-storage.ts); a log in a flash partition on devices.
 */
export interface SpoolRecordInfo {
  id: number;
  /** bytes */
  size: number;
}

export interface SpoolStorage {
  /**
   * Stores a copy of `record` and returns its id, larger than the id of every record
   * stored (so ids give the order records were written in). Durable when it returns;
   * a crash during the call leaves either the whole record or none of it.
   */
  append(record: Uint8Array): number;
  /** The record's first `length` bytes (all of it when omitted), as a fresh array. Throws if it is absent. */
  read(id: number, length?: number): Uint8Array;
  /** Deletes a record; absent ids are ignored. */
  remove(id: number): void;
  /** Every stored record, ids ascending. */
  list(): SpoolRecordInfo[];
}

/** Records in RAM: for tests, the XS conformance entry, and boards with no flash to spare (lost on reset). */
export class MemorySpoolStorage implements SpoolStorage {
  private readonly records = new Map<number, Uint8Array>();
  private next = 1;

  append(record: Uint8Array): number {
    const id = this.next++;
    this.records.set(id, record.slice());
    return id;
  }

  read(id: number, length?: number): Uint8Array {
    const r = this.records.get(id);
    if (!r) throw new Error(`no spool record ${id}`);
    return r.slice(0, length ?? r.length);
  }

  remove(id: number): void {
    this.records.delete(id);
  }

  list(): SpoolRecordInfo[] {
    return [...this.records.entries()].sort((a, b) => a[0] - b[0]).map(([id, r]) => ({ id, size: r.length }));
  }

  /** Bytes held (for tests). */
  get bytes(): number {
    let n = 0;
    for (const r of this.records.values()) n += r.length;
    return n;
  }
}
