/**
 * What each doorbell holds, as the phone may believe it: the roster the DOORBELL
 * acknowledged (its identity key's signature over the roster bytes, checked with the key
 * this phone learnt at setup or from the account's endorsement), never what the relay
 * calls newest. From there:
 *
 * - editBase: the roster an edit starts from, and the run of not yet acknowledged
 *   successors to publish with it (the phone's own, and a handover the relay has pending);
 * - forks: two different rosters for one doorbell and epoch, both signed by the account
 *   authority, raise ROSTER_FORK naming the doorbell (the loud alarm);
 * - waitForAck: after publishing, wait (bounded) until the doorbell acknowledges exactly
 *   the roster published.
 */
import fs from 'node:fs';
import path from 'node:path';
import { base64 } from '@scure/base';
import { equalBytes } from '../../src/bytes.js';
import { SealbellError } from '../../src/errors.js';
import { decodePublicKey, keyIdHex, keyIdOf, type SigningKey } from '../../src/minisign.js';
import { parseRosterBundle, parseRosterRun, type RosterBundle } from '../../src/roster/bundle.js';
import { parseRoster, rosterHash, verifyRoster, type SignedRoster } from '../../src/roster/roster.js';
import { verifyRosterAck } from '../../src/roster/ack.js';
import { authorityAfter, type StoredRoster } from '../../src/roster/roster-store.js';
import type { HeldRosterView } from '../relay/rosters.js';
import type { PhoneClient } from '../relay/phone-client.js';
import { readDevice } from './state.js';

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
export function checkHeldView(dir: string, deviceId: string, v: HeldRosterView): AckedRoster {
  const device = decodePublicKey(readDevice(dir, deviceId).publicKeyText);
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

/** Fetches and checks what the doorbell holds. */
export async function ackedRoster(dir: string, deviceId: string, client: PhoneClient): Promise<AckedRoster> {
  return checkHeldView(dir, deviceId, await client.heldRoster());
}

/** The bundle this phone last signed or saw for a doorbell (roster.sbr), unchecked; undefined if none. */
export function localBundle(dir: string, deviceId: string): RosterBundle | undefined {
  const p = path.join(dir, 'devices', deviceId, 'roster.sbr');
  if (!fs.existsSync(p)) return undefined;
  try {
    return parseRosterBundle(new Uint8Array(fs.readFileSync(p)));
  } catch {
    return undefined;
  }
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
export function editBase(dir: string, acked: AckedRoster, authorities: Uint8Array[], extra: RosterBundle[] = []): EditBase {
  const { base, run, alarms } = chainFrom(dir, acked, extra);
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
export function chainFrom(dir: string, acked: AckedRoster, extra: RosterBundle[] = []): Omit<EditBase, 'signer'> {
  const id = acked.deviceId;
  const local = localBundle(dir, id);
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

export type AckOutcome =
  | { state: 'confirmed'; at: number }
  /** the doorbell went on to the direct successor of it (another phone's update): it took this one first */
  | { state: 'superseded'; epoch: number; at: number }
  | { state: 'unconfirmed'; heldEpoch: number | undefined; why: string }
  /** the doorbell acknowledged another roster of that epoch: the alarm */
  | { state: 'fork'; why: string };

export interface WaitOptions {
  /** give up after this long (ms) */
  timeoutMs: number;
  /** poll interval (ms) */
  pollMs?: number;
  /** a line for the user now and then */
  progress?: (line: string) => void;
}

/**
 * Waits until the doorbell acknowledges exactly `target` (polling the relay, bounded).
 * ROSTER_FORK if it acknowledges another roster of that epoch.
 */
export async function waitForAck(dir: string, deviceId: string, client: () => Promise<PhoneClient>, target: SignedRoster, o: WaitOptions): Promise<AckOutcome> {
  const end = Date.now() + o.timeoutMs;
  const epoch = target.roster.epoch;
  let heldEpoch: number | undefined;
  let why = 'the relay has not shown an acknowledgement from it';
  let told = Date.now();
  o.progress?.(`doorbell ${deviceId}: waiting up to ${Math.round(o.timeoutMs / 1000)} s for it to acknowledge roster epoch ${epoch}…`);
  for (;;) {
    try {
      const a = await ackedRoster(dir, deviceId, await client());
      heldEpoch = a.held.roster.epoch;
      if (heldEpoch === epoch) {
        if (equalBytes(a.held.bytes, target.bytes)) return { state: 'confirmed', at: a.at };
        throw forkAlarm(deviceId, epoch, 'it acknowledged another one than this phone published');
      }
      // Gone on past it: only a direct successor shows that it went through this roster (a
      // relay could otherwise show the head of a fork it made and have it taken for ours).
      if (heldEpoch === epoch + 1 && a.held.roster.prev === rosterHash(target.bytes)) return { state: 'superseded', epoch: heldEpoch, at: a.at };
      why = heldEpoch > epoch
        ? `it acknowledges epoch ${heldEpoch}, which does not show that it took this one: see \`sealbell phone status\``
        : `it still acknowledges epoch ${heldEpoch}`;
    } catch (e) {
      if (e instanceof SealbellError && e.code === 'ROSTER_FORK') throw e;
      why = `no usable answer from the relay (${(e as Error).message.slice(0, 120)})`;
    }
    const left = end - Date.now();
    if (left <= 0) return { state: 'unconfirmed', heldEpoch, why };
    if (Date.now() - told >= 5000) {
      told = Date.now();
      o.progress?.(`doorbell ${deviceId}: still waiting (${Math.ceil(left / 1000)} s left; ${why})`);
    }
    await new Promise((r) => setTimeout(r, Math.min(o.pollMs ?? 250, left)));
  }
}

export interface Confirmation {
  deviceId: string;
  epoch: number;
  outcome: AckOutcome;
}

/**
 * Waits for each doorbell to acknowledge its update (one after the other, each bounded by
 * `o.timeoutMs`); a fork is reported as an outcome, not thrown, so every doorbell is heard.
 */
export async function confirmUpdates(
  dir: string,
  updates: { deviceId: string; roster: SignedRoster }[],
  login: (deviceId: string) => Promise<PhoneClient>,
  o: WaitOptions,
): Promise<Confirmation[]> {
  const out: Confirmation[] = [];
  for (const u of updates) {
    let outcome: AckOutcome;
    try {
      outcome = await waitForAck(dir, u.deviceId, () => login(u.deviceId), u.roster, o);
    } catch (e) {
      if (!(e instanceof SealbellError && e.code === 'ROSTER_FORK')) throw e;
      outcome = { state: 'fork', why: e.message };
    }
    out.push({ deviceId: u.deviceId, epoch: u.roster.roster.epoch, outcome });
  }
  return out;
}

/**
 * The lines to show for each confirmation, and whether every doorbell took its update.
 * `risk`: what it means while a doorbell has not (e.g. the removed phone may still read new clips).
 */
export function describeConfirmations(c: Confirmation[], risk: string): { lines: string[]; ok: boolean } {
  const lines = c.map(({ deviceId, epoch, outcome: o }) => {
    switch (o.state) {
      case 'confirmed':
        return `doorbell ${deviceId}: confirmed: it holds roster epoch ${epoch} and signed for it`;
      case 'superseded':
        return `doorbell ${deviceId}: confirmed: it has gone on to roster epoch ${o.epoch}`;
      case 'unconfirmed':
        return `doorbell ${deviceId}: roster epoch ${epoch} published, not yet confirmed by the doorbell: ${risk} (${o.why})`;
      case 'fork':
        return o.why;
    }
  });
  return { lines, ok: c.every((x) => x.outcome.state === 'confirmed' || x.outcome.state === 'superseded') };
}
