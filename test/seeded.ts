/**
 * Reproducible randomness for tests, vectors and fuzzing — never for keys in use.
 * Node-free, so XS test entries share it with the mocha tests.
 */
import { chacha20 } from '@noble/ciphers/chacha.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '../src/bytes.js';
import type { Random } from '../src/host.js';

/** A reproducible byte stream: the ChaCha20 keystream of SHA-256(seed). */
export function seededRandom(seed: string): Random {
  const key = sha256(utf8ToBytes(seed));
  let counter = 0;
  return (n) => {
    const out = chacha20(key, new Uint8Array(12), new Uint8Array(n), undefined, counter);
    counter += Math.ceil(n / 64);
    return out;
  };
}

/** xorshift32: a small reproducible generator for choosing fuzz mutations. */
export function prng(seed: number) {
  let x = seed || 1;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
  return { int: (n: number) => Math.floor(next() * n), next };
}
