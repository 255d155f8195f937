/**
 * A NOR flash in RAM for tests of the flash spool (src/uplink/flash-spool.ts):
 * it refuses what real flash cannot do, and can be cut mid-write like a power cut.
 */
import type { FlashArea } from '../src/uplink/flash-spool.js';

/**
 * NOR flash in RAM: erase sets a sector to 0xFF; a write that would turn a 0
 * bit into 1 throws (real flash would silently keep the 0). `cutAfter` makes
 * the n-th programming operation from now stop half-way and every later one do
 * nothing, as a power cut would.
 */
export class RamFlash implements FlashArea {
  readonly bytes: Uint8Array;
  writes = 0;
  erases = 0;
  private cut: number | undefined;
  dead = false;

  constructor(
    readonly byteLength: number,
    readonly blockSize = 4096,
  ) {
    this.bytes = new Uint8Array(byteLength).fill(0xff);
  }

  /** The next `n` operations succeed; the one after is torn and the device is "dead" from then on. */
  cutAfter(n: number): void {
    this.cut = n;
  }

  private op(): 'ok' | 'torn' | 'dead' {
    if (this.dead) return 'dead';
    if (this.cut === undefined) return 'ok';
    if (this.cut-- > 0) return 'ok';
    this.dead = true;
    return 'torn';
  }

  read(offset: number, length: number): Uint8Array {
    if (offset < 0 || offset + length > this.byteLength) throw new RangeError('read outside the flash');
    return this.bytes.slice(offset, offset + length);
  }

  write(offset: number, data: Uint8Array): void {
    if (offset < 0 || offset + data.length > this.byteLength) throw new RangeError('write outside the flash');
    for (let i = 0; i < data.length; i++) {
      if (data[i] & ~this.bytes[offset + i] & 0xff) throw new Error(`flash write sets a 0 bit to 1 at ${offset + i}`);
    }
    const how = this.op();
    if (how === 'dead') return;
    this.writes++;
    const n = how === 'torn' ? Math.floor(data.length / 2) : data.length;
    for (let i = 0; i < n; i++) this.bytes[offset + i] &= data[i];
    if (how === 'torn' && n < data.length) this.bytes[offset + n] &= data[n] | 0x0f; // a half-programmed byte
  }

  erase(sector: number): void {
    const how = this.op();
    if (how === 'dead') return;
    this.erases++;
    const start = sector * this.blockSize;
    const end = how === 'torn' ? start + this.blockSize / 2 : start + this.blockSize;
    this.bytes.fill(0xff, start, end);
  }

  /** Power back on: operations work again. */
  revive(): void {
    this.dead = false;
    this.cut = undefined;
  }
}
