/**
 * Rosters at the relay. The relay never decides who is in a roster; it learns:
 *
 * - from the device, which roster it holds (after each connect and each update), with
 *   the account authority key that checked it and the device's acknowledgement: the
 *   relay checks both signatures, then lets exactly that roster's phones (and the
 *   authority, for enrolling and revoking) log in;
 * - from a phone, an update signed by that same authority: checked here (so a forged
 *   update is refused at once) and again by the device, which has the last word. It
 *   waits as "pending" until the device holds it, and is pushed to the device if it
 *   is connected, or when it next connects.
 */
import { base64 } from '@scure/base';
import { equalBytes } from '../../src/bytes.js';
import { SealbellError } from '../../src/errors.js';
import { decodePublicKey, keyIdHex, keyIdOf } from '../../src/minisign.js';
import { parseRosterBundle } from '../../src/roster/bundle.js';
import { verifyRoster, type SignedRoster } from '../../src/roster/roster.js';
import { verifyRosterAck } from '../../src/roster/ack.js';
import { RelayError } from './errors.js';
import type { DeviceRow, RelayStore } from './store.js';

export interface RelayRostersOptions {
  store: RelayStore;
  /** delivers a pending update to the device if it is connected */
  push: (device: string, bundle: Uint8Array) => void;
  log: (line: string) => void;
}

export class RelayRosters {
  constructor(private readonly o: RelayRostersOptions) {}

  /**
   * The device says which roster it holds. Returns a pending update to push, if one is
   * newer. Throws SealbellError (the device is told, the connection stays) if it does not verify.
   */
  held(device: DeviceRow, m: { bundle: string; authority: string; ack: string }, now: number): Uint8Array | undefined {
    const bundle = base64.decode(m.bundle);
    const authority = base64.decode(m.authority);
    if (authority.length !== 32) throw new SealbellError('ROSTER_AUTHORITY', 'the authority key must be 32 bytes');
    const before = this.o.store.heldRoster(device.id);
    // The same roster again (every reconnect): it was checked when it was stored.
    if (before && equalBytes(before.bundle, bundle) && equalBytes(before.authority, authority)) return this.pendingAfter(device.id, before.epoch);
    const signed = this.verify(bundle, authority, device.id);
    verifyRosterAck(signed.bytes, signed.roster, m.ack, decodePublicKey(device.public_key));
    if (before && before.epoch > signed.roster.epoch) {
      throw new SealbellError('ROSTER_EPOCH', `the relay saw this device hold epoch ${before.epoch}, not ${signed.roster.epoch}`);
    }
    const phones = signed.roster.phones.map((p) => p.auth).concat([base64.encode(authority)]);
    this.o.store.setHeldRoster(
      { device: device.id, authority_id: keyIdHex(keyIdOf(authority)), authority, epoch: signed.roster.epoch, bundle, ack: m.ack, updated: now },
      phones,
    );
    this.o.log(`relay: device ${device.id} holds roster epoch ${signed.roster.epoch} (${signed.roster.phones.length} phones)`);
    return this.pendingAfter(device.id, signed.roster.epoch);
  }

  /** A pending update newer than `epoch`, to push to the device. */
  private pendingAfter(device: string, epoch: number): Uint8Array | undefined {
    const pending = this.o.store.roster(device);
    return pending && pending.epoch > epoch ? pending.blob : undefined;
  }

  /** The device refused the pending update: it is dropped, so it is not pushed again. */
  refused(device: string, code: string): void {
    const pending = this.o.store.roster(device);
    this.o.log(`relay: device ${device} refused roster update${pending ? ` epoch ${pending.epoch}` : ''}: ${code}`);
    if (pending) this.o.store.deleteRoster(device, pending.epoch);
  }

  /** A phone publishes an update. 409 before the device has said which authority it trusts. */
  publish(device: string, bundle: Uint8Array, now: number): number {
    const held = this.o.store.heldRoster(device);
    if (!held) throw new RelayError(409, 'NO_ROSTER', 'the doorbell has not told the relay its roster yet: it must connect once after setup');
    let signed: SignedRoster;
    try {
      signed = this.verify(bundle, held.authority, device);
    } catch (e) {
      const code = e instanceof SealbellError ? e.code : 'ROSTER_FORMAT';
      throw new RelayError(code === 'ROSTER_SIGNATURE' ? 403 : 400, code, (e as Error).message);
    }
    const epoch = signed.roster.epoch;
    const r = epoch > held.epoch ? this.o.store.putRoster(device, epoch, bundle, now) : { stored: false, epoch: held.epoch };
    if (!r.stored) throw new RelayError(409, 'STALE_EPOCH', `the relay already has roster epoch ${r.epoch}; an update needs a higher epoch`);
    this.o.push(device, bundle);
    return epoch;
  }

  /** The newest roster for phones to edit: pending if there is one, else the held one. */
  current(device: string): { epoch: number; bundle: Uint8Array; heldEpoch: number } | undefined {
    const held = this.o.store.heldRoster(device);
    if (!held) return undefined;
    const pending = this.o.store.roster(device);
    return pending && pending.epoch > held.epoch
      ? { epoch: pending.epoch, bundle: pending.blob, heldEpoch: held.epoch }
      : { epoch: held.epoch, bundle: held.bundle, heldEpoch: held.epoch };
  }

  private verify(bundle: Uint8Array, authority: Uint8Array, device: string): SignedRoster {
    const { bytes, signature } = parseRosterBundle(bundle);
    const signed = verifyRoster(bytes, signature, authority);
    if (signed.roster.device !== device) throw new SealbellError('ROSTER_DEVICE', `the roster is for device ${signed.roster.device}, not ${device}`);
    return signed;
  }
}
