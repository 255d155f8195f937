/**
 * The encrypted, authenticated channel after SPAKE2+ key confirmation.
 *
 *   key(P→D) = HKDF-SHA256(salt = session id, IKM = K_shared, info = "sealbell setup v1 phone to device", 32)
 *   key(D→P) = HKDF-SHA256(salt = session id, IKM = K_shared, info = "sealbell setup v1 device to phone", 32)
 *   RECORD   = header ‖ ChaCha20-Poly1305(key(dir), nonce = 0^8 ‖ seq (4, BE), aad = header, plaintext)
 *   header   = "SB" 01 06 ‖ session id ‖ seq
 *
 * Each direction has its own key and counts its records from 0; a receiver takes
 * only the next seq. A replayed (lower seq), reordered or skipped (higher seq) or
 * forged record is refused and changes nothing, so the genuine record still gets in.
 */
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { equalBytes, utf8ToBytes } from '../bytes.js';
import { SealbellError } from '../errors.js';
import { encodeMessage, recordHeader, type SetupMessage } from './messages.js';

const INFO_P2D = utf8ToBytes('sealbell setup v1 phone to device');
const INFO_D2P = utf8ToBytes('sealbell setup v1 device to phone');

export interface ChannelKeys {
  phoneToDevice: Uint8Array;
  deviceToPhone: Uint8Array;
}

export function channelKeys(sharedKey: Uint8Array, sessionId: Uint8Array): ChannelKeys {
  return {
    phoneToDevice: hkdf(sha256, sharedKey, sessionId, INFO_P2D, 32),
    deviceToPhone: hkdf(sha256, sharedKey, sessionId, INFO_D2P, 32),
  };
}

function nonceFor(seq: number): Uint8Array {
  const n = new Uint8Array(12);
  new DataView(n.buffer).setUint32(8, seq);
  return n;
}

type RecordMessage = Extract<SetupMessage, { type: 'RECORD' }>;

export class SetupChannel {
  readonly sessionId: Uint8Array;
  #sendKey: Uint8Array;
  #receiveKey: Uint8Array;
  #sendSeq = 0;
  #receiveSeq = 0;

  constructor(sharedKey: Uint8Array, sessionId: Uint8Array, role: 'phone' | 'device') {
    const keys = channelKeys(sharedKey, sessionId);
    this.sessionId = sessionId.slice();
    this.#sendKey = role === 'phone' ? keys.phoneToDevice : keys.deviceToPhone;
    this.#receiveKey = role === 'phone' ? keys.deviceToPhone : keys.phoneToDevice;
  }

  /** Records received so far (the next expected seq). */
  get received(): number {
    return this.#receiveSeq;
  }

  /** A RECORD message carrying `plaintext`. */
  seal(plaintext: Uint8Array): Uint8Array {
    const seq = this.#sendSeq++;
    const header = recordHeader(this.sessionId, seq);
    const sealed = chacha20poly1305(this.#sendKey, nonceFor(seq), header).encrypt(plaintext);
    return encodeMessage({ type: 'RECORD', sessionId: this.sessionId, seq, sealed, header });
  }

  /** The plaintext of the next record. Refusals leave the channel as it was. */
  open(m: RecordMessage): Uint8Array {
    if (!equalBytes(m.sessionId, this.sessionId)) {
      throw new SealbellError('SETUP_SESSION', 'the record belongs to another setup session');
    }
    if (m.seq < this.#receiveSeq) throw new SealbellError('SETUP_REPLAY', `record ${m.seq} was already received (replayed)`);
    if (m.seq > this.#receiveSeq) throw new SealbellError('SETUP_OUT_OF_ORDER', `record ${m.seq} arrived while record ${this.#receiveSeq} is expected`);
    let plaintext: Uint8Array;
    try {
      plaintext = chacha20poly1305(this.#receiveKey, nonceFor(m.seq), m.header).decrypt(m.sealed);
    } catch {
      throw new SealbellError('SETUP_RECORD_AUTH', 'the record fails authentication: it was forged or altered');
    }
    this.#receiveSeq++;
    return plaintext;
  }

  close(): void {
    this.#sendKey.fill(0);
    this.#receiveKey.fill(0);
  }
}
