/**
 * The account escrow: the account keys, in an age file whose only recipient is
 * the passphrase (age scrypt stanza, work factor 2^18), so a phone enrolled later
 * (or plain `age -d`) recovers them from the 12-word passphrase alone.
 *
 *   passphrase  12 BIP39 English words (128 bits + a 4-bit checksum that catches typos),
 *               one space between words, lower case: the exact bytes age's scrypt sees
 *   plaintext   {"v":1,"authority":"<base64 Ed25519 seed>","history":"AGE-SECRET-KEY-1…"}
 */
import { entropyToMnemonic, validateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { base64 } from '@scure/base';
import type { Random } from '../../src/host.js';
import { SealbellError } from '../../src/errors.js';
import { utf8Decode, utf8ToBytes } from '../../src/bytes.js';
import { nobleAead } from '../../src/crypto/noble.js';
import { decryptWithPassphrase, decryptWithPassphraseAsync, encryptWithPassphrase, encryptWithPassphraseAsync } from '../../src/age/file.js';
import { SCRYPT_WRITE_LOG_N } from '../../src/age/scrypt.js';
import { decodeIdentity } from '../../src/age/x25519.js';
import { signingKeyFromSeed } from '../../src/minisign.js';
import type { AccountKeys } from './state.js';
import { nodeScrypt } from '../scrypt-async.js';

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
  return utf8ToBytes(JSON.stringify({ v: 1, authority: base64.encode(a.authority.secretKey), history: a.history }));
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
  if (typeof j !== 'object' || j === null || Object.keys(j).sort().join() !== 'authority,history,v' || j.v !== 1) bad();
  if (typeof j.authority !== 'string' || typeof j.history !== 'string') bad();
  let seed: Uint8Array = new Uint8Array(0);
  try {
    seed = base64.decode(j.authority as string);
    decodeIdentity(j.history as string);
  } catch {
    bad();
  }
  if (seed.length !== 32) bad();
  return { authority: signingKeyFromSeed(seed), history: j.history as string };
}

export function sealEscrow(a: AccountKeys, passphrase: string, random: Random, logN = SCRYPT_WRITE_LOG_N): Uint8Array {
  return encryptWithPassphrase(encodeAccount(a), utf8ToBytes(normalizePassphrase(passphrase)), random, nobleAead, logN);
}

/** AGE_PASSPHRASE on a wrong passphrase; PASSPHRASE_TYPO when it is not 12 valid words. */
export function openEscrow(escrow: Uint8Array, passphrase: string): AccountKeys {
  return parseAccount(decryptWithPassphrase(escrow, utf8ToBytes(normalizePassphrase(passphrase)), nobleAead));
}

/** sealEscrow with scrypt off the event loop: what the commands use. */
export function sealEscrowAsync(a: AccountKeys, passphrase: string, random: Random, logN = SCRYPT_WRITE_LOG_N): Promise<Uint8Array> {
  return encryptWithPassphraseAsync(encodeAccount(a), utf8ToBytes(normalizePassphrase(passphrase)), random, nobleAead, nodeScrypt, logN);
}

/** openEscrow with scrypt off the event loop (seconds at 2^18); the same errors. */
export async function openEscrowAsync(escrow: Uint8Array, passphrase: string): Promise<AccountKeys> {
  return parseAccount(await decryptWithPassphraseAsync(escrow, utf8ToBytes(normalizePassphrase(passphrase)), nobleAead, nodeScrypt));
}
