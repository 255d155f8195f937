/** The escrow (escrow.ts) with scrypt off the event loop, in Node's thread pool: what the commands use. */
import type { Random } from '../../src/host.js';
import { SCRYPT_WRITE_LOG_N } from '../../src/age/scrypt.js';
import { nodeScrypt } from '../scrypt-async.js';
import { openEscrowWith, sealEscrowWith } from './escrow.js';
import type { AccountKeys } from './account-core.js';

export function sealEscrowAsync(a: AccountKeys, passphrase: string, random: Random, logN = SCRYPT_WRITE_LOG_N): Promise<Uint8Array> {
  return sealEscrowWith(nodeScrypt, a, passphrase, random, logN);
}

export function openEscrowAsync(escrow: Uint8Array, passphrase: string): Promise<AccountKeys> {
  return openEscrowWith(nodeScrypt, escrow, passphrase);
}
