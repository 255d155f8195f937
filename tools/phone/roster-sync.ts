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
import { equalBytes } from '../../src/bytes.js';
import { SealbellError } from '../../src/errors.js';
import { parseRosterBundle, type RosterBundle } from '../../src/roster/bundle.js';
import { rosterHash, type SignedRoster } from '../../src/roster/roster.js';
import type { HeldRosterView } from '../relay/rosters.js';
import type { PhoneClient } from '../relay/phone-client.js';
import { readDevice } from './state.js';
import { chainFromWith, checkHeldViewWith, editBaseWith, forkAlarm, type AckedRoster, type EditBase } from './roster-chain.js';

export { accountSigners, chainFromWith, checkHeldViewWith, editBaseWith, forkAlarm, notOurAuthority, type AckedRoster, type EditBase } from './roster-chain.js';

/** Checks what the relay says the doorbell holds: ROSTER_ACK unless the doorbell signed it. */
export function checkHeldView(dir: string, deviceId: string, v: HeldRosterView): AckedRoster {
  return checkHeldViewWith(readDevice(dir, deviceId).publicKeyText, deviceId, v);
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

/** editBaseWith from this phone's kept roster (roster.sbr). */
export function editBase(dir: string, acked: AckedRoster, authorities: Uint8Array[], extra: RosterBundle[] = []): EditBase {
  return editBaseWith(localBundle(dir, acked.deviceId), acked, authorities, extra);
}

/** chainFromWith from this phone's kept roster (roster.sbr). */
export function chainFrom(dir: string, acked: AckedRoster, extra: RosterBundle[] = []): Omit<EditBase, 'signer'> {
  return chainFromWith(localBundle(dir, acked.deviceId), acked, extra);
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
