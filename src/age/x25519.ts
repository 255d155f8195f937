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

/** Bech32 (no 90-character limit: an age1pq1… recipient is 1,960 characters) of exactly `length` bytes. */
export function decodeBech32(text: string, prefix: string, length: number, what: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    const decoded = bech32.decode(text as `${string}1${string}`, false);
    check(decoded.prefix === prefix, 'AGE_KEY', '');
    bytes = bech32.fromWords(decoded.words);
  } catch {
    throw new SealbellError('AGE_KEY', `not a valid ${what}`);
  }
  check(bytes.length === length, 'AGE_KEY', `not a valid ${what}`);
  return bytes;
}

export function decodeRecipient(text: string): Uint8Array {
  check(text === text.toLowerCase(), 'AGE_KEY', 'age recipients are lower case');
  return decodeBech32(text, 'age', 32, 'age X25519 recipient');
}

export function decodeIdentity(text: string): Uint8Array {
  check(text === text.toUpperCase(), 'AGE_KEY', 'age identities are upper case');
  return decodeBech32(text.toLowerCase(), 'age-secret-key-', 32, 'age X25519 identity');
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

/**
 * An X25519 identity: its public key (computed once: it is needed for every stanza tried) and
 * the scalar multiplication with a stanza's share. The secret may live outside JavaScript (a
 * browser's non-extractable WebCrypto key): then the shares are multiplied beforehand,
 * asynchronously, and `preparedX25519Identity` holds the results.
 */
export interface X25519Identity {
  kem: 'x25519';
  publicKey: Uint8Array;
  /** X25519(secret, share); undefined when this identity has no result for `share`; throws for a low-order share */
  sharedSecret(share: Uint8Array): Uint8Array | undefined;
}

export function x25519Identity(identity: string): X25519Identity {
  const secretKey = decodeIdentity(identity);
  return { kem: 'x25519', publicKey: x25519.getPublicKey(secretKey), sharedSecret: (share) => x25519.getSharedSecret(secretKey, share) };
}

/**
 * An identity whose secret JavaScript never holds: `shared` maps each share (base64, as in the
 * stanza) to X25519(secret, share) computed elsewhere, or to undefined when that failed (a
 * low-order share).
 */
export function preparedX25519Identity(publicKey: Uint8Array, shared: Map<string, Uint8Array | undefined>): X25519Identity {
  return {
    kem: 'x25519',
    publicKey,
    sharedSecret: (share) => {
      const key = b64encode(share);
      if (!shared.has(key)) return undefined;
      const s = shared.get(key);
      if (!s) throw new Error('low-order share');
      return s;
    },
  };
}

/** The shares of a header's X25519 stanzas (what a prepared identity needs multiplied), base64 as in the stanzas. */
export function x25519Shares(stanzas: Stanza[]): string[] {
  return stanzas.filter((s) => s.type === 'X25519' && s.args.length === 1).map((s) => s.args[0]);
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
  let shared: Uint8Array | undefined;
  try {
    shared = identity.sharedSecret(share);
  } catch {
    throw new SealbellError('AGE_HEADER', 'malformed age header: X25519 share is a low-order point');
  }
  if (shared === undefined) return undefined;
  check(shared.some((b) => b !== 0), 'AGE_HEADER', 'malformed age header: X25519 shared secret is zero');
  try {
    return chacha20poly1305(wrapKey(shared, share, identity.publicKey), ZERO_NONCE).decrypt(stanza.body);
  } catch {
    return undefined;
  }
}
