/**
 * Rosters at the relay. The relay never decides who is in a roster; it learns:
 *
 * - from the device, which roster it holds (after each connect and each update), with
 *   the account authority key that checked it and the device's acknowledgement: the
 *   relay checks both signatures, then lets exactly that roster's phones (and the
 *   authority, for enrolling and revoking) log in;
 * - from a phone, an update (or a run of them) signed by the authority the held roster
 *   names, each the successor of the one before and the first of what the device holds
 *   (or of the pending run, which it then extends): checked here, so a forged or forking
 *   update is refused at once, and again by the device, which has the last word. It waits
 *   as "pending" until the device holds it, and is pushed to the device if it is
 *   connected, or when it next connects.
 *
 * None of this is trusted by the phones: they believe the device's acknowledgement
 * (its signature over the roster it holds), which the relay hands on but cannot make.
 */
import { base64 } from '@scure/base';
import { equalBytes } from '../../src/bytes.js';
import { SealbellError } from '../../src/errors.js';
import { decodePublicKey, keyIdHex, keyIdOf } from '../../src/minisign.js';
import { encodeRosterRun, MAX_RUN, parseRosterBundle, parseRosterRun } from '../../src/roster/bundle.js';
import { parseRoster, verifyRoster, type SignedRoster } from '../../src/roster/roster.js';
import { verifyRosterAck } from '../../src/roster/ack.js';
import { authorityAfter, checkRun, type StoredRoster } from '../../src/roster/roster-store.js';
import { RelayError } from './errors.js';
import { MAX_ROSTER_TEXT } from '../../src/uplink/wire.js';
import type { DeviceRow } from './store.js';
import type { RelayStoreApi } from './store-api.js';

export interface RelayRostersOptions {
  store: RelayStoreApi;
  /** delivers a pending update (a run of successors) to the device if it is connected */
  push: (device: string, run: Uint8Array) => Promise<void> | void;
  log: (line: string) => void;
}

/** A run travels to the device in one control message (src/uplink/wire.ts, as base64). */
export const MAX_PENDING_RUN_BYTES = (MAX_ROSTER_TEXT / 4) * 3;

/** What the relay says the device holds, for phones to check (GET /v1/devices/:device/roster/held). */
export interface HeldRosterView {
  device: string;
  epoch: number;
  /** the held roster's bundle, base64 */
  bundle: string;
  /** the authority that signed it (as the device reported), base64 */
  authority: string;
  /** the device's acknowledgement (src/roster/ack.ts) */
  ack: string;
  /** when the relay heard it (ms since 1970, the relay's clock) */
  updated: number;
  /** the pending run after it, base64, or null */
  pending: string | null;
  pendingEpoch: number | null;
}

export class RelayRosters {
  constructor(private readonly o: RelayRostersOptions) {}

  /**
   * The device says which roster it holds. Returns the pending run to push (from its
   * successor on), if there is one. Throws SealbellError (the device is told, the
   * connection stays) if it does not verify.
   */
  async held(device: DeviceRow, m: { bundle: string; authority: string; ack: string }, now: number): Promise<Uint8Array | undefined> {
    const bundle = base64.decode(m.bundle);
    const authority = base64.decode(m.authority);
    if (authority.length !== 32) throw new SealbellError('ROSTER_AUTHORITY', 'the authority key must be 32 bytes');
    const before = await this.o.store.heldRoster(device.id);
    // The same roster again (every reconnect): it was checked when it was stored.
    if (before && equalBytes(before.bundle, bundle) && equalBytes(before.authority, authority)) return await this.pendingAfter(device.id, before.epoch);
    const signed = this.verify(bundle, authority, device.id);
    verifyRosterAck(signed.bytes, signed.roster, m.ack, decodePublicKey(device.public_key));
    if (before && before.epoch > signed.roster.epoch) {
      throw new SealbellError('ROSTER_EPOCH', `the relay saw this device hold epoch ${before.epoch}, not ${signed.roster.epoch}`);
    }
    // After a handover the new authority is the account's: it logs in (to enroll) and
    // finds this device; the old one does neither.
    const next = authorityAfter({ ...signed, authority });
    const phones = signed.roster.phones.map((p) => p.auth).concat([base64.encode(next)]);
    await this.o.store.setHeldRoster(
      { device: device.id, authority_id: keyIdHex(keyIdOf(next)), authority, epoch: signed.roster.epoch, bundle, ack: m.ack, updated: now },
      phones,
    );
    this.o.log(`relay: device ${device.id} holds roster epoch ${signed.roster.epoch} (${signed.roster.phones.length} phones)${signed.roster.handover ? ', handed over to a new authority' : ''}`);
    return await this.pendingAfter(device.id, signed.roster.epoch);
  }

  /** The part of the pending run newer than `epoch`, to push to the device. */
  async pendingAfter(device: string, epoch: number): Promise<Uint8Array | undefined> {
    const pending = await this.o.store.roster(device);
    if (!pending || pending.epoch <= epoch) return undefined;
    const rest = parseRosterRun(pending.blob).filter((b) => parseRoster(b.bytes).epoch > epoch);
    return rest.length ? encodeRosterRun(rest) : undefined;
  }

  /** The device refused the pending update: it is dropped, so it is not pushed again. */
  async refused(device: string, code: string): Promise<void> {
    const pending = await this.o.store.roster(device);
    this.o.log(`relay: device ${device} refused roster update${pending ? ` epoch ${pending.epoch}` : ''}: ${code}`);
    if (pending) await this.o.store.deleteRoster(device, pending.epoch);
  }

  /**
   * A phone publishes an update: one roster or a run (bundle.ts). It must be the successor
   * of what the device holds, or extend the pending run; another roster for an epoch already
   * held or pending is a fork (409 ROSTER_FORK). 409 NO_ROSTER before the device has said
   * which authority it trusts. Returns the epoch the pending run now ends at.
   */
  async publish(device: string, run: Uint8Array, now: number): Promise<number> {
    const held = await this.o.store.heldRoster(device);
    if (!held) throw new RelayError(409, 'NO_ROSTER', 'the doorbell has not told the relay its roster yet: it must connect once after setup');
    const heldRoster = this.verify(held.bundle, held.authority, device);
    const base: StoredRoster = { ...heldRoster, authority: held.authority };
    const pending = await this.o.store.roster(device);
    const pendingRun = pending && pending.epoch > held.epoch ? parseRosterRun(pending.blob) : [];
    let incoming;
    try {
      incoming = parseRosterRun(run);
    } catch (e) {
      throw asRelayError(e);
    }
    const first = parseRosterOr400(incoming[0].bytes);
    // From the held roster: the pending run's rosters before the incoming ones, then the incoming ones.
    const before = pendingRun.filter((b) => parseRoster(b.bytes).epoch < first.epoch);
    if (before.length + incoming.length > MAX_RUN) {
      throw new RelayError(409, 'PENDING_FULL', `${before.length} roster updates already wait for the doorbell: at most ${MAX_RUN} may (it takes them when it connects)`);
    }
    let chain: StoredRoster[];
    try {
      chain = checkRun(base, encodeRosterRun(before.concat(incoming)), device);
    } catch (e) {
      throw asRelayError(e);
    }
    // Where the incoming run overlaps the pending one, they must be the same rosters.
    for (const b of pendingRun) {
      const mine = chain.find((c) => c.roster.epoch === parseRoster(b.bytes).epoch);
      if (mine && !equalBytes(mine.bytes, b.bytes)) {
        throw new RelayError(409, 'ROSTER_FORK', `another roster for epoch ${mine.roster.epoch} is already pending: an update starts from the roster the doorbell acknowledged`);
      }
    }
    const last = chain[chain.length - 1].roster.epoch;
    if (pending && last <= pending.epoch) return pending.epoch; // the same run again
    const blob = encodeRosterRun(chain);
    if (blob.length > MAX_PENDING_RUN_BYTES) throw new RelayError(413, 'TOO_LARGE', `the pending run would be ${blob.length} bytes (at most ${MAX_PENDING_RUN_BYTES}): wait until the doorbell has taken the pending update`);
    await this.o.store.putRoster(device, last, blob, now);
    const push = await this.pendingAfter(device, held.epoch);
    if (push) await this.o.push(device, push);
    return last;
  }

  /** The newest roster for phones to edit: pending if there is one, else the held one. */
  async current(device: string): Promise<{ epoch: number; bundle: Uint8Array; heldEpoch: number } | undefined> {
    const held = await this.o.store.heldRoster(device);
    if (!held) return undefined;
    const pending = await this.o.store.roster(device);
    if (pending && pending.epoch > held.epoch) {
      const run = parseRosterRun(pending.blob);
      const last = run[run.length - 1];
      return { epoch: pending.epoch, bundle: encodeRosterRun([last]), heldEpoch: held.epoch };
    }
    return { epoch: held.epoch, bundle: held.bundle, heldEpoch: held.epoch };
  }

  /** What the device holds, with its acknowledgement, and the pending run: for phones to check. */
  async heldView(device: string): Promise<HeldRosterView | undefined> {
    const held = await this.o.store.heldRoster(device);
    if (!held) return undefined;
    const pending = await this.o.store.roster(device);
    const newer = pending && pending.epoch > held.epoch;
    return {
      device,
      epoch: held.epoch,
      bundle: base64.encode(held.bundle),
      authority: base64.encode(held.authority),
      ack: held.ack,
      updated: held.updated,
      pending: newer ? base64.encode(pending.blob) : null,
      pendingEpoch: newer ? pending.epoch : null,
    };
  }

  private verify(bundle: Uint8Array, authority: Uint8Array, device: string): SignedRoster {
    const { bytes, signature } = parseRosterBundle(bundle);
    const signed = verifyRoster(bytes, signature, authority);
    if (signed.roster.device !== device) throw new SealbellError('ROSTER_DEVICE', `the roster is for device ${signed.roster.device}, not ${device}`);
    return signed;
  }
}

const STATUS: Record<string, number> = {
  ROSTER_SIGNATURE: 403,
  ROSTER_AUTHORITY: 403,
  ROSTER_FORK: 409,
  ROSTER_GAP: 409,
  ROSTER_EPOCH: 409,
};

function asRelayError(e: unknown): RelayError {
  const code = e instanceof SealbellError ? e.code : 'ROSTER_FORMAT';
  // STALE_EPOCH: the relay's name for a replayed or rolled-back update, as before
  return new RelayError(STATUS[code] ?? 400, code === 'ROSTER_EPOCH' ? 'STALE_EPOCH' : code, (e as Error).message);
}

function parseRosterOr400(bytes: Uint8Array) {
  try {
    return parseRoster(bytes);
  } catch (e) {
    throw asRelayError(e);
  }
}
