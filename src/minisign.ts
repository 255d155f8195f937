/**
 * minisign-compatible Ed25519 signatures (the "ED" pre-hashed algorithm:
 * Ed25519 over BLAKE2b-512 of the message), so that the stock `minisign -V`
 * verifies what the device signs. Formats: https://jedisct1.github.io/minisign/
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { blake2b } from '@noble/hashes/blake2.js';
import { base64 } from '@scure/base';
import { concatBytes, equalBytes, utf8ToBytes } from './bytes.js';
import { check, SealbellError } from './errors.js';

const ALG_PUBLIC = utf8ToBytes('Ed');
const ALG_PREHASHED = utf8ToBytes('ED');

export interface SigningKey {
  /** Ed25519 seed (32 bytes) */
  secretKey: Uint8Array;
  publicKey: Uint8Array;
  /** minisign key number (8 bytes) */
  keyId: Uint8Array;
}

/**
 * A usable Ed25519 public key: a valid point that is not of small order (those are valid
 * encodings but nobody's key: signatures under them prove nothing).
 */
export function isEd25519PublicKey(bytes: Uint8Array): boolean {
  try {
    return !ed25519.Point.fromBytes(bytes).isSmallOrder();
  } catch {
    return false;
  }
}

/** The key number is derived from the public key, so the same device always has the same id. */
export function keyIdOf(publicKey: Uint8Array): Uint8Array {
  return blake2b(publicKey, { dkLen: 8 });
}

export function signingKeyFromSeed(secretKey: Uint8Array): SigningKey {
  const publicKey = ed25519.getPublicKey(secretKey);
  return { secretKey, publicKey, keyId: keyIdOf(publicKey) };
}

/** The key id as minisign prints it: the 8 bytes as a little-endian u64 in upper-case hex. */
export function keyIdHex(keyId: Uint8Array): string {
  let s = '';
  for (let i = 7; i >= 0; i--) s += keyId[i].toString(16).padStart(2, '0');
  return s.toUpperCase();
}

export function encodePublicKey(publicKey: Uint8Array, keyId = keyIdOf(publicKey)): string {
  return (
    `untrusted comment: minisign public key ${keyIdHex(keyId)}\n` +
    base64.encode(concatBytes(ALG_PUBLIC, keyId, publicKey)) +
    '\n'
  );
}

export interface PublicKey {
  publicKey: Uint8Array;
  keyId: Uint8Array;
}

function lines(text: string, what: string): string[] {
  const ls = text.replace(/\r\n/g, '\n').split('\n');
  while (ls.length && ls[ls.length - 1] === '') ls.pop();
  check(ls.length >= 2, 'MINISIGN_FORMAT', `malformed ${what}: too few lines`);
  return ls;
}

function decodeB64(text: string, length: number, what: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = base64.decode(text.trim());
  } catch {
    throw new SealbellError('MINISIGN_FORMAT', `malformed ${what}: bad base64`);
  }
  check(bytes.length === length, 'MINISIGN_FORMAT', `malformed ${what}: wrong length`);
  return bytes;
}

export function decodePublicKey(text: string): PublicKey {
  const ls = lines(text, 'minisign public key');
  check(ls[0].startsWith('untrusted comment:'), 'MINISIGN_FORMAT', 'malformed minisign public key: no comment line');
  const raw = decodeB64(ls[1], 42, 'minisign public key');
  check(equalBytes(raw.subarray(0, 2), ALG_PUBLIC), 'MINISIGN_FORMAT', 'not an Ed25519 minisign public key');
  return { keyId: raw.slice(2, 10), publicKey: raw.slice(10) };
}

/** A minisign signature file (.minisig) for `message`. */
export function sign(message: Uint8Array, key: SigningKey, trustedComment: string, untrustedComment = 'signature from sealbell device'): string {
  check(!/[\r\n]/.test(trustedComment + untrustedComment), 'MINISIGN_FORMAT', 'comments must be one line');
  const signature = ed25519.sign(blake2b(message), key.secretKey);
  const globalSignature = ed25519.sign(concatBytes(signature, utf8ToBytes(trustedComment)), key.secretKey);
  return (
    `untrusted comment: ${untrustedComment}\n` +
    base64.encode(concatBytes(ALG_PREHASHED, key.keyId, signature)) +
    '\n' +
    `trusted comment: ${trustedComment}\n` +
    base64.encode(globalSignature) +
    '\n'
  );
}

/**
 * Verifies a .minisig for `message` against `key`; returns the trusted comment.
 * Throws MINISIGN_KEY when it was made by another key, MINISIGN_SIGNATURE when it does not verify.
 */
export function verify(message: Uint8Array, signatureText: string, key: PublicKey): string {
  const ls = lines(signatureText, 'minisign signature');
  check(ls.length === 4, 'MINISIGN_FORMAT', 'malformed minisign signature: expected 4 lines');
  check(ls[0].startsWith('untrusted comment:'), 'MINISIGN_FORMAT', 'malformed minisign signature: no untrusted comment');
  check(ls[2].startsWith('trusted comment: '), 'MINISIGN_FORMAT', 'malformed minisign signature: no trusted comment');
  const raw = decodeB64(ls[1], 74, 'minisign signature');
  const alg = raw.subarray(0, 2);
  check(equalBytes(alg, ALG_PREHASHED), 'MINISIGN_FORMAT', 'only pre-hashed (ED) minisign signatures are accepted');
  if (!equalBytes(raw.subarray(2, 10), key.keyId)) {
    throw new SealbellError('MINISIGN_KEY', `signed by another key (${keyIdHex(raw.subarray(2, 10))}, expected ${keyIdHex(key.keyId)})`);
  }
  const signature = raw.subarray(10);
  const trustedComment = ls[2].slice('trusted comment: '.length);
  const globalSignature = decodeB64(ls[3], 64, 'minisign global signature');
  const ok =
    ed25519.verify(signature, blake2b(message), key.publicKey) &&
    ed25519.verify(globalSignature, concatBytes(signature, utf8ToBytes(trustedComment)), key.publicKey);
  if (!ok) throw new SealbellError('MINISIGN_SIGNATURE', 'the signature does not verify: the signed data or its trusted comment was changed');
  return trustedComment;
}
