/**
 * `sealbell phone enroll`: a further phone, from the passphrase and the escrow
 * alone. Opens the escrow (account keys), makes this phone's keys, and signs each
 * given doorbell roster again with this phone added (epoch + 1), for the relay to deliver.
 */
import type { Random } from '../../src/host.js';
import { SealbellError } from '../../src/errors.js';
import { systemRandom } from '../../src/crypto/noble.js';
import { signRoster, type SignedRoster } from '../../src/roster/roster.js';
import { encodeRosterBundle } from '../../src/roster/bundle.js';
import { hasPhone, verifyBundle, writeAuthorityPub, writeEscrow, writePhone, writeRoster, type AccountKeys } from './state.js';
import { openEscrow } from './escrow.js';
import { newPhoneKeys } from './init.js';
import { rosterEntry, withPhone } from './roster-edit.js';

export interface PhoneEnrollArgs {
  dir: string;
  passphrase: string;
  escrow: Uint8Array;
  /** the escrow already opened with the passphrase (saves a second scrypt) */
  account?: AccountKeys;
  /** each doorbell's current signed roster bundle (from the relay) */
  rosters: Uint8Array[];
  name: string;
  random?: Random;
}

export interface RosterUpdate {
  deviceId: string;
  roster: SignedRoster;
  /** the bundle to deliver to the doorbell */
  bundle: Uint8Array;
}

export interface PhoneEnrollResult {
  recipient: string;
  updates: RosterUpdate[];
}

export function phoneEnroll(a: PhoneEnrollArgs): PhoneEnrollResult {
  const random = a.random ?? systemRandom;
  if (hasPhone(a.dir)) throw new SealbellError('PHONE_EXISTS', `${a.dir} already holds a phone`);
  const account = a.account ?? openEscrow(a.escrow, a.passphrase);
  const current = a.rosters.map((b) => verifyBundle(b, account.authority.publicKey));
  const phone = newPhoneKeys(a.name, random);
  const updates = current.map((c) => {
    const roster = signRoster(withPhone(c.roster, rosterEntry(phone)), account.authority);
    return { deviceId: roster.roster.device, roster, bundle: encodeRosterBundle(roster) };
  });
  writeAuthorityPub(a.dir, account);
  writePhone(a.dir, phone);
  writeEscrow(a.dir, a.escrow);
  for (const u of updates) writeRoster(a.dir, u.roster);
  return { recipient: phone.recipient, updates };
}
