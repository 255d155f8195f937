/**
 * The device's acknowledgement of a roster: its identity key's minisign
 * signature over the exact roster bytes it stored. The phone checks it to know
 * which device took which roster (and `minisign -V` can too).
 */
import { SealbellError } from '../errors.js';
import { keyIdHex, sign, verify, type PublicKey, type SigningKey } from '../minisign.js';
import type { Roster } from './roster.js';

export function ackTrustedComment(r: Roster): string {
  return `sealbell roster-ack v${r.v} device ${r.device} epoch ${r.epoch}`;
}

export function signRosterAck(bytes: Uint8Array, roster: Roster, device: SigningKey): string {
  return sign(bytes, device, ackTrustedComment(roster), `sealbell roster acknowledgement, device ${keyIdHex(device.keyId)}`);
}

/** ROSTER_ACK unless `device` signed exactly these roster bytes. */
export function verifyRosterAck(bytes: Uint8Array, roster: Roster, ack: string, device: PublicKey): void {
  let comment: string;
  try {
    comment = verify(bytes, ack, device);
  } catch (e) {
    throw new SealbellError('ROSTER_ACK', `the device's roster acknowledgement does not verify: ${(e as Error).message}`);
  }
  if (comment !== ackTrustedComment(roster)) throw new SealbellError('ROSTER_ACK', 'the roster acknowledgement is for another roster');
}
