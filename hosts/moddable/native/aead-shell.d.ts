/**
 * Types for aead-shell.js: the Aead of src/crypto/backend.ts around native
 * functions (aead.js on Moddable; tools/xs-native under xsnap in CI).
 */
import type { Aead } from '../../../src/crypto/backend.js';

export interface NativeSealStream {
  begin(key: Uint8Array, nonce: Uint8Array): void;
  /** Encrypts `input` into `output` after the message so far; returns the message length. */
  update(input: Uint8Array, output: Uint8Array): number;
  /** Writes the tag after the message (re-sealed under `nonce` when given); returns the message length. */
  finish(output: Uint8Array, nonce?: Uint8Array): number;
}

export interface AeadNatives {
  seal(key: Uint8Array, nonce: Uint8Array, input: Uint8Array, output: Uint8Array): void;
  open(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, output: Uint8Array): boolean;
  SealStream: new () => NativeSealStream;
}

export declare function makeAead(natives: AeadNatives): Aead;
export default makeAead;
