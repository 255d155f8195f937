/**
 * What each doorbell holds, checked, and where an edit starts (roster-sync.ts tells the
 * whole story): the parts that need no files, shared by the phone commands and the web
 * app (web/app), which keeps its last published roster in IndexedDB instead of roster.sbr.
 * `local` is that last roster this phone signed or saw, unchecked.
 */
import { base64 } from '@scure/base';
import { equalBytes } from '../../src/bytes.js';
import { SealbellError } from '../../src/errors.js';
import { decodePublicKey, keyIdHex, keyIdOf, type SigningKey } from '../../src/minisign.js';
import { parseRosterBundle, parseRosterRun, type RosterBundle } from '../../src/roster/bundle.js';
import { parseRoster, rosterHash, verifyRoster } from '../../src/roster/roster.js';
import { verifyRosterAck } from '../../src/roster/ack.js';
import { authorityAfter, type StoredRoster } from '../../src/roster/roster-store.js';
import type { HeldRosterView } from '../relay/rosters.js';

/** The roster a doorbell acknowledged, checked, with what the relay has pending after it. */
export interface AckedRoster {
  deviceId: string;
  /** the roster the doorbell holds; `authority` is the key that signed it */
  held: StoredRoster;
  ack: string;
  /** when the relay says it heard the acknowledgement (its clock: informative only) */
  at: number;
  /** the relay's pending run after it, unchecked */
  pending: RosterBundle[];
}

export function forkAlarm(deviceId: string, epoch: number, why: string): SealbellError {
  return new SealbellError(
    'ROSTER_FORK',
    `ALARM: doorbell ${deviceId} has two different rosters for epoch ${epoch}, both signed by the account authority (${why}). ` +
      'The relay, or someone holding the account keys, forked its roster: a removed phone may be back in it. ' +
      'Run `sealbell phone status` and revoke again.',
  );
}

/** Checks what the relay says the doorbell holds: ROSTER_ACK unless the doorbell signed it. */
export function checkHeldViewWith(devicePub: string, deviceId: string, v: HeldRosterView): AckedRoster {
  const device = decodePublicKey(devicePub);
  let held: StoredRoster;
  try {
    const { bytes, signature } = parseRosterBundle(base64.decode(v.bundle));
    const authority = base64.decode(v.authority);
    held = { ...verifyRoster(bytes, signature, authority), authority };
  } catch (e) {
    throw new SealbellError('ROSTER_ACK', `doorbell ${deviceId}: the relay's copy of the roster it holds does not verify: ${(e as Error).message}`);
  }
  if (held.roster.device !== deviceId) throw new SealbellError('ROSTER_ACK', `doorbell ${deviceId}: the relay shows the roster of ${held.roster.device}`);
  verifyRosterAck(held.bytes, held.roster, v.ack, device);
  let pending: RosterBundle[] = [];
  try {
    pending = v.pending ? parseRosterRun(base64.decode(v.pending)) : [];
  } catch {
    // a garbled pending run is no roster: ignored (the doorbell would refuse it too)
  }
  return { deviceId, held, ack: v.ack, at: v.updated, pending };
}

/** `b` as a roster signed by `authority` for this doorbell, or undefined. */
function signedBy(b: RosterBundle, authority: Uint8Array, deviceId: string): StoredRoster | undefined {
  try {
    const s = verifyRoster(b.bytes, b.signature, authority);
    return s.roster.device === deviceId ? { ...s, authority } : undefined;
  } catch {
    return undefined;
  }
}

export interface EditBase {
  /** the roster an edit is the successor of */
  base: StoredRoster;
  /** not yet acknowledged successors of the acknowledged roster up to `base`: published again in front of the edit */
  run: StoredRoster[];
  /**
   * which of the given authorities signs the edit (0: the account's current one; another: an
   * authority rotated away from, still followed by this doorbell: the edit must hand it over)
   */
  signer: number;
  /** forks seen (ROSTER_FORK messages naming the doorbell): the edit starts from what the doorbell acknowledged anyway */
  alarms: string[];
}

/**
 * Where an edit starts for this doorbell: the acknowledged roster, followed by any chain of
 * successors (this phone's own unacknowledged roster, the relay's pending run) that leads
 * to one of `authorities` (the account's current one first, then earlier ones). Two
 * authority-signed rosters for one epoch are a fork: reported in `alarms`, and the edit
 * starts from what the doorbell acknowledged (it is what the doorbell holds; the other is
 * dropped). ROSTER_AUTHORITY when the doorbell follows none of `authorities` and no
 * handover to one is at hand (withheld by the relay, or this passphrase is an old one).
 */
export function editBaseWith(local: RosterBundle | undefined, acked: AckedRoster, authorities: Uint8Array[], extra: RosterBundle[] = []): EditBase {
  const { base, run, alarms } = chainFromWith(local, acked, extra);
  const after = authorityAfter(base);
  const signer = authorities.findIndex((k) => equalBytes(k, after));
  if (signer < 0) throw notOurAuthority(acked.deviceId, after, authorities[0]);
  return { base, run, signer, alarms };
}

export function notOurAuthority(id: string, follows: Uint8Array, ours: Uint8Array): SealbellError {
  return new SealbellError(
    'ROSTER_AUTHORITY',
    `doorbell ${id} follows account authority ${keyIdHex(keyIdOf(follows))}, not this account's ${keyIdHex(keyIdOf(ours))}: ` +
      'either the roster handing it over has not reached it (the relay is withholding it: see `sealbell phone status`), ' +
      'or this passphrase is an old one (a revocation made a new one)',
  );
}

/**
 * The acknowledged roster and the chain of not yet acknowledged successors after it that this
 * phone or the relay holds (each signed by the authority the one before names, and chained to
 * it by hash), and the forks seen on the way.
 */
export function chainFromWith(local: RosterBundle | undefined, acked: AckedRoster, extra: RosterBundle[] = []): Omit<EditBase, 'signer'> {
  const id = acked.deviceId;
  const candidates = [...(local ? [local] : []), ...acked.pending, ...extra];
  const alarms: string[] = [];
  const epochOf = (b: RosterBundle) => {
    try {
      return parseRoster(b.bytes).epoch;
    } catch {
      return -1;
    }
  };
  // Another roster for the acknowledged epoch, signed by the same authority: a fork.
  for (const b of candidates) {
    if (epochOf(b) === acked.held.roster.epoch && !equalBytes(b.bytes, acked.held.bytes) && signedBy(b, acked.held.authority, id)) {
      alarms.push(forkAlarm(id, acked.held.roster.epoch, 'the doorbell acknowledged one, this phone or the relay holds another').message);
      break;
    }
  }
  const run: StoredRoster[] = [];
  let cur = acked.held;
  for (;;) {
    const key = authorityAfter(cur);
    const next = new Map<string, StoredRoster>();
    for (const b of candidates) {
      if (epochOf(b) !== cur.roster.epoch + 1) continue;
      const s = signedBy(b, key, id);
      if (s) next.set(rosterHash(s.bytes), s);
    }
    const [s] = next.values();
    if (next.size > 1) alarms.push(forkAlarm(id, cur.roster.epoch + 1, 'both are waiting to reach it').message);
    if (!s || next.size > 1) break;
    if (s.roster.prev !== rosterHash(cur.bytes)) {
      // built on another roster than the acknowledged one: the fork above, or one the doorbell refused
      if (!alarms.length) alarms.push(forkAlarm(id, cur.roster.epoch, `epoch ${s.roster.epoch} follows another one than the doorbell acknowledged`).message);
      break;
    }
    run.push(s);
    cur = s;
  }
  return { base: cur, run, alarms };
}

/** The account's signing keys in editBase's order: the current authority, then earlier ones. */
export function accountSigners(a: { authority: SigningKey; previousAuthorities?: SigningKey[] }): SigningKey[] {
  return [a.authority, ...(a.previousAuthorities ?? [])];
}

/** What a phone says when it cannot get the doorbell's acknowledged roster from the relay (`phone status`, the web app). */
export function noAckWarning(e: unknown): string {
  const code = (e as { code?: string }).code ?? 'ERROR';
  return code === 'PHONE_NOT_ALLOWED'
    ? 'the relay does not let this phone in: it is not in the roster the doorbell holds (revoked?)'
    : `no acknowledged roster from the doorbell: ${(e as Error).message} [${code}]`;
}
