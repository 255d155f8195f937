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
  /** A new incremental sealer (reusable: after finish, begin the next message). */
  sealStream(): AeadSealStream;
}

/**
 * Seals one message piece by piece straight into its output buffer, so video
 * is sealed from where the camera left it, with no plaintext buffer in
 * between. The result is byte-identical to `seal` of the concatenated pieces.
 * The core does O(1) work per piece; the backend does the per-byte work
 * (natively on a device).
 */
export interface AeadSealStream {
  /** Starts a message; its ciphertext‖tag will fill `out` from offset 0. */
  begin(key: Uint8Array, nonce: Uint8Array, out: Uint8Array): void;
  /**
   * Adds `piece` after what is already in the message. The piece is consumed
   * before this returns (the caller may reuse it); until `finish`, the bytes
   * in `out` are in an unspecified intermediate form.
   */
  update(piece: Uint8Array): void;
  /** Message bytes so far. */
  readonly length: number;
  /**
   * Appends the tag and returns ciphertext‖tag, a view of `out`. With `nonce`,
   * the whole message is sealed under that nonce instead of begin's: age's
   * STREAM marks the last chunk in its nonce, known only when the input ends.
   */
  finish(nonce?: Uint8Array): Uint8Array;
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
