/**
 * What travels inside the setup channel's records (channel.ts). Each plaintext
 * starts with its kind byte; fields are exact or length-prefixed; parsed strictly.
 *
 *   0x10 DEVICE_INFO  D→P  u16 identity ‖ u8 state (0 new, 1 set up) ‖ epoch (8) ‖ [authority (32) ‖ u16 roster bundle, if set up]
 *   0x11 CONFIG       P→D  u8 ssid ‖ u8 password ‖ u16 relay URL ‖ credential (32) ‖ authority (32) ‖ u16 roster bundle ‖ [u16 relay CA (DER)]
 *   0x12 DONE         D→P  u16 identity ‖ epoch (8) ‖ u16 roster acknowledgement (minisign signature text)
 *
 * identity = the device's minisign public key text. The relay CA is optional and last, so a
 * CONFIG without it (an older phone) still parses: the relay is then checked against the public CAs.
 */
import { base64urlnopad } from '@scure/base';
import { utf8Decode, utf8ToBytes } from '../bytes.js';
import { SealbellError } from '../errors.js';
import { Reader, Writer } from '../wire.js';
import { decodePublicKey, encodePublicKey, isEd25519PublicKey } from '../minisign.js';
import { MAX_BUNDLE_BYTES } from '../roster/bundle.js';
import { MAX_SIGNATURE_BYTES } from '../roster/roster.js';
import { MAX_RELAY_CA_BYTES, checkRelayCa } from './relay-ca.js';

export const KIND = { DEVICE_INFO: 0x10, CONFIG: 0x11, DONE: 0x12 } as const;
export const CREDENTIAL_LENGTH = 32;

/** The credential as the device presents it to the relay (bearer token) and the phone registers it: base64url, no padding. */
export const credentialToken = (credential: Uint8Array): string => base64urlnopad.encode(credential);
export const MAX_URL_LENGTH = 512;
const MAX_IDENTITY_TEXT = 256;

export interface WifiCredentials {
  /** 1–32 bytes of UTF-8 */
  ssid: string;
  /** '' for an open network; else WPA2: 8–63 printable ASCII characters, or 64 hex digits */
  password: string;
}

/** What the device keeps from setup, besides the roster. Secret: never logged. */
export interface DeviceConfig {
  wifi: WifiCredentials;
  relayUrl: string;
  /** random secret the device proves to the relay */
  credential: Uint8Array;
  /** DER certificate of the only CA the relay's TLS certificate may chain to; absent: the public CAs */
  relayCa?: Uint8Array;
}

export interface SetupConfig extends DeviceConfig {
  /** account authority Ed25519 public key */
  authority: Uint8Array;
  /** signed roster bundle (roster/bundle.ts) */
  roster: Uint8Array;
}

export interface DeviceInfo {
  /** minisign public key text of the device identity */
  identity: string;
  /** the stored roster's epoch, 0 when the device has none */
  epoch: number;
  /** the stored account authority, null when the device has none */
  authority: Uint8Array | null;
  /** the stored signed roster bundle (so the owner's phone builds on it), null when none */
  roster: Uint8Array | null;
}

export interface SetupDone {
  identity: string;
  epoch: number;
  /** the device's minisign signature over the roster bytes it stored */
  ack: string;
}

const fail = (why: string): never => {
  throw new SealbellError('SETUP_CONFIG', why);
};

function text(r: Reader, bytes: Uint8Array, field: string): string {
  try {
    return utf8Decode(bytes);
  } catch {
    return r.fail(`${field} is not UTF-8`);
  }
}

export function checkWifi(w: WifiCredentials): WifiCredentials {
  const ssid = utf8ToBytes(w.ssid);
  if (ssid.length < 1 || ssid.length > 32) fail('the Wi-Fi network name must be 1–32 bytes');
  const p = w.password;
  const ok = p === '' || /^[\x20-\x7e]{8,63}$/.test(p) || /^[0-9a-fA-F]{64}$/.test(p);
  if (!ok) fail('the Wi-Fi password must be 8–63 printable ASCII characters or 64 hex digits (or empty for an open network)');
  return { ssid: w.ssid, password: w.password };
}

/** https:// or wss:// anywhere; plain http:// or ws:// only to this machine (the simulator). */
export function checkRelayUrl(url: string): string {
  if (url.length > MAX_URL_LENGTH || !/^[\x21-\x7e]+$/.test(url)) fail(`the relay URL must be 1–${MAX_URL_LENGTH} printable ASCII characters`);
  const m = /^(https|wss|http|ws):\/\/([^/?#]+)(?:[/?#].*)?$/.exec(url);
  if (!m) return fail('the relay URL must start with https:// or wss://');
  const host = m[2].replace(/:[0-9]+$/, '');
  const loopback = host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
  if ((m[1] === 'http' || m[1] === 'ws') && !loopback) fail('a plain http:// or ws:// relay URL is allowed for this machine only; use https:// or wss://');
  return url;
}

function checkIdentityText(t: string): string {
  try {
    const key = decodePublicKey(t);
    if (encodePublicKey(key.publicKey, key.keyId) === t) return t;
  } catch {
    // reported below
  }
  return fail('the device identity is not a minisign public key');
}

function checkAuthority(key: Uint8Array): Uint8Array {
  if (!isEd25519PublicKey(key)) fail('the account authority is not an Ed25519 public key');
  return key;
}

function reader(bytes: Uint8Array, kind: number, name: string): Reader {
  const r = new Reader(bytes, 'SETUP_MALFORMED', `${name} record`);
  const k = r.uint(1, 'kind');
  if (k !== kind) throw new SealbellError('SETUP_UNEXPECTED', `expected a ${name} record, got kind 0x${k.toString(16)}`);
  return r;
}

const MAX_EPOCH = Number.MAX_SAFE_INTEGER;

export function encodeDeviceInfo(d: DeviceInfo): Uint8Array {
  const w = new Writer().uint(KIND.DEVICE_INFO, 1).sized(2, utf8ToBytes(d.identity));
  if (d.authority && d.roster) w.uint(1, 1).uint(d.epoch, 8).bytes(d.authority).sized(2, d.roster);
  else w.uint(0, 1).uint(0, 8);
  return w.finish();
}

export function parseDeviceInfo(bytes: Uint8Array): DeviceInfo {
  const r = reader(bytes, KIND.DEVICE_INFO, 'DEVICE_INFO');
  const identity = checkIdentityText(text(r, r.sized(2, 1, MAX_IDENTITY_TEXT, 'identity'), 'identity'));
  const state = r.uint(1, 'state');
  const epoch = r.uint(8, 'epoch');
  if (state > 1) r.fail('state must be 0 or 1');
  if (epoch > MAX_EPOCH) r.fail('epoch is out of range');
  if ((state === 0) !== (epoch === 0)) r.fail('epoch must be 0 exactly when the device is not set up');
  const authority = state === 1 ? checkAuthority(r.bytesN(32, 'authority')) : null;
  const roster = state === 1 ? r.sized(2, 1, MAX_BUNDLE_BYTES, 'roster') : null;
  r.end();
  return { identity, epoch, authority, roster };
}

export function encodeConfig(c: SetupConfig): Uint8Array {
  checkWifi(c.wifi);
  checkRelayUrl(c.relayUrl);
  if (c.credential.length !== CREDENTIAL_LENGTH) fail('the device credential must be 32 bytes');
  const w = new Writer()
    .uint(KIND.CONFIG, 1)
    .sized(1, utf8ToBytes(c.wifi.ssid))
    .sized(1, utf8ToBytes(c.wifi.password))
    .sized(2, utf8ToBytes(c.relayUrl))
    .bytes(c.credential)
    .bytes(c.authority)
    .sized(2, c.roster);
  if (c.relayCa) w.sized(2, checkRelayCa(c.relayCa, c.relayUrl));
  return w.finish();
}

export function parseConfig(bytes: Uint8Array): SetupConfig {
  const r = reader(bytes, KIND.CONFIG, 'CONFIG');
  const ssid = text(r, r.sized(1, 1, 32, 'ssid'), 'ssid');
  const password = text(r, r.sized(1, 0, 64, 'password'), 'password');
  const relayUrl = text(r, r.sized(2, 1, MAX_URL_LENGTH, 'relay URL'), 'relay URL');
  const credential = r.bytesN(CREDENTIAL_LENGTH, 'credential');
  const authority = r.bytesN(32, 'authority');
  const roster = r.sized(2, 1, MAX_BUNDLE_BYTES, 'roster');
  const relayCa = r.remaining > 0 ? r.sized(2, 1, MAX_RELAY_CA_BYTES, 'relay CA') : undefined;
  r.end();
  const config: SetupConfig = {
    wifi: checkWifi({ ssid, password }),
    relayUrl: checkRelayUrl(relayUrl),
    credential,
    authority: checkAuthority(authority),
    roster,
  };
  if (relayCa) config.relayCa = checkRelayCa(relayCa, relayUrl);
  return config;
}

export function encodeDone(d: SetupDone): Uint8Array {
  return new Writer().uint(KIND.DONE, 1).sized(2, utf8ToBytes(d.identity)).uint(d.epoch, 8).sized(2, utf8ToBytes(d.ack)).finish();
}

export function parseDone(bytes: Uint8Array): SetupDone {
  const r = reader(bytes, KIND.DONE, 'DONE');
  const identity = checkIdentityText(text(r, r.sized(2, 1, MAX_IDENTITY_TEXT, 'identity'), 'identity'));
  const epoch = r.uint(8, 'epoch');
  if (epoch < 1 || epoch > MAX_EPOCH) r.fail('epoch must be 1 to 2^53-1');
  const ack = text(r, r.sized(2, 1, MAX_SIGNATURE_BYTES, 'acknowledgement'), 'acknowledgement');
  r.end();
  return { identity, epoch, ack };
}
