/**
 * The sealed event notice (docs/event-format.md): what a trigger tells the roster's
 * phones at once — doorbell, clip, trigger, time and the poster frame — sealed so only
 * they can read it and signed by the device so the relay cannot forge "someone rang".
 *
 * It is an age file that reuses the clip's header (the same recipients, no new key
 * wrapping on the trigger path) with its own payload nonce, so its payload key is
 * independent of the clip's; its payload is one STREAM chunk:
 *
 *   {"v":1,"device":"…","clip":"…","trigger":"press","time":…,"poster":N}\n  then N bytes of JPEG
 *
 * The minisign signature (device key) covers the whole sealed file; its trusted comment
 * names the clip and the device. Runs unchanged under XS, in Node and in browsers.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import type { Aead } from '../crypto/backend.js';
import { concatBytes, equalBytes, utf8Decode, utf8ToBytes } from '../bytes.js';
import { check, SealbellError } from '../errors.js';
import { CHUNK_SIZE, PAYLOAD_NONCE_LENGTH, chunkNonce, payloadKey } from '../age/stream.js';
import { parseHeader } from '../age/format.js';
import { openHeader } from '../age/header.js';
import { toAgeIdentity, type IdentityInput } from '../age/recipients.js';
import { keyIdHex, sign, verify, type PublicKey, type SigningKey } from '../minisign.js';
import { isSafeId, type ClipTrigger } from '../clip/manifest.js';
import { TAG_LENGTH } from '../crypto/backend.js';

export interface EventNotice {
  v: 1;
  device: string;
  clip: string;
  trigger: ClipTrigger;
  /** the trigger's time, ms since the Unix epoch (the device clock) */
  time: number;
}

export interface OpenedEvent extends EventNotice {
  /** the poster frame (JPEG), byte for byte the clip's poster; absent when the clip has none */
  poster?: Uint8Array;
}

export interface SignedEvent {
  /** the age file */
  sealed: Uint8Array;
  /** minisign signature text over `sealed` */
  signature: string;
}

/** The whole event (JSON line and poster) is one STREAM chunk at most. */
export const MAX_EVENT_PLAINTEXT = CHUNK_SIZE;
/** A sealed event is at most an age header (64 KiB), the nonce and one sealed chunk. */
export const MAX_SEALED_EVENT_BYTES = 64 * 1024 + PAYLOAD_NONCE_LENGTH + CHUNK_SIZE + TAG_LENGTH;
const MAX_JSON_LINE = 512;
const TRIGGERS: readonly string[] = ['press', 'motion', 'pir'];
const NONCE_CONTEXT = utf8ToBytes('sealbell-event-nonce-v1');

/**
 * The event's payload nonce, derived from the clip's: distinct from it (so the payload keys
 * differ), and made with no random draw, so a clip's bytes do not depend on whether an event
 * was made.
 */
export function eventNonceOf(clipNonce: Uint8Array): Uint8Array {
  return sha256(concatBytes(NONCE_CONTEXT, clipNonce)).slice(0, PAYLOAD_NONCE_LENGTH);
}

/** The key of the event's payload: the clip's file key with the event nonce (as age derives any payload key). */
export const eventPayloadKey = (fileKey: Uint8Array, clipNonce: Uint8Array): Uint8Array => payloadKey(fileKey, eventNonceOf(clipNonce));

export function encodeEventLine(e: EventNotice, posterBytes: number): Uint8Array {
  checkNotice(e);
  return utf8ToBytes(JSON.stringify({ v: 1, device: e.device, clip: e.clip, trigger: e.trigger, time: e.time, poster: posterBytes }) + '\n');
}

export const eventComment = (clip: string, device: string): string => `sealbell event ${clip} device ${device}`;

/** The poster goes in when the whole event fits one chunk (a clip's poster always does). */
export function posterFits(e: EventNotice, poster: Uint8Array | undefined): boolean {
  return !!poster && encodeEventLine(e, poster.length).length + poster.length <= MAX_EVENT_PLAINTEXT;
}

export interface SealEventOptions {
  aead: Aead;
  /** the clip's age header (through the MAC line) */
  header: Uint8Array;
  /** the clip's payload nonce: the event's nonce is derived from it */
  clipNonce: Uint8Array;
  /** eventNonceOf(clipNonce), when already made (in idle time, with the header): saves a SHA-256 on the trigger path */
  eventNonce?: Uint8Array;
  /** eventPayloadKey(file key, clip nonce), made when the header was */
  key: Uint8Array;
  signingKey: SigningKey;
}

/** Seals and signs one event. */
export function sealEvent(e: EventNotice, poster: Uint8Array | undefined, o: SealEventOptions): SignedEvent {
  const sealed = sealEventPayload(e, poster, o);
  return { sealed, signature: signEvent(e, sealed, o.signingKey) };
}

/**
 * Seals one event (no signature yet). The poster is read only during the call (the per-byte
 * work is the backend's: native on a device), so it may be the camera's buffer.
 */
export function sealEventPayload(e: EventNotice, poster: Uint8Array | undefined, o: Omit<SealEventOptions, 'signingKey'>): Uint8Array {
  let line = encodeEventLine(e, poster?.length ?? 0);
  let image = poster ?? new Uint8Array(0);
  if (line.length + image.length > MAX_EVENT_PLAINTEXT) {
    image = new Uint8Array(0);
    line = encodeEventLine(e, 0);
  }
  const nonce = o.eventNonce ?? eventNonceOf(o.clipNonce);
  const head = o.header.length + PAYLOAD_NONCE_LENGTH;
  const sealed = new Uint8Array(head + line.length + image.length + TAG_LENGTH);
  sealed.set(o.header, 0);
  sealed.set(nonce, o.header.length);
  const stream = o.aead.sealStream();
  stream.begin(o.key, chunkNonce(new Uint8Array(12), 0, true), sealed.subarray(head));
  stream.update(line);
  if (image.length) stream.update(image);
  stream.finish();
  return sealed;
}

/** The device's signature over a sealed event (two Ed25519 signatures: not for the trigger path). */
export function signEvent(e: EventNotice, sealed: Uint8Array, key: SigningKey): string {
  return sign(sealed, key, eventComment(e.clip, e.device), `sealbell event, device ${e.device}`);
}

export interface OpenEventOptions {
  aead: Aead;
  /** the doorbell's identity key (minisign), as the phone learnt it at setup */
  device: PublicKey;
  /** this phone's age identities (AGE-SECRET-KEY-1… / AGE-SECRET-KEY-PQ-1…) */
  identities: IdentityInput[];
}

/**
 * Checks the device's signature, opens the event and checks that it is what the signature
 * names. Codes: EVENT_FORMAT (not an event), EVENT_SIGNATURE (changed, or signed by another
 * key), EVENT_MISMATCH (the signed names differ from the sealed ones), EVENT_NOT_FOR_YOU
 * (not sealed to this phone). Replays are the caller's to judge (checkFresh).
 */
export function openEvent(sealed: Uint8Array, signature: string, o: OpenEventOptions): OpenedEvent {
  check(sealed.length <= MAX_SEALED_EVENT_BYTES, 'EVENT_FORMAT', 'the event is too large');
  let comment: string;
  try {
    comment = verify(sealed, signature, o.device);
  } catch (e) {
    const code = e instanceof SealbellError ? e.code : '';
    if (code === 'MINISIGN_KEY') throw new SealbellError('EVENT_SIGNATURE', `the event is signed by another key, not doorbell ${keyIdHex(o.device.keyId)}`);
    if (code === 'MINISIGN_SIGNATURE') throw new SealbellError('EVENT_SIGNATURE', 'the event or its signature was changed: not what the doorbell signed');
    throw new SealbellError('EVENT_FORMAT', `the event's signature is malformed: ${(e as Error).message}`);
  }
  let header;
  try {
    header = parseHeader(sealed);
  } catch (e) {
    throw new SealbellError('EVENT_FORMAT', `the event is not an age file: ${(e as Error).message}`);
  }
  check(header, 'EVENT_FORMAT', 'the event is truncated inside its age header');
  let fileKey: Uint8Array;
  try {
    fileKey = openHeader(header, o.identities.map(toAgeIdentity));
  } catch (e) {
    const code = e instanceof SealbellError ? e.code : '';
    if (code === 'NO_IDENTITY') throw new SealbellError('EVENT_NOT_FOR_YOU', 'the event is not sealed to this phone (revoked, or not yet in the roster)');
    throw new SealbellError('EVENT_FORMAT', `the event's age header is unusable: ${(e as Error).message}`);
  }
  const nonce = sealed.subarray(header.length, header.length + PAYLOAD_NONCE_LENGTH);
  const body = sealed.subarray(header.length + PAYLOAD_NONCE_LENGTH);
  check(nonce.length === PAYLOAD_NONCE_LENGTH && body.length >= TAG_LENGTH, 'EVENT_FORMAT', 'the event has no payload');
  check(body.length <= CHUNK_SIZE + TAG_LENGTH, 'EVENT_FORMAT', 'the event payload is longer than one chunk');
  let plain: Uint8Array;
  try {
    plain = o.aead.open(payloadKey(fileKey, nonce), chunkNonce(new Uint8Array(12), 0, true), body);
  } catch {
    throw new SealbellError('EVENT_FORMAT', 'the event payload does not open (not one final STREAM chunk)');
  }
  fileKey.fill(0);
  const e = decodeEventPlaintext(plain);
  const { poster: _poster, ...notice } = e;
  if (comment !== eventComment(notice.clip, notice.device)) {
    throw new SealbellError('EVENT_MISMATCH', `the signed names (${comment}) are not those of the sealed event (clip ${notice.clip}, device ${notice.device})`);
  }
  if (notice.device !== keyIdHex(o.device.keyId)) {
    throw new SealbellError('EVENT_MISMATCH', `the event is for doorbell ${notice.device}, not ${keyIdHex(o.device.keyId)}`);
  }
  return e;
}

/** Parses the event's plaintext: its canonical JSON line, then exactly the poster's bytes. */
export function decodeEventPlaintext(plain: Uint8Array): OpenedEvent {
  const nl = plain.subarray(0, MAX_JSON_LINE).indexOf(0x0a);
  check(nl > 0, 'EVENT_FORMAT', 'the event has no JSON line');
  const lineBytes = plain.subarray(0, nl + 1);
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(utf8Decode(plain.subarray(0, nl)));
  } catch {
    throw new SealbellError('EVENT_FORMAT', 'the event line is not JSON');
  }
  check(typeof v === 'object' && v !== null && !Array.isArray(v), 'EVENT_FORMAT', 'the event line is not a JSON object');
  const notice = { v: v.v, device: v.device, clip: v.clip, trigger: v.trigger, time: v.time } as EventNotice;
  checkNotice(notice);
  const n = v.poster;
  check(typeof n === 'number' && Number.isSafeInteger(n) && n >= 0, 'EVENT_FORMAT', 'the event\'s poster length is invalid');
  check(equalBytes(encodeEventLine(notice, n), lineBytes), 'EVENT_FORMAT', 'the event line is not in canonical form');
  check(plain.length === nl + 1 + n, 'EVENT_FORMAT', 'the poster is not the length the event line says');
  return n ? { ...notice, poster: plain.slice(nl + 1) } : notice;
}

function checkNotice(e: EventNotice): void {
  const ok =
    e.v === 1 &&
    typeof e.device === 'string' && /^[0-9A-F]{16}$/.test(e.device) &&
    typeof e.clip === 'string' && isSafeId(e.clip) &&
    TRIGGERS.includes(e.trigger) &&
    typeof e.time === 'number' && Number.isSafeInteger(e.time) && e.time >= 0;
  check(ok, 'EVENT_FORMAT', 'the event has a missing or invalid field');
}

/** What a phone remembers of events it has shown: each event once (the clip id is unique per trigger). */
export interface SeenEvents {
  has(key: string): boolean | Promise<boolean>;
  add(key: string): void | Promise<void>;
}

/** Events older than this when they arrive are refused as stale (a relay that held or replays them). */
export const DEFAULT_MAX_EVENT_AGE = 10 * 60_000;

/**
 * A replayed (already shown) or stale event is refused: EVENT_REPLAYED, EVENT_STALE. The event
 * is then remembered as seen.
 */
export async function checkFresh(e: EventNotice, seen: SeenEvents, now: number, maxAge = DEFAULT_MAX_EVENT_AGE): Promise<void> {
  const key = `${e.device}/${e.clip}`;
  if (await seen.has(key)) throw new SealbellError('EVENT_REPLAYED', `the event of clip ${e.clip} was shown already: the relay sent it again`);
  if (now - e.time > maxAge) {
    throw new SealbellError('EVENT_STALE', `the event of clip ${e.clip} is ${Math.round((now - e.time) / 1000)} s old: held back or replayed`);
  }
  await seen.add(key);
}
