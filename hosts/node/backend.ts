/**
 * The hosted simulator's crypto: noble's ChaCha20-Poly1305 (the same code the
 * XS conformance suite runs) and OpenSSL's SHA-256 through node:crypto — the
 * Node counterpart of a device hashing natively. Byte-identical to nobleBackend.
 */
import { createHash } from 'node:crypto';
import { nobleAead } from '../../src/crypto/noble.js';
import type { CryptoBackend } from '../../src/host.js';

export const nodeBackend: CryptoBackend = {
  name: 'node (noble AEAD, OpenSSL SHA-256)',
  aead: nobleAead,
  sha256() {
    const h = createHash('sha256');
    return {
      update(data) {
        h.update(data);
      },
      digest() {
        return new Uint8Array(h.digest());
      },
    };
  },
};
