/**
 * Roster changes the phone signs: each is the successor of the current roster (epoch + 1,
 * chained to it by its hash) with one change.
 */
import { SealbellError } from '../../src/errors.js';
import { encodeAuthKey, successor, type Roster, type RosterPhone } from '../../src/roster/roster.js';
import { authKeyPublic, type PhoneKeys } from './state.js';

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
