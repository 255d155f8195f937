/**
 * File-backed key-value store for the hosted simulator: one file per key in a
 * folder, written to a temporary name, fsynced and renamed, so a crash during a
 * write leaves the old value or the new one, never a mix.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { KeyValueStore } from '../../src/host.js';

/**
 * A folder only its owner may enter (0700), made if missing and tightened if it exists:
 * secrets and ciphertext live in these (their files are 0600, see writeFileAtomic).
 */
export function privateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
}

export class FileKeyValueStore implements KeyValueStore {
  constructor(readonly dir: string) {
    privateDir(dir);
  }

  private file(key: string): string {
    if (!/^[A-Za-z0-9._-]+$/.test(key) || key.startsWith('.')) throw new Error(`bad store key ${JSON.stringify(key)}`);
    return path.join(this.dir, key);
  }

  get(key: string): Uint8Array | undefined {
    try {
      return new Uint8Array(fs.readFileSync(this.file(key)));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  set(key: string, value: Uint8Array): void {
    writeFileAtomic(this.file(key), value);
  }

  delete(key: string): void {
    fs.rmSync(this.file(key), { force: true });
  }
}

export function writeFileAtomic(file: string, data: Uint8Array | string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  // The rename is durable only once the folder's entry is on disk too.
  const dir = fs.openSync(path.dirname(file), 'r');
  try {
    fs.fsyncSync(dir);
  } finally {
    fs.closeSync(dir);
  }
}
