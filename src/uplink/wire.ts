/**
 * The uplink's wire format (docs/relay-api.md): sealed segments travel as
 * compact binary WebSocket messages, everything else as small JSON text
 * messages. Shared by the device (src/uplink/uplink.ts) and the relay
 * (tools/relay), so both sides parse with the same strict code.
 *
 * Segment frame (one binary message):
 *   0      1  type, 0x01 = segment
 *   1      1  L, clip id length (1..64)
 *   2      L  clip id, ASCII, matching isSafeId
 *   2+L    4  segment index, big-endian
 *   6+L    n  the segment's bytes (1..MAX_SEGMENT_BYTES)
 *
 * Event frame (one binary message, docs/event-format.md):
 *   0      1  type, 0x04 = event (0x02 and 0x03 are live view: live-wire.ts)
 *   1      1  L, clip id length (1..64)
 *   2      L  clip id
 *   2+L    4  n, the sealed event's length, big-endian
 *   6+L    n  the sealed event (an age file)
 *   6+L+n  …  its minisign signature, UTF-8 (at most 4 KiB)
 */
import { readUintBE, utf8Decode, utf8ToBytes, writeUintBE } from '../bytes.js';
import { SealbellError } from '../errors.js';
import { isSafeId, MAX_MANIFEST_BYTES } from '../clip/manifest.js';
import { MAX_HEADER_BYTES } from '../age/format.js';
import { PAYLOAD_NONCE_LENGTH, SEALED_CHUNK_SIZE } from '../age/stream.js';
import { MAX_SEALED_EVENT_BYTES } from '../event/event.js';

export const PROTOCOL_VERSION = 1;
export const FRAME_SEGMENT = 0x01;
export const FRAME_EVENT = 0x04;
const MAX_EVENT_SIGNATURE = 4096;
/** The largest segment: a sealed 64 KiB chunk, or an age header of the largest size plus the payload nonce. */
export const MAX_SEGMENT_BYTES = Math.max(SEALED_CHUNK_SIZE, MAX_HEADER_BYTES + PAYLOAD_NONCE_LENGTH);
export const MAX_CLIP_ID_LENGTH = 64;
export const MAX_FRAME_BYTES = 6 + MAX_CLIP_ID_LENGTH + MAX_SEGMENT_BYTES;
export const MAX_EVENT_FRAME_BYTES = 6 + MAX_CLIP_ID_LENGTH + MAX_SEALED_EVENT_BYTES + MAX_EVENT_SIGNATURE;
/** A manifest JSON-escaped inside a control message can double in size; the signature is < 1 KiB. */
export const MAX_CONTROL_BYTES = 64 * 1024;
/** Segment indexes are u32 on the wire; the relay may set a lower per-clip limit. */
export const MAX_SEGMENT_INDEX = 0xffffffff;

export const frameOverhead = (clipId: string): number => 6 + clipId.length;

const wireError = (message: string) => new SealbellError('WIRE_FORMAT', message);

export interface SegmentFrame {
  clipId: string;
  index: number;
  /** a view into the frame */
  bytes: Uint8Array;
}

export function encodeSegmentFrame(clipId: string, index: number, bytes: Uint8Array): Uint8Array {
  if (!isSafeId(clipId)) throw wireError('clip id is not a safe id');
  if (!Number.isInteger(index) || index < 0 || index > MAX_SEGMENT_INDEX) throw wireError('segment index out of range');
  if (bytes.length < 1 || bytes.length > MAX_SEGMENT_BYTES) throw wireError(`segment must be 1..${MAX_SEGMENT_BYTES} bytes`);
  const L = clipId.length;
  const out = new Uint8Array(6 + L + bytes.length);
  out[0] = FRAME_SEGMENT;
  out[1] = L;
  for (let i = 0; i < L; i++) out[2 + i] = clipId.charCodeAt(i);
  writeUintBE(out, 2 + L, index, 4);
  out.set(bytes, 6 + L);
  return out;
}

/** Parses a segment frame; WIRE_FORMAT with a precise reason when it is not one. */
export function decodeSegmentFrame(frame: Uint8Array): SegmentFrame {
  if (frame.length > MAX_FRAME_BYTES) throw wireError(`frame is larger than ${MAX_FRAME_BYTES} bytes`);
  if (frame.length < 2) throw wireError('frame is too short');
  if (frame[0] !== FRAME_SEGMENT) throw wireError(`unknown frame type 0x${frame[0].toString(16).padStart(2, '0')}`);
  const L = frame[1];
  if (L < 1 || L > MAX_CLIP_ID_LENGTH) throw wireError('clip id length out of range');
  if (frame.length < 6 + L + 1) throw wireError('frame is too short for its clip id, index and a segment');
  let clipId = '';
  for (let i = 0; i < L; i++) clipId += String.fromCharCode(frame[2 + i]);
  if (!isSafeId(clipId)) throw wireError('clip id is not a safe id');
  return { clipId, index: readUintBE(frame, 2 + L, 4), bytes: frame.subarray(6 + L) };
}

export interface EventFrame {
  clipId: string;
  sealed: Uint8Array;
  signature: string;
}

export function encodeEventFrame(clipId: string, sealed: Uint8Array, signature: string): Uint8Array {
  if (!isSafeId(clipId)) throw wireError('clip id is not a safe id');
  const sig = utf8ToBytes(signature);
  if (sealed.length < 1 || sealed.length > MAX_SEALED_EVENT_BYTES) throw wireError(`a sealed event must be 1..${MAX_SEALED_EVENT_BYTES} bytes`);
  if (sig.length < 1 || sig.length > MAX_EVENT_SIGNATURE) throw wireError('the event signature must be 1..4096 bytes');
  const L = clipId.length;
  const out = new Uint8Array(6 + L + sealed.length + sig.length);
  out[0] = FRAME_EVENT;
  out[1] = L;
  for (let i = 0; i < L; i++) out[2 + i] = clipId.charCodeAt(i);
  writeUintBE(out, 2 + L, sealed.length, 4);
  out.set(sealed, 6 + L);
  out.set(sig, 6 + L + sealed.length);
  return out;
}

/** Parses an event frame; WIRE_FORMAT with a precise reason when it is not one. */
export function decodeEventFrame(frame: Uint8Array): EventFrame {
  if (frame.length > MAX_EVENT_FRAME_BYTES) throw wireError(`an event frame is larger than ${MAX_EVENT_FRAME_BYTES} bytes`);
  if (frame.length < 7 || frame[0] !== FRAME_EVENT) throw wireError('not an event frame');
  const L = frame[1];
  if (L < 1 || L > MAX_CLIP_ID_LENGTH || frame.length < 6 + L) throw wireError('clip id length out of range');
  let clipId = '';
  for (let i = 0; i < L; i++) clipId += String.fromCharCode(frame[2 + i]);
  if (!isSafeId(clipId)) throw wireError('clip id is not a safe id');
  const n = readUintBE(frame, 2 + L, 4);
  if (n < 1 || n > MAX_SEALED_EVENT_BYTES || 6 + L + n >= frame.length) throw wireError('the sealed event length is out of range');
  const sig = frame.subarray(6 + L + n);
  if (sig.length > MAX_EVENT_SIGNATURE) throw wireError('the event signature is longer than 4 KiB');
  let signature: string;
  try {
    signature = utf8Decode(sig);
  } catch {
    throw wireError('the event signature is not UTF-8');
  }
  return { clipId, sealed: frame.subarray(6 + L, 6 + L + n), signature };
}

// --- control messages (JSON text) ------------------------------------------------------

export type IncompleteReason = 'interrupted' | 'overflow';
export type ClosedState = 'verified' | 'rejected' | 'incomplete';

/**
 * The roster the device holds, as it tells the relay (after hello and after each update):
 * the signed roster bundle (src/roster/bundle.ts) and the account authority's Ed25519 key that
 * checked it, base64; and the device's acknowledgement (src/roster/ack.ts), minisign signature text.
 */
export interface RosterHeld {
  t: 'roster';
  bundle: string;
  authority: string;
  ack: string;
}

/** Device → relay. */
export type DeviceMessage =
  | { t: 'begin'; clip: string; epoch: number }
  | { t: 'end'; clip: string; segments: number; manifest: string; signature: string }
  | { t: 'incomplete'; clip: string; reason: IncompleteReason }
  | RosterHeld
  | { t: 'roster-refused'; code: string; message: string };

/** Relay → device. */
export type RelayMessage =
  | { t: 'hello'; v: number; device: string; window: number }
  | { t: 'ack'; clip: string; seg: number }
  | { t: 'ack'; clip: string; close: ClosedState; code?: string }
  /** the clip's event notice: stored (and pushed to phones), or refused for good (code) */
  | { t: 'ack'; clip: string; event: 'stored' | 'refused'; code?: string }
  | { t: 'error'; code: string; message: string; clip?: string; seg?: number }
  /** a roster update for the device to check and take (base64 bundle) */
  | { t: 'roster'; bundle: string }
  /** the segment is not stored, and the refusal is not final: keep it and send it again later (QUOTA_EXCEEDED) */
  | { t: 'quota'; clip: string; seg: number; code: string; message: string }
  /** space was freed: segments refused with `quota` may be sent again now */
  | { t: 'quota-ok' };

/**
 * A roster bundle (up to ~41 KiB with 16 post-quantum phones), or a run of them, as base64: it
 * fits one control message together with the authority key and the acknowledgement.
 */
export const MAX_ROSTER_TEXT = MAX_CONTROL_BYTES - 8 * 1024;
const isBase64 = (s: unknown, max = MAX_ROSTER_TEXT): s is string => typeof s === 'string' && s.length <= max && s.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s);

export function encodeControl(message: DeviceMessage | RelayMessage): string {
  return JSON.stringify(message);
}

const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
const isId = (s: unknown): s is string => typeof s === 'string' && isSafeId(s);
const isCode = (s: unknown): s is string => typeof s === 'string' && /^[A-Z][A-Z0-9_]{0,63}$/.test(s);

function parseObject(text: string | Uint8Array): Record<string, unknown> {
  if (typeof text !== 'string') {
    if (text.length > MAX_CONTROL_BYTES) throw wireError('control message is too large');
    try {
      text = utf8Decode(text);
    } catch {
      throw wireError('control message is not UTF-8');
    }
  }
  if (text.length > MAX_CONTROL_BYTES) throw wireError('control message is too large');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw wireError('control message is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw wireError('control message must be a JSON object');
  return value as Record<string, unknown>;
}

/** Parses a device → relay control message. Unknown `t` is WIRE_TYPE (the relay answers it without closing). */
export function parseDeviceMessage(text: string | Uint8Array): DeviceMessage {
  const m = parseObject(text);
  if (m.t === 'begin' || m.t === 'end' || m.t === 'incomplete') {
    if (!isId(m.clip)) throw new SealbellError('BAD_ID', 'clip id is missing or not a safe id');
  }
  switch (m.t) {
    case 'begin':
      if (!isCount(m.epoch)) throw wireError('begin: epoch must be a whole number');
      return { t: 'begin', clip: m.clip as string, epoch: m.epoch };
    case 'end':
      if (!isCount(m.segments) || m.segments < 1 || m.segments > MAX_SEGMENT_INDEX) throw wireError('end: segments must be a positive whole number');
      if (typeof m.manifest !== 'string' || m.manifest.length > MAX_MANIFEST_BYTES) throw wireError('end: manifest must be a string of at most 16 KiB');
      if (typeof m.signature !== 'string' || m.signature.length > 4096) throw wireError('end: signature must be a string of at most 4 KiB');
      return { t: 'end', clip: m.clip as string, segments: m.segments, manifest: m.manifest, signature: m.signature };
    case 'incomplete':
      if (m.reason !== 'interrupted' && m.reason !== 'overflow') throw wireError('incomplete: reason must be "interrupted" or "overflow"');
      return { t: 'incomplete', clip: m.clip as string, reason: m.reason };
    case 'roster':
      if (!isBase64(m.bundle) || !isBase64(m.authority, 44)) throw wireError('roster: bundle and authority must be base64');
      if (typeof m.ack !== 'string' || m.ack.length > 4096) throw wireError('roster: ack must be a minisign signature of at most 4 KiB');
      return { t: 'roster', bundle: m.bundle, authority: m.authority, ack: m.ack };
    case 'roster-refused':
      if (!isCode(m.code) || typeof m.message !== 'string') throw wireError('roster-refused: malformed');
      return { t: 'roster-refused', code: m.code, message: m.message.slice(0, 500) };
    default:
      throw new SealbellError('WIRE_TYPE', `unknown control message type ${JSON.stringify(String(m.t)).slice(0, 40)}`);
  }
}

/** Parses a relay → device control message. Unknown `t` is WIRE_TYPE (the device ignores it). */
export function parseRelayMessage(text: string | Uint8Array): RelayMessage {
  const m = parseObject(text);
  switch (m.t) {
    case 'hello':
      if (!isCount(m.v) || !isId(m.device) || !isCount(m.window) || m.window < 1) throw wireError('hello: malformed');
      return { t: 'hello', v: m.v, device: m.device, window: m.window };
    case 'ack':
      if (!isId(m.clip)) throw wireError('ack: malformed clip id');
      if (isCount(m.seg)) return { t: 'ack', clip: m.clip, seg: m.seg };
      if (m.event === 'stored' || m.event === 'refused') {
        if (m.code !== undefined && !isCode(m.code)) throw wireError('ack: malformed code');
        return m.code === undefined ? { t: 'ack', clip: m.clip, event: m.event } : { t: 'ack', clip: m.clip, event: m.event, code: m.code };
      }
      if (m.close === 'verified' || m.close === 'rejected' || m.close === 'incomplete') {
        if (m.code !== undefined && !isCode(m.code)) throw wireError('ack: malformed code');
        return m.code === undefined ? { t: 'ack', clip: m.clip, close: m.close } : { t: 'ack', clip: m.clip, close: m.close, code: m.code };
      }
      throw wireError('ack: needs seg or close');
    case 'error': {
      if (!isCode(m.code) || typeof m.message !== 'string') throw wireError('error: malformed');
      const e: RelayMessage = { t: 'error', code: m.code, message: m.message.slice(0, 500) };
      if (m.clip !== undefined) {
        if (!isId(m.clip)) throw wireError('error: malformed clip id');
        e.clip = m.clip;
      }
      if (m.seg !== undefined) {
        if (!isCount(m.seg)) throw wireError('error: malformed seg');
        e.seg = m.seg;
      }
      return e;
    }
    case 'roster':
      if (!isBase64(m.bundle)) throw wireError('roster: bundle must be base64');
      return { t: 'roster', bundle: m.bundle };
    case 'quota':
      if (!isId(m.clip) || !isCount(m.seg) || !isCode(m.code) || typeof m.message !== 'string') throw wireError('quota: malformed');
      return { t: 'quota', clip: m.clip, seg: m.seg, code: m.code, message: m.message.slice(0, 500) };
    case 'quota-ok':
      return { t: 'quota-ok' };
    default:
      throw new SealbellError('WIRE_TYPE', `unknown control message type ${JSON.stringify(String(m.t)).slice(0, 40)}`);
  }
}

/** The manifest travels as its exact bytes' text (it is canonical ASCII JSON). */
export const manifestText = (manifest: Uint8Array): string => utf8Decode(manifest);
export const manifestBytes = (text: string): Uint8Array => utf8ToBytes(text);
