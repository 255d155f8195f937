/**
 * Roster changes the phone signs: each is the successor of the current roster (epoch + 1,
 * chained to it by its hash) with one change. No files here: the phone commands (enroll.ts,
 * revoke.ts) and the web app (web/app) sign the same updates.
 */
import { SealbellError } from '../../src/errors.js';
import { anyIdentityToRecipient } from '../../src/age/recipients.js';
import type { SigningKey } from '../../src/minisign.js';
import { encodeAuthKey, signRoster, successor, type Roster, type RosterPhone, type SignedRoster } from '../../src/roster/roster.js';
import { encodeRosterRun } from '../../src/roster/bundle.js';
import type { AccountKeys, PhoneKeys } from './account-core.js';
import { authKeyPublic } from './account-core.js';
import { accountSigners, type EditBase } from './roster-chain.js';

export function rosterEntry(p: PhoneKeys): RosterPhone {
  return { name: p.name, recipient: p.recipient, auth: encodeAuthKey(authKeyPublic(p.auth)) };
}

/** The current roster plus `phone` (replacing an entry with the same name), epoch + 1. */
export function withPhone(current: Roster, phone: RosterPhone): Roster {
  const clash = current.phones.find((p) => p.name !== phone.name && (p.recipient === phone.recipient || p.auth === phone.auth));
  if (clash) throw new SealbellError('PHONE_EXISTS', `these keys are already enrolled as "${clash.name}"`);
  const phones = current.phones.filter((p) => p.name !== phone.name).concat([phone]);
  return successor(current, { phones });
}

/** The current roster without the phone named `who` (or with that recipient or auth key), epoch + 1. */
export function withoutPhone(current: Roster, who: string): Roster {
  const phones = current.phones.filter((p) => p.name !== who && p.recipient !== who && p.auth !== who);
  if (phones.length === current.phones.length) throw new SealbellError('PHONE_NOT_FOUND', `no phone "${who}" in the roster of ${current.device}`);
  if (phones.length === 0) throw new SealbellError('PHONE_LAST', 'cannot remove the last phone: nobody could watch the clips (factory reset the doorbell instead)');
  return successor(current, { phones });
}

export interface RosterUpdate {
  deviceId: string;
  /** the new roster */
  roster: SignedRoster;
  /**
   * what to deliver to the doorbell: the new roster's bundle, after any not yet acknowledged
   * successors it builds on (a run, bundle.ts)
   */
  bundle: Uint8Array;
}

/** The update: `roster` after the run it builds on. */
export function rosterUpdate(roster: SignedRoster, run: SignedRoster[] = []): RosterUpdate {
  return { deviceId: roster.roster.device, roster, bundle: encodeRosterRun([...run, roster]) };
}

/** Each doorbell's roster (from `bases`) with `phone` added, signed by the authority it follows. */
export function enrollUpdates(account: AccountKeys, bases: EditBase[], phone: RosterPhone): RosterUpdate[] {
  const signers = accountSigners(account);
  return bases.map((c) => {
    const next = withPhone(c.base.roster, phone);
    // A doorbell still on an authority the account rotated away from: this update hands it over too.
    const handover = c.signer === 0 ? {} : { handover: encodeAuthKey(account.authority.publicKey) };
    return rosterUpdate(signRoster({ ...next, ...handover }, signers[c.signer]), c.run);
  });
}

/**
 * The revocation's roster updates over every doorbell's edit base (`all`): `who` removed where
 * listed (only from `deviceId` if given); with `rotate`, every doorbell also moves to the new
 * history recipient and authority (revoke.ts says why).
 */
export function revokeUpdates(a: { all: EditBase[]; who: string; deviceId?: string; account: AccountKeys; rotate?: { authority: SigningKey; history: string } }): RosterUpdate[] {
  const targets = a.all.filter((s) => !a.deviceId || s.base.roster.device === a.deviceId);
  if (targets.length === 0) throw new SealbellError('PHONE_STATE', a.deviceId ? `no roster known for ${a.deviceId}` : 'no doorbell roster known to this phone');
  const removeFrom = targets.filter((s) => (!a.deviceId ? hasPhoneIn(s.base, a.who) : true));
  if (removeFrom.length === 0) throw new SealbellError('PHONE_NOT_FOUND', `no phone "${a.who}" in any known roster`);
  const r = a.rotate;
  // A rotation reaches every doorbell of the account: one left on the old authority would
  // still take rosters signed with the removed member's copy of it.
  return (r ? a.all : removeFrom).map((s) => {
    const base = s.base.roster;
    let next: Roster = removeFrom.includes(s) ? withoutPhone(base, a.who) : successor(base, {});
    if (r) next = { ...next, history: anyIdentityToRecipient(r.history), handover: encodeAuthKey(r.authority.publicKey) };
    return rosterUpdate(signRoster(next, accountSigners(a.account)[s.signer]), s.run);
  });
}

function hasPhoneIn(s: SignedRoster, who: string): boolean {
  return s.roster.phones.some((p) => p.name === who || p.recipient === who || p.auth === who);
}
