// Small byte helpers the core shares; the primitives come from noble.
export { bytesToHex, hexToBytes, concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';
export { equalBytes } from '@noble/ciphers/utils.js';

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Strict UTF-8 decode: malformed input throws instead of becoming U+FFFD. */
export function utf8Decode(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** Big-endian unsigned integer of `length` bytes (any length; exact for values below 2^53). */
export function writeUintBE(out: Uint8Array, offset: number, value: number, length: number): void {
  for (let i = length - 1; i >= 0; i--) {
    out[offset + i] = value % 256;
    value = Math.floor(value / 256);
  }
}

export function readUintBE(bytes: Uint8Array, offset: number, length: number): number {
  let v = 0;
  for (let i = 0; i < length; i++) v = v * 256 + bytes[offset + i];
  return v;
}
