/**
 * age's post-quantum hybrid recipient type (C2SP age spec, "The MLKEM768-X25519
 * (i.e. X-Wing) hybrid post-quantum recipient type"): the file key is sealed with
 * HPKE SealBase (RFC 9180 §6.1) using the MLKEM768-X25519 KEM (X-Wing), HKDF-SHA256
 * and ChaCha20-Poly1305, info "age-encryption.org/mlkem768x25519", empty aad.
 *
 *   -> mlkem768x25519 <base64 enc, exactly 1120 bytes>
 *   <base64 HPKE ciphertext, exactly 32 bytes>
 *
 * Identities are 32-byte seeds, Bech32 "AGE-SECRET-KEY-PQ-1…"; recipients are the
 * 1216-byte X-Wing public keys, Bech32 "age1pq1…" (longer than Bech32's 90-character
 * limit, which age lifts). Opened by Go age ≥ 1.3.0 and typage (age-encryption) ≥ 0.3.
 */
import { ml_kem768_x25519 } from '@noble/post-quantum/hybrid.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { extract, expand } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bech32 } from '@scure/base';
import { concatBytes, utf8ToBytes } from '../bytes.js';
import { check, SealbellError } from '../errors.js';
import type { Random } from '../crypto/backend.js';
import { b64decode, b64encode, type Stanza } from './format.js';

export const HYBRID_STANZA_TYPE = 'mlkem768x25519';
export const HYBRID_RECIPIENT_PREFIX = 'age1pq';
export const HYBRID_IDENTITY_PREFIX = 'AGE-SECRET-KEY-PQ-';
/** X-Wing sizes: public key, encapsulated key (enc), seed (the identity), encapsulation randomness. */
export const HYBRID_PUBLIC_KEY_LENGTH = 1216;
export const HYBRID_ENC_LENGTH = 1120;
const SEED_LENGTH = 32;
const ENCAPSULATION_RANDOM_LENGTH = 64;
/** the wrapped 16-byte file key plus the Poly1305 tag */
const BODY_LENGTH = 32;

const INFO = utf8ToBytes('age-encryption.org/mlkem768x25519');

// --- HPKE (RFC 9180) key schedule, base mode, for this one suite ---------------------

/** "HPKE" ‖ KEM 0x647a (MLKEM768-X25519) ‖ KDF 0x0001 (HKDF-SHA256) ‖ AEAD 0x0003 (ChaCha20-Poly1305) */
const SUITE_ID = concatBytes(utf8ToBytes('HPKE'), new Uint8Array([0x64, 0x7a, 0x00, 0x01, 0x00, 0x03]));
const HPKE_V1 = utf8ToBytes('HPKE-v1');

function labeledExtract(salt: Uint8Array, label: string, ikm: Uint8Array): Uint8Array {
  return extract(sha256, concatBytes(HPKE_V1, SUITE_ID, utf8ToBytes(label), ikm), salt);
}

function labeledExpand(prk: Uint8Array, label: string, info: Uint8Array, length: number): Uint8Array {
  const prefix = new Uint8Array([length >> 8, length & 0xff]);
  return expand(sha256, prk, concatBytes(prefix, HPKE_V1, SUITE_ID, utf8ToBytes(label), info), length);
}

/** KeySchedule(mode_base, shared_secret, info, psk = "", psk_id = ""): the AEAD key and base nonce. */
function keySchedule(sharedSecret: Uint8Array): { key: Uint8Array; nonce: Uint8Array } {
  const empty = new Uint8Array(0);
  const context = concatBytes(
    new Uint8Array([0]), // mode_base
    labeledExtract(empty, 'psk_id_hash', empty),
    labeledExtract(empty, 'info_hash', INFO),
  );
  const secret = labeledExtract(sharedSecret, 'secret', empty);
  return { key: labeledExpand(secret, 'key', context, 32), nonce: labeledExpand(secret, 'base_nonce', context, 12) };
}

// --- encodings ------------------------------------------------------------------------

/** Bech32 without the 90-character limit (an age1pq1… recipient is 1,960 characters). */
function decodeBech32(text: string, prefix: string, length: number, what: string): Uint8Array {
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

export function encodeHybridRecipient(publicKey: Uint8Array): string {
  return bech32.encode(HYBRID_RECIPIENT_PREFIX, bech32.toWords(publicKey), false);
}

export function encodeHybridIdentity(seed: Uint8Array): string {
  return bech32.encode(HYBRID_IDENTITY_PREFIX, bech32.toWords(seed), false).toUpperCase();
}

export function decodeHybridRecipient(text: string): Uint8Array {
  check(text === text.toLowerCase(), 'AGE_KEY', 'age recipients are lower case');
  return decodeBech32(text, HYBRID_RECIPIENT_PREFIX, HYBRID_PUBLIC_KEY_LENGTH, 'age post-quantum recipient (age1pq1…)');
}

export function decodeHybridIdentity(text: string): Uint8Array {
  check(text === text.toUpperCase(), 'AGE_KEY', 'age identities are upper case');
  return decodeBech32(text.toLowerCase(), HYBRID_IDENTITY_PREFIX.toLowerCase(), SEED_LENGTH, 'age post-quantum identity (AGE-SECRET-KEY-PQ-1…)');
}

export function isHybridRecipient(text: string): boolean {
  return text.startsWith(HYBRID_RECIPIENT_PREFIX + '1');
}

export function isHybridIdentity(text: string): boolean {
  return text.startsWith(HYBRID_IDENTITY_PREFIX + '1');
}

/** The public key: ML-KEM-768 and X25519 keys expanded from the seed (SHAKE256), ~1 ML-KEM keygen. */
export function hybridIdentityToRecipient(identity: string): string {
  return encodeHybridRecipient(ml_kem768_x25519.getPublicKey(decodeHybridIdentity(identity)));
}

export function generateHybridIdentity(random: Random): string {
  return encodeHybridIdentity(random(SEED_LENGTH));
}

// --- wrap and unwrap ------------------------------------------------------------------

/**
 * Wraps `fileKey` to one hybrid recipient: one X-Wing encapsulation (an ML-KEM-768
 * encapsulation and two X25519 scalar multiplications), then HPKE's key schedule.
 * `random` supplies the 64 bytes of encapsulation randomness.
 */
export function wrapHybrid(fileKey: Uint8Array, recipient: Uint8Array, random: Random): Stanza {
  const eseed = random(ENCAPSULATION_RANDOM_LENGTH);
  const { cipherText, sharedSecret } = ml_kem768_x25519.encapsulate(recipient, eseed);
  eseed.fill(0);
  const { key, nonce } = keySchedule(sharedSecret);
  sharedSecret.fill(0);
  const body = chacha20poly1305(key, nonce).encrypt(fileKey);
  key.fill(0);
  return { type: HYBRID_STANZA_TYPE, args: [b64encode(cipherText)], body };
}

export interface HybridIdentity {
  kem: 'mlkem768x25519';
  seed: Uint8Array;
}

export function hybridIdentity(identity: string): HybridIdentity {
  return { kem: 'mlkem768x25519', seed: decodeHybridIdentity(identity) };
}

/**
 * Tries to unwrap a hybrid stanza with `identity`. Returns the file key, or undefined
 * if the stanza is another type or for someone else (the AEAD fails). A malformed
 * mlkem768x25519 stanza throws AGE_HEADER, as the spec requires: exactly one argument
 * after the type, canonical base64 of exactly 1120 bytes, a 32-byte body (checked
 * before decrypting, against partitioning oracles).
 */
export function unwrapHybrid(stanza: Stanza, identity: HybridIdentity): Uint8Array | undefined {
  if (stanza.type !== HYBRID_STANZA_TYPE) return undefined;
  const bad = (why: string): never => {
    throw new SealbellError('AGE_HEADER', `malformed age header: mlkem768x25519 stanza ${why}`);
  };
  if (stanza.args.length !== 1) bad(`needs exactly one argument (got ${stanza.args.length})`);
  const enc = b64decode(stanza.args[0], 'mlkem768x25519 enc');
  if (enc.length !== HYBRID_ENC_LENGTH) bad(`enc must be ${HYBRID_ENC_LENGTH} bytes (got ${enc.length})`);
  if (stanza.body.length !== BODY_LENGTH) bad(`body must be ${BODY_LENGTH} bytes (got ${stanza.body.length})`);
  let sharedSecret: Uint8Array;
  try {
    // noble refuses an X25519 share whose shared secret is all zeros (a low-order point).
    sharedSecret = ml_kem768_x25519.decapsulate(enc, identity.seed);
  } catch {
    return bad('has an invalid X25519 share (low-order point)');
  }
  const { key, nonce } = keySchedule(sharedSecret);
  sharedSecret.fill(0);
  try {
    return chacha20poly1305(key, nonce).decrypt(stanza.body);
  } catch {
    return undefined;
  } finally {
    key.fill(0);
  }
}
