import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { sha256 } from '@noble/hashes/sha2.js';
import type { Aead, CryptoBackend, Random, Sha256 } from './backend.js';

/** The portable backend: noble's audited ChaCha20-Poly1305 and SHA-256. */
export const nobleAead: Aead = {
  seal(key, nonce, plaintext, out) {
    return chacha20poly1305(key, nonce).encrypt(plaintext, out);
  },
  open(key, nonce, sealed, out) {
    return chacha20poly1305(key, nonce).decrypt(sealed, out);
  },
};

export const nobleBackend: CryptoBackend = {
  name: 'noble',
  aead: nobleAead,
  sha256(): Sha256 {
    const h = sha256.create();
    return {
      update(data) {
        h.update(data);
      },
      digest() {
        return h.digest();
      },
    };
  },
};

/** The platform CSPRNG through the standard global (Node; installed natively on Moddable). */
export const systemRandom: Random = (n) => {
  const out = new Uint8Array(n);
  // getRandomValues fills at most 65536 bytes per call.
  for (let i = 0; i < n; i += 65536) globalThis.crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  return out;
};

declare global {
  // Not in ES2022's lib; Node has it, hosts/moddable installs it.
  var crypto: { getRandomValues<T extends Uint8Array>(array: T): T };
}
