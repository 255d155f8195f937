/**
 * Bounded binary reading and writing for the small compact formats (setup
 * messages, roster bundles). A Reader never reads past its input and throws a
 * SealbellError with the format's own code when the input is short, long or odd.
 */
import { concatBytes } from './bytes.js';
import { SealbellError } from './errors.js';

export class Reader {
  private at = 0;

  constructor(
    private readonly bytes: Uint8Array,
    /** error code for anything malformed, e.g. SETUP_MALFORMED */
    readonly code: string,
    /** what is being read, for messages ("setup message") */
    readonly what: string,
  ) {}

  fail(why: string): never {
    throw new SealbellError(this.code, `malformed ${this.what}: ${why}`);
  }

  get remaining(): number {
    return this.bytes.length - this.at;
  }

  bytesN(n: number, field: string): Uint8Array {
    if (this.remaining < n) this.fail(`${field} is cut short`);
    const out = this.bytes.slice(this.at, this.at + n);
    this.at += n;
    return out;
  }

  uint(n: number, field: string): number {
    const b = this.bytesN(n, field);
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + b[i];
    return v;
  }

  /** A field prefixed by its length (`prefix` bytes, big-endian), which must lie in [min, max]. */
  sized(prefix: 1 | 2, min: number, max: number, field: string): Uint8Array {
    const n = this.uint(prefix, `${field} length`);
    if (n < min || n > max) this.fail(`${field} must be ${min}–${max} bytes, says ${n}`);
    return this.bytesN(n, field);
  }

  rest(): Uint8Array {
    return this.bytesN(this.remaining, 'rest');
  }

  /** Every format here is exact: bytes left over are an error, not ignored. */
  end(): void {
    if (this.remaining !== 0) this.fail(`${this.remaining} unexpected bytes at the end`);
  }
}

export class Writer {
  private readonly parts: Uint8Array[] = [];

  bytes(b: Uint8Array): this {
    this.parts.push(b);
    return this;
  }

  uint(value: number, n: number): this {
    const out = new Uint8Array(n);
    for (let i = n - 1; i >= 0; i--) {
      out[i] = value % 256;
      value = Math.floor(value / 256);
    }
    if (value !== 0) throw new SealbellError('WIRE_RANGE', `value does not fit in ${n} bytes`);
    this.parts.push(out);
    return this;
  }

  sized(prefix: 1 | 2, b: Uint8Array): this {
    return this.uint(b.length, prefix).bytes(b);
  }

  finish(): Uint8Array {
    return concatBytes(...this.parts);
  }
}
