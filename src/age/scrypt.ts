/**
 * age's scrypt (passphrase) recipient type (C2SP age spec, "The scrypt recipient type"):
 *
 *   -> scrypt <base64(salt, 16 bytes)> <log2 N, decimal>
 *   <base64(ChaCha20-Poly1305(key, nonce = 0, file key))>
 *   key = scrypt(passphrase, "age-encryption.org/v1/scrypt" ‖ salt, N = 2^logN, r = 8, p = 1, 32)
 *
 * The stanza must be the only one in its header (a passphrase file has no other
 * recipients). Used for the account escrow; phone and tools only (scrypt at
 * 2^18 needs 256 MiB: never on the device).
 */
import { scrypt } from '@noble/hashes/scrypt.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { concatBytes, utf8ToBytes } from '../bytes.js';
import { check, SealbellError } from '../errors.js';
import type { Random } from '../crypto/backend.js';
import { b64decode, b64encode, type Stanza } from './format.js';
import { FILE_KEY_LENGTH } from './x25519.js';

const LABEL = utf8ToBytes('age-encryption.org/v1/scrypt');
const ZERO_NONCE = new Uint8Array(12);
export const SCRYPT_SALT_LENGTH = 16;
/** What we write: age's own default. */
export const SCRYPT_WRITE_LOG_N = 18;
/** The highest work factor we agree to spend when opening (1 GiB): age's own limit too. */
export const SCRYPT_MAX_LOG_N = 20;

/** scrypt's parameters for one stanza: what any scrypt implementation needs to derive its key. */
export interface ScryptInput {
  password: Uint8Array;
  salt: Uint8Array;
  N: number;
  r: number;
  p: number;
  dkLen: number;
  /** bytes scrypt needs: 128·r·(N + p) */
  maxmem: number;
}

/**
 * An scrypt that does not hold up its caller: Node tools pass one that runs off the
 * event loop (tools/scrypt-async.ts); the sync functions below use noble's directly.
 */
export type AsyncScrypt = (input: ScryptInput) => Promise<Uint8Array>;

function stanzaInput(passphrase: Uint8Array, salt: Uint8Array, logN: number): ScryptInput {
  const N = 2 ** logN;
  // maxmem: 128·r·(N + p) bytes are needed; noble's default stops just short of 2^20.
  return { password: passphrase, salt: concatBytes(LABEL, salt), N, r: 8, p: 1, dkLen: 32, maxmem: 128 * 8 * (N + 2) };
}

/** noble's scrypt, synchronous: the same bytes as any other scrypt given the same input. */
export function scryptSync(i: ScryptInput): Uint8Array {
  return scrypt(i.password, i.salt, { N: i.N, r: i.r, p: i.p, dkLen: i.dkLen, maxmem: i.maxmem });
}

function checkPassphrase(passphrase: Uint8Array): void {
  check(passphrase instanceof Uint8Array && passphrase.length > 0, 'AGE_PASSPHRASE', 'the passphrase is empty');
}

export function wrapScrypt(fileKey: Uint8Array, passphrase: Uint8Array, random: Random, logN = SCRYPT_WRITE_LOG_N): Stanza {
  const salt = newStanzaSalt(passphrase, random, logN);
  return wrapWithKey(fileKey, scryptSync(stanzaInput(passphrase, salt, logN)), salt, logN);
}

/** What wrapScrypt does, with the key derived by `kdf` first: returns the wrap for encryptAgeFile. */
export async function scryptWrapperAsync(passphrase: Uint8Array, random: Random, kdf: AsyncScrypt, logN = SCRYPT_WRITE_LOG_N): Promise<(fileKey: Uint8Array) => Stanza> {
  const salt = newStanzaSalt(passphrase, random, logN);
  const key = await kdf(stanzaInput(passphrase, salt, logN));
  return (fileKey) => wrapWithKey(fileKey, key, salt, logN);
}

function newStanzaSalt(passphrase: Uint8Array, random: Random, logN: number): Uint8Array {
  checkPassphrase(passphrase);
  check(Number.isInteger(logN) && logN >= 1 && logN <= SCRYPT_MAX_LOG_N, 'AGE_SCRYPT', `scrypt work factor must be 1–${SCRYPT_MAX_LOG_N}`);
  return random(SCRYPT_SALT_LENGTH);
}

function wrapWithKey(fileKey: Uint8Array, key: Uint8Array, salt: Uint8Array, logN: number): Stanza {
  const body = chacha20poly1305(key, ZERO_NONCE).encrypt(fileKey);
  key.fill(0);
  return { type: 'scrypt', args: [b64encode(salt), String(logN)], body };
}

const malformed = (why: string): never => {
  throw new SealbellError('AGE_HEADER', `malformed age header: ${why}`);
};

interface ScryptStanza {
  salt: Uint8Array;
  logN: number;
  body: Uint8Array;
}

/** Finds the scrypt stanza and checks it (everything but the passphrase): the errors of unwrapScrypt. */
function findScryptStanza(stanzas: Stanza[], passphrase: Uint8Array, maxLogN: number): ScryptStanza {
  checkPassphrase(passphrase);
  const stanza = stanzas.find((s) => s.type === 'scrypt');
  if (!stanza) throw new SealbellError('NO_IDENTITY', 'this age file is not encrypted with a passphrase');
  if (stanzas.length !== 1) malformed('an scrypt stanza must be alone');
  if (stanza.args.length !== 2) malformed('scrypt stanza needs two arguments');
  const salt = b64decode(stanza.args[0], 'scrypt salt');
  if (salt.length !== SCRYPT_SALT_LENGTH) malformed('scrypt salt must be 16 bytes');
  if (!/^[1-9][0-9]?$/.test(stanza.args[1])) malformed('scrypt work factor must be a decimal without leading zeros');
  const logN = Number(stanza.args[1]);
  if (logN > maxLogN) throw new SealbellError('AGE_SCRYPT', `scrypt work factor 2^${logN} is above the limit 2^${maxLogN}`);
  if (stanza.body.length !== FILE_KEY_LENGTH + 16) malformed('scrypt stanza body must be 32 bytes');
  return { salt, logN, body: stanza.body };
}

function unwrapWithKey(s: ScryptStanza, key: Uint8Array): Uint8Array {
  try {
    return chacha20poly1305(key, ZERO_NONCE).decrypt(s.body);
  } catch {
    throw new SealbellError('AGE_PASSPHRASE', 'wrong passphrase (or the file was altered)');
  } finally {
    key.fill(0);
  }
}

/**
 * Finds the scrypt stanza and unwraps the file key with `passphrase`.
 * AGE_HEADER: malformed stanza, or not alone; AGE_SCRYPT: work factor above `maxLogN`;
 * NO_IDENTITY: no scrypt stanza; AGE_PASSPHRASE: the passphrase is wrong.
 */
export function unwrapScrypt(stanzas: Stanza[], passphrase: Uint8Array, maxLogN = SCRYPT_MAX_LOG_N): Uint8Array {
  const s = findScryptStanza(stanzas, passphrase, maxLogN);
  return unwrapWithKey(s, scryptSync(stanzaInput(passphrase, s.salt, s.logN)));
}

/** unwrapScrypt with the key derived by `kdf`; the same errors. */
export async function unwrapScryptAsync(stanzas: Stanza[], passphrase: Uint8Array, kdf: AsyncScrypt, maxLogN = SCRYPT_MAX_LOG_N): Promise<Uint8Array> {
  const s = findScryptStanza(stanzas, passphrase, maxLogN);
  return unwrapWithKey(s, await kdf(stanzaInput(passphrase, s.salt, s.logN)));
}
