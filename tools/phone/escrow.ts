/**
 * The account escrow: the account keys, in an age file whose only recipient is
 * the passphrase (age scrypt stanza, work factor 2^18), so a phone enrolled later
 * (or plain `age -d`) recovers them from the 12-word passphrase alone.
 *
 *   passphrase  12 BIP39 English words (128 bits + a 4-bit checksum that catches typos),
 *               one space between words, lower case: the exact bytes age's scrypt sees
 *   plaintext   {"v":1,"authority":"<base64 Ed25519 seed>","history":"AGE-SECRET-KEY-1…"
 *                [,"previous":["AGE-SECRET-KEY-1…",…]][,"previousAuthorities":["<base64 seed>",…]]}
 *               (history "AGE-SECRET-KEY-PQ-1…" for a post-quantum account)
 *
 * `previous`: the earlier history keys, newest first (after `phone pq-upgrade`, or a revocation
 * rotated the account): they open the clips recorded before. `previousAuthorities`: the
 * authorities a revocation rotated away from, newest first (at most 4), so the owner can still
 * sign the handover for a doorbell that has not taken it yet (the relay withheld it, or forked
 * the roster meanwhile). The removed member held them too: they open nothing recorded after the
 * doorbell acknowledged the handover, and only ever sign a roster that hands it over to the
 * current authority.
 *
 * The escrow stays passphrase-based (age scrypt): a quantum computer gives no useful
 * speed-up against scrypt and a 128-bit passphrase (Grover at best halves the bits).
 */
import { entropyToMnemonic, validateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { base64 } from '@scure/base';
import type { Random } from '../../src/host.js';
import { SealbellError } from '../../src/errors.js';
import { utf8Decode, utf8ToBytes } from '../../src/bytes.js';
import { nobleAead } from '../../src/crypto/noble.js';
import { decryptWithPassphrase, decryptWithPassphraseAsync, encryptWithPassphrase, encryptWithPassphraseAsync } from '../../src/age/file.js';
import { SCRYPT_WRITE_LOG_N, type AsyncScrypt } from '../../src/age/scrypt.js';
import { ageIdentity } from '../../src/age/recipients.js';
import { signingKeyFromSeed } from '../../src/minisign.js';
import type { AccountKeys } from './account-core.js';

export function newPassphrase(random: Random): string {
  return entropyToMnemonic(random(16), wordlist);
}

/** As typed: any case and spacing. PASSPHRASE_TYPO if a word is unknown or the checksum fails. */
export function normalizePassphrase(text: string): string {
  const words = text.trim().toLowerCase().split(/\s+/);
  const phrase = words.join(' ');
  if (words.length !== 12 || !validateMnemonic(phrase, wordlist)) {
    throw new SealbellError('PASSPHRASE_TYPO', 'the passphrase is not 12 valid words (a word is misspelled or missing, or they are in the wrong order)');
  }
  return phrase;
}

export const MAX_PREVIOUS_AUTHORITIES = 4;
export const MAX_PREVIOUS_HISTORIES = 16;

export function encodeAccount(a: AccountKeys): Uint8Array {
  const previous = (a.previous ?? []).slice(0, MAX_PREVIOUS_HISTORIES);
  const authorities = (a.previousAuthorities ?? []).slice(0, MAX_PREVIOUS_AUTHORITIES).map((k) => base64.encode(k.secretKey));
  return utf8ToBytes(JSON.stringify({
    v: 1,
    authority: base64.encode(a.authority.secretKey),
    history: a.history,
    ...(previous.length ? { previous } : {}),
    ...(authorities.length ? { previousAuthorities: authorities } : {}),
  }));
}

export function parseAccount(bytes: Uint8Array): AccountKeys {
  const bad = (): never => {
    throw new SealbellError('ESCROW_FORMAT', 'the escrow does not hold sealbell account keys');
  };
  let j: Record<string, unknown> = {};
  try {
    j = JSON.parse(utf8Decode(bytes));
  } catch {
    bad();
  }
  const keys = typeof j === 'object' && j !== null ? Object.keys(j) : [];
  const known = ['v', 'authority', 'history', 'previous', 'previousAuthorities'];
  if (!keys.every((k) => known.includes(k)) || !['v', 'authority', 'history'].every((k) => keys.includes(k)) || j.v !== 1) bad();
  if (typeof j.authority !== 'string' || typeof j.history !== 'string') bad();
  const list = (v: unknown, max: number): string[] => {
    const a = v ?? [];
    if (!Array.isArray(a) || a.length > max || !a.every((x) => typeof x === 'string')) bad();
    return a as string[];
  };
  const previous = list(j.previous, MAX_PREVIOUS_HISTORIES);
  const seedOf = (text: string): Uint8Array => {
    let seed: Uint8Array = new Uint8Array(0);
    try {
      seed = base64.decode(text);
    } catch {
      bad();
    }
    if (seed.length !== 32) bad();
    return seed;
  };
  try {
    for (const h of [j.history as string, ...previous]) ageIdentity(h); // X25519 or post-quantum
  } catch {
    bad();
  }
  const authorities = list(j.previousAuthorities, MAX_PREVIOUS_AUTHORITIES).map((t) => signingKeyFromSeed(seedOf(t)));
  return {
    authority: signingKeyFromSeed(seedOf(j.authority as string)),
    history: j.history as string,
    ...(previous.length ? { previous } : {}),
    ...(authorities.length ? { previousAuthorities: authorities } : {}),
  };
}

export function sealEscrow(a: AccountKeys, passphrase: string, random: Random, logN = SCRYPT_WRITE_LOG_N): Uint8Array {
  return encryptWithPassphrase(encodeAccount(a), utf8ToBytes(normalizePassphrase(passphrase)), random, nobleAead, logN);
}

/**
 * AGE_PASSPHRASE on a wrong passphrase; PASSPHRASE_TYPO when it is not 12 valid words.
 * ESCROW_WORK_FACTOR when the escrow's scrypt work factor is above the one phones write: the
 * relay serves the escrow and may raise it to make a phone spend a GiB and seconds for nothing,
 * so it is refused from the header, before scrypt allocates anything.
 */
export function openEscrow(escrow: Uint8Array, passphrase: string): AccountKeys {
  try {
    return parseAccount(decryptWithPassphrase(escrow, utf8ToBytes(normalizePassphrase(passphrase)), nobleAead, SCRYPT_WRITE_LOG_N));
  } catch (e) {
    throw inflatedWork(e);
  }
}

/** AGE_SCRYPT (a work factor above what phones write) said as what it is here. */
function inflatedWork(e: unknown): unknown {
  if (e instanceof SealbellError && e.code === 'AGE_SCRYPT') {
    return new SealbellError('ESCROW_WORK_FACTOR', `the escrow asks for more scrypt work than phones use (${e.message}): it was altered, not opened`);
  }
  return e;
}

/** sealEscrow with an asynchronous scrypt (Node's thread pool: escrow-node.ts; the web app: noble's scryptAsync). */
export function sealEscrowWith(kdf: AsyncScrypt, a: AccountKeys, passphrase: string, random: Random, logN = SCRYPT_WRITE_LOG_N): Promise<Uint8Array> {
  return encryptWithPassphraseAsync(encodeAccount(a), utf8ToBytes(normalizePassphrase(passphrase)), random, nobleAead, kdf, logN);
}

/** openEscrow with an asynchronous scrypt (seconds at 2^18); the same errors. */
export async function openEscrowWith(kdf: AsyncScrypt, escrow: Uint8Array, passphrase: string): Promise<AccountKeys> {
  try {
    return parseAccount(await decryptWithPassphraseAsync(escrow, utf8ToBytes(normalizePassphrase(passphrase)), nobleAead, kdf, SCRYPT_WRITE_LOG_N));
  } catch (e) {
    throw inflatedWork(e);
  }
}
