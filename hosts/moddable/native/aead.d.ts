/**
 * Types for aead.js (native ChaCha20-Poly1305 and CSPRNG on Moddable). The
 * shapes match `Aead` and `Random` in src/crypto/backend.ts.
 */
import type { Aead } from '../../../src/crypto/backend.js';

export declare const aead: Aead;
export default aead;

/** Fills `buffer` from the platform CSPRNG (esp_fill_random / getrandom) and returns it. */
export declare function randomFill<T extends Uint8Array>(buffer: T): T;

/** n bytes from the platform CSPRNG. */
export declare function random(n: number): Uint8Array;
