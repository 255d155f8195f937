/**
 * Firmware updates on the uplink (docs/relay-api.md, "Firmware updates"; docs/update-format.md):
 * JSON text messages of their own types, so a relay or a device that predates them ignores
 * them (the relay answers UNKNOWN_TYPE, which the device takes as "no updates here").
 *
 * Relay → device
 *   {"t":"update","release":"<manifest>","releaseSignature":"…","authorization":"<json>","authorizationSignature":"…"}
 *   {"t":"update-data","release":"<id>","offset":N,"data":"<base64, ≤ 16 KiB>"}
 *   {"t":"update-end","release":"<id>"}                  the relay has no more bytes of the image
 * Device → relay
 *   {"t":"firmware","board":"…","version":"…","security":N,"recorded":N,"trial":false}   after hello
 *   {"t":"update-want","release":"<id>","offset":N}      the next bytes it wants (resumes after a reconnect)
 *   {"t":"update-refused","release":"<id>"?,"code":"UPDATE_…","message":"…"}
 *   {"t":"update-installed","release":"<id>"}            written, checked, set to boot; restarting
 *
 * <id> is the release id: SHA-256 of the release manifest bytes, 64 lower-case hex digits.
 */
import { SealbellError } from '../errors.js';
import { MAX_CONTROL_BYTES } from './wire.js';
import { controlObject } from './control-object.js';

const UPDATE_DATA_TEXT = 22 * 1024; // base64 of 16 KiB is 21,848 characters
const DOC_TEXT = 1024;

export type UpdateRelayMessage =
  | { t: 'update'; release: string; releaseSignature: string; authorization?: string; authorizationSignature?: string }
  | { t: 'update-data'; release: string; offset: number; data: string }
  | { t: 'update-end'; release: string };

export type UpdateDeviceMessage =
  | { t: 'firmware'; board: string; version: string; security: number; recorded: number; trial: boolean }
  | { t: 'update-want'; release: string; offset: number }
  | { t: 'update-refused'; release?: string; code: string; message: string }
  | { t: 'update-installed'; release: string };

const RELAY_TYPES = new Set(['update', 'update-data', 'update-end']);
const DEVICE_TYPES = new Set(['firmware', 'update-want', 'update-refused', 'update-installed']);

const bad = (why: string): never => {
  throw new SealbellError('WIRE_FORMAT', `update message: ${why}`);
};
const isId = (s: unknown): s is string => typeof s === 'string' && /^[0-9a-f]{64}$/.test(s);
const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
const isText = (s: unknown, max: number): s is string => typeof s === 'string' && s.length <= max;
const isCode = (s: unknown): s is string => typeof s === 'string' && /^[A-Z][A-Z0-9_]{0,63}$/.test(s);
const isBase64 = (s: unknown, max: number): s is string => typeof s === 'string' && s.length <= max && s.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s);

/** The object of a text message whose type is one of `types`, or undefined for any other message. */
const objectOf = (text: string | Uint8Array, types: Set<string>) => controlObject(text, ['"t":"update', '"t":"firmware"'], [...types], MAX_CONTROL_BYTES, () => bad('too large'));

/** An update message from the relay, undefined for any other message; WIRE_FORMAT when malformed. */
export function parseUpdateRelayMessage(text: string | Uint8Array): UpdateRelayMessage | undefined {
  const m = objectOf(text, RELAY_TYPES);
  if (!m) return undefined;
  switch (m.t) {
    case 'update': {
      if (!isText(m.release, DOC_TEXT) || !isText(m.releaseSignature, DOC_TEXT)) return bad('update: release and its signature must be text');
      const u: UpdateRelayMessage = { t: 'update', release: m.release, releaseSignature: m.releaseSignature };
      if (m.authorization !== undefined || m.authorizationSignature !== undefined) {
        if (!isText(m.authorization, DOC_TEXT) || !isText(m.authorizationSignature, DOC_TEXT)) return bad('update: authorization and its signature must be text');
        u.authorization = m.authorization;
        u.authorizationSignature = m.authorizationSignature;
      }
      return u;
    }
    case 'update-data':
      if (!isId(m.release) || !isCount(m.offset) || !isBase64(m.data, UPDATE_DATA_TEXT) || m.data.length === 0) return bad('update-data: malformed');
      return { t: 'update-data', release: m.release, offset: m.offset, data: m.data };
    default:
      if (!isId(m.release)) return bad('update-end: malformed');
      return { t: 'update-end', release: m.release };
  }
}

/** An update message from the device, undefined for any other message; WIRE_FORMAT when malformed. */
export function parseUpdateDeviceMessage(text: string | Uint8Array): UpdateDeviceMessage | undefined {
  const m = objectOf(text, DEVICE_TYPES);
  if (!m) return undefined;
  switch (m.t) {
    case 'firmware':
      if (!isText(m.board, 40) || !isText(m.version, 32) || !isCount(m.security) || !isCount(m.recorded) || typeof m.trial !== 'boolean') return bad('firmware: malformed');
      return { t: 'firmware', board: m.board, version: m.version, security: m.security, recorded: m.recorded, trial: m.trial };
    case 'update-want':
      if (!isId(m.release) || !isCount(m.offset)) return bad('update-want: malformed');
      return { t: 'update-want', release: m.release, offset: m.offset };
    case 'update-refused': {
      if (!isCode(m.code) || typeof m.message !== 'string' || (m.release !== undefined && !isId(m.release))) return bad('update-refused: malformed');
      const r: UpdateDeviceMessage = { t: 'update-refused', code: m.code, message: m.message.slice(0, 500) };
      if (m.release !== undefined) r.release = m.release as string;
      return r;
    }
    default:
      if (!isId(m.release)) return bad('update-installed: malformed');
      return { t: 'update-installed', release: m.release };
  }
}

export const encodeUpdateMessage = (m: UpdateRelayMessage | UpdateDeviceMessage): string => JSON.stringify(m);
