/**
 * FlashArea over the SDK's `flash` module: the board's `spool` data partition
 * (boards/<board>/sdkconfig/partitions.csv).
 */
import Flash from 'flash';
import type { FlashArea } from '../../src/uplink/flash-spool.js';

export class PartitionFlashArea implements FlashArea {
  private readonly flash: Flash;
  readonly byteLength: number;
  readonly blockSize: number;

  constructor(partition = 'spool') {
    this.flash = new Flash(partition);
    this.blockSize = this.flash.blockSize;
    this.byteLength = this.flash.byteLength - (this.flash.byteLength % this.blockSize);
  }

  read(offset: number, length: number): Uint8Array {
    if (length === 0) return new Uint8Array(0);
    return new Uint8Array(this.flash.read(offset, length) as ArrayBuffer);
  }

  write(offset: number, bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.flash.write(offset, bytes.length, bytes);
  }

  erase(sector: number): void {
    this.flash.erase(sector);
  }
}
