/**
 * `sealbell phone enroll`: a further phone, from the passphrase and the escrow
 * alone. Opens the escrow (account keys), makes this phone's keys, and signs each
 * given doorbell roster again with this phone added (epoch + 1), for the relay to deliver.
 * The new phone's keys are the account's kind: post-quantum (AGE-SECRET-KEY-PQ-1…) when
 * the account history key is, classic otherwise, so the rosters stay unmixed.
 */
import type { Random } from '../../src/host.js';
import { SealbellError } from '../../src/errors.js';
import { systemRandom } from '../../src/crypto/noble.js';
import { type EditBase } from './roster-sync.js';
import { hasPhone, verifyBundle, writeAuthorityPub, writeEscrow, writePhone, writeRoster, type AccountKeys } from './state.js';
import { openEscrow } from './escrow.js';
import { identityKem } from '../../src/age/recipients.js';
import { newPhoneKeys } from './init.js';
import { enrollUpdates, rosterEntry, type RosterUpdate } from './roster-edit.js';

export interface PhoneEnrollArgs {
  dir: string;
  passphrase: string;
  escrow: Uint8Array;
  /** the escrow already opened with the passphrase (saves a second scrypt) */
  account?: AccountKeys;
  /** each doorbell's current signed roster bundle (trusted as given: a test, or a file) */
  rosters: Uint8Array[];
  /**
   * instead: where each doorbell's edit starts, from what it acknowledged (roster-sync.ts
   * editBase, checked with the authority in `escrow`)
   */
  bases?: EditBase[];
  /** keep the new rosters in `dir` now (default); the relay path keeps them once published */
  keep?: boolean;
  name: string;
  random?: Random;
}

export { rosterUpdate, type RosterUpdate } from './roster-edit.js';

export interface PhoneEnrollResult {
  recipient: string;
  updates: RosterUpdate[];
}

export function phoneEnroll(a: PhoneEnrollArgs): PhoneEnrollResult {
  const random = a.random ?? systemRandom;
  if (hasPhone(a.dir)) throw new SealbellError('PHONE_EXISTS', `${a.dir} already holds a phone`);
  const account = a.account ?? openEscrow(a.escrow, a.passphrase);
  const bases: EditBase[] = a.bases ?? a.rosters.map((b) => ({ base: { ...verifyBundle(b, account.authority.publicKey), authority: account.authority.publicKey }, run: [], signer: 0, alarms: [] }));
  const phone = newPhoneKeys(a.name, random, identityKem(account.history));
  const updates = enrollUpdates(account, bases, rosterEntry(phone));
  writeAuthorityPub(a.dir, account);
  writePhone(a.dir, phone);
  writeEscrow(a.dir, a.escrow);
  if (a.keep !== false) for (const u of updates) writeRoster(a.dir, u.roster);
  return { recipient: phone.recipient, updates };
}
