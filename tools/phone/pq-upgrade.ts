/**
 * `sealbell phone pq-upgrade`: moves an existing (classic X25519) account to post-quantum
 * hybrid keys (mlkem768x25519), one phone at a time, with ordinary signed roster updates.
 *
 * Each phone runs it once, with the passphrase. It gives this phone a new
 * AGE-SECRET-KEY-PQ-1… identity (the classic one is kept after it in identity.key, to open
 * older clips) and signs each doorbell's roster again, epoch + 1, with:
 *   - this phone's post-quantum recipient in place of its classic one;
 *   - the phones that have already moved, unchanged;
 *   - the phones still classic left out: a roster is never a mix (ROSTER_KEM_MIX), so they
 *     receive no new clips until they run pq-upgrade themselves (listed in `waiting`);
 *   - a post-quantum history recipient.
 * The first phone to run it also moves the account: a new post-quantum history identity,
 * the classic one kept in the escrow under "previous" (it opens older clips), the escrow
 * sealed again to the same passphrase. Replacing the escrow on the relay needs its write
 * token, which the phone that made the account holds, so the account moves from that phone.
 */
import type { Random } from '../../src/host.js';
import { SealbellError } from '../../src/errors.js';
import { systemRandom } from '../../src/crypto/noble.js';
import { anyIdentityToRecipient, generateAgeIdentity, identityKem, recipientKem } from '../../src/age/recipients.js';
import { encodeAuthKey, signRoster, successor, type Roster } from '../../src/roster/roster.js';
import { accountSigners, type EditBase } from './roster-sync.js';
import { readPhone, verifyBundle, writeEscrow, writePhone, writeRoster, type AccountKeys, type PhoneKeys } from './state.js';
import { openEscrow, sealEscrow } from './escrow.js';
import { rosterEntry } from './roster-edit.js';
import { rosterUpdate, type RosterUpdate } from './enroll.js';

export interface PhonePqUpgradeArgs {
  dir: string;
  passphrase: string;
  /** the account's current escrow (from the relay: another phone may have moved the account) */
  escrow: Uint8Array;
  /** each doorbell's current signed roster bundle (trusted as given: a test, or a file) */
  rosters: Uint8Array[];
  /** instead: where each doorbell's edit starts, from what it acknowledged (roster-sync.ts editBase) */
  bases?: EditBase[];
  /** whether this phone may replace the escrow on the relay (it holds the write token) */
  canReplaceEscrow: boolean;
  random?: Random;
  /** scrypt work factor of a new escrow (tests may lower it; default 18) */
  logN?: number;
}

export interface PhonePqUpgradeResult {
  recipient: string;
  updates: RosterUpdate[];
  /** the new escrow when this run moved the account (upload it), else undefined */
  escrow?: Uint8Array;
  /** names of the phones still classic, left out of the rosters until they upgrade */
  waiting: string[];
}

/** The successor of the roster with `me` post-quantum, classic phones left out, a post-quantum history. */
function upgradedRoster(current: Roster, me: PhoneKeys, historyRecipient: string): Roster {
  const moved = current.phones.filter((p) => p.name !== me.name && recipientKem(p.recipient) === 'mlkem768x25519');
  return successor(current, { phones: [...moved, rosterEntry(me)], history: current.history === null ? null : historyRecipient });
}

export function phonePqUpgrade(a: PhonePqUpgradeArgs): PhonePqUpgradeResult {
  const random = a.random ?? systemRandom;
  const before = readPhone(a.dir);
  if (identityKem(before.identity) === 'mlkem768x25519') {
    throw new SealbellError('PHONE_STATE', 'this phone already has post-quantum keys');
  }
  let account: AccountKeys = openEscrow(a.escrow, a.passphrase);
  let escrow: Uint8Array | undefined;
  if (identityKem(account.history) === 'x25519') {
    if (!a.canReplaceEscrow) {
      throw new SealbellError('PHONE_STATE', 'the account is still classic: run `phone pq-upgrade` first on the phone that made the account (it can replace the escrow on the relay)');
    }
    account = { ...account, history: generateAgeIdentity('mlkem768x25519', random), previous: [account.history, ...(account.previous ?? [])] };
    escrow = sealEscrow(account, a.passphrase, random, a.logN);
  }
  const bases: EditBase[] = a.bases ?? a.rosters.map((b) => ({ base: { ...verifyBundle(b, account.authority.publicKey), authority: account.authority.publicKey }, run: [], signer: 0, alarms: [] }));
  const signers = accountSigners(account);
  const identity = generateAgeIdentity('mlkem768x25519', random);
  const me: PhoneKeys = { ...before, identity, recipient: anyIdentityToRecipient(identity), previous: [before.identity, ...(before.previous ?? [])] };
  const historyRecipient = anyIdentityToRecipient(account.history);
  const waiting = new Set<string>();
  const updates = bases.map((c) => {
    for (const p of c.base.roster.phones) if (p.name !== me.name && recipientKem(p.recipient) === 'x25519') waiting.add(p.name);
    // a doorbell still on an authority a revocation rotated away from: handed over too
    const handover = c.signer === 0 ? {} : { handover: encodeAuthKey(account.authority.publicKey) };
    return rosterUpdate(signRoster({ ...upgradedRoster(c.base.roster, me, historyRecipient), ...handover }, signers[c.signer]), c.run);
  });
  // Nothing is written before every roster was signed: a failure leaves the phone as it was.
  writePhone(a.dir, me);
  if (escrow) writeEscrow(a.dir, escrow);
  else writeEscrow(a.dir, a.escrow);
  for (const u of updates) writeRoster(a.dir, u.roster);
  return { recipient: me.recipient, updates, escrow, waiting: [...waiting] };
}
