/**
 * The hosted simulator's stand-in for the spool's flash partition: a file of the
 * partition's size that behaves as NOR flash does (erase sets a sector to 0xFF; a
 * write only clears bits), so the hosted doorbell runs the device's flash spool
 * (src/uplink/flash-spool.ts) unchanged. Each write reaches the disk before it
 * returns, as a flash write does.
 */
import fs from 'node:fs';
import type { FlashArea } from '../../src/uplink/flash-spool.js';

export class FileFlashArea implements FlashArea {
  private readonly fd: number;

  constructor(
    readonly path: string,
    readonly byteLength: number,
    readonly blockSize = 4096,
  ) {
    if (byteLength % blockSize) throw new RangeError('a flash area is a whole number of sectors');
    const existed = fs.existsSync(path);
    this.fd = fs.openSync(path, existed ? 'r+' : 'w+', 0o600);
    if (!existed || fs.fstatSync(this.fd).size !== byteLength) {
      // A new partition (or one of another size): every sector erased.
      fs.ftruncateSync(this.fd, 0);
      const erased = Buffer.alloc(blockSize, 0xff);
      for (let at = 0; at < byteLength; at += blockSize) fs.writeSync(this.fd, erased, 0, blockSize, at);
      fs.fsyncSync(this.fd);
    }
  }

  read(offset: number, length: number): Uint8Array {
    if (offset < 0 || offset + length > this.byteLength) throw new RangeError('read outside the flash');
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const n = fs.readSync(this.fd, out, done, length - done, offset + done);
      if (n === 0) throw new RangeError('flash file is shorter than its partition');
      done += n;
    }
    return out;
  }

  write(offset: number, bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    const merged = this.read(offset, bytes.length);
    for (let i = 0; i < merged.length; i++) merged[i] &= bytes[i];
    fs.writeSync(this.fd, merged, 0, merged.length, offset);
    fs.fdatasyncSync(this.fd);
  }

  erase(sector: number): void {
    fs.writeSync(this.fd, Buffer.alloc(this.blockSize, 0xff), 0, this.blockSize, sector * this.blockSize);
    fs.fdatasyncSync(this.fd);
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}
