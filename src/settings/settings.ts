/**
 * Doorbell settings the relay cannot change: clip length, pre-roll, motion zones and
 * sensitivity, as canonical JSON signed by the account authority (minisign, like rosters),
 * with an epoch that only rises. Spec and vectors: docs/settings-format.md.
 *
 *   {"v":1,"device":"<16 hex>","epoch":N,"clipSeconds":S,"prerollSeconds":P,
 *    "zones":["AAB.",…]|null,"sensitivity":N}
 *
 * Parsing is strict (one byte string per document: what is signed is what is read) and
 * checks the shape only; the ranges are checked apart (SETTINGS_RANGE), so a doorbell can
 * say exactly why it refused a signed document.
 */
import { utf8ToBytes } from '../bytes.js';
import { SealbellError } from '../errors.js';
import { keyIdHex, sign, verify, type PublicKey, type SigningKey } from '../minisign.js';
import { Reader } from '../wire.js';
import { encodeSignedBundle, parseCanonicalJson, readSignedBundle, verifyAuthoritySignature, type SignedBytes } from '../signed-document.js';

export const SETTINGS_VERSION = 1;
export const MAX_SETTINGS_BYTES = 4096;
export const MAX_SETTINGS_SIGNATURE_BYTES = 1024;

/** The ranges a doorbell takes (SETTINGS_RANGE outside them). */
export const SETTINGS_RANGE = {
  clipSeconds: [2, 60],
  prerollSeconds: [0, 10],
  sensitivity: [1, 100],
  zoneRows: [1, 32],
  zoneCols: [1, 32],
} as const;

export interface Settings {
  v: 1;
  /** the doorbell's id (minisign key id of its identity key, 16 upper-case hex digits) */
  device: string;
  /** rises with every change; a doorbell takes only an epoch above the one it holds */
  epoch: number;
  /** seconds a clip runs after its last trigger */
  clipSeconds: number;
  /** seconds of frames before the trigger that a clip starts with (0: none) */
  prerollSeconds: number;
  /** the motion zone map (rows of A–Z or '.' for a masked cell), or null: camera motion off */
  zones: string[] | null;
  /** 1–100, higher reacts to smaller changes */
  sensitivity: number;
}

/** What a doorbell runs before it holds any signed settings (epoch 0). */
export function defaultSettings(device: string): Settings {
  return { v: 1, device, epoch: 0, clipSeconds: 10, prerollSeconds: 3, zones: null, sensitivity: 50 };
}

const bad = (why: string): never => {
  throw new SealbellError('SETTINGS_FORMAT', `malformed settings: ${why}`);
};
const isWhole = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

/** Canonical bytes: keys in this order, no whitespace. */
export function encodeSettings(s: Settings): Uint8Array {
  return utf8ToBytes(
    `{"v":${s.v},"device":${JSON.stringify(s.device)},"epoch":${s.epoch},"clipSeconds":${s.clipSeconds},"prerollSeconds":${s.prerollSeconds},` +
      `"zones":${s.zones === null ? 'null' : `[${s.zones.map((r) => JSON.stringify(r)).join(',')}]`},"sensitivity":${s.sensitivity}}`,
  );
}

/** The shape: types and the characters of each field (ranges are checkSettingsRange's). */
function validate(value: unknown): Settings {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad('not a JSON object');
  const o = value as Record<string, unknown>;
  const keys = ['v', 'device', 'epoch', 'clipSeconds', 'prerollSeconds', 'zones', 'sensitivity'];
  if (Object.keys(o).join() !== keys.join()) bad(`keys must be exactly ${keys.join(', ')} in this order`);
  if (o.v !== SETTINGS_VERSION) bad(`v must be ${SETTINGS_VERSION}`);
  if (typeof o.device !== 'string' || !/^[0-9A-F]{16}$/.test(o.device)) bad('device must be 16 upper-case hex digits');
  if (!isWhole(o.epoch) || o.epoch < 1) bad('epoch must be a whole number from 1');
  for (const k of ['clipSeconds', 'prerollSeconds', 'sensitivity']) if (!isWhole(o[k])) bad(`${k} must be a whole number`);
  if (o.zones !== null) {
    if (!Array.isArray(o.zones) || o.zones.some((r) => typeof r !== 'string' || !/^[A-Z.]*$/.test(r))) bad('zones must be null or rows of A–Z and "."');
  }
  return { v: 1, device: o.device as string, epoch: o.epoch as number, clipSeconds: o.clipSeconds as number, prerollSeconds: o.prerollSeconds as number, zones: o.zones as string[] | null, sensitivity: o.sensitivity as number };
}

export function parseSettings(bytes: Uint8Array): Settings {
  return parseCanonicalJson(bytes, { max: MAX_SETTINGS_BYTES, validate, encode: encodeSettings, bad });
}

/** SETTINGS_RANGE unless every value is one a doorbell takes. */
export function checkSettingsRange(s: Settings): void {
  const r = SETTINGS_RANGE;
  const within = (what: string, n: number, [lo, hi]: readonly [number, number]) => {
    if (n < lo || n > hi) throw new SealbellError('SETTINGS_RANGE', `${what} must be ${lo}–${hi}, not ${n}`);
  };
  within('clipSeconds', s.clipSeconds, r.clipSeconds);
  within('prerollSeconds', s.prerollSeconds, r.prerollSeconds);
  within('sensitivity', s.sensitivity, r.sensitivity);
  if (s.zones !== null) {
    within('zone rows', s.zones.length, r.zoneRows);
    within('zone columns', s.zones[0].length, r.zoneCols);
    if (s.zones.some((row) => row.length !== s.zones![0].length)) throw new SealbellError('SETTINGS_RANGE', 'zone rows must all be the same length');
  }
}

// ---------------------------------------------------------------------------
// Signature (account authority) and acknowledgement (device)

export function settingsTrustedComment(s: Settings): string {
  return `sealbell settings v${s.v} device ${s.device} epoch ${s.epoch}`;
}

export function settingsAckTrustedComment(s: Settings): string {
  return `sealbell settings-ack v${s.v} device ${s.device} epoch ${s.epoch}`;
}

export interface SignedSettings {
  settings: Settings;
  /** the canonical bytes (settings.json) */
  bytes: Uint8Array;
  /** minisign signature text by the account authority (settings.json.minisig) */
  signature: string;
}

/** Signs `s` with the account authority; SETTINGS_FORMAT / SETTINGS_RANGE first, so nothing bad is signed. */
export function signSettings(s: Settings, authority: SigningKey): SignedSettings {
  const bytes = encodeSettings(s);
  const settings = parseSettings(bytes);
  checkSettingsRange(settings);
  return { settings, bytes, signature: signSettingsBytes(bytes, authority) };
}

/** Signs any bytes as settings (tests make bad documents with it). */
export function signSettingsBytes(bytes: Uint8Array, authority: SigningKey): string {
  const s = parseSettings(bytes);
  return sign(bytes, authority, settingsTrustedComment(s), 'sealbell settings, signed by the account authority');
}

/**
 * Parses and checks that `authority` signed it, trusted comment included; not the range
 * (checkSettingsRange), the device or the epoch (SettingsStore).
 * SETTINGS_FORMAT: malformed; SETTINGS_SIGNATURE: not signed by this authority, or altered.
 */
export function verifySettings(bytes: Uint8Array, signature: string, authority: Uint8Array): SignedSettings {
  const settings = parseSettings(bytes);
  verifyAuthoritySignature(bytes, signature, authority, { comment: settingsTrustedComment(settings), code: 'SETTINGS_SIGNATURE', what: 'settings', plural: true, maxSignature: MAX_SETTINGS_SIGNATURE_BYTES });
  return { settings, bytes: bytes.slice(), signature };
}

/** The device's acknowledgement: its identity key's signature over the settings bytes it runs. */
export function signSettingsAck(s: SignedSettings, device: SigningKey): string {
  return sign(s.bytes, device, settingsAckTrustedComment(s.settings), `sealbell settings acknowledgement, device ${keyIdHex(device.keyId)}`);
}

/** SETTINGS_ACK unless `device` signed exactly these settings bytes. */
export function verifySettingsAck(bytes: Uint8Array, ack: string, device: PublicKey): Settings {
  const settings = parseSettings(bytes);
  let comment: string;
  try {
    comment = verify(bytes, ack, device);
  } catch (e) {
    throw new SealbellError('SETTINGS_ACK', `the doorbell's settings acknowledgement does not verify: ${(e as Error).message}`);
  }
  if (comment !== settingsAckTrustedComment(settings)) throw new SealbellError('SETTINGS_ACK', 'the settings acknowledgement is for other settings');
  return settings;
}

// ---------------------------------------------------------------------------
// Bundle: "SBT1" ‖ u16 length ‖ settings.json ‖ u16 length ‖ settings.json.minisig

const MAGIC = utf8ToBytes('SBT1');
export const MAX_SETTINGS_BUNDLE_BYTES = MAGIC.length + 2 + MAX_SETTINGS_BYTES + 2 + MAX_SETTINGS_SIGNATURE_BYTES;

export function encodeSettingsBundle(s: SignedBytes): Uint8Array {
  return encodeSignedBundle(MAGIC, s);
}

export function parseSettingsBundle(bundle: Uint8Array): SignedBytes {
  const r = new Reader(bundle, 'SETTINGS_FORMAT', 'signed settings');
  if (!(bundle instanceof Uint8Array)) r.fail('not bytes');
  if (bundle.length > MAX_SETTINGS_BUNDLE_BYTES) r.fail(`longer than ${MAX_SETTINGS_BUNDLE_BYTES} bytes`);
  const one = readSignedBundle(r, MAGIC, { what: 'settings', maxBytes: MAX_SETTINGS_BYTES, maxSignature: MAX_SETTINGS_SIGNATURE_BYTES });
  r.end();
  return one;
}
