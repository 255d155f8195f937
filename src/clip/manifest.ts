/**
 * The clip manifest: what the device vouches for about one clip, as canonical
 * JSON (fixed key order, no spaces, one trailing newline), signed with the
 * device identity key as a minisign signature. It binds the hash of the age
 * *payload* (everything after the header), so re-wrapping the header for a new
 * recipient keeps the signature valid.
 */
import { utf8Decode, utf8ToBytes } from '../bytes.js';
import { check, SealbellError } from '../errors.js';

export interface ClipManifest {
  v: 1;
  clip: string;
  device: string;
  epoch: number;
  /** lower-case hex SHA-256 of the canonical bytes of the roster the clip was sealed to (NO_ROSTER: none) */
  roster: string;
  /** the device's clip sequence number: 1 for its first clip, one more for every manifest it signs after */
  seq: number;
  /** lower-case hex SHA-256 of the previous manifest's bytes (64 zeros for seq 1) */
  prev: string;
  /** ms since the Unix epoch */
  start: number;
  end: number;
  frames: number;
  /** bytes in the age payload: nonce and sealed chunks */
  payloadSize: number;
  /** lower-case hex SHA-256 of the age payload */
  payloadSha256: string;
  /** clips dropped from a full spool since the previous manifest (ids), reported to the owner */
  dropped: string[];
  /**
   * "mlkem768x25519" when the clip is sealed to post-quantum recipients only; absent for
   * classic X25519 clips (so their manifests keep their v1 bytes). Checked against the header.
   */
  kem?: 'mlkem768x25519';
  /** what started the clip: the button, camera motion, the PIR sensor (absent in clips from before these fields) */
  trigger?: ClipTrigger;
  /** ms of the clip before its trigger (its pre-roll): the frame at the trigger, the poster, is at start + preRoll */
  preRoll?: number;
  /** for a motion trigger: the zones (letters of the zone map) that fired */
  zones?: string[];
  /**
   * the clip's sound: its audio track (16 kHz mono 16-bit PCM, track 2) and the samples it holds;
   * null: recorded by a board without a microphone, video only; absent in clips from before sound
   */
  audio?: ClipAudio | null;
}

export interface ClipAudio {
  track: 2;
  codec: 'A_PCM/INT/LIT';
  rate: 16000;
  channels: 1;
  bits: 16;
  /** PCM samples in the track */
  samples: number;
}

const AUDIO_KEYS = ['track', 'codec', 'rate', 'channels', 'bits', 'samples'] as const;

export type ClipTrigger = 'press' | 'motion' | 'pir';
const TRIGGERS: readonly string[] = ['press', 'motion', 'pir'];

const KEYS = ['v', 'clip', 'device', 'epoch', 'roster', 'seq', 'prev', 'start', 'end', 'frames', 'payloadSize', 'payloadSha256', 'dropped'] as const;
/**
 * The optional trailing fields, each present or absent, in this order: kem (post-quantum clips
 * only), then trigger and preRoll (together, in clips that record what started them), then
 * zones (exactly when the trigger is motion).
 */
const OPTIONAL_KEYS = ['kem', 'trigger', 'preRoll', 'zones', 'audio'] as const;
export const MAX_MANIFEST_BYTES = 16 * 1024;
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export function isSafeId(id: string): boolean {
  return ID_PATTERN.test(id);
}

export function encodeManifest(m: ClipManifest): Uint8Array {
  validate(m);
  const ordered: Record<string, unknown> = {};
  for (const k of KEYS) ordered[k] = m[k];
  for (const k of OPTIONAL_KEYS) if (m[k] !== undefined) ordered[k] = m[k];
  // the audio object's keys in their fixed order too
  if (m.audio) ordered.audio = Object.fromEntries(AUDIO_KEYS.map((k) => [k, m.audio![k]]));
  return utf8ToBytes(JSON.stringify(ordered) + '\n');
}

/** Parses and validates; only the canonical encoding is accepted, so one manifest has one byte form. */
export function decodeManifest(bytes: Uint8Array): ClipManifest {
  check(bytes.length <= MAX_MANIFEST_BYTES, 'MANIFEST_FORMAT', 'manifest is too large');
  let value: unknown;
  try {
    value = JSON.parse(utf8Decode(bytes));
  } catch {
    throw new SealbellError('MANIFEST_FORMAT', 'manifest is not valid JSON');
  }
  check(typeof value === 'object' && value !== null && !Array.isArray(value), 'MANIFEST_FORMAT', 'manifest must be a JSON object');
  const keys = Object.keys(value as object);
  const expected: string[] = [...KEYS];
  for (const k of OPTIONAL_KEYS) if (keys[expected.length] === k) expected.push(k);
  check(
    keys.length === expected.length && expected.every((k, i) => keys[i] === k),
    'MANIFEST_FORMAT',
    `manifest fields must be exactly ${KEYS.join(', ')} in that order, then kem for a post-quantum clip, then trigger and preRoll, zones, audio`,
  );
  const m = value as ClipManifest;
  validate(m);
  const canonical = encodeManifest(m);
  check(
    canonical.length === bytes.length && canonical.every((b, i) => b === bytes[i]),
    'MANIFEST_FORMAT',
    'manifest is not in canonical form',
  );
  return m;
}

const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
const isSha256Hex = (s: unknown): s is string => typeof s === 'string' && /^[0-9a-f]{64}$/.test(s);

function validate(m: ClipManifest): void {
  const ok =
    m.v === 1 &&
    typeof m.clip === 'string' && isSafeId(m.clip) &&
    typeof m.device === 'string' && isSafeId(m.device) &&
    isCount(m.epoch) && isSha256Hex(m.roster) && isCount(m.seq) && m.seq >= 1 && isSha256Hex(m.prev) &&
    isCount(m.start) && isCount(m.end) && m.end >= m.start &&
    isCount(m.frames) && isCount(m.payloadSize) &&
    isSha256Hex(m.payloadSha256) &&
    Array.isArray(m.dropped) && m.dropped.length <= 256 && m.dropped.every((d) => typeof d === 'string' && isSafeId(d)) &&
    (m.kem === undefined || m.kem === 'mlkem768x25519') &&
    // trigger and preRoll come together; the trigger lies within the clip
    (m.trigger === undefined) === (m.preRoll === undefined) &&
    (m.trigger === undefined || (TRIGGERS.includes(m.trigger) && isCount(m.preRoll) && m.start + m.preRoll! <= m.end)) &&
    // zones only for motion: 1–26 distinct letters, sorted
    (m.zones === undefined
      ? m.trigger !== 'motion'
      : m.trigger === 'motion' && Array.isArray(m.zones) && m.zones.length >= 1 && m.zones.length <= 26 &&
        m.zones.every((z, i) => typeof z === 'string' && /^[A-Z]$/.test(z) && (i === 0 || z > m.zones![i - 1]))) &&
    // audio (or null: no microphone) only in clips that name their trigger
    (m.audio === undefined || (m.trigger !== undefined && (m.audio === null || isAudio(m.audio))));
  check(ok, 'MANIFEST_FORMAT', 'manifest has a missing or invalid field');
}

function isAudio(a: unknown): a is ClipAudio {
  if (typeof a !== 'object' || a === null || Array.isArray(a)) return false;
  const o = a as Record<string, unknown>;
  return Object.keys(o).length === AUDIO_KEYS.length && o.track === 2 && o.codec === 'A_PCM/INT/LIT' && o.rate === 16000 && o.channels === 1 && o.bits === 16 && isCount(o.samples);
}

/** The trusted comment binds the clip id into minisign's own signed text too. */
export function trustedComment(m: ClipManifest): string {
  return `sealbell clip ${m.clip} device ${m.device} epoch ${m.epoch}`;
}
