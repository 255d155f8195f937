/**
 * Setup messages v1: what travels over the setup access point, both ways.
 * Compact binary, parsed strictly (exact lengths, no trailing bytes, size cap);
 * anything else is a SealbellError, never a partial message.
 *
 *   message = "SB" ‖ version (0x01) ‖ type ‖ body
 *
 *   type  name            dir   body
 *   0x01  PARAMS_REQUEST  P→D   (empty)
 *   0x02  PARAMS          D→P   session id (8) ‖ salt (16)
 *   0x03  SHARE_P         P→D   session id (8) ‖ shareP (65)
 *   0x04  SHARE_V         D→P   session id (8) ‖ shareV (65) ‖ confirmV (32)
 *   0x05  CONFIRM_P       P→D   session id (8) ‖ confirmP (32)
 *   0x06  RECORD          both  session id (8) ‖ seq (4) ‖ sealed (≥ 17): channel.ts
 *   0x7f  ERROR           D→P   u8 len ‖ code (A-Z 0-9 _) ‖ u16 len ‖ message (UTF-8)
 */
import { utf8Decode, utf8ToBytes, equalBytes } from '../bytes.js';
import { SealbellError } from '../errors.js';
import { Reader, Writer } from '../wire.js';
import { CONFIRM_LENGTH, SHARE_LENGTH } from './spake2plus.js';
import { MAX_MESSAGE_BYTES, PROTOCOL_VERSION, SALT_LENGTH, SESSION_ID_LENGTH } from './protocol.js';

export const MSG = {
  PARAMS_REQUEST: 0x01,
  PARAMS: 0x02,
  SHARE_P: 0x03,
  SHARE_V: 0x04,
  CONFIRM_P: 0x05,
  RECORD: 0x06,
  ERROR: 0x7f,
} as const;

/** Bytes before a RECORD's sealed part; they are the record's associated data. */
export const RECORD_HEADER_LENGTH = 4 + SESSION_ID_LENGTH + 4;
export const TAG_LENGTH = 16;
export const MAX_ERROR_MESSAGE_BYTES = 512;

export type SetupMessage =
  | { type: 'PARAMS_REQUEST' }
  | { type: 'PARAMS'; sessionId: Uint8Array; salt: Uint8Array }
  | { type: 'SHARE_P'; sessionId: Uint8Array; shareP: Uint8Array }
  | { type: 'SHARE_V'; sessionId: Uint8Array; shareV: Uint8Array; confirmV: Uint8Array }
  | { type: 'CONFIRM_P'; sessionId: Uint8Array; confirmP: Uint8Array }
  | { type: 'RECORD'; sessionId: Uint8Array; seq: number; sealed: Uint8Array; header: Uint8Array }
  | { type: 'ERROR'; code: string; message: string };

const MAGIC = utf8ToBytes('SB');

function head(type: number): Writer {
  return new Writer().bytes(MAGIC).uint(PROTOCOL_VERSION, 1).uint(type, 1);
}

export function recordHeader(sessionId: Uint8Array, seq: number): Uint8Array {
  return head(MSG.RECORD).bytes(sessionId).uint(seq, 4).finish();
}

export function encodeMessage(m: SetupMessage): Uint8Array {
  let out: Uint8Array;
  switch (m.type) {
    case 'PARAMS_REQUEST':
      out = head(MSG.PARAMS_REQUEST).finish();
      break;
    case 'PARAMS':
      out = head(MSG.PARAMS).bytes(m.sessionId).bytes(m.salt).finish();
      break;
    case 'SHARE_P':
      out = head(MSG.SHARE_P).bytes(m.sessionId).bytes(m.shareP).finish();
      break;
    case 'SHARE_V':
      out = head(MSG.SHARE_V).bytes(m.sessionId).bytes(m.shareV).bytes(m.confirmV).finish();
      break;
    case 'CONFIRM_P':
      out = head(MSG.CONFIRM_P).bytes(m.sessionId).bytes(m.confirmP).finish();
      break;
    case 'RECORD':
      out = new Writer().bytes(recordHeader(m.sessionId, m.seq)).bytes(m.sealed).finish();
      break;
    case 'ERROR': {
      // Control characters become spaces; long messages are cut rather than not reported.
      let message = m.message.replace(/[\u0000-\u001f\u007f]/g, ' ');
      while (utf8ToBytes(message).length > MAX_ERROR_MESSAGE_BYTES) message = message.slice(0, -16);
      out = head(MSG.ERROR).sized(1, utf8ToBytes(m.code)).sized(2, utf8ToBytes(message)).finish();
      break;
    }
  }
  // Round-trips through the parser: we never send what we would refuse to read.
  parseMessage(out);
  return out;
}

/** Parses one message. SETUP_TOO_LARGE, SETUP_VERSION or SETUP_MALFORMED on bad input. */
export function parseMessage(bytes: Uint8Array): SetupMessage {
  if (!(bytes instanceof Uint8Array)) throw new SealbellError('SETUP_MALFORMED', 'a setup message must be bytes');
  if (bytes.length > MAX_MESSAGE_BYTES) {
    throw new SealbellError('SETUP_TOO_LARGE', `setup message of ${bytes.length} bytes is over the ${MAX_MESSAGE_BYTES}-byte limit`);
  }
  const r = new Reader(bytes, 'SETUP_MALFORMED', 'setup message');
  if (!equalBytes(r.bytesN(2, 'magic'), MAGIC)) r.fail('does not start with "SB"');
  const version = r.uint(1, 'version');
  if (version !== PROTOCOL_VERSION) throw new SealbellError('SETUP_VERSION', `setup protocol version ${version} is not supported (this is v${PROTOCOL_VERSION})`);
  const type = r.uint(1, 'type');
  const sid = () => r.bytesN(SESSION_ID_LENGTH, 'session id');
  let m: SetupMessage;
  switch (type) {
    case MSG.PARAMS_REQUEST:
      m = { type: 'PARAMS_REQUEST' };
      break;
    case MSG.PARAMS:
      m = { type: 'PARAMS', sessionId: sid(), salt: r.bytesN(SALT_LENGTH, 'salt') };
      break;
    case MSG.SHARE_P:
      m = { type: 'SHARE_P', sessionId: sid(), shareP: r.bytesN(SHARE_LENGTH, 'shareP') };
      break;
    case MSG.SHARE_V:
      m = { type: 'SHARE_V', sessionId: sid(), shareV: r.bytesN(SHARE_LENGTH, 'shareV'), confirmV: r.bytesN(CONFIRM_LENGTH, 'confirmV') };
      break;
    case MSG.CONFIRM_P:
      m = { type: 'CONFIRM_P', sessionId: sid(), confirmP: r.bytesN(CONFIRM_LENGTH, 'confirmP') };
      break;
    case MSG.RECORD: {
      const sessionId = sid();
      const seq = r.uint(4, 'seq');
      if (r.remaining <= TAG_LENGTH) r.fail('record is shorter than its tag');
      m = { type: 'RECORD', sessionId, seq, sealed: r.rest(), header: bytes.slice(0, RECORD_HEADER_LENGTH) };
      break;
    }
    case MSG.ERROR: {
      const codeBytes = r.sized(1, 1, 32, 'error code');
      const code = String.fromCharCode(...codeBytes);
      if (!/^[A-Z0-9_]+$/.test(code)) r.fail('error code must be A-Z, 0-9 and _');
      let message = '';
      const text = r.sized(2, 0, MAX_ERROR_MESSAGE_BYTES, 'error message');
      try {
        message = utf8Decode(text);
      } catch {
        r.fail('error message is not UTF-8');
      }
      // Shown to the user: no terminal escapes or line tricks from an unauthenticated peer.
      if (/[\u0000-\u001f\u007f]/.test(message)) r.fail('error message has control characters');
      m = { type: 'ERROR', code, message };
      break;
    }
    default:
      return r.fail(`unknown message type 0x${type.toString(16).padStart(2, '0')}`);
  }
  r.end();
  return m;
}
