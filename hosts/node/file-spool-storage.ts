/**
 * The hosted simulator's spool storage: one file per record in a folder, named
 * by its zero-padded id. Each record is written to a temporary name, fsynced and
 * renamed (writeFileAtomic), so a crash leaves a whole record or none.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { SpoolRecordInfo, SpoolStorage } from '../../src/uplink/storage.js';
import { privateDir, writeFileAtomic } from './kv-store.js';

const NAME = /^(\d{12})\.rec$/;

export class FileSpoolStorage implements SpoolStorage {
  private readonly sizes = new Map<number, number>();
  private next = 1;

  constructor(readonly dir: string) {
    privateDir(dir);
    for (const name of fs.readdirSync(dir)) {
      const m = NAME.exec(name);
      if (m) {
        const id = Number(m[1]);
        this.sizes.set(id, fs.statSync(path.join(dir, name)).size);
        this.next = Math.max(this.next, id + 1);
      } else if (name.includes('.tmp-')) {
        fs.rmSync(path.join(dir, name), { force: true }); // a write a crash cut short
      }
    }
  }

  private file(id: number): string {
    return path.join(this.dir, `${String(id).padStart(12, '0')}.rec`);
  }

  append(record: Uint8Array): number {
    const id = this.next++;
    writeFileAtomic(this.file(id), record);
    this.sizes.set(id, record.length);
    return id;
  }

  read(id: number, length?: number): Uint8Array {
    const size = this.sizes.get(id);
    if (size === undefined) throw new Error(`no spool record ${id}`);
    const n = Math.min(size, length ?? size);
    const out = new Uint8Array(n);
    const fd = fs.openSync(this.file(id), 'r');
    try {
      let off = 0;
      while (off < n) {
        const got = fs.readSync(fd, out, off, n - off, off);
        if (got === 0) throw new Error(`spool record ${id} is shorter than expected`);
        off += got;
      }
    } finally {
      fs.closeSync(fd);
    }
    return out;
  }

  remove(id: number): void {
    if (!this.sizes.delete(id)) return;
    fs.rmSync(this.file(id), { force: true });
  }

  list(): SpoolRecordInfo[] {
    return [...this.sizes.entries()].sort((a, b) => a[0] - b[0]).map(([id, size]) => ({ id, size }));
  }
}
