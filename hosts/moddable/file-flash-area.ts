/**
 * The simulator's stand-in for the spool's flash partition: a file of the
 * partition's size, read and written with the SDK's `file` module. It behaves
 * as NOR flash does (erase sets 0xFF; a write only clears bits), so the
 * simulator runs the device's flash spool code unchanged.
 */
import { File } from 'file';
import type { FlashArea } from '../../src/uplink/flash-spool.js';

/** The simulator's `file` module writes ArrayBuffers only, whole. */
function wholeBuffer(bytes: Uint8Array): ArrayBuffer {
  return (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes.buffer : bytes.slice().buffer) as ArrayBuffer;
}

export class FileFlashArea implements FlashArea {
  private readonly file: File;

  constructor(
    path: string,
    readonly byteLength: number,
    readonly blockSize = 4096,
  ) {
    const existed = File.exists(path);
    this.file = new File(path, true);
    if (!existed || this.file.length !== byteLength) {
      // A new partition: every sector erased.
      const erased = new Uint8Array(blockSize).fill(0xff).buffer;
      this.file.position = 0;
      for (let at = 0; at < byteLength; at += blockSize) this.file.write(erased);
    }
  }

  read(offset: number, length: number): Uint8Array {
    if (length === 0) return new Uint8Array(0);
    this.file.position = offset;
    return new Uint8Array(this.file.read(ArrayBuffer, length));
  }

  write(offset: number, bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    const merged = this.read(offset, bytes.length);
    for (let i = 0; i < merged.length; i++) merged[i] &= bytes[i];
    this.file.position = offset;
    this.file.write(wholeBuffer(merged));
  }

  erase(sector: number): void {
    this.file.position = sector * this.blockSize;
    this.file.write(new Uint8Array(this.blockSize).fill(0xff).buffer);
  }
}
