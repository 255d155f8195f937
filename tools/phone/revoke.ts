/**
 * `sealbell phone revoke`: a signed roster update without a lost or stolen phone.
 * Once the doorbell takes it, clips recorded afterwards are not sealed to that phone.
 */
import { SealbellError } from '../../src/errors.js';
import { signRoster, type SignedRoster } from '../../src/roster/roster.js';
import { encodeRosterBundle } from '../../src/roster/bundle.js';
import { listDevices, readRoster, verifyBundle, writeRoster, type AccountKeys } from './state.js';
import { withoutPhone } from './roster-edit.js';
import type { RosterUpdate } from './enroll.js';

export interface PhoneRevokeArgs {
  dir: string;
  /** the phone's name, age recipient or auth key */
  phone: string;
  /** only this doorbell (default: every doorbell this phone knows, or those in `rosters`) */
  deviceId?: string;
  /** current roster bundles from the relay, if fresher than the ones kept here */
  rosters?: Uint8Array[];
  /** the account keys: unlockAccount(dir, passphrase) */
  account: AccountKeys;
}

export function phoneRevoke(a: PhoneRevokeArgs): RosterUpdate[] {
  const account = a.account;
  const key = account.authority.publicKey;
  const newest = new Map<string, SignedRoster>();
  const consider = (s: SignedRoster | undefined) => {
    if (s && (newest.get(s.roster.device)?.roster.epoch ?? 0) < s.roster.epoch) newest.set(s.roster.device, s);
  };
  for (const id of listDevices(a.dir)) consider(readRoster(a.dir, id, key));
  for (const b of a.rosters ?? []) consider(verifyBundle(b, key));
  const targets = [...newest.values()].filter((s) => !a.deviceId || s.roster.device === a.deviceId);
  if (targets.length === 0) throw new SealbellError('PHONE_STATE', a.deviceId ? `no roster known for ${a.deviceId}` : 'no doorbell roster known to this phone');
  const updates = targets
    .filter((s) => !a.deviceId ? hasPhoneIn(s, a.phone) : true)
    .map((s) => {
      const roster = signRoster(withoutPhone(s.roster, a.phone), account.authority);
      writeRoster(a.dir, roster);
      return { deviceId: roster.roster.device, roster, bundle: encodeRosterBundle(roster) };
    });
  if (updates.length === 0) throw new SealbellError('PHONE_NOT_FOUND', `no phone "${a.phone}" in any known roster`);
  return updates;
}

function hasPhoneIn(s: SignedRoster, who: string): boolean {
  return s.roster.phones.some((p) => p.name === who || p.recipient === who || p.auth === who);
}
