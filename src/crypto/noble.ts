import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { SealbellError } from '../errors.js';
import { TAG_LENGTH, type Aead, type AeadSealStream, type CryptoBackend, type Random, type Sha256 } from './backend.js';

/**
 * Incremental sealing with noble: each piece is copied into the output buffer
 * (V8 copies at memory speed) and the message is sealed there in place, by
 * noble's own ChaCha20-Poly1305, when it is finished. One buffer and one copy
 * per byte (sealing from a separate plaintext buffer took two of each).
 */
class NobleSealStream implements AeadSealStream {
  private key: Uint8Array | undefined;
  private nonce: Uint8Array | undefined;
  private out: Uint8Array | undefined;
  length = 0;

  begin(key: Uint8Array, nonce: Uint8Array, out: Uint8Array): void {
    this.key = key;
    this.nonce = nonce;
    this.out = out;
    this.length = 0;
  }

  update(piece: Uint8Array): void {
    const out = this.open();
    if (this.length + piece.length + TAG_LENGTH > out.length) {
      throw new SealbellError('AEAD_OUTPUT', 'the sealed message would not fit its output buffer');
    }
    out.set(piece, this.length);
    this.length += piece.length;
  }

  finish(nonce?: Uint8Array): Uint8Array {
    const out = this.open();
    const n = this.length;
    const sealed = chacha20poly1305(this.key!, nonce ?? this.nonce!).encrypt(out.subarray(0, n), out.subarray(0, n + TAG_LENGTH));
    this.key = this.nonce = this.out = undefined;
    return sealed;
  }

  private open(): Uint8Array {
    if (!this.out) throw new SealbellError('AEAD_STATE', 'no message begun');
    return this.out;
  }
}

/** The portable backend: noble's audited ChaCha20-Poly1305 and SHA-256. */
export const nobleAead: Aead = {
  seal(key, nonce, plaintext, out) {
    return chacha20poly1305(key, nonce).encrypt(plaintext, out);
  },
  open(key, nonce, sealed, out) {
    return chacha20poly1305(key, nonce).decrypt(sealed, out);
  },
  sealStream: () => new NobleSealStream(),
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
  for (let i = 0; i < n; i += 65536) platformCrypto().getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  return out;
};

/**
 * Not in ES2022's lib; Node and browsers have it, hosts/moddable installs it. Read through a
 * cast rather than declared global, so the web app's DOM lib (its own `crypto`) does not clash.
 */
const platformCrypto = () => (globalThis as unknown as { crypto: { getRandomValues<T extends Uint8Array>(array: T): T } }).crypto;
