/**
 * Firmware updates: the two signed documents an update needs (docs/update-format.md).
 *
 * - The release manifest, canonical JSON signed by the project's release key (minisign, so the
 *   stock `minisign -V` checks it):
 *     {"v":1,"board":"esp32_cam","version":"1.4.0","security":3,"size":N,"sha256":"<64 hex>"}
 * - The owner's authorization, canonical JSON signed by the account authority:
 *     {"v":1,"device":"<16 hex>","release":"<SHA-256 of the release manifest bytes, 64 hex>"}
 *   "install release R on doorbell D": without it no release reaches a doorbell, whoever signed it.
 *
 * Both parse strictly (one byte string per document), and the signature's trusted comment
 * repeats what matters, so a signature cannot be moved onto another document.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8Decode, utf8ToBytes } from '../bytes.js';
import { SealbellError } from '../errors.js';
import { keyIdHex, keyIdOf, sign, verify, type PublicKey, type SigningKey } from '../minisign.js';

export const RELEASE_VERSION = 1;
/** An image larger than this is refused outright: no board's app slot is near it. */
export const MAX_IMAGE_BYTES = 16 * 1024 * 1024;
/** Security versions are u32: they only ever rise. */
export const MAX_SECURITY = 0xffffffff;
/** A document or signature longer than this is not one. */
export const MAX_DOCUMENT_BYTES = 1024;

export interface ReleaseManifest {
  v: 1;
  /** the board the image is built for (boards/<board>) */
  board: string;
  /** shown to people: "1.4.0" */
  version: string;
  /** anti-rollback: a doorbell never installs a release below the highest it has run validly */
  security: number;
  /** image bytes */
  size: number;
  /** SHA-256 of the image, lower-case hex */
  sha256: string;
}

export interface UpdateAuthorization {
  v: 1;
  /** the doorbell's id (minisign key id of its identity key) */
  device: string;
  /** SHA-256 of the exact release manifest bytes, lower-case hex */
  release: string;
}

export interface Signed<T> {
  value: T;
  /** the canonical bytes that were signed */
  bytes: Uint8Array;
  /** minisign signature text */
  signature: string;
}

const fail = (code: string, why: string): never => {
  throw new SealbellError(code, why);
};
const isHex64 = (s: unknown): s is string => typeof s === 'string' && /^[0-9a-f]{64}$/.test(s);
const isU32 = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= MAX_SECURITY;

function checkRelease(m: unknown): ReleaseManifest {
  const bad = (why: string) => fail('UPDATE_FORMAT', `malformed release manifest: ${why}`);
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return bad('not an object');
  const r = m as Record<string, unknown>;
  if (r.v !== RELEASE_VERSION) bad(`v must be ${RELEASE_VERSION}`);
  if (typeof r.board !== 'string' || !/^[a-z0-9_]{1,40}$/.test(r.board)) bad('board must be 1–40 of a-z 0-9 _');
  if (typeof r.version !== 'string' || !/^[0-9A-Za-z][0-9A-Za-z.+-]{0,31}$/.test(r.version)) bad('version must be 1–32 of 0-9 A-Z a-z . + -');
  if (!isU32(r.security)) bad('security must be a whole number 0..2^32-1');
  if (typeof r.size !== 'number' || !Number.isInteger(r.size) || r.size < 1 || r.size > MAX_IMAGE_BYTES) bad(`size must be 1..${MAX_IMAGE_BYTES}`);
  if (!isHex64(r.sha256)) bad('sha256 must be 64 lower-case hex digits');
  return { v: 1, board: r.board as string, version: r.version as string, security: r.security as number, size: r.size as number, sha256: r.sha256 as string };
}

function checkAuthorization(m: unknown): UpdateAuthorization {
  const bad = (why: string) => fail('UPDATE_FORMAT', `malformed update authorization: ${why}`);
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return bad('not an object');
  const r = m as Record<string, unknown>;
  if (r.v !== RELEASE_VERSION) bad(`v must be ${RELEASE_VERSION}`);
  if (typeof r.device !== 'string' || !/^[0-9A-F]{16}$/.test(r.device)) bad('device must be 16 upper-case hex digits');
  if (!isHex64(r.release)) bad('release must be 64 lower-case hex digits');
  return { v: 1, device: r.device as string, release: r.release as string };
}

export function encodeRelease(m: ReleaseManifest): Uint8Array {
  const r = checkRelease(m);
  return utf8ToBytes(JSON.stringify({ v: r.v, board: r.board, version: r.version, security: r.security, size: r.size, sha256: r.sha256 }));
}

export function encodeAuthorization(a: UpdateAuthorization): Uint8Array {
  const r = checkAuthorization(a);
  return utf8ToBytes(JSON.stringify({ v: r.v, device: r.device, release: r.release }));
}

/** Parses canonical bytes; any other encoding of the same document is refused (UPDATE_FORMAT). */
function parseCanonical<T>(bytes: Uint8Array, check: (v: unknown) => T, encode: (v: T) => Uint8Array, what: string): T {
  if (!(bytes instanceof Uint8Array) || bytes.length > MAX_DOCUMENT_BYTES) fail('UPDATE_FORMAT', `malformed ${what}: not bytes or too long`);
  let value: unknown;
  try {
    value = JSON.parse(utf8Decode(bytes));
  } catch {
    fail('UPDATE_FORMAT', `malformed ${what}: not UTF-8 JSON`);
  }
  const doc = check(value);
  const canonical = encode(doc);
  if (canonical.length !== bytes.length || canonical.some((b, i) => b !== bytes[i])) fail('UPDATE_FORMAT', `malformed ${what}: not in canonical form`);
  return doc;
}

export const parseRelease = (bytes: Uint8Array): ReleaseManifest => parseCanonical(bytes, checkRelease, encodeRelease, 'release manifest');
export const parseAuthorization = (bytes: Uint8Array): UpdateAuthorization =>
  parseCanonical(bytes, checkAuthorization, encodeAuthorization, 'update authorization');

/** The release's id: SHA-256 of its manifest bytes (what the owner's authorization names). */
export const releaseId = (manifestBytes: Uint8Array): string => bytesToHex(sha256(manifestBytes));

export const releaseComment = (m: ReleaseManifest): string =>
  `sealbell release v${m.v} board ${m.board} version ${m.version} security ${m.security} sha256 ${m.sha256}`;
export const authorizationComment = (a: UpdateAuthorization): string => `sealbell update v${a.v} device ${a.device} release ${a.release}`;

export function signRelease(m: ReleaseManifest, releaseKey: SigningKey): Signed<ReleaseManifest> {
  const bytes = encodeRelease(m);
  const value = parseRelease(bytes);
  return { value, bytes, signature: sign(bytes, releaseKey, releaseComment(value), `sealbell release ${value.version} for ${value.board}, signed by release key ${keyIdHex(releaseKey.keyId)}`) };
}

export function signAuthorization(a: UpdateAuthorization, authority: SigningKey): Signed<UpdateAuthorization> {
  const bytes = encodeAuthorization(a);
  const value = parseAuthorization(bytes);
  return { value, bytes, signature: sign(bytes, authority, authorizationComment(value), 'sealbell update authorization, signed by the account authority') };
}

/** `release` on doorbell `device`, as the owner authorizes it. */
export function authorizeRelease(releaseBytes: Uint8Array, device: string, authority: SigningKey): Signed<UpdateAuthorization> {
  return signAuthorization({ v: 1, device, release: releaseId(releaseBytes) }, authority);
}

export const publicKeyOf = (publicKey: Uint8Array): PublicKey => ({ publicKey, keyId: keyIdOf(publicKey) });

function checkSignature(bytes: Uint8Array, signature: string, key: Uint8Array, comment: string, code: string, whose: string): void {
  if (typeof signature !== 'string' || signature.length > MAX_DOCUMENT_BYTES) fail(code, `the ${whose} signature is missing or too long`);
  let got: string;
  try {
    got = verify(bytes, signature, publicKeyOf(key));
  } catch (e) {
    return fail(code, `not signed by the ${whose}: ${(e as Error).message}`);
  }
  if (got !== comment) fail(code, `the ${whose} signature's trusted comment does not match the document`);
}

/** UPDATE_FORMAT when malformed; UPDATE_RELEASE_SIGNATURE unless the release key signed exactly these bytes. */
export function verifyRelease(bytes: Uint8Array, signature: string, releaseKey: Uint8Array): Signed<ReleaseManifest> {
  const value = parseRelease(bytes);
  checkSignature(bytes, signature, releaseKey, releaseComment(value), 'UPDATE_RELEASE_SIGNATURE', 'release key');
  return { value, bytes: bytes.slice(), signature };
}

/**
 * UPDATE_FORMAT when malformed; UPDATE_AUTHORIZATION unless the account authority signed it;
 * UPDATE_OTHER_DEVICE / UPDATE_OTHER_RELEASE when it authorizes another doorbell or release.
 */
export function verifyAuthorization(bytes: Uint8Array, signature: string, authority: Uint8Array, device: string, releaseBytes: Uint8Array): Signed<UpdateAuthorization> {
  const value = parseAuthorization(bytes);
  checkSignature(bytes, signature, authority, authorizationComment(value), 'UPDATE_AUTHORIZATION', 'account authority');
  if (value.device !== device) fail('UPDATE_OTHER_DEVICE', `the owner authorized this update for doorbell ${value.device}, not ${device}`);
  if (value.release !== releaseId(releaseBytes)) fail('UPDATE_OTHER_RELEASE', 'the owner authorized another release, not this one');
  return { value, bytes: bytes.slice(), signature };
}
