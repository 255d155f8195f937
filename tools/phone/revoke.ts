/**
 * `sealbell phone revoke`: a signed roster update without a lost or stolen phone.
 * Once the doorbell takes it, clips recorded afterwards are not sealed to that phone.
 *
 * With `rotate` (what `phone revoke` through the relay does), the update also moves the
 * account to a new history recipient and hands it over to a new account authority, for
 * every doorbell of the account: the removed member's copy of the old account keys then
 * signs nothing a doorbell takes and opens nothing recorded afterwards.
 */
import type { SignedRoster } from '../../src/roster/roster.js';
import type { SigningKey } from '../../src/minisign.js';
import { listDevices, readRoster, verifyBundle, writeRoster, type AccountKeys } from './state.js';
import { revokeUpdates, type RosterUpdate } from './roster-edit.js';
import type { EditBase } from './roster-sync.js';

export interface PhoneRevokeArgs {
  dir: string;
  /** the phone's name, age recipient or auth key */
  phone: string;
  /** only this doorbell (default: every doorbell this phone knows, or those in `rosters`) */
  deviceId?: string;
  /** current roster bundles from elsewhere, if fresher than the ones kept here (trusted as signed) */
  rosters?: Uint8Array[];
  /** instead: where each doorbell's edit starts, from what it acknowledged (roster-sync.ts editBase) */
  bases?: EditBase[];
  /** the account keys: unlockAccount(dir, passphrase) */
  account: AccountKeys;
  /** the account's next keys: every doorbell's roster names them (handover, history) */
  rotate?: { authority: SigningKey; history: string };
  /** keep the new rosters in `dir` now (default); the relay path keeps them once published */
  keep?: boolean;
}

export function phoneRevoke(a: PhoneRevokeArgs): RosterUpdate[] {
  const account = a.account;
  const key = account.authority.publicKey;
  const newest = new Map<string, EditBase>();
  const consider = (s: SignedRoster | undefined) => {
    if (s && (newest.get(s.roster.device)?.base.roster.epoch ?? 0) < s.roster.epoch) newest.set(s.roster.device, { base: { ...s, authority: key }, run: [], signer: 0, alarms: [] });
  };
  if (a.bases) for (const b of a.bases) newest.set(b.base.roster.device, b);
  else {
    for (const id of listDevices(a.dir)) consider(readRoster(a.dir, id, key));
    for (const b of a.rosters ?? []) consider(verifyBundle(b, key));
  }
  const edited = revokeUpdates({ all: [...newest.values()], who: a.phone, deviceId: a.deviceId, account, rotate: a.rotate });
  if (a.keep !== false) for (const u of edited) writeRoster(a.dir, u.roster);
  return edited;
}
