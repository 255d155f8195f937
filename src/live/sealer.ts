/**
 * The device's side of one live session: the signed opening (a fresh session
 * file key wrapped with age's X25519 stanza to the requesting phone only), then
 * one sealed record per frame with a strictly increasing counter.
 *
 * A record is sealed by the backend's incremental AEAD straight into the one
 * record buffer (host memory on devices): the 7-byte plaintext prefix, then the
 * frame from where the camera left it. No plaintext buffer, no copy in
 * JavaScript: the JS work per frame is O(1), every byte is the backend's
 * (native on a device).
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import type { Aead, AeadSealStream, Random } from '../crypto/backend.js';
import type { Alloc } from '../age/stream.js';
import { encodeHeader } from '../age/header.js';
import { FILE_KEY_LENGTH } from '../age/x25519.js';
import { wrapFileKey } from '../age/recipients.js';
import { concatBytes, readUintBE, writeUintBE } from '../bytes.js';
import { check } from '../errors.js';
import type { SigningKey } from '../minisign.js';
import {
  encodeOpeningBody,
  END_REASONS,
  LIVE_NONCE_LENGTH,
  MAX_COUNTER,
  MAX_LIVE_FRAME_BYTES,
  MAX_RECORD_BYTES,
  PLAIN_PREFIX_LENGTH,
  RECORD_END,
  RECORD_FRAME,
  RECORD_HEADER_LENGTH,
  recordKey,
  writeRecordHeader,
  type EndReason,
} from './format.js';

/** built once: a template in the check would make a new string for every frame */
const FRAME_SIZE_MESSAGE = `a live frame must be 1–${MAX_LIVE_FRAME_BYTES} bytes`;

export interface LiveSealerOptions {
  aead: Aead;
  random: Random;
  /** the device identity key: signs the opening */
  key: SigningKey;
  device: string;
  session: string;
  request: Uint8Array;
  epoch: number;
  start: number;
  width: number;
  height: number;
  /** the requesting phone's age recipient from the roster (age1… or post-quantum age1pq1…) */
  recipient: string;
  /** where the record buffer comes from (host memory on devices); it is reused for every record */
  alloc?: Alloc;
}

export class LiveSealer {
  readonly opening: Uint8Array;
  readonly kid: number;
  private readonly key: Uint8Array;
  private readonly aead: AeadSealStream;
  /** the record: header (the nonce) ‖ ciphertext ‖ tag */
  private readonly out: Uint8Array;
  private readonly nonce: Uint8Array;
  /** where the AEAD writes: the record after its header */
  private readonly sealed: Uint8Array;
  /** kind ‖ capture time, the plaintext before the frame */
  private readonly prefix = new Uint8Array(PLAIN_PREFIX_LENGTH);
  private readonly endData = new Uint8Array(1);
  private ctr = 0;
  private ended = false;

  constructor(private readonly o: LiveSealerOptions) {
    const fileKey = o.random(FILE_KEY_LENGTH);
    // age's own recipient stanza (X25519, or mlkem768x25519 when the roster is post-quantum)
    // and header MAC: the phone opens it with its age identity.
    const header = encodeHeader(fileKey, [wrapFileKey(fileKey, o.recipient, o.random)]);
    const nonce = o.random(LIVE_NONCE_LENGTH);
    this.kid = readUintBE(o.random(4), 0, 4);
    this.key = recordKey(fileKey, nonce);
    fileKey.fill(0);
    const body = encodeOpeningBody({
      device: o.device,
      session: o.session,
      request: o.request,
      epoch: o.epoch,
      start: o.start,
      kid: this.kid,
      width: o.width,
      height: o.height,
      header,
      nonce,
    });
    this.opening = concatBytes(body, ed25519.sign(body, o.key.secretKey));
    const alloc = o.alloc ?? ((n: number) => new Uint8Array(n));
    this.out = alloc(MAX_RECORD_BYTES);
    this.nonce = this.out.subarray(0, RECORD_HEADER_LENGTH);
    this.sealed = this.out.subarray(RECORD_HEADER_LENGTH);
    this.aead = o.aead.sealStream();
  }

  /** Records sealed so far (= the next counter). */
  get count(): number {
    return this.ctr;
  }

  get closed(): boolean {
    return this.ended;
  }

  /** One frame as a record. The result is a view into a buffer reused by the next call: send or copy it at once. */
  frame(jpeg: Uint8Array, time: number): Uint8Array {
    check(jpeg.length >= 1 && jpeg.length <= MAX_LIVE_FRAME_BYTES, 'LIVE_FRAME_SIZE', FRAME_SIZE_MESSAGE);
    return this.seal(RECORD_FRAME, time, jpeg);
  }

  /** The last record: the session ended on the device's side. Nothing can be sealed after it. */
  end(reason: EndReason, time: number): Uint8Array {
    this.endData[0] = END_REASONS.indexOf(reason);
    const record = this.seal(RECORD_END, time, this.endData);
    this.ended = true;
    this.key.fill(0);
    return record;
  }

  private seal(kind: number, time: number, data: Uint8Array): Uint8Array {
    check(!this.ended, 'LIVE_CLOSED', 'the live session has ended');
    check(this.ctr <= MAX_COUNTER, 'LIVE_COUNTER', 'the live session counter is exhausted');
    this.prefix[0] = kind;
    writeUintBE(this.prefix, 1, Math.max(0, Math.floor(time)), 6);
    // the counter moves on before sealing: a nonce is never used twice, even after a failure
    writeRecordHeader(this.nonce, this.kid, this.ctr++);
    this.aead.begin(this.key, this.nonce, this.sealed);
    this.aead.update(this.prefix);
    this.aead.update(data);
    return this.out.subarray(0, RECORD_HEADER_LENGTH + this.aead.finish().length);
  }
}
