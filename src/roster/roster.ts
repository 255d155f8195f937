/**
 * The roster: who a doorbell seals its clips to. Canonical JSON, signed by the
 * account authority (Ed25519, minisign format), so only the owner changes it and
 * the standard `minisign -V` checks it. Spec and vectors: docs/roster-format.md.
 *
 *   {"v":1,"device":"<16 hex>","epoch":N,"prev":"<64 hex>"|null,
 *    "phones":[{"name":"…","recipient":"age1…","auth":"<base64 Ed25519 key>"}],
 *    "history":"age1…"|null,"handover":"<base64 Ed25519 key>"|null}
 *
 * `prev` chains each roster to the one it replaces (rosterHash of its bytes), so a
 * relay cannot make the doorbell skip or fork an update; `handover` names the account
 * authority that signs the rosters after this one (revocation rotates the account).
 *
 * Recipients are all classic X25519 (age1…) or all post-quantum hybrid (age1pq1…),
 * history recipient included: a roster that mixes them is refused (ROSTER_KEM_MIX).
 *
 * Parsing is strict: the bytes must be exactly the canonical encoding of a valid
 * roster (so there is one byte string per roster, and what is signed is what is read).
 */
import { base64 } from '@scure/base';
import { utf8ToBytes } from '../bytes.js';
import { rosterHash as hashRosterBytes } from './roster-hash.js';
import { SealbellError } from '../errors.js';
import { parseCanonicalJson, verifyAuthoritySignature } from '../signed-document.js';
import { checkAnyRecipient, kemOf, type Kem } from '../age/recipients.js';
import { isEd25519PublicKey, keyIdOf, sign, type PublicKey, type SigningKey } from '../minisign.js';

export const ROSTER_VERSION = 1;
/**
 * Canonical roster bytes never exceed this: 16 phones with long names and a history
 * recipient fit, post-quantum ones too (an age1pq1… recipient is 1,959 characters).
 */
export const MAX_ROSTER_BYTES = 40 * 1024;
export const MAX_PHONES = 16;
/** Phone names: 1–64 characters (code points). */
export const MAX_NAME_LENGTH = 64;
/** A minisign signature file is ~300 bytes; anything much longer is not one. */
export const MAX_SIGNATURE_BYTES = 1024;

export interface RosterPhone {
  /** shown to the owner ("Alice's phone") */
  name: string;
  /** the phone's age recipient, X25519 (age1…) or post-quantum (age1pq1…): clips are sealed to it */
  recipient: string;
  /** the phone's Ed25519 public key (standard base64, 32 bytes) for relay challenge-response */
  auth: string;
}

export interface Roster {
  v: 1;
  /** the doorbell's id: minisign key id of its identity key, 16 upper-case hex digits */
  device: string;
  /** strictly increasing with every update, from 1 */
  epoch: number;
  /**
   * rosterHash of the roster this one replaces (an update is taken only as the successor of
   * exactly what the doorbell holds); null for a first roster. Left out in code: null.
   */
  prev?: string | null;
  phones: RosterPhone[];
  /** account history recipient (lets phones enrolled later read older clips), or null */
  history: string | null;
  /**
   * The account authority (base64 Ed25519 public key) that signs the rosters after this one,
   * when this roster hands the account over to a new authority; null (or left out) otherwise.
   */
  handover?: string | null;
}

/**
 * The roster's identity in a chain (and in clip manifests): roster-hash.ts's SHA-256 of its
 * canonical bytes, lower-case hex, of a roster, its bytes, or a signed roster.
 */
export function rosterHash(r: Roster | Uint8Array | { bytes: Uint8Array }): string {
  const bytes = r instanceof Uint8Array ? r : 'bytes' in r && r.bytes instanceof Uint8Array ? r.bytes : encodeRoster(r as Roster);
  return hashRosterBytes(bytes);
}

/** The account authority that signs the roster after `r`: its handover key, else `signer`. */
export function nextAuthority(r: Roster, signer: Uint8Array): Uint8Array {
  return r.handover ? decodeAuthKey(r.handover) : signer;
}

/**
 * The roster that replaces `current` with `change` applied: epoch + 1, chained to it by
 * `prev`, no handover unless `change` names one.
 */
export function successor(current: Roster, change: Partial<Pick<Roster, 'phones' | 'history' | 'handover'>>): Roster {
  return { ...current, epoch: current.epoch + 1, prev: rosterHash(current), handover: null, ...change };
}

const bad = (why: string): never => {
  throw new SealbellError('ROSTER_FORMAT', `malformed roster: ${why}`);
};

function isWellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return false;
  }
  return true;
}

function checkName(name: unknown): string {
  if (typeof name !== 'string') return bad('phone name must be a string');
  const length = [...name].length;
  if (length < 1 || length > MAX_NAME_LENGTH) bad(`phone name must be 1–${MAX_NAME_LENGTH} characters`);
  // No control characters: names are shown to people and written to logs.
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(name) || !isWellFormed(name)) {
    bad('phone name has control characters or unpaired surrogates');
  }
  return name;
}

function checkRecipient(text: unknown, what: string): string {
  if (typeof text !== 'string') return bad(`${what} must be a string`);
  try {
    checkAnyRecipient(text);
    return text;
  } catch {
    return bad(`${what} is not an age recipient (age1… or age1pq1…)`);
  }
}

/** Which kind of recipients the roster seals to: all post-quantum or all classic. */
export function rosterKem(r: Pick<Roster, 'phones' | 'history'>): Kem {
  const all = r.phones.map((p) => p.recipient).concat(r.history === null ? [] : [r.history]);
  try {
    return kemOf(all);
  } catch {
    throw new SealbellError('ROSTER_KEM_MIX', 'the roster mixes post-quantum (age1pq1…) and classic (age1…) recipients, history included: it must be all one kind');
  }
}

/** The auth key: canonical padded base64 of a valid 32-byte Ed25519 public key. */
export function decodeAuthKey(text: unknown): Uint8Array {
  if (typeof text !== 'string' || !/^[A-Za-z0-9+/]{43}=$/.test(text)) return bad('auth must be base64 of 32 bytes');
  let bytes: Uint8Array = new Uint8Array(0);
  try {
    bytes = base64.decode(text);
  } catch {
    // non-zero padding bits
  }
  if (bytes.length !== 32 || base64.encode(bytes) !== text) bad('auth is not canonical base64');
  if (!isEd25519PublicKey(bytes)) bad('auth is not an Ed25519 public key');
  return bytes;
}

export function encodeAuthKey(publicKey: Uint8Array): string {
  return base64.encode(publicKey);
}

/** Throws ROSTER_FORMAT unless `r` is a valid roster (types, ranges, no duplicates). */
export function validateRoster(r: unknown): Roster {
  if (typeof r !== 'object' || r === null || Array.isArray(r)) return bad('not an object');
  const o = r as Record<string, unknown>;
  const keys = Object.keys(o).sort().join(',');
  // prev and handover may be left out by code that builds a roster (null); the canonical
  // bytes always carry them, so parseRoster refuses a roster.json without them.
  const full = ['device', 'epoch', 'handover', 'history', 'phones', 'prev', 'v'];
  if (!Object.keys(o).every((k) => full.includes(k)) || !['device', 'epoch', 'history', 'phones', 'v'].every((k) => k in o)) {
    bad(`fields must be exactly v, device, epoch, prev, phones, history, handover (got ${keys.slice(0, 80)})`);
  }
  if (o.v !== ROSTER_VERSION) bad(`unsupported version ${String(o.v).slice(0, 20)}`);
  if (typeof o.device !== 'string' || !/^[0-9A-F]{16}$/.test(o.device)) bad('device must be 16 upper-case hex digits');
  if (typeof o.epoch !== 'number' || !Number.isSafeInteger(o.epoch) || o.epoch < 1) bad('epoch must be an integer from 1 to 2^53-1');
  if (!Array.isArray(o.phones)) return bad('phones must be an array');
  if (o.phones.length < 1 || o.phones.length > MAX_PHONES) bad(`phones must list 1–${MAX_PHONES} phones`);
  const seen = new Set<string>();
  const phones: RosterPhone[] = o.phones.map((p: unknown, i: number) => {
    if (typeof p !== 'object' || p === null || Array.isArray(p)) return bad(`phone ${i} is not an object`);
    const q = p as Record<string, unknown>;
    if (Object.keys(q).sort().join(',') !== 'auth,name,recipient') bad(`phone ${i} must have exactly name, recipient, auth`);
    const phone = { name: checkName(q.name), recipient: checkRecipient(q.recipient, `phone ${i} recipient`), auth: q.auth as string };
    decodeAuthKey(phone.auth);
    for (const [kind, value] of [['name', phone.name], ['recipient', phone.recipient], ['auth', phone.auth]]) {
      if (seen.has(`${kind}:${value}`)) bad(`two phones share the same ${kind}`);
      seen.add(`${kind}:${value}`);
    }
    return phone;
  });
  const history = o.history === null ? null : checkRecipient(o.history, 'history');
  if (history !== null && seen.has(`recipient:${history}`)) bad('the history recipient is also a phone recipient');
  rosterKem({ phones, history });
  const prev = o.prev === undefined || o.prev === null ? null : o.prev;
  if (prev !== null && (typeof prev !== 'string' || !/^[0-9a-f]{64}$/.test(prev))) bad('prev must be 64 lower-case hex digits or null');
  const handover = o.handover === undefined || o.handover === null ? null : o.handover;
  if (handover !== null) decodeAuthKey(handover);
  return { v: 1, device: o.device as string, epoch: o.epoch as number, prev: prev as string | null, phones, history, handover: handover as string | null };
}

/** The canonical encoding: fixed key order, no whitespace, JSON.stringify's string escaping. */
export function encodeRoster(roster: Roster): Uint8Array {
  const r = validateRoster(roster);
  const text = JSON.stringify({
    v: r.v,
    device: r.device,
    epoch: r.epoch,
    prev: r.prev,
    phones: r.phones.map((p) => ({ name: p.name, recipient: p.recipient, auth: p.auth })),
    history: r.history,
    handover: r.handover,
  });
  const bytes = utf8ToBytes(text);
  if (bytes.length > MAX_ROSTER_BYTES) bad(`longer than ${MAX_ROSTER_BYTES} bytes`);
  return bytes;
}

/** Parses canonical roster bytes; anything else (other spacing, key order, number forms…) is refused. */
export function parseRoster(bytes: Uint8Array): Roster {
  return parseCanonicalJson(bytes, { max: MAX_ROSTER_BYTES, validate: validateRoster, encode: encodeRoster, bad });
}

// ---------------------------------------------------------------------------
// Signatures

/** Binds the signature to the roster's device and epoch in minisign's signed trusted comment too. */
export function rosterTrustedComment(r: Roster): string {
  return `sealbell roster v${r.v} device ${r.device} epoch ${r.epoch}`;
}

export interface SignedRoster {
  roster: Roster;
  /** the canonical roster bytes (roster.json) */
  bytes: Uint8Array;
  /** minisign signature text of `bytes` by the account authority (roster.json.minisig) */
  signature: string;
}

export function signRoster(roster: Roster, authority: SigningKey): SignedRoster {
  const bytes = encodeRoster(roster);
  const signature = sign(bytes, authority, rosterTrustedComment(roster), 'sealbell roster, signed by the account authority');
  return { roster: validateRoster(roster), bytes, signature };
}

export function authorityPublicKey(publicKey: Uint8Array): PublicKey {
  return { publicKey, keyId: keyIdOf(publicKey) };
}

/**
 * Parses the roster and checks that `authority` signed it, trusted comment included.
 * ROSTER_FORMAT: malformed; ROSTER_SIGNATURE: not signed by this authority, or altered.
 */
export function verifyRoster(bytes: Uint8Array, signature: string, authority: Uint8Array): SignedRoster {
  const roster = parseRoster(bytes);
  verifyAuthoritySignature(bytes, signature, authority, { comment: rosterTrustedComment(roster), code: 'ROSTER_SIGNATURE', what: 'roster', maxSignature: MAX_SIGNATURE_BYTES });
  return { roster, bytes: bytes.slice(), signature };
}
