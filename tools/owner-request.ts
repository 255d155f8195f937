/**
 * Owner requests (docs/relay-api.md, "Retention and deletion"): what the owner asks of the
 * relay about a doorbell's stored clips, signed by the account authority (the key that signs
 * rosters), so neither the relay nor anyone else can make one up:
 *
 *   retention  keep clips at most `maxAgeDays` days and `maxBytes` bytes in all (oldest go first)
 *   delete     delete these clips now
 *
 * Each carries an `epoch` that must be higher than that of every request the relay accepted
 * for the doorbell before, so a replayed request is refused. One canonical JSON encoding
 * (the roster's rules: fixed key order, no white space, re-encoding gives the same bytes),
 * signed with minisign, trusted comment `sealbell owner-request v1 <type> device <ID> epoch <N>`.
 *
 * A deletion names, for each clip with a signed manifest, its chain number `seq` and the
 * SHA-256 of its manifest: the relay drops the manifest with the clip, and phones take the
 * signed request as the reason for the gap in the clip chain (tools/phone/clip-chain.ts).
 */
import { SealbellError } from '../src/errors.js';
import { parseCanonicalJson, verifyAuthoritySignature } from '../src/signed-document.js';
import { utf8Decode, utf8ToBytes } from '../src/bytes.js';
import { isSafeId } from '../src/clip/manifest.js';
import { sign, type SigningKey } from '../src/minisign.js';

export const MAX_REQUEST_BYTES = 32 * 1024;
export const MAX_DELETE_CLIPS = 256;
const MAX_SIGNATURE_BYTES = 1024;

export interface RetentionRequest {
  v: 1;
  type: 'retention';
  device: string;
  epoch: number;
  /** the signing phone's clock, ms since the Unix epoch: when this policy took effect */
  time: number;
  /** whole days, 1–36500; null: no age limit */
  maxAgeDays: number | null;
  /** bytes, ≥ 1 MiB; null: no size limit */
  maxBytes: number | null;
}

export interface DeletedClip {
  clip: string;
  /** the clip's chain number and SHA-256 of its manifest (hex), or null when it had no signed manifest */
  seq: number | null;
  manifest: string | null;
}

export interface DeleteRequest {
  v: 1;
  type: 'delete';
  device: string;
  epoch: number;
  time: number;
  clips: DeletedClip[];
}

export type OwnerRequest = RetentionRequest | DeleteRequest;

export interface SignedOwnerRequest {
  request: OwnerRequest;
  /** the canonical bytes */
  bytes: Uint8Array;
  /** minisign signature text by the account authority */
  signature: string;
}

const fail = (message: string): never => {
  throw new SealbellError('REQUEST_FORMAT', message);
};
const isCount = (n: unknown, min = 0, max = Number.MAX_SAFE_INTEGER): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= min && n <= max;
const isHex64 = (s: unknown): s is string => typeof s === 'string' && /^[0-9a-f]{64}$/.test(s);
const isDeviceId = (s: unknown): s is string => typeof s === 'string' && /^[0-9A-F]{16}$/.test(s);

const DAY_MS = 86_400_000;
export const maxAgeMs = (r: RetentionRequest): number | null => (r.maxAgeDays === null ? null : r.maxAgeDays * DAY_MS);

function keysAre(o: Record<string, unknown>, keys: string[], what: string): void {
  const have = Object.keys(o);
  if (have.length !== keys.length || have.some((k, i) => k !== keys[i])) fail(`${what} must have exactly the fields ${keys.join(', ')}, in that order`);
}

/** Checks the fields; returns the request (throws REQUEST_FORMAT). */
export function validateOwnerRequest(r: unknown): OwnerRequest {
  if (typeof r !== 'object' || r === null || Array.isArray(r)) return fail('an owner request is a JSON object');
  const o = r as Record<string, unknown>;
  if (o.v !== 1) fail('v must be 1');
  if (!isDeviceId(o.device)) fail('device must be a device id (16 upper-case hex digits)');
  if (!isCount(o.epoch, 1)) fail('epoch must be a whole number ≥ 1');
  if (!isCount(o.time, 0)) fail('time must be ms since the Unix epoch');
  if (o.type === 'retention') {
    keysAre(o, ['v', 'type', 'device', 'epoch', 'time', 'maxAgeDays', 'maxBytes'], 'a retention request');
    if (o.maxAgeDays !== null && !isCount(o.maxAgeDays, 1, 36_500)) fail('maxAgeDays must be 1–36500 or null');
    if (o.maxBytes !== null && !isCount(o.maxBytes, 1 << 20)) fail('maxBytes must be at least 1 MiB (1048576) or null');
    return o as unknown as RetentionRequest;
  }
  if (o.type === 'delete') {
    keysAre(o, ['v', 'type', 'device', 'epoch', 'time', 'clips'], 'a delete request');
    if (!Array.isArray(o.clips) || o.clips.length < 1 || o.clips.length > MAX_DELETE_CLIPS) fail(`clips must list 1–${MAX_DELETE_CLIPS} clips`);
    const seen = new Set<string>();
    for (const c of o.clips as unknown[]) {
      if (typeof c !== 'object' || c === null) fail('each clip is an object');
      const e = c as Record<string, unknown>;
      keysAre(e, ['clip', 'seq', 'manifest'], 'a deleted clip');
      if (typeof e.clip !== 'string' || !isSafeId(e.clip)) fail('clip must be a clip id');
      if (seen.has(e.clip as string)) fail(`clip ${e.clip as string} is listed twice`);
      seen.add(e.clip as string);
      const signed = e.seq !== null || e.manifest !== null;
      if (signed && !(isCount(e.seq, 1) && isHex64(e.manifest))) fail('seq and manifest are a chain number and a SHA-256 (hex), or both null');
    }
    return o as unknown as DeleteRequest;
  }
  return fail('type must be "retention" or "delete"');
}

/** The one byte string for a request. */
export function encodeOwnerRequest(r: OwnerRequest): Uint8Array {
  const v = validateOwnerRequest(r);
  const body =
    v.type === 'retention'
      ? { v: 1, type: v.type, device: v.device, epoch: v.epoch, time: v.time, maxAgeDays: v.maxAgeDays, maxBytes: v.maxBytes }
      : { v: 1, type: v.type, device: v.device, epoch: v.epoch, time: v.time, clips: v.clips.map((c) => ({ clip: c.clip, seq: c.seq, manifest: c.manifest })) };
  return utf8ToBytes(JSON.stringify(body));
}

/** Parses strictly: anything but the canonical bytes is REQUEST_FORMAT. */
export function parseOwnerRequest(bytes: Uint8Array): OwnerRequest {
  return parseCanonicalJson(bytes, { max: MAX_REQUEST_BYTES, validate: validateOwnerRequest, encode: encodeOwnerRequest, bad: (why) => fail(`owner request: ${why}`) });
}

export const ownerRequestComment = (r: OwnerRequest) => `sealbell owner-request v1 ${r.type} device ${r.device} epoch ${r.epoch}`;

export function signOwnerRequest(r: OwnerRequest, authority: SigningKey): SignedOwnerRequest {
  const bytes = encodeOwnerRequest(r);
  return { request: parseOwnerRequest(bytes), bytes, signature: sign(bytes, authority, ownerRequestComment(r), 'sealbell owner request, signed by the account authority') };
}

/**
 * Parses and checks the account authority's signature (trusted comment included) and that it
 * is for `device`: REQUEST_FORMAT, REQUEST_SIGNATURE, REQUEST_DEVICE.
 */
export function verifyOwnerRequest(bytes: Uint8Array, signature: unknown, authority: Uint8Array, device: string): SignedOwnerRequest {
  const request = parseOwnerRequest(bytes);
  verifyAuthoritySignature(bytes, signature, authority, { comment: ownerRequestComment(request), code: 'REQUEST_SIGNATURE', what: 'request', maxSignature: MAX_SIGNATURE_BYTES });
  if (request.device !== device) throw new SealbellError('REQUEST_DEVICE', `the request is for doorbell ${request.device}, not ${device}`);
  return { request, bytes: bytes.slice(), signature: signature as string };
}

/** The request as it travels (HTTP body, listings): its exact text and the signature text. */
export interface OwnerRequestWire {
  request: string;
  signature: string;
}

export const toWire = (s: { bytes: Uint8Array; signature: string }): OwnerRequestWire => ({ request: utf8Decode(s.bytes), signature: s.signature });
