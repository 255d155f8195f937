/**
 * The live-view wire format, version 1 (docs/live-format.md): one signed
 * session opening, then one sealed record per frame.
 *
 *   opening = magic "sealbell live v1" (16) ‖ device id (16 ASCII) ‖ session id (1-byte length, 1–64)
 *             ‖ request (16) ‖ epoch (6) ‖ start (6) ‖ kid (4) ‖ width (2) ‖ height (2)
 *             ‖ age header (2-byte length; exactly one X25519 or mlkem768x25519 stanza) ‖ nonce (16)
 *             ‖ Ed25519 signature by the device identity key over everything before it (64)
 *   record  = kid (4) ‖ ctr (8) ‖ ChaCha20-Poly1305(session key, nonce = kid ‖ ctr, plaintext)
 *   plaintext = kind (1) ‖ capture time (6, ms since the Unix epoch) ‖ data
 *
 * The record's 12-byte header is the AEAD nonce itself, so changing either field
 * fails authentication without any associated data. All integers are big-endian.
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { readUintBE, utf8ToBytes, writeUintBE } from '../bytes.js';
import { SealbellError } from '../errors.js';
import { Reader, Writer } from '../wire.js';
import { isSafeId } from '../clip/manifest.js';
import { TAG_LENGTH } from '../crypto/backend.js';
import { MAX_HEADER_BYTES } from '../age/format.js';

export const LIVE_MAGIC = utf8ToBytes('sealbell live v1');
export const REQUEST_LENGTH = 16;
export const LIVE_NONCE_LENGTH = 16;
export const SIGNATURE_LENGTH = 64;
export const RECORD_HEADER_LENGTH = 12;
export const PLAIN_PREFIX_LENGTH = 7;
/** Largest JPEG a record carries: a live frame must fit one uplink message (65,622 bytes with its framing). */
export const MAX_LIVE_FRAME_BYTES = 65_000;
export const MAX_RECORD_BYTES = RECORD_HEADER_LENGTH + PLAIN_PREFIX_LENGTH + MAX_LIVE_FRAME_BYTES + TAG_LENGTH;
/** Counters stay below 2^53 so they are exact JavaScript numbers (at 30 fps: millions of years). */
export const MAX_COUNTER = Number.MAX_SAFE_INTEGER;
/**
 * Upper bound of an opening: the header holds one stanza (~150 bytes X25519, ~1,650 bytes
 * post-quantum mlkem768x25519), far below the age header limit.
 */
export const MAX_OPENING_BYTES = 4096;
const KEY_INFO = utf8ToBytes('sealbell live v1 records');

export const RECORD_FRAME = 0x01;
export const RECORD_END = 0x02;

/** Why the device ended a session (the data byte of an end record). */
export const END_REASONS = ['timeout', 'stopped', 'roster', 'shutdown'] as const;
export type EndReason = (typeof END_REASONS)[number];

export interface OpeningFields {
  /** the device id: 16 upper-case hex digits */
  device: string;
  /** chosen by the relay for this phone connection; an id */
  session: string;
  /** the phone's fresh 16 random bytes: binds the opening to this request */
  request: Uint8Array;
  /** the roster epoch the phone was found in */
  epoch: number;
  /** session start, ms since the Unix epoch */
  start: number;
  /** the key id records carry */
  kid: number;
  width: number;
  height: number;
  /** an age v1 header with one X25519 (or mlkem768x25519) stanza wrapping the 16-byte session file key */
  header: Uint8Array;
  /** salt for the record key */
  nonce: Uint8Array;
}

export interface ParsedOpening extends OpeningFields {
  /** the bytes the signature covers */
  signed: Uint8Array;
  signature: Uint8Array;
}

const bad = (why: string): never => {
  throw new SealbellError('LIVE_FORMAT', `malformed live ${why}`);
};

/** The opening's bytes before the signature. */
export function encodeOpeningBody(f: OpeningFields): Uint8Array {
  if (!/^[0-9A-F]{16}$/.test(f.device)) bad('opening: device id must be 16 upper-case hex digits');
  if (!isSafeId(f.session)) bad('opening: session id is not an id');
  if (f.request.length !== REQUEST_LENGTH || f.nonce.length !== LIVE_NONCE_LENGTH) bad('opening: request and nonce must be 16 bytes');
  if (f.header.length < 1 || f.header.length > MAX_OPENING_BYTES) bad('opening: header size');
  for (const [v, max] of [[f.epoch, 2 ** 48 - 1], [f.start, 2 ** 48 - 1], [f.kid, 2 ** 32 - 1], [f.width, 65535], [f.height, 65535]]) {
    if (!Number.isInteger(v) || v < 0 || v > max) bad('opening: a number is out of range');
  }
  return new Writer()
    .bytes(LIVE_MAGIC)
    .bytes(utf8ToBytes(f.device))
    .sized(1, utf8ToBytes(f.session))
    .bytes(f.request)
    .uint(f.epoch, 6)
    .uint(f.start, 6)
    .uint(f.kid, 4)
    .uint(f.width, 2)
    .uint(f.height, 2)
    .sized(2, f.header)
    .bytes(f.nonce)
    .finish();
}

function ascii(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

/** Strict parse: every field in range, nothing left over. Checks no signature (see opener.ts). */
export function parseOpening(bytes: Uint8Array): ParsedOpening {
  if (!(bytes instanceof Uint8Array) || bytes.length > MAX_OPENING_BYTES) bad('opening: too large');
  const r = new Reader(bytes, 'LIVE_FORMAT', 'live opening');
  const magic = r.bytesN(LIVE_MAGIC.length, 'magic');
  if (magic.some((b, i) => b !== LIVE_MAGIC[i])) r.fail('not a sealbell live v1 opening');
  const device = ascii(r.bytesN(16, 'device id'));
  if (!/^[0-9A-F]{16}$/.test(device)) r.fail('device id must be 16 upper-case hex digits');
  const session = ascii(r.sized(1, 1, 64, 'session id'));
  if (!isSafeId(session)) r.fail('session id is not an id');
  const request = r.bytesN(REQUEST_LENGTH, 'request');
  const epoch = r.uint(6, 'epoch');
  const start = r.uint(6, 'start');
  const kid = r.uint(4, 'kid');
  const width = r.uint(2, 'width');
  const height = r.uint(2, 'height');
  const header = r.sized(2, 1, Math.min(MAX_HEADER_BYTES, MAX_OPENING_BYTES), 'header');
  const nonce = r.bytesN(LIVE_NONCE_LENGTH, 'nonce');
  const signedLength = bytes.length - r.remaining;
  const signature = r.bytesN(SIGNATURE_LENGTH, 'signature');
  r.end();
  return { device, session, request, epoch, start, kid, width, height, header, nonce, signed: bytes.slice(0, signedLength), signature };
}

/** The records' ChaCha20-Poly1305 key: HKDF-SHA-256(file key, salt = nonce, info = "sealbell live v1 records"). */
export function recordKey(fileKey: Uint8Array, nonce: Uint8Array): Uint8Array {
  return hkdf(sha256, fileKey, nonce, KEY_INFO, 32);
}

/** Writes the record header (= the AEAD nonce) for `kid` and `ctr` into `out`. */
export function writeRecordHeader(out: Uint8Array, kid: number, ctr: number): void {
  writeUintBE(out, 0, kid, 4);
  writeUintBE(out, 4, ctr, 8);
}

export interface RecordHeader {
  kid: number;
  ctr: number;
}

/** The header of a record; LIVE_FORMAT when it cannot be a record at all. */
export function readRecordHeader(record: Uint8Array): RecordHeader {
  if (record.length < RECORD_HEADER_LENGTH + PLAIN_PREFIX_LENGTH + TAG_LENGTH) bad('record: too short');
  if (record.length > MAX_RECORD_BYTES) bad('record: too large');
  const high = readUintBE(record, 4, 2);
  if (high > 0x1f) bad('record: counter above 2^53');
  return { kid: readUintBE(record, 0, 4), ctr: readUintBE(record, 4, 8) };
}
