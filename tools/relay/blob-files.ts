/**
 * Ciphertext segments as files: <data>/clips/<device>/<clip>/<index>.seg.
 * A file counts only once its database row exists (RelayStore writes the file,
 * fsyncs it and its folder, then commits the row), so a crash in between
 * leaves an orphan file that the device's resend overwrites.
 */
import fs from 'node:fs';
import path from 'node:path';
import { requireId } from './errors.js';
import { privateDir } from '../../hosts/node/kv-store.js';

export class BlobFiles {
  readonly root: string;

  constructor(dataDir: string) {
    this.root = path.resolve(dataDir, 'clips');
    privateDir(this.root);
  }

  clipDir(device: string, clip: string): string {
    const dir = path.join(this.root, requireId(device, 'device id'), requireId(clip, 'clip id'));
    // Ids are checked above; this is the second lock on the same door.
    if (!dir.startsWith(this.root + path.sep)) throw new Error('blob path escapes the data directory');
    return dir;
  }

  segmentPath(device: string, clip: string, index: number): string {
    return path.join(this.clipDir(device, clip), `${String(index).padStart(8, '0')}.seg`);
  }

  /** Writes and fsyncs the file and its folder entry. */
  writeSegment(device: string, clip: string, index: number, bytes: Uint8Array): void {
    const dir = this.clipDir(device, clip);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const fd = fs.openSync(this.segmentPath(device, clip, index), 'w', 0o600);
    try {
      let off = 0;
      while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    const dfd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
  }

  readSegment(device: string, clip: string, index: number): Uint8Array {
    return new Uint8Array(fs.readFileSync(this.segmentPath(device, clip, index)));
  }
}
