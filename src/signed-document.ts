/**
 * What the account authority's signed documents (rosters, settings, owner requests) share:
 * canonical JSON (one byte form per document: parse, check, re-encode, compare), a minisign
 * signature by the authority whose trusted comment names the document, and the framing a
 * signed document travels in ("MAGIC" ‖ u16 length ‖ document ‖ u16 length ‖ signature text).
 */
import { equalBytes, utf8Decode, utf8ToBytes } from './bytes.js';
import { SealbellError } from './errors.js';
import { keyIdHex, keyIdOf, verify } from './minisign.js';
import { Reader, Writer } from './wire.js';

/** A document's canonical bytes and the minisign signature text over them. */
export interface SignedBytes {
  bytes: Uint8Array;
  signature: string;
}

/**
 * Parses canonical JSON: `validate` gives the document, and only the bytes `encode` makes of it
 * are accepted (other spacing, key order, number forms… are not). `bad` throws the format error.
 */
export function parseCanonicalJson<T>(
  bytes: Uint8Array,
  o: { max: number; validate: (value: unknown) => T; encode: (doc: T) => Uint8Array; bad: (why: string) => never },
): T {
  if (!(bytes instanceof Uint8Array)) return o.bad('not bytes');
  if (bytes.length > o.max) o.bad(`longer than ${o.max} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(utf8Decode(bytes));
  } catch {
    return o.bad('not UTF-8 JSON');
  }
  const doc = o.validate(value);
  if (!equalBytes(o.encode(doc), bytes)) o.bad('not in canonical form');
  return doc;
}

/**
 * Checks that the account authority `authority` signed `bytes` with the trusted comment
 * `comment`; else throws `code` ("the <what> is not signed by the account authority: …").
 */
export function verifyAuthoritySignature(
  bytes: Uint8Array,
  signature: unknown,
  authority: Uint8Array,
  o: { comment: string; code: string; what: string; maxSignature: number; plural?: boolean },
): string {
  if (typeof signature !== 'string' || signature.length === 0 || signature.length > o.maxSignature) {
    throw new SealbellError(o.code, `the ${o.what} signature is missing or too long`);
  }
  const key = { publicKey: authority, keyId: keyIdOf(authority) };
  let comment: string;
  try {
    comment = verify(bytes, signature, key);
  } catch (e) {
    const why = e instanceof SealbellError && e.code === 'MINISIGN_KEY'
      ? `signed by another key, not the account authority ${keyIdHex(key.keyId)}`
      : e instanceof Error ? e.message : String(e);
    throw new SealbellError(o.code, `the ${o.what} ${o.plural ? 'are' : 'is'} not signed by the account authority: ${why}`);
  }
  if (comment !== o.comment) throw new SealbellError(o.code, `the ${o.what} signature's trusted comment does not match the ${o.what}`);
  return signature;
}

/** "MAGIC" ‖ u16 length ‖ document ‖ u16 length ‖ signature text. */
export function encodeSignedBundle(magic: Uint8Array, s: SignedBytes): Uint8Array {
  return new Writer().bytes(magic).sized(2, s.bytes).sized(2, utf8ToBytes(s.signature)).finish();
}

/** Reads one bundle that `encodeSignedBundle(magic, …)` made from `r` (its errors are `r`'s). */
export function readSignedBundle(r: Reader, magic: Uint8Array, o: { what: string; maxBytes: number; maxSignature: number }): SignedBytes {
  if (!equalBytes(r.bytesN(magic.length, 'magic'), magic)) r.fail(`does not start with ${utf8Decode(magic)}`);
  const bytes = r.sized(2, 1, o.maxBytes, o.what);
  const sig = r.sized(2, 1, o.maxSignature, 'signature');
  let signature = '';
  try {
    signature = utf8Decode(sig);
  } catch {
    r.fail('signature is not UTF-8 text');
  }
  return { bytes, signature };
}
