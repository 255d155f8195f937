/**
 * Live view on the uplink connection (docs/relay-api.md, "Live view"; the
 * opening and records themselves: docs/live-format.md). Kept beside wire.ts:
 * the same connection, its own message kinds.
 *
 * Live frame (one binary message), device → relay, forwarded unchanged to the phone:
 *   0      1  type, 0x02 = live opening, 0x03 = live record
 *   1      1  L, session id length (1..64)
 *   2      L  session id, ASCII, matching isSafeId
 *   2+L    n  the opening or record bytes (n ≥ 1, the whole frame ≤ MAX_FRAME_BYTES)
 *
 * Control messages (JSON text):
 *   relay → device  {"t":"live","session","phone","request","time","signature"}
 *                                                               a phone asks: its login key, 16 random bytes, its clock
 *                                                               and its signature of them (src/live/request.ts), base64
 *                   {"t":"live-stop","session"}                 the phone left
 *   device → relay  {"t":"live-refused","session","code","message"}
 *                   {"t":"live-end","session","reason"}         after the session's end record
 */
import { base64 } from '@scure/base';
import { SealbellError } from '../errors.js';
import { isSafeId } from '../clip/manifest.js';
import { utf8Decode } from '../bytes.js';
import { MAX_CLIP_ID_LENGTH, MAX_CONTROL_BYTES, MAX_FRAME_BYTES } from './wire.js';

export const FRAME_LIVE_OPENING = 0x02;
export const FRAME_LIVE_RECORD = 0x03;

export type LiveKind = 'opening' | 'record';

export interface LiveFrame {
  kind: LiveKind;
  session: string;
  /** a view into the frame */
  bytes: Uint8Array;
}

export type LiveRelayMessage =
  | { t: 'live'; session: string; phone: string; request: string; time: number; signature: string }
  | { t: 'live-stop'; session: string };

export type LiveDeviceMessage =
  | { t: 'live-refused'; session: string; code: string; message: string }
  | { t: 'live-end'; session: string; reason: string };

const wireError = (message: string) => new SealbellError('WIRE_FORMAT', message);
const isId = (s: unknown): s is string => typeof s === 'string' && isSafeId(s);
const isCode = (s: unknown): s is string => typeof s === 'string' && /^[A-Z][A-Z0-9_]{0,63}$/.test(s);

export const isLiveFrame = (frame: Uint8Array): boolean =>
  frame.length > 0 && (frame[0] === FRAME_LIVE_OPENING || frame[0] === FRAME_LIVE_RECORD);

export function encodeLiveFrame(kind: LiveKind, session: string, bytes: Uint8Array): Uint8Array {
  if (!isSafeId(session)) throw wireError('session id is not a safe id');
  const L = session.length;
  if (bytes.length < 1 || 2 + L + bytes.length > MAX_FRAME_BYTES) throw wireError('live frame size out of range');
  const out = new Uint8Array(2 + L + bytes.length);
  out[0] = kind === 'opening' ? FRAME_LIVE_OPENING : FRAME_LIVE_RECORD;
  out[1] = L;
  for (let i = 0; i < L; i++) out[2 + i] = session.charCodeAt(i);
  out.set(bytes, 2 + L);
  return out;
}

/** Parses a live frame; WIRE_FORMAT when it is not one. */
export function decodeLiveFrame(frame: Uint8Array): LiveFrame {
  if (frame.length > MAX_FRAME_BYTES) throw wireError(`frame is larger than ${MAX_FRAME_BYTES} bytes`);
  if (!isLiveFrame(frame)) throw wireError('not a live frame');
  const L = frame.length > 1 ? frame[1] : 0;
  if (L < 1 || L > MAX_CLIP_ID_LENGTH || frame.length < 2 + L + 1) throw wireError('live frame is too short for its session id');
  let session = '';
  for (let i = 0; i < L; i++) session += String.fromCharCode(frame[2 + i]);
  if (!isSafeId(session)) throw wireError('session id is not a safe id');
  return { kind: frame[0] === FRAME_LIVE_OPENING ? 'opening' : 'record', session, bytes: frame.subarray(2 + L) };
}

function object(text: string | Uint8Array): Record<string, unknown> | undefined {
  if (typeof text !== 'string') {
    if (text.length > MAX_CONTROL_BYTES) return undefined;
    try {
      text = utf8Decode(text);
    } catch {
      return undefined;
    }
  }
  if (text.length > MAX_CONTROL_BYTES || !text.includes('"live')) return undefined;
  try {
    const v = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** A relay → device live message; undefined when the text is not one (the caller parses it as usual). */
export function parseLiveRelayMessage(text: string | Uint8Array): LiveRelayMessage | undefined {
  const m = object(text);
  switch (m?.t) {
    case 'live':
      if (!isId(m.session) || typeof m.phone !== 'string' || !/^[A-Za-z0-9+/]{43}=$/.test(m.phone)) throw wireError('live: malformed');
      if (typeof m.request !== 'string' || !/^[A-Za-z0-9+/]{21}[AQgw]==$/.test(m.request)) throw wireError('live: request must be 16 bytes of base64');
      if (typeof m.time !== 'number' || !Number.isSafeInteger(m.time) || m.time < 0) throw wireError('live: time must be ms since the Unix epoch');
      if (typeof m.signature !== 'string' || !/^[A-Za-z0-9+/]{85}[AQgw]==$/.test(m.signature)) throw wireError('live: signature must be 64 bytes of base64');
      return { t: 'live', session: m.session, phone: m.phone, request: m.request, time: m.time, signature: m.signature };
    case 'live-stop':
      if (!isId(m.session)) throw wireError('live-stop: malformed');
      return { t: 'live-stop', session: m.session };
    default:
      return undefined;
  }
}

/** A device → relay live message; undefined when the text is not one. */
export function parseLiveDeviceMessage(text: string | Uint8Array): LiveDeviceMessage | undefined {
  const m = object(text);
  switch (m?.t) {
    case 'live-refused':
      if (!isId(m.session) || !isCode(m.code) || typeof m.message !== 'string') throw wireError('live-refused: malformed');
      return { t: 'live-refused', session: m.session, code: m.code, message: m.message.slice(0, 500) };
    case 'live-end':
      if (!isId(m.session) || typeof m.reason !== 'string' || !/^[a-z]{1,20}$/.test(m.reason)) throw wireError('live-end: malformed');
      return { t: 'live-end', session: m.session, reason: m.reason };
    default:
      return undefined;
  }
}

/** What the uplink hands live messages to (src/live/sessions.ts implements it). */
export interface LiveHandler {
  onLiveRequest(r: { session: string; phone: string; request: Uint8Array; time: number; signature: Uint8Array }, now: number): void;
  onLiveStop(session: string): void;
  /** the relay connection is gone: every session ends with it */
  onLiveDisconnect(): void;
}

/** The request a `live` message carries, as LiveSessions takes it (its base64 was checked when parsed). */
export function liveRequestOf(m: Extract<LiveRelayMessage, { t: 'live' }>): { session: string; phone: string; request: Uint8Array; time: number; signature: Uint8Array } {
  return { session: m.session, phone: m.phone, request: base64.decode(m.request), time: m.time, signature: base64.decode(m.signature) };
}
