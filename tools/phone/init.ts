/**
 * `sealbell phone init`: the first phone of an account. Makes the account keys
 * (authority, history recipient), this phone's keys, the 12-word passphrase
 * (returned once, never stored) and the escrow sealed to it.
 */
import type { Random } from '../../src/host.js';
import { SealbellError } from '../../src/errors.js';
import { systemRandom } from '../../src/crypto/noble.js';
import { generateAgeIdentity, type Kem } from '../../src/age/recipients.js';
import { encodePublicKey, signingKeyFromSeed } from '../../src/minisign.js';
import { hasPhone, writeAuthorityPub, writeEscrow, writePhone, type AccountKeys, type PhoneKeys } from './state.js';
import { newPassphrase, sealEscrow } from './escrow.js';
import { sealEscrowAsync } from './escrow-node.js';
import { accountIdFor, escrowWriteToken, writeEscrowRecord } from './relay-sync.js';
import { newPhoneKeys } from './account-core.js';

export interface PhoneInitOptions {
  name?: string;
  random?: Random;
  /** scrypt work factor of the escrow (tests may lower it; default 18) */
  logN?: number;
  /**
   * A post-quantum account: this phone and the history recipient get hybrid
   * mlkem768x25519 keys (AGE-SECRET-KEY-PQ-1…), so every doorbell seals post-quantum.
   * Off by default: such clips open with age ≥ 1.3 and typage ≥ 0.3, not with the
   * age 1.1 that Debian and Ubuntu ship (README, "Post-quantum").
   */
  pq?: boolean;
}

export interface PhoneInitResult {
  /** show once; the owner writes it down. Not stored anywhere. */
  passphrase: string;
  /** this phone's age recipient */
  recipient: string;
  /** the account authority's minisign public key text */
  authorityPublicKey: string;
  /** the escrow bytes (also in <dir>/escrow.age): upload to the relay */
  escrow: Uint8Array;
  escrowPath: string;
}

export { newPhoneKeys } from './account-core.js';

export function phoneInit(dir: string, o: PhoneInitOptions = {}): PhoneInitResult {
  const random = o.random ?? systemRandom;
  const a = newAccount(dir, o.name, random, o.pq);
  return writeAccount(dir, a, sealEscrow(a.account, a.passphrase, random, o.logN));
}

/**
 * phoneInit for the command: the escrow sealed off the event loop, and `confirm` (the
 * owner types the passphrase back) awaited before anything is written.
 */
export async function phoneInitAsync(dir: string, o: PhoneInitOptions & { confirm?: (passphrase: string) => Promise<void>; log?: (line: string) => void } = {}): Promise<PhoneInitResult> {
  const random = o.random ?? systemRandom;
  const a = newAccount(dir, o.name, random, o.pq);
  await o.confirm?.(a.passphrase);
  o.log?.('sealing the escrow to the passphrase (scrypt, a few seconds)…');
  return writeAccount(dir, a, await sealEscrowAsync(a.account, a.passphrase, random, o.logN));
}

interface NewAccount {
  account: AccountKeys;
  phone: PhoneKeys;
  passphrase: string;
}

function newAccount(dir: string, name: string | undefined, random: Random, pq = false): NewAccount {
  if (hasPhone(dir)) throw new SealbellError('PHONE_EXISTS', `${dir} already holds a phone`);
  const kem: Kem = pq ? 'mlkem768x25519' : 'x25519';
  const account: AccountKeys = { authority: signingKeyFromSeed(random(32)), history: generateAgeIdentity(kem, random) };
  return { account, phone: newPhoneKeys(name ?? 'phone 1', random, kem), passphrase: newPassphrase(random) };
}

function writeAccount(dir: string, { account, phone, passphrase }: NewAccount, escrow: Uint8Array): PhoneInitResult {
  writeAuthorityPub(dir, account);
  writePhone(dir, phone);
  const escrowPath = writeEscrow(dir, escrow);
  writeEscrowRecord(dir, { account: accountIdFor(passphrase), writeToken: escrowWriteToken(passphrase) });
  return {
    passphrase,
    recipient: phone.recipient,
    authorityPublicKey: encodePublicKey(account.authority.publicKey, account.authority.keyId),
    escrow,
    escrowPath,
  };
}
