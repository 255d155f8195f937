/**
 * The account's pure pieces, without files: where its escrow lives on a relay and the token
 * that replaces it (both from the passphrase), the authority's endorsement of a doorbell key,
 * and a phone's new keys. Shared by the phone commands (relay-sync.ts, init.ts) and the web
 * app (web/app), so both derive the same account id from the same passphrase.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import type { Random } from '../../src/host.js';
import { SealbellError } from '../../src/errors.js';
import { utf8ToBytes } from '../../src/bytes.js';
import { anyIdentityToRecipient, generateAgeIdentity, type Kem } from '../../src/age/recipients.js';
import { decodePublicKey, keyIdHex, keyIdOf, sign, signingKeyFromSeed, verify, type SigningKey } from '../../src/minisign.js';
import { normalizePassphrase } from './escrow.js';

export interface PhoneKeys {
  name: string;
  /** AGE-SECRET-KEY-1… or AGE-SECRET-KEY-PQ-1…: the one the roster seals to */
  identity: string;
  recipient: string;
  /** earlier identities of this phone (before `phone pq-upgrade`): they open its older clips */
  previous?: string[];
  /** Ed25519 key for relay challenge-response */
  auth: SigningKey;
}

export interface AccountKeys {
  authority: SigningKey;
  /** AGE-SECRET-KEY-1… (or post-quantum AGE-SECRET-KEY-PQ-1…) of the account history recipient */
  history: string;
  /**
   * earlier history identities, newest first (before the account moved to post-quantum, or a
   * revocation rotated it): they open older clips
   */
  previous?: string[];
  /** authorities a revocation rotated away from, newest first (escrow.ts) */
  previousAuthorities?: SigningKey[];
}

/**
 * The escrow's write token on the relay, from the passphrase too: any phone that knows the
 * passphrase may replace the escrow or drop it (a revocation does), nobody else.
 */
export function escrowWriteToken(passphrase: string): string {
  return bytesToHex(sha256(utf8ToBytes(`sealbell escrow write token v1\n${normalizePassphrase(passphrase)}`)));
}

/** Where the account's escrow lives on a relay: derived from the passphrase, so a new phone needs nothing else. */
export function accountIdFor(passphrase: string): string {
  // The passphrase carries 128 bits of entropy: a fast hash of it reveals nothing useful.
  return bytesToHex(sha256(utf8ToBytes(`sealbell account id v1\n${normalizePassphrase(passphrase)}`)).subarray(0, 8)).toUpperCase();
}

const endorsementComment = (deviceId: string) => `sealbell device-key ${deviceId}`;

/** The account authority vouches for a doorbell's key (learnt over the SPAKE2+ channel at setup). */
export function endorseDevice(authority: SigningKey, deviceId: string, publicKeyText: string): string {
  return sign(utf8ToBytes(publicKeyText), authority, endorsementComment(deviceId), 'sealbell: the account authority endorses this doorbell key');
}

/** DEVICE_KEY unless the account authority endorsed exactly this key for this device. */
export function checkEndorsement(authority: Uint8Array, deviceId: string, publicKeyText: string, endorsement: string | undefined): void {
  const fail = (why: string): never => {
    throw new SealbellError('DEVICE_KEY', `the relay's key for doorbell ${deviceId} is not endorsed by this account: ${why}`);
  };
  if (!endorsement) fail('no endorsement');
  let comment = '';
  try {
    comment = verify(utf8ToBytes(publicKeyText), endorsement!, { keyId: keyIdOf(authority), publicKey: authority });
  } catch (e) {
    fail((e as Error).message);
  }
  if (comment !== endorsementComment(deviceId) || keyIdHex(decodePublicKey(publicKeyText).keyId) !== deviceId) fail('it is for another doorbell');
}

/** A phone's keys; `kem` is the account's kind (a roster never mixes classic and post-quantum). */
export function newPhoneKeys(name: string, random: Random, kem: Kem = 'x25519'): PhoneKeys {
  const identity = generateAgeIdentity(kem, random);
  return { name, identity, recipient: anyIdentityToRecipient(identity), auth: signingKeyFromSeed(random(32)) };
}

export const authKeyPublic = (k: SigningKey): Uint8Array => ed25519.getPublicKey(k.secretKey);
