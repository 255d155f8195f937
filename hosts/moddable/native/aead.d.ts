/**
 * Types for aead.js (native ChaCha20-Poly1305 and CSPRNG on Moddable). The
 * shapes match `Aead` and `Random` in src/crypto/backend.ts.
 */
export interface NativeAead {
  /** Seals `plaintext`; returns ciphertext‖tag (length + 16), written into `out` when given. */
  seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, out?: Uint8Array): Uint8Array;
  /** Opens ciphertext‖tag; returns the plaintext (into `out` when given). Throws if the tag is wrong. */
  open(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, out?: Uint8Array): Uint8Array;
}

export declare const aead: NativeAead;
export default aead;

/** Fills `buffer` from the platform CSPRNG (esp_fill_random / getrandom) and returns it. */
export declare function randomFill<T extends Uint8Array>(buffer: T): T;

/** n bytes from the platform CSPRNG. */
export declare function random(n: number): Uint8Array;
