/**
 * Live view on the device. A request names a phone by its relay login key and is
 * signed with it (src/live/request.ts); the device looks the key up in its current
 * signed roster and, only if it is there and the signature, time and freshness of
 * the request check out, starts a session sealed to that phone's age recipient alone. The host feeds
 * camera frames while `active`; each live session turns each frame into one
 * record. A session ends when its time is up, when the phone leaves, when the
 * roster no longer lists the phone, or when the relay connection drops.
 *
 * Owns no timers: the host calls `tick(now)` (at least by `nextWakeup()`).
 */
import type { Alloc, Log } from '../host.js';
import type { Aead, Random } from '../crypto/backend.js';
import type { DeviceIdentity } from '../device/identity.js';
import type { Roster } from '../roster/roster.js';
import { SealbellError } from '../errors.js';
import { MAX_LIVE_FRAME_BYTES, REQUEST_LENGTH, type EndReason } from './format.js';
import { LiveSealer } from './sealer.js';
import { LiveRequestCheck } from './request.js';
import { decodeAuthKey } from '../roster/roster.js';

/** Where sessions send what they make (the uplink connection). */
export interface LiveLink {
  /** the session's opening, then its records; `bytes` is only valid during the call */
  sendLive(session: string, kind: 'opening' | 'record', bytes: Uint8Array): void;
  /** the request was refused; no opening was sent */
  refuseLive(session: string, code: string, message: string): void;
  /** the session ended on the device's side (its end record was sent) */
  endLive(session: string, reason: EndReason): void;
}

export interface LiveRequest {
  /** the relay's id for this phone connection */
  session: string;
  /** the phone's Ed25519 relay login key, standard base64 (as in the roster's `auth`) */
  phone: string;
  /** 16 fresh random bytes from the phone */
  request: Uint8Array;
  /** the phone's clock when it asked (ms since the Unix epoch) */
  time: number;
  /** the phone's Ed25519 signature of the request (src/live/request.ts) */
  signature: Uint8Array;
}

export interface LiveSessionsOptions {
  aead: Aead;
  random: Random;
  identity: DeviceIdentity;
  /** the device's current signed roster (undefined before setup) */
  roster: () => Roster | undefined;
  width: number;
  height: number;
  /** longest session, ms (default 120 000): a phone that wants more asks again */
  maxDuration?: number;
  /** sessions at once (default 2) */
  maxSessions?: number;
  /**
   * How often running sessions re-check the roster, ms (default 1000). Reading the stored
   * roster parses and validates it: too costly under XS for every frame.
   */
  rosterCheckEvery?: number;
  alloc?: Alloc;
  log?: Log;
}

interface Session {
  id: string;
  phone: string;
  sealer: LiveSealer;
  ends: number;
}

export class LiveSessions {
  private readonly sessions = new Map<string, Session>();
  private link: LiveLink | undefined;
  private readonly log: Log;
  private epoch = 0;
  private rosterCheckedAt = -Infinity;
  private readonly requests = new LiveRequestCheck();
  /** frames skipped because they were too large for a record */
  oversized = 0;

  constructor(private readonly o: LiveSessionsOptions) {
    this.log = o.log ?? (() => {});
  }

  /** Connects the sessions to where their records go (the uplink). */
  attach(link: LiveLink): void {
    this.link = link;
  }

  /** True while some phone is watching: the host should capture frames. */
  get active(): boolean {
    return this.sessions.size > 0;
  }

  get count(): number {
    return this.sessions.size;
  }

  /** A phone asks for live view. Refusals go back through the link with a code; nothing throws. */
  onLiveRequest(r: LiveRequest, now: number): void {
    const link = this.link;
    if (!link) return;
    try {
      if (this.sessions.has(r.session)) throw new SealbellError('LIVE_SESSION_EXISTS', 'this session is already running');
      if (!(r.request instanceof Uint8Array) || r.request.length !== REQUEST_LENGTH) throw new SealbellError('LIVE_BAD_REQUEST', 'the request must carry 16 random bytes');
      const roster = this.o.roster();
      if (!roster) throw new SealbellError('LIVE_NO_ROSTER', 'the doorbell has not been set up');
      const phone = roster.phones.find((p) => p.auth === r.phone);
      if (!phone) throw new SealbellError('LIVE_NOT_IN_ROSTER', `this phone is not in the doorbell's roster (epoch ${roster.epoch})`);
      const signed = { device: this.o.identity.deviceId, session: r.session, request: r.request, time: r.time };
      this.requests.check(signed, r.signature, decodeAuthKey(phone.auth), now);
      if (this.sessions.size >= (this.o.maxSessions ?? 2)) throw new SealbellError('LIVE_BUSY', 'too many live sessions at once');
      const sealer = new LiveSealer({
        aead: this.o.aead,
        random: this.o.random,
        key: this.o.identity.key,
        device: this.o.identity.deviceId,
        session: r.session,
        request: r.request,
        epoch: roster.epoch,
        start: now,
        width: this.o.width,
        height: this.o.height,
        recipient: phone.recipient,
        alloc: this.o.alloc,
      });
      this.epoch = roster.epoch;
      this.sessions.set(r.session, { id: r.session, phone: r.phone, sealer, ends: now + (this.o.maxDuration ?? 120_000) });
      this.log(`live ${r.session}: started for ${phone.name}`);
      link.sendLive(r.session, 'opening', sealer.opening);
    } catch (e) {
      const err = e instanceof SealbellError ? e : new SealbellError('LIVE_FAILED', 'the live session could not start');
      this.log(`live ${r.session}: refused: ${err.code}`);
      link.refuseLive(r.session, err.code, err.message);
    }
  }

  /** The phone left (the relay says so): the session ends without an end record (nobody would read it). */
  onLiveStop(session: string): void {
    if (this.sessions.delete(session)) this.log(`live ${session}: the phone left`);
  }

  /** The connection to the relay dropped: every session ends with it. */
  onLiveDisconnect(): void {
    this.sessions.clear();
  }

  /** A camera frame: one record per session. */
  frame(jpeg: Uint8Array, now: number): void {
    this.tick(now);
    if (jpeg.length > MAX_LIVE_FRAME_BYTES) {
      this.oversized++;
      return;
    }
    for (const s of this.sessions.values()) this.link?.sendLive(s.id, 'record', s.sealer.frame(jpeg, now));
  }

  /** Time passes: sessions past their end close; a roster change ends sessions of phones no longer in it. */
  tick(now: number): void {
    for (const s of [...this.sessions.values()]) if (now >= s.ends) this.end(s, 'timeout', now);
    if (this.sessions.size === 0 || now - this.rosterCheckedAt < (this.o.rosterCheckEvery ?? 1000)) return;
    this.rosterCheckedAt = now;
    const roster = this.o.roster();
    if (roster?.epoch === this.epoch) return;
    for (const s of [...this.sessions.values()]) {
      if (!roster?.phones.some((p) => p.auth === s.phone)) this.end(s, 'roster', now);
    }
    if (roster) this.epoch = roster.epoch;
  }

  /** Ends every session with an end record (e.g. before a reboot). */
  stopAll(now: number): void {
    for (const s of [...this.sessions.values()]) this.end(s, 'shutdown', now);
  }

  nextWakeup(): number | undefined {
    let next: number | undefined;
    for (const s of this.sessions.values()) next = next === undefined ? s.ends : Math.min(next, s.ends);
    return next;
  }

  private end(s: Session, reason: EndReason, now: number): void {
    this.sessions.delete(s.id);
    this.link?.sendLive(s.id, 'record', s.sealer.end(reason, now));
    this.link?.endLive(s.id, reason);
    this.log(`live ${s.id}: ended (${reason})`);
  }
}
