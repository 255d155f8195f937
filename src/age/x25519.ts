/**
 * age's X25519 recipient type (C2SP age spec, "The X25519 recipient type"),
 * and the Bech32 encodings of recipients ("age1…") and identities ("AGE-SECRET-KEY-1…").
 */
import { x25519 } from '@noble/curves/ed25519.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bech32 } from '@scure/base';
import { concatBytes, utf8ToBytes } from '../bytes.js';
import { check, SealbellError } from '../errors.js';
import type { Random } from '../crypto/backend.js';
import { b64decode, b64encode, type Stanza } from './format.js';

const LABEL = utf8ToBytes('age-encryption.org/v1/X25519');
const ZERO_NONCE = new Uint8Array(12);
export const FILE_KEY_LENGTH = 16;

export function encodeRecipient(publicKey: Uint8Array): string {
  return bech32.encode('age', bech32.toWords(publicKey), false);
}

export function encodeIdentity(secretKey: Uint8Array): string {
  return bech32.encode('AGE-SECRET-KEY-', bech32.toWords(secretKey), false).toUpperCase();
}

function decodeBech32(text: string, prefix: string, what: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    const decoded = bech32.decode(text as `${string}1${string}`, false);
    check(decoded.prefix === prefix, 'AGE_KEY', '');
    bytes = bech32.fromWords(decoded.words);
  } catch {
    throw new SealbellError('AGE_KEY', `not a valid ${what}`);
  }
  check(bytes.length === 32, 'AGE_KEY', `not a valid ${what}`);
  return bytes;
}

export function decodeRecipient(text: string): Uint8Array {
  check(text === text.toLowerCase(), 'AGE_KEY', 'age recipients are lower case');
  return decodeBech32(text, 'age', 'age X25519 recipient');
}

export function decodeIdentity(text: string): Uint8Array {
  check(text === text.toUpperCase(), 'AGE_KEY', 'age identities are upper case');
  return decodeBech32(text.toLowerCase(), 'age-secret-key-', 'age X25519 identity');
}

export function identityToRecipient(identity: string): string {
  return encodeRecipient(x25519.getPublicKey(decodeIdentity(identity)));
}

/** A new identity string from `random` (32 bytes). */
export function generateIdentity(random: Random): string {
  return encodeIdentity(random(32));
}

function wrapKey(shared: Uint8Array, ephemeralShare: Uint8Array, recipient: Uint8Array): Uint8Array {
  return hkdf(sha256, shared, concatBytes(ephemeralShare, recipient), LABEL, 32);
}

/** Wraps `fileKey` to one recipient: two X25519 scalar multiplications, the costly part of a header. */
export function wrapX25519(fileKey: Uint8Array, recipient: Uint8Array, random: Random): Stanza {
  const ephemeral = random(32);
  const share = x25519.getPublicKey(ephemeral);
  const shared = x25519.getSharedSecret(ephemeral, recipient);
  ephemeral.fill(0);
  const body = chacha20poly1305(wrapKey(shared, share, recipient), ZERO_NONCE).encrypt(fileKey);
  return { type: 'X25519', args: [b64encode(share)], body };
}

/** An X25519 identity with its public key computed once (it is needed for every stanza tried). */
export interface X25519Identity {
  kem: 'x25519';
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

export function x25519Identity(identity: string): X25519Identity {
  const secretKey = decodeIdentity(identity);
  return { kem: 'x25519', secretKey, publicKey: x25519.getPublicKey(secretKey) };
}

/**
 * Tries to unwrap an X25519 stanza with `identity`. Returns the file key, or
 * undefined if the stanza is for someone else. A malformed X25519 stanza throws.
 */
export function unwrapX25519(stanza: Stanza, identity: X25519Identity): Uint8Array | undefined {
  if (stanza.type !== 'X25519') return undefined;
  check(stanza.args.length === 1, 'AGE_HEADER', 'malformed age header: X25519 stanza needs one argument');
  const share = b64decode(stanza.args[0], 'X25519 share');
  check(share.length === 32, 'AGE_HEADER', 'malformed age header: X25519 share must be 32 bytes');
  check(stanza.body.length === 32, 'AGE_HEADER', 'malformed age header: X25519 body must be 32 bytes');
  let shared: Uint8Array;
  try {
    shared = x25519.getSharedSecret(identity.secretKey, share);
  } catch {
    throw new SealbellError('AGE_HEADER', 'malformed age header: X25519 share is a low-order point');
  }
  check(shared.some((b) => b !== 0), 'AGE_HEADER', 'malformed age header: X25519 shared secret is zero');
  try {
    return chacha20poly1305(wrapKey(shared, share, identity.publicKey), ZERO_NONCE).decrypt(stanza.body);
  } catch {
    return undefined;
  }
}
