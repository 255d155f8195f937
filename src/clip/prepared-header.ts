/**
 * Ready clip headers. Building an age header costs two X25519 scalar
 * multiplications per recipient (for post-quantum recipients an X-Wing
 * encapsulation: ML-KEM-768 and the two X25519 multiplications, ~9× the cost) —
 * far too slow to do when the button is pressed on a 240 MHz chip — so the
 * doorbell keeps a small pool of them,
 * built in idle time: file key wrapped for every recipient, header MAC,
 * payload nonce and payload key. Taking one makes sealing start at once.
 * They live in RAM only and each is used for exactly one clip.
 */
import type { Random } from '../crypto/backend.js';
import { encodeHeader } from '../age/header.js';
import { FILE_KEY_LENGTH } from '../age/x25519.js';
import { kemOf, wrapFileKeyToAll, type Kem } from '../age/recipients.js';
import { PAYLOAD_NONCE_LENGTH, payloadKey } from '../age/stream.js';
import { check } from '../errors.js';
import { NO_ROSTER } from '../roster/roster-hash.js';
import { eventNonceOf } from '../event/event.js';

/**
 * Who clips are sealed to right now: the roster's recipients (and the history recipient,
 * if kept), all classic (age1…) or all post-quantum (age1pq1…), never mixed.
 */
export interface RecipientSet {
  epoch: number;
  recipients: string[];
  /** rosterHash() of the roster these come from (absent: none, as in tests and benchmarks) */
  roster?: string;
}

export interface PreparedHeader {
  epoch: number;
  /** the recipients' one kind: the manifest says "mlkem768x25519" for post-quantum clips */
  kem: Kem;
  /** the roster's hash, or NO_ROSTER */
  roster: string;
  /** the age header, through the MAC line's newline */
  header: Uint8Array;
  /** the payload's 16-byte nonce (first bytes of the payload) */
  nonce: Uint8Array;
  /** the STREAM key derived from the file key and nonce */
  key: Uint8Array;
  /** the clip's event notice (src/event/event.ts): the same file key, its own nonce and payload key */
  eventNonce: Uint8Array;
  eventKey: Uint8Array;
}

export function prepareHeader(set: RecipientSet, random: Random): PreparedHeader {
  check(set.recipients.length > 0, 'NO_RECIPIENTS', 'no enrolled phone to seal clips to');
  const kem = kemOf(set.recipients);
  const fileKey = random(FILE_KEY_LENGTH);
  const stanzas = wrapFileKeyToAll(fileKey, set.recipients, random);
  const header = encodeHeader(fileKey, stanzas);
  const nonce = random(PAYLOAD_NONCE_LENGTH);
  const key = payloadKey(fileKey, nonce);
  const eventNonce = eventNonceOf(nonce);
  const eventKey = payloadKey(fileKey, eventNonce);
  fileKey.fill(0);
  return { epoch: set.epoch, kem, roster: set.roster ?? NO_ROSTER, header, nonce, key, eventNonce, eventKey };
}

export function wipeHeader(h: PreparedHeader): void {
  h.key.fill(0);
  h.eventKey.fill(0);
}

export class HeaderPool {
  private readonly ready: PreparedHeader[] = [];
  private set: RecipientSet | undefined;
  /** headers that had to be built on the trigger path because none was ready */
  misses = 0;

  constructor(
    private readonly random: Random,
    readonly size = 2,
  ) {}

  get available(): number {
    return this.ready.length;
  }

  get recipients(): RecipientSet | undefined {
    return this.set;
  }

  /** A new recipient set invalidates every prepared header. */
  setRecipients(set: RecipientSet): void {
    kemOf(set.recipients); // a mixed set is refused before it replaces the current one
    this.set = { epoch: set.epoch, recipients: [...set.recipients], roster: set.roster };
    this.ready.splice(0).forEach(wipeHeader);
  }

  /** Does one header's worth of idle work; false when the pool is full (or there is nobody to seal to). */
  refillOne(): boolean {
    if (!this.set || this.set.recipients.length === 0 || this.ready.length >= this.size) return false;
    this.ready.push(prepareHeader(this.set, this.random));
    return true;
  }

  /** A header for a new clip: a ready one, or (slow path) one built now. */
  take(): PreparedHeader {
    check(this.set, 'NO_RECIPIENTS', 'no roster: the doorbell has not been set up');
    const h = this.ready.shift();
    if (h) return h;
    this.misses++;
    return prepareHeader(this.set, this.random);
  }
}
