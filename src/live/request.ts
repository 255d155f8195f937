/**
 * A live request signed by the phone (docs/live-format.md, "The signed request"). The phone
 * signs, with its Ed25519 key from the roster (`auth`, the same key it logs in to the relay
 * with, under another label), the device, the relay's session id, 16 fresh random bytes and
 * its clock; the device starts a session only for a request whose signature verifies with a
 * key in its roster, whose time is near its own, and which it has not seen before. So the relay
 * cannot start a session nobody asked for, nor replay one that somebody did: a request is
 * accepted only if its time is later than that of the last request accepted from that phone
 * (kept in RAM: after a reboot, a request captured within the skew window could be replayed
 * once — docs/threat-model.md).
 *
 *   signed = "sealbell live request v1" ‖ device id (16 ASCII) ‖ L (1) ‖ session id (L ASCII)
 *            ‖ request (16) ‖ time (6, ms since the Unix epoch, big-endian)
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex, utf8ToBytes } from '../bytes.js';
import { SealbellError } from '../errors.js';
import { Writer } from '../wire.js';
import { REQUEST_LENGTH } from './format.js';

export const LIVE_REQUEST_CONTEXT = 'sealbell live request v1';
/** how far a request's time may be from the device's clock, either way (ms): clocks drift, networks delay */
export const MAX_REQUEST_SKEW = 10 * 60_000;

export interface SignedLiveRequest {
  device: string;
  session: string;
  request: Uint8Array;
  /** the phone's clock when it asked, ms since the Unix epoch */
  time: number;
}

export function liveRequestMessage(r: SignedLiveRequest): Uint8Array {
  const session = utf8ToBytes(r.session);
  return new Writer().bytes(utf8ToBytes(LIVE_REQUEST_CONTEXT)).bytes(utf8ToBytes(r.device)).sized(1, session).bytes(r.request).uint(r.time, 6).finish();
}

/** The phone's 64-byte signature over the request, with its roster auth key's secret seed. */
export function signLiveRequest(r: SignedLiveRequest, authSecretKey: Uint8Array): Uint8Array {
  return ed25519.sign(liveRequestMessage(r), authSecretKey);
}

/**
 * The device's check of requests, with a memory of the recent ones:
 *   LIVE_SIGNATURE  not signed by that phone's key (forged, or altered on the way)
 *   LIVE_STALE      its time is more than MAX_REQUEST_SKEW from the device's clock
 *   LIVE_REPLAYED   it is not later than the last request accepted from this phone
 */
export class LiveRequestCheck {
  /** phone key (hex) → time of the last request accepted from it (one entry per roster phone at most) */
  private readonly last = new Map<string, number>();

  check(r: SignedLiveRequest, signature: Uint8Array, phoneKey: Uint8Array, now: number): void {
    if (!(signature instanceof Uint8Array) || signature.length !== 64 || r.request.length !== REQUEST_LENGTH) {
      throw new SealbellError('LIVE_SIGNATURE', 'the request is not signed');
    }
    let ok = false;
    try {
      ok = ed25519.verify(signature, liveRequestMessage(r), phoneKey);
    } catch {
      ok = false;
    }
    if (!ok) throw new SealbellError('LIVE_SIGNATURE', 'the request is not signed by this phone: nobody in the roster asked for it');
    if (!Number.isSafeInteger(r.time) || Math.abs(r.time - now) > MAX_REQUEST_SKEW) {
      throw new SealbellError('LIVE_STALE', `the request's time is more than ${MAX_REQUEST_SKEW / 1000} s from the doorbell's clock (replayed, or a clock is wrong)`);
    }
    const key = bytesToHex(phoneKey);
    const last = this.last.get(key);
    if (last !== undefined && r.time <= last) throw new SealbellError('LIVE_REPLAYED', 'this request is not newer than the last one this phone made: replayed');
    if (this.last.size >= 64) this.last.clear(); // more keys than a roster holds: forget (the window still holds)
    this.last.set(key, r.time);
  }
}
