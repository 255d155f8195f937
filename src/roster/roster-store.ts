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
import { rosterHash } from './roster-hash.js';
import { encodeRoster, parseRoster, verifyRoster, type Roster, type SignedRoster } from './roster.js';
import { encodeRosterBundle, parseRosterBundle } from './bundle.js';

export const ROSTER_KEY = 'roster.signed';
const MAGIC = utf8ToBytes('SBS1');

export interface StoredRoster extends SignedRoster {
  /** the account authority's Ed25519 public key: only it may sign updates */
  authority: Uint8Array;
}

/** The recipients a Doorbell seals to under `roster`: every phone, plus the history recipient. */
export function recipientsOf(roster: Roster): RecipientSet {
  const recipients = roster.phones.map((p) => p.recipient);
  if (roster.history !== null) recipients.push(roster.history);
  return { epoch: roster.epoch, recipients, roster: rosterHash(encodeRoster(roster)) };
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
   *   ROSTER_FORMAT / ROSTER_SIGNATURE  malformed, or not signed by `authority`
   *   ROSTER_AUTHORITY                  `authority` is not the stored account authority
   *   ROSTER_DEVICE                     the roster is for another device
   *   ROSTER_EPOCH                      its epoch is not above the stored one (replay or rollback)
   * `authority` defaults to the stored one (a roster update); setup passes the one it received.
   */
  check(bundle: Uint8Array, authority?: Uint8Array): StoredRoster {
    const current = this.load();
    const key = authority ?? current?.authority;
    if (key === undefined) throw new SealbellError('ROSTER_AUTHORITY', 'no account authority yet: the doorbell has not been set up');
    if (!(key instanceof Uint8Array) || key.length !== 32) throw new SealbellError('ROSTER_AUTHORITY', 'the account authority key must be 32 bytes');
    if (current && !equalBytes(current.authority, key)) {
      throw new SealbellError('ROSTER_AUTHORITY', 'this doorbell belongs to another account authority (factory reset it to change owner)');
    }
    const { bytes, signature } = parseRosterBundle(bundle);
    const signed = verifyRoster(bytes, signature, key);
    if (signed.roster.device !== this.deviceId) {
      throw new SealbellError('ROSTER_DEVICE', `the roster is for device ${signed.roster.device}, this is ${this.deviceId}`);
    }
    if (current && signed.roster.epoch <= current.roster.epoch) {
      throw new SealbellError('ROSTER_EPOCH', `roster epoch ${signed.roster.epoch} is not newer than the stored epoch ${current.roster.epoch} (replayed or rolled back)`);
    }
    return { ...signed, authority: key.slice() };
  }

  /** check(), then store atomically (one set()). Returns what is now stored. */
  accept(bundle: Uint8Array, authority?: Uint8Array): StoredRoster {
    return this.commit(this.check(bundle, authority));
  }

  /**
   * Stores a roster that check() returned (setup checks first, stores later).
   * Refuses it if the stored roster moved on in between (ROSTER_EPOCH / ROSTER_AUTHORITY).
   */
  commit(next: StoredRoster): StoredRoster {
    const current = this.load();
    if (current && !equalBytes(current.authority, next.authority)) {
      throw new SealbellError('ROSTER_AUTHORITY', 'this doorbell belongs to another account authority');
    }
    if (current && next.roster.epoch <= current.roster.epoch) {
      throw new SealbellError('ROSTER_EPOCH', `roster epoch ${next.roster.epoch} is not newer than the stored epoch ${current.roster.epoch}`);
    }
    this.store.set(ROSTER_KEY, new Writer().bytes(MAGIC).bytes(next.authority).bytes(encodeRosterBundle(next)).finish());
    return next;
  }

  /** Factory reset. */
  wipe(): void {
    this.store.delete(ROSTER_KEY);
  }
}
