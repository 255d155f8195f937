/**
 * The crypto a host provides to the core. Bulk work (sealing and hashing every
 * byte of video) goes through these interfaces so that a device can back them
 * with native code working on host buffers, while Node and tests use noble.
 * Every backend must produce byte-identical output.
 */

/** ChaCha20-Poly1305 (RFC 8439) with a 32-byte key and 12-byte nonce, no AAD. */
export interface Aead {
  /** Seals `plaintext`; returns ciphertext‖tag (length + 16), written into `out` when given. */
  seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, out?: Uint8Array): Uint8Array;
  /** Opens ciphertext‖tag; returns the plaintext (into `out` when given). Throws if the tag is wrong. */
  open(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, out?: Uint8Array): Uint8Array;
}

/** Incremental SHA-256. */
export interface Sha256 {
  update(data: Uint8Array): void;
  digest(): Uint8Array;
}

/** Fills a fresh array of n bytes from a cryptographically secure source. */
export type Random = (n: number) => Uint8Array;

export interface CryptoBackend {
  readonly name: string;
  readonly aead: Aead;
  sha256(): Sha256;
}

export const TAG_LENGTH = 16;
