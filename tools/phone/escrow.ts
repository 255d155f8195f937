/**
 * The account escrow: the account keys, in an age file whose only recipient is
 * the passphrase (age scrypt stanza, work factor 2^18), so a phone enrolled later
 * (or plain `age -d`) recovers them from the 12-word passphrase alone.
 *
 *   passphrase  12 BIP39 English words (128 bits + a 4-bit checksum that catches typos),
 *               one space between words, lower case: the exact bytes age's scrypt sees
 *   plaintext   {"v":1,"authority":"<base64 Ed25519 seed>","history":"AGE-SECRET-KEY-1…"}
 *               (history "AGE-SECRET-KEY-PQ-1…" for a post-quantum account; after
 *               `phone pq-upgrade`, "previous":["AGE-SECRET-KEY-1…"] the earlier history keys)
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
import { decryptWithPassphrase, encryptWithPassphrase } from '../../src/age/file.js';
import { SCRYPT_WRITE_LOG_N } from '../../src/age/scrypt.js';
import { ageIdentity } from '../../src/age/recipients.js';
import { signingKeyFromSeed } from '../../src/minisign.js';
import type { AccountKeys } from './state.js';

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

export function encodeAccount(a: AccountKeys): Uint8Array {
  const previous = a.previous?.length ? { previous: a.previous } : {};
  return utf8ToBytes(JSON.stringify({ v: 1, authority: base64.encode(a.authority.secretKey), history: a.history, ...previous }));
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
  const keys = typeof j === 'object' && j !== null ? Object.keys(j).sort().join() : '';
  if ((keys !== 'authority,history,v' && keys !== 'authority,history,previous,v') || j.v !== 1) bad();
  if (typeof j.authority !== 'string' || typeof j.history !== 'string') bad();
  const previous = j.previous ?? [];
  if (!Array.isArray(previous) || previous.length > 16 || !previous.every((p) => typeof p === 'string')) bad();
  let seed: Uint8Array = new Uint8Array(0);
  try {
    seed = base64.decode(j.authority as string);
    ageIdentity(j.history as string); // X25519 or post-quantum
    (previous as string[]).forEach(ageIdentity);
  } catch {
    bad();
  }
  if (seed.length !== 32) bad();
  const account: AccountKeys = { authority: signingKeyFromSeed(seed), history: j.history as string };
  if ((previous as string[]).length) account.previous = previous as string[];
  return account;
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
    if (e instanceof SealbellError && e.code === 'AGE_SCRYPT') {
      throw new SealbellError('ESCROW_WORK_FACTOR', `the escrow asks for more scrypt work than phones use (${e.message}): it was altered, not opened`);
    }
    throw e;
  }
}
