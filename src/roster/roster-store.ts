/**
 * The device's roster: the one signed by the account authority, for this
 * device, with the highest epoch seen. Kept under one KeyValueStore key together
 * with the authority key that checked it, so a crash during an update leaves the
 * old roster or the new one, never a mix, and never a roster with another authority.
 *
 *   record = "SBS1" ‖ authority Ed25519 public key (32) ‖ roster bundle (bundle.ts)
 */
import type { KeyValueStore } from '../host.js';
import type { RecipientSet } from '../clip/prepared-header.js';
import { equalBytes, utf8ToBytes } from '../bytes.js';
import { SealbellError } from '../errors.js';
import { Reader, Writer } from '../wire.js';
import { encodeRoster, nextAuthority, parseRoster, rosterHash, verifyRoster, type Roster, type SignedRoster } from './roster.js';
import { encodeRosterBundle, parseRosterBundle, parseRosterRun, type RosterBundle } from './bundle.js';

export const ROSTER_KEY = 'roster.signed';
const MAGIC = utf8ToBytes('SBS1');

export interface StoredRoster extends SignedRoster {
  /**
   * the account authority's Ed25519 public key that signed this roster; it signs the next
   * one too unless this roster hands over to another (authorityAfter)
   */
  authority: Uint8Array;
}

/** The recipients a Doorbell seals to under `roster`: every phone, plus the history recipient. */
export function recipientsOf(roster: Roster): RecipientSet {
  const recipients = roster.phones.map((p) => p.recipient);
  if (roster.history !== null) recipients.push(roster.history);
  return { epoch: roster.epoch, recipients, roster: rosterHash(encodeRoster(roster)) };
}

/** The authority that may sign the roster after `held`: its handover key, else the one that signed it. */
export function authorityAfter(held: StoredRoster): Uint8Array {
  return nextAuthority(held.roster, held.authority);
}

function checkAfter(current: StoredRoster | undefined, bundle: RosterBundle, deviceId: string, authority?: Uint8Array): StoredRoster {
  const expected = current && authorityAfter(current);
  const key = authority ?? expected;
  if (key === undefined) throw new SealbellError('ROSTER_AUTHORITY', 'no account authority yet: the doorbell has not been set up');
  if (!(key instanceof Uint8Array) || key.length !== 32) throw new SealbellError('ROSTER_AUTHORITY', 'the account authority key must be 32 bytes');
  if (expected && !equalBytes(expected, key)) {
    throw new SealbellError('ROSTER_AUTHORITY', 'this doorbell belongs to another account authority (factory reset it to change owner)');
  }
  const signed = verifyRoster(bundle.bytes, bundle.signature, key);
  if (signed.roster.device !== deviceId) {
    throw new SealbellError('ROSTER_DEVICE', `the roster is for device ${signed.roster.device}, this is ${deviceId}`);
  }
  const next = { ...signed, authority: key.slice() };
  if (current) checkSuccessor(current, next);
  return next;
}

/**
 * Checks a run of successors (bundle.ts) after `current` without storing anything (the
 * relay checks a phone's update the same way): returns each roster, in order.
 */
export function checkRun(current: StoredRoster, run: Uint8Array, deviceId: string): StoredRoster[] {
  const taken: StoredRoster[] = [];
  for (const b of parseRosterRun(run)) {
    current = checkAfter(current, b, deviceId);
    taken.push(current);
  }
  return taken;
}

/** Throws unless `next` is the successor of exactly `current` (see RosterStore.check). */
export function checkSuccessor(current: StoredRoster, next: StoredRoster): void {
  if (!equalBytes(authorityAfter(current), next.authority)) {
    throw new SealbellError('ROSTER_AUTHORITY', 'this doorbell belongs to another account authority');
  }
  const held = current.roster.epoch;
  const epoch = next.roster.epoch;
  if (epoch === held && !equalBytes(current.bytes, next.bytes)) {
    throw new SealbellError('ROSTER_FORK', `a second, different roster for epoch ${epoch}: refused (the doorbell keeps the one it holds)`);
  }
  if (epoch <= held) {
    throw new SealbellError('ROSTER_EPOCH', `roster epoch ${epoch} is not newer than the stored epoch ${held} (replayed or rolled back)`);
  }
  if (epoch > held + 1) throw new SealbellError('ROSTER_GAP', `roster epoch ${epoch} skips epoch ${held + 1}: its predecessor has not arrived`);
  if (next.roster.prev !== rosterHash(current.bytes)) {
    throw new SealbellError('ROSTER_FORK', `roster epoch ${epoch} does not follow the roster this doorbell holds (epoch ${held}): a fork, refused`);
  }
}

export class RosterStore {
  constructor(
    private readonly store: KeyValueStore,
    /** this device's id (DeviceIdentity.deviceId): a roster for another device is refused */
    readonly deviceId: string,
  ) {}

  /**
   * The stored roster, or undefined before setup. Its signature was checked when it
   * was stored; here the record is parsed strictly (ROSTER_STORE if it is corrupt).
   */
  load(): StoredRoster | undefined {
    const raw = this.store.get(ROSTER_KEY);
    if (raw === undefined) return undefined;
    try {
      const r = new Reader(raw, 'ROSTER_STORE', 'stored roster');
      if (!equalBytes(r.bytesN(MAGIC.length, 'magic'), MAGIC)) r.fail('bad magic');
      const authority = r.bytesN(32, 'authority');
      const bundle = parseRosterBundle(r.rest());
      return { authority, roster: parseRoster(bundle.bytes), bytes: bundle.bytes, signature: bundle.signature };
    } catch (e) {
      throw new SealbellError('ROSTER_STORE', `the stored roster is corrupt: ${(e as Error).message}`);
    }
  }

  /**
   * Checks a signed roster against the stored one without storing it:
   *   ROSTER_FORMAT / ROSTER_SIGNATURE  malformed, or not signed by the account authority
   *   ROSTER_AUTHORITY                  `authority` is not the account authority the stored roster names
   *   ROSTER_DEVICE                     the roster is for another device
   *   ROSTER_EPOCH                      not newer than the stored one (replay or rollback)
   *   ROSTER_FORK                       another roster for the stored epoch, or not chained to the stored one
   *   ROSTER_GAP                        it skips an epoch (the successor in between is missing)
   * `authority` defaults to the stored one (an update); setup passes the one it received.
   */
  check(bundle: Uint8Array, authority?: Uint8Array): StoredRoster {
    return checkAfter(this.load(), parseRosterBundle(bundle), this.deviceId, authority);
  }

  /** check(), then store atomically (one set()). Returns what is now stored. */
  accept(bundle: Uint8Array, authority?: Uint8Array): StoredRoster {
    return this.commit(this.check(bundle, authority));
  }

  /**
   * A run of successors (bundle.ts): each checked as the successor of the one before, the
   * first of what is stored; all or nothing, and only the last is stored. Returns each
   * roster taken, in order (the last is what is now stored).
   */
  acceptRun(run: Uint8Array, held?: StoredRoster): StoredRoster[] {
    // `held`: what load() just returned, when the caller has it (a load parses and checks every key)
    const before = held ?? this.load();
    if (!before) throw new SealbellError('ROSTER_AUTHORITY', 'no account authority yet: the doorbell has not been set up');
    const taken = checkRun(before, run, this.deviceId);
    this.write(taken[taken.length - 1]);
    return taken;
  }

  /**
   * Stores a roster that check() returned (setup checks first, stores later).
   * Refuses it if the stored roster moved on in between.
   */
  commit(next: StoredRoster): StoredRoster {
    const current = this.load();
    if (current) checkSuccessor(current, next);
    this.write(next);
    return next;
  }

  private write(next: StoredRoster): void {
    this.store.set(ROSTER_KEY, new Writer().bytes(MAGIC).bytes(next.authority).bytes(encodeRosterBundle(next)).finish());
  }

  /** Factory reset. */
  wipe(): void {
    this.store.delete(ROSTER_KEY);
  }
}
