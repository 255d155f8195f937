/**
 * SPAKE2+ (RFC 9383), ciphersuite P256-SHA256-HKDF-SHA256-HMAC-SHA256: the PAKE
 * that guards the setup access point. The phone is the prover (it knows the setup
 * code, hence w0 and w1); the doorbell is the verifier and stores only the
 * registration record (w0, L = w1·P), so a dumped device cannot play the phone.
 *
 *   prover                                   verifier
 *   shareP = x·P + w0·M        ──shareP──▶
 *                              ◀──shareV, confirmV──   shareV = y·P + w0·N
 *   checks confirmV            ──confirmP──▶           checks confirmP
 *   both: K_shared
 *
 * Exact encodings, the transcript and the password hashing are in
 * docs/setup-spake2plus.md; RFC 9383's vector is in test/vectors/.
 *
 * Only noble and plain ES2022: this file runs unchanged under XS.
 */
import { p256 } from '@noble/curves/nist.js';
import { bytesToNumberBE, numberToBytesBE } from '@noble/curves/utils.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { hmac } from '@noble/hashes/hmac.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { equalBytes } from '@noble/ciphers/utils.js';
import type { Random } from '../crypto/backend.js';
import { SealbellError } from '../errors.js';
import { scryptSync, type AsyncScrypt, type ScryptInput } from '../age/scrypt.js';

export const CIPHERSUITE = 'P256-SHA256-HKDF-SHA256-HMAC-SHA256';
/** A share (shareP, shareV) and the record L: SEC1 uncompressed P-256 points. */
export const SHARE_LENGTH = 65;
/** w0, w1 and the ephemeral scalars: 32-byte big-endian integers in [1, n-1]. */
export const SCALAR_LENGTH = 32;
/** confirmP, confirmV: HMAC-SHA256 tags. */
export const CONFIRM_LENGTH = 32;
/** K_shared. */
export const SHARED_KEY_LENGTH = 32;

/**
 * Password hashing for w0s‖w1s (RFC 9383 §3.2 recommends scrypt with these
 * parameters): scrypt N = 2^15, r = 8, p = 1 (32 MiB, run by the phone and the
 * provisioning tool, never by the device), 80 bytes out = two 40-byte halves,
 * i.e. ceil(log2 n) + 64 bits each, so reducing mod n is biased by < 2^-64.
 */
export const SCRYPT_N = 2 ** 15;
export const SCRYPT_R = 8;
export const SCRYPT_P = 1;
export const SCRYPT_HALF_LENGTH = 40;
export const SCRYPT_DKLEN = 2 * SCRYPT_HALF_LENGTH;
/** The shortest salt deriveScalars accepts. */
export const SCRYPT_MIN_SALT_LENGTH = 16;

const Point = p256.Point;
type Point = InstanceType<typeof p256.Point>;
const ORDER = Point.Fn.ORDER;
const G = Point.BASE;

/** RFC 9383 §4, P-256 (seeds "1.2.840.10045.3.1.7 point generation seed (M)" / "(N)"). */
const M = Point.fromHex('02886e2f97ace46e55ba9dd7242579f2993b64e16ef3dcab95afd497333d8fa12f');
const N = Point.fromHex('03d8bbd6c639c62937b04d997f38c3770719c629d7014d49a24b4f98baa1292b49');
/** M and N as the transcript carries them (uncompressed). */
export const M_BYTES: Uint8Array = M.toBytes(false);
export const N_BYTES: Uint8Array = N.toBytes(false);

const LABEL_CONFIRMATION = /* "ConfirmationKeys" */ Uint8Array.of(
  0x43, 0x6f, 0x6e, 0x66, 0x69, 0x72, 0x6d, 0x61, 0x74, 0x69, 0x6f, 0x6e, 0x4b, 0x65, 0x79, 0x73,
);
const LABEL_SHARED = /* "SharedKey" */ Uint8Array.of(0x53, 0x68, 0x61, 0x72, 0x65, 0x64, 0x4b, 0x65, 0x79);
const EMPTY = new Uint8Array(0);

// ---------------------------------------------------------------------------
// Encodings and validation

function bytesArg(value: unknown, what: string, code = 'SPAKE2_BAD_INPUT'): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new SealbellError(code, `${what} must be a Uint8Array`);
  return value;
}

/** A 32-byte big-endian scalar in [1, n-1]. */
function decodeScalar(bytes: unknown, what: string): bigint {
  const b = bytesArg(bytes, what, 'SPAKE2_BAD_SCALAR');
  if (b.length !== SCALAR_LENGTH) {
    throw new SealbellError('SPAKE2_BAD_SCALAR', `${what} must be ${SCALAR_LENGTH} bytes, got ${b.length}`);
  }
  const s = bytesToNumberBE(b);
  if (s === 0n || s >= ORDER) throw new SealbellError('SPAKE2_BAD_SCALAR', `${what} is not in [1, n-1]`);
  return s;
}

function encodeScalar(s: bigint): Uint8Array {
  return numberToBytesBE(s, SCALAR_LENGTH);
}

/**
 * A share or record from outside: exactly 65 bytes, 0x04‖X‖Y, coordinates
 * below the field prime, on the curve, not the identity (P-256 has cofactor 1,
 * so every such point is in the prime-order group). Compressed and hybrid forms
 * are refused: the transcript hashes the bytes as sent.
 */
function decodePoint(bytes: unknown, what: string, code: string): Point {
  const b = bytesArg(bytes, what, code);
  if (b.length !== SHARE_LENGTH || b[0] !== 0x04) {
    throw new SealbellError(code, `${what} must be a ${SHARE_LENGTH}-byte uncompressed P-256 point`);
  }
  let p: Point;
  try {
    p = Point.fromBytes(b); // checks field range and the curve equation
    p.assertValidity();
  } catch {
    throw new SealbellError(code, `${what} is not a point on P-256`);
  }
  if (p.is0()) throw new SealbellError(code, `${what} is the identity`);
  return p;
}

/** A random scalar in [1, n-1]: 48 bytes reduced mod n-1, plus one (bias < 2^-128). */
function randomScalar(random: Random): bigint {
  const bytes = random(48);
  if (!(bytes instanceof Uint8Array) || bytes.length !== 48) {
    throw new SealbellError('SPAKE2_RANDOM', 'random source returned the wrong number of bytes');
  }
  const s = (bytesToNumberBE(bytes) % (ORDER - 1n)) + 1n;
  bytes.fill(0);
  return s;
}

/** len(s) as RFC 9383 defines it: 8 bytes, little-endian. */
function le64(n: number): Uint8Array {
  const out = new Uint8Array(8);
  for (let i = 0; i < 8 && n > 0; i++) {
    out[i] = n % 256;
    n = Math.floor(n / 256);
  }
  return out;
}

/** len(a)‖a‖len(b)‖b‖… */
function lengthPrefixed(parts: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += 8 + p.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(le64(p.length), at);
    out.set(p, at + 8);
    at += 8 + p.length;
  }
  return out;
}

// ---------------------------------------------------------------------------
// RFC 9383 building blocks. The session classes below are built from these;
// they are exported so the tests can pin each step to the RFC's vector.

/** Registration (§3.2): the verifier's record. w0 is kept as given, L = w1·P (65 bytes). */
export function registration(w0: Uint8Array, w1: Uint8Array): { w0: Uint8Array; L: Uint8Array } {
  decodeScalar(w0, 'w0');
  const s1 = decodeScalar(w1, 'w1');
  return { w0: w0.slice(), L: G.multiply(s1).toBytes(false) };
}

/**
 * w0 and w1 from the setup code (§3.2, RECOMMENDED method):
 *   w0s‖w1s = scrypt(len(pw)‖pw‖len(idProver)‖idProver‖len(idVerifier)‖idVerifier, salt,
 *                    N = 2^15, r = 8, p = 1, dkLen = 80)
 *   w0 = w0s mod n, w1 = w1s mod n        (each half 40 bytes, big-endian)
 * Absent identities are empty strings. Returns 32-byte big-endian scalars.
 * Costs ~32 MiB and a noticeable fraction of a second: phone and tools only.
 */
export function deriveScalars(
  password: Uint8Array,
  salt: Uint8Array,
  ids: { idProver?: Uint8Array; idVerifier?: Uint8Array } = {},
): { w0: Uint8Array; w1: Uint8Array } {
  const input = scalarsScryptInput(password, salt, ids);
  return scalarsFromHash(input, scryptSync(input));
}

/** deriveScalars with scrypt run by `kdf` (off the event loop in Node tools); the same result and errors. */
export async function deriveScalarsAsync(
  password: Uint8Array,
  salt: Uint8Array,
  ids: { idProver?: Uint8Array; idVerifier?: Uint8Array },
  kdf: AsyncScrypt,
): Promise<{ w0: Uint8Array; w1: Uint8Array }> {
  const input = scalarsScryptInput(password, salt, ids);
  return scalarsFromHash(input, await kdf(input));
}

function scalarsScryptInput(password: Uint8Array, salt: Uint8Array, ids: { idProver?: Uint8Array; idVerifier?: Uint8Array }): ScryptInput {
  bytesArg(password, 'password');
  bytesArg(salt, 'salt');
  if (salt.length < SCRYPT_MIN_SALT_LENGTH) {
    throw new SealbellError('SPAKE2_BAD_SALT', `salt must be at least ${SCRYPT_MIN_SALT_LENGTH} bytes`);
  }
  const idProver = bytesArg(ids.idProver ?? EMPTY, 'idProver');
  const idVerifier = bytesArg(ids.idVerifier ?? EMPTY, 'idVerifier');
  const input = lengthPrefixed([password, idProver, idVerifier]);
  return { password: input, salt, N: SCRYPT_N, r: SCRYPT_R, p: SCRYPT_P, dkLen: SCRYPT_DKLEN, maxmem: 128 * SCRYPT_R * (SCRYPT_N + 2) };
}

function scalarsFromHash(input: ScryptInput, out: Uint8Array): { w0: Uint8Array; w1: Uint8Array } {
  const w0 = bytesToNumberBE(out.subarray(0, SCRYPT_HALF_LENGTH)) % ORDER;
  const w1 = bytesToNumberBE(out.subarray(SCRYPT_HALF_LENGTH)) % ORDER;
  input.password.fill(0);
  out.fill(0);
  // A zero scalar has probability ~2^-256; refuse it rather than make a degenerate record.
  if (w0 === 0n || w1 === 0n) throw new SealbellError('SPAKE2_BAD_SCALAR', 'password hash reduced to zero');
  return { w0: encodeScalar(w0), w1: encodeScalar(w1) };
}

/** shareP = x·P + w0·M (prover), or shareV = y·P + w0·N (verifier). */
export function computeShare(role: 'prover' | 'verifier', w0: Uint8Array, scalar: Uint8Array): Uint8Array {
  const s0 = decodeScalar(w0, 'w0');
  const e = decodeScalar(scalar, role === 'prover' ? 'x' : 'y');
  return G.multiply(e).add((role === 'prover' ? M : N).multiply(s0)).toBytes(false);
}

/**
 * share − w0·mask (the other side's share with the password mask taken off). A share equal to
 * w0·mask would make Z and V the identity (no encoding, no secret): refused.
 */
function unmask(share: Uint8Array, mask: typeof M, s0: bigint, name: 'shareP' | 'shareV') {
  const T = decodePoint(share, name, 'SPAKE2_BAD_SHARE').subtract(mask.multiply(s0));
  if (T.is0()) throw new SealbellError('SPAKE2_BAD_SHARE', `${name} cancels the password mask`);
  return T;
}

/** The prover's Z = x·(Y − w0·N), V = w1·(Y − w0·N) (h = 1 on P-256). Validates shareV. */
export function proverSecrets(
  w0: Uint8Array,
  w1: Uint8Array,
  x: Uint8Array,
  shareV: Uint8Array,
): { Z: Uint8Array; V: Uint8Array } {
  const s0 = decodeScalar(w0, 'w0');
  const s1 = decodeScalar(w1, 'w1');
  const sx = decodeScalar(x, 'x');
  const T = unmask(shareV, N, s0, 'shareV');
  return { Z: T.multiply(sx).toBytes(false), V: T.multiply(s1).toBytes(false) };
}

/** The verifier's Z = y·(X − w0·M), V = y·L. Validates shareP and L. */
export function verifierSecrets(
  w0: Uint8Array,
  L: Uint8Array,
  y: Uint8Array,
  shareP: Uint8Array,
): { Z: Uint8Array; V: Uint8Array } {
  const s0 = decodeScalar(w0, 'w0');
  const sy = decodeScalar(y, 'y');
  const record = decodePoint(L, 'L', 'SPAKE2_BAD_RECORD');
  const T = unmask(shareP, M, s0, 'shareP');
  return { Z: T.multiply(sy).toBytes(false), V: record.multiply(sy).toBytes(false) };
}

/**
 * TT = len(Context)‖Context ‖ len(idProver)‖idProver ‖ len(idVerifier)‖idVerifier
 *    ‖ len(M)‖M ‖ len(N)‖N ‖ len(shareP)‖shareP ‖ len(shareV)‖shareV
 *    ‖ len(Z)‖Z ‖ len(V)‖V ‖ len(w0)‖w0          (len = 8-byte little-endian)
 */
export function transcript(t: {
  context: Uint8Array;
  idProver: Uint8Array;
  idVerifier: Uint8Array;
  shareP: Uint8Array;
  shareV: Uint8Array;
  Z: Uint8Array;
  V: Uint8Array;
  w0: Uint8Array;
}): Uint8Array {
  return lengthPrefixed([t.context, t.idProver, t.idVerifier, M_BYTES, N_BYTES, t.shareP, t.shareV, t.Z, t.V, t.w0]);
}

/**
 * K_main = SHA-256(TT)
 * K_confirmP‖K_confirmV = HKDF-SHA256(salt = nil, IKM = K_main, info = "ConfirmationKeys", 64)
 * K_shared = HKDF-SHA256(salt = nil, IKM = K_main, info = "SharedKey", 32)
 */
export function keySchedule(TT: Uint8Array): {
  K_main: Uint8Array;
  K_confirmP: Uint8Array;
  K_confirmV: Uint8Array;
  K_shared: Uint8Array;
} {
  const K_main = sha256(TT);
  const confirmation = hkdf(sha256, K_main, EMPTY, LABEL_CONFIRMATION, 64);
  return {
    K_main,
    K_confirmP: confirmation.slice(0, 32),
    K_confirmV: confirmation.slice(32, 64),
    K_shared: hkdf(sha256, K_main, EMPTY, LABEL_SHARED, SHARED_KEY_LENGTH),
  };
}

/** confirmP = HMAC(K_confirmP, shareV); confirmV = HMAC(K_confirmV, shareP). */
export function confirmation(key: Uint8Array, peerShare: Uint8Array): Uint8Array {
  return hmac(sha256, key, peerShare);
}

/** Both sides' view of a finished exchange: derives the keys and both tags. */
function deriveSession(
  ctx: Identities,
  w0: Uint8Array,
  shareP: Uint8Array,
  shareV: Uint8Array,
  zv: { Z: Uint8Array; V: Uint8Array },
): { confirmP: Uint8Array; confirmV: Uint8Array; sharedKey: Uint8Array } {
  const TT = transcript({ ...ctx, shareP, shareV, Z: zv.Z, V: zv.V, w0 });
  const k = keySchedule(TT);
  const confirmP = confirmation(k.K_confirmP, shareV);
  const confirmV = confirmation(k.K_confirmV, shareP);
  TT.fill(0);
  zv.Z.fill(0);
  zv.V.fill(0);
  k.K_main.fill(0);
  k.K_confirmP.fill(0);
  k.K_confirmV.fill(0);
  return { confirmP, confirmV, sharedKey: k.K_shared };
}

function checkConfirmation(expected: Uint8Array, received: unknown, what: string): void {
  // Constant time in the contents (noble's equalBytes); the length is public.
  if (!(received instanceof Uint8Array) || received.length !== CONFIRM_LENGTH || !equalBytes(expected, received)) {
    throw new SealbellError('SPAKE2_CONFIRM', `${what} does not verify: wrong setup code or tampered exchange`);
  }
}

// ---------------------------------------------------------------------------
// Sessions. Each object runs one exchange, in order, once; any failure ends it.

interface Identities {
  context: Uint8Array;
  idProver: Uint8Array;
  idVerifier: Uint8Array;
}

export interface Spake2PlusCommonOptions {
  /** Application context string, e.g. protocol name and version (precedes TT). */
  context: Uint8Array;
  idProver: Uint8Array;
  idVerifier: Uint8Array;
  /** 32-byte big-endian scalar in [1, n-1]. */
  w0: Uint8Array;
  random: Random;
  /** Tests only: the ephemeral scalar (x or y, 32 bytes big-endian) instead of a random one. */
  scalar?: Uint8Array;
}

export interface Spake2PlusProverOptions extends Spake2PlusCommonOptions {
  w1: Uint8Array;
}

export interface Spake2PlusVerifierOptions extends Spake2PlusCommonOptions {
  /** The registration record's L = w1·P, 65 bytes uncompressed. */
  L: Uint8Array;
}

function identities(o: Spake2PlusCommonOptions): Identities {
  return {
    context: bytesArg(o.context, 'context').slice(),
    idProver: bytesArg(o.idProver, 'idProver').slice(),
    idVerifier: bytesArg(o.idVerifier, 'idVerifier').slice(),
  };
}

function ephemeral(o: Spake2PlusCommonOptions, name: string): Uint8Array {
  if (o.scalar !== undefined) {
    decodeScalar(o.scalar, name);
    return o.scalar.slice();
  }
  if (typeof o.random !== 'function') throw new SealbellError('SPAKE2_BAD_INPUT', 'random must be a function');
  return encodeScalar(randomScalar(o.random));
}

function stateError(message: string): SealbellError {
  return new SealbellError('SPAKE2_STATE', message);
}

/** The phone's side. */
export class Spake2PlusProver {
  #ids: Identities;
  #w0: Uint8Array;
  #w1: Uint8Array;
  #x: Uint8Array;
  #shareP: Uint8Array | undefined;
  #state: 'new' | 'started' | 'done' | 'failed' = 'new';

  constructor(options: Spake2PlusProverOptions) {
    this.#ids = identities(options);
    decodeScalar(options.w0, 'w0');
    decodeScalar(options.w1, 'w1');
    this.#w0 = options.w0.slice();
    this.#w1 = options.w1.slice();
    this.#x = ephemeral(options, 'x');
  }

  /** shareP, to send to the verifier. */
  start(): Uint8Array {
    if (this.#state !== 'new') throw stateError('start() was already called');
    this.#state = 'started';
    this.#shareP = computeShare('prover', this.#w0, this.#x);
    return this.#shareP.slice();
  }

  /**
   * Takes the verifier's shareV and confirmV; returns confirmP (to send) and
   * K_shared. Throws SPAKE2_BAD_SHARE or SPAKE2_CONFIRM; the session is over either way.
   */
  finish(shareV: Uint8Array, confirmV: Uint8Array): { confirmP: Uint8Array; sharedKey: Uint8Array } {
    if (this.#state !== 'started') throw stateError('finish() needs start() first, and runs once');
    this.#state = 'failed';
    try {
      const shareP = this.#shareP as Uint8Array;
      const zv = proverSecrets(this.#w0, this.#w1, this.#x, shareV);
      const s = deriveSession(this.#ids, this.#w0, shareP, shareV.slice(), zv);
      try {
        checkConfirmation(s.confirmV, confirmV, 'confirmV');
      } catch (e) {
        s.sharedKey.fill(0);
        s.confirmP.fill(0);
        throw e;
      }
      this.#state = 'done';
      return { confirmP: s.confirmP, sharedKey: s.sharedKey };
    } finally {
      this.#wipe();
    }
  }

  #wipe(): void {
    this.#x.fill(0);
    this.#w0.fill(0);
    this.#w1.fill(0);
  }
}

/** The doorbell's side: holds only the registration record (w0, L). */
export class Spake2PlusVerifier {
  #ids: Identities;
  #w0: Uint8Array;
  #L: Uint8Array;
  #y: Uint8Array;
  #expectedConfirmP: Uint8Array | undefined;
  #sharedKey: Uint8Array | undefined;
  #state: 'new' | 'responded' | 'done' | 'failed' = 'new';

  constructor(options: Spake2PlusVerifierOptions) {
    this.#ids = identities(options);
    decodeScalar(options.w0, 'w0');
    decodePoint(options.L, 'L', 'SPAKE2_BAD_RECORD');
    this.#w0 = options.w0.slice();
    this.#L = options.L.slice();
    this.#y = ephemeral(options, 'y');
  }

  /**
   * Takes the prover's shareP; returns shareV and confirmV (sent together, as
   * RFC 9383 §3.1 allows). Throws SPAKE2_BAD_SHARE on an invalid share.
   */
  respond(shareP: Uint8Array): { shareV: Uint8Array; confirmV: Uint8Array } {
    if (this.#state !== 'new') throw stateError('respond() runs once per session');
    this.#state = 'failed';
    try {
      const zv = verifierSecrets(this.#w0, this.#L, this.#y, shareP);
      const shareV = computeShare('verifier', this.#w0, this.#y);
      const s = deriveSession(this.#ids, this.#w0, shareP.slice(), shareV, zv);
      this.#expectedConfirmP = s.confirmP;
      this.#sharedKey = s.sharedKey;
      this.#state = 'responded';
      return { shareV: shareV.slice(), confirmV: s.confirmV };
    } finally {
      this.#y.fill(0);
      this.#w0.fill(0);
    }
  }

  /** Checks the prover's confirmP; returns K_shared. Throws SPAKE2_CONFIRM if wrong. */
  finish(confirmP: Uint8Array): Uint8Array {
    if (this.#state !== 'responded') throw stateError('finish() needs respond() first, and runs once');
    this.#state = 'failed';
    const expected = this.#expectedConfirmP as Uint8Array;
    const key = this.#sharedKey as Uint8Array;
    this.#expectedConfirmP = undefined;
    this.#sharedKey = undefined;
    try {
      checkConfirmation(expected, confirmP, 'confirmP');
    } catch (e) {
      key.fill(0);
      throw e;
    } finally {
      expected.fill(0);
    }
    this.#state = 'done';
    return key;
  }
}
