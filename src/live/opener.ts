/**
 * The phone's side of a live session. `openLiveSession` checks the opening —
 * the device's signature, that it answers this phone's request, that it is
 * wrapped to this phone's age identity — and gives a LiveOpener, which opens
 * records one by one with a replay window. A record that is not the next thing
 * to show is dropped and flagged, never shown:
 *
 *   replayed   its counter was already accepted
 *   late       older than the newest accepted record (reordered), never seen
 *   stale      too old for the window to tell replayed from late
 *   forged     fails authentication, carries another key id, or is malformed
 *   closed     arrives after the session's end record
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import type { Aead } from '../crypto/backend.js';
import { parseHeader } from '../age/format.js';
import { headerShares, openHeader } from '../age/header.js';
import { toAgeIdentity, type IdentityInput } from '../age/recipients.js';
import { equalBytes, readUintBE } from '../bytes.js';
import { SealbellError } from '../errors.js';
import {
  END_REASONS,
  parseOpening,
  PLAIN_PREFIX_LENGTH,
  readRecordHeader,
  RECORD_END,
  RECORD_FRAME,
  RECORD_HEADER_LENGTH,
  recordKey,
  type EndReason,
  type ParsedOpening,
} from './format.js';
import { ReplayWindow } from './replay-window.js';

export interface OpenLiveOptions {
  aead: Aead;
  /** the phone's AGE-SECRET-KEY-1… (or post-quantum AGE-SECRET-KEY-PQ-1…) */
  identity: IdentityInput;
  /** the device's Ed25519 public key (from device.pub) */
  devicePublicKey: Uint8Array;
  /** the device id the phone asked (16 hex digits) */
  device: string;
  /** the 16 random bytes the phone sent with its request */
  request: Uint8Array;
}

export type DropReason = 'replayed' | 'late' | 'stale' | 'forged' | 'closed';

export type LiveEvent =
  | { t: 'frame'; ctr: number; time: number; data: Uint8Array; skipped: number }
  | { t: 'end'; ctr: number; time: number; reason: EndReason | 'unknown' }
  | { t: 'dropped'; ctr: number | undefined; reason: DropReason; detail: string };

export interface LiveStats {
  frames: number;
  /** counters never received (lost or dropped on the way) */
  skipped: number;
  replayed: number;
  late: number;
  stale: number;
  forged: number;
  closed: number;
}

/** The X25519 shares in a live opening's header (see headerShares); empty for a malformed opening. */
export function liveOpeningShares(bytes: Uint8Array): string[] {
  try {
    return headerShares(parseOpening(bytes).header);
  } catch {
    return [];
  }
}

export function openLiveSession(bytes: Uint8Array, o: OpenLiveOptions): LiveOpener {
  const opening = parseOpening(bytes);
  if (opening.device !== o.device) {
    throw new SealbellError('LIVE_WRONG_DEVICE', `the live opening is from device ${opening.device}, not ${o.device}`);
  }
  let ok = false;
  try {
    ok = ed25519.verify(opening.signature, opening.signed, o.devicePublicKey);
  } catch {
    ok = false;
  }
  if (!ok) throw new SealbellError('LIVE_SIGNATURE', 'the live opening is not signed by the device identity key');
  if (!equalBytes(opening.request, o.request)) {
    throw new SealbellError('LIVE_REQUEST', 'the live opening answers another request (replayed from an earlier session)');
  }
  const header = parseHeader(opening.header);
  if (!header || header.length !== opening.header.length) throw new SealbellError('AGE_HEADER', 'malformed age header in the live opening');
  if (header.stanzas.length !== 1) throw new SealbellError('LIVE_FORMAT', 'malformed live opening: the header must have exactly one stanza');
  const fileKey = openHeader(header, [toAgeIdentity(o.identity)]);
  const key = recordKey(fileKey, opening.nonce);
  fileKey.fill(0);
  return new LiveOpener(o.aead, opening, key);
}

export class LiveOpener {
  readonly stats: LiveStats = { frames: 0, skipped: 0, replayed: 0, late: 0, stale: 0, forged: 0, closed: 0 };
  private readonly window = new ReplayWindow();
  private ended = false;

  constructor(
    private readonly aead: Aead,
    readonly info: ParsedOpening,
    private readonly key: Uint8Array,
  ) {}

  /** True once the device's end record was accepted. */
  get closed(): boolean {
    return this.ended;
  }

  /** Opens one record. Never throws for a bad record: it is dropped and flagged. */
  open(record: Uint8Array): LiveEvent {
    let ctr: number | undefined;
    try {
      const h = readRecordHeader(record);
      ctr = h.ctr;
      if (this.ended) return this.drop(ctr, 'closed', 'the session already ended');
      if (h.kid !== this.info.kid) return this.drop(ctr, 'forged', `key id ${h.kid} is not this session's`);
      const where = this.window.check(h.ctr);
      if (where === 'replayed') return this.drop(ctr, 'replayed', `record ${h.ctr} was already accepted`);
      const plain = this.decrypt(record);
      if (!plain) return this.drop(ctr, 'forged', `record ${h.ctr} fails authentication`);
      const kind = plain[0];
      const time = readUintBE(plain, 1, 6);
      const data = plain.subarray(PLAIN_PREFIX_LENGTH);
      if (where !== 'new') {
        this.window.accept(h.ctr);
        return this.drop(ctr, where, `record ${h.ctr} arrived after record ${this.window.top}`);
      }
      if (kind === RECORD_FRAME && data.length > 0) {
        const skipped = this.window.accept(h.ctr);
        this.stats.frames++;
        this.stats.skipped += skipped;
        return { t: 'frame', ctr: h.ctr, time, data, skipped };
      }
      if (kind === RECORD_END && data.length === 1) {
        this.stats.skipped += this.window.accept(h.ctr);
        this.ended = true;
        return { t: 'end', ctr: h.ctr, time, reason: END_REASONS[data[0]] ?? 'unknown' };
      }
      return this.drop(ctr, 'forged', `record ${h.ctr} has an unknown kind ${kind}`);
    } catch (e) {
      if (e instanceof SealbellError) return this.drop(ctr, 'forged', e.message);
      throw e;
    }
  }

  private decrypt(record: Uint8Array): Uint8Array | undefined {
    try {
      return this.aead.open(this.key, record.subarray(0, RECORD_HEADER_LENGTH), record.subarray(RECORD_HEADER_LENGTH));
    } catch {
      return undefined;
    }
  }

  private drop(ctr: number | undefined, reason: DropReason, detail: string): LiveEvent {
    this.stats[reason]++;
    return { t: 'dropped', ctr, reason, detail };
  }
}
