/**
 * The live-format test vector (docs/live-format.md, test/vectors/live-v1.json),
 * made by the real sealer from a seeded generator. Node-free: the XS entry
 * (test/xs/live-core.ts) rebuilds it under XS and must get the same bytes.
 */
import { bytesToHex, hexToBytes } from '../src/bytes.js';
import { nobleAead } from '../src/crypto/noble.js';
import { loadOrCreateIdentity } from '../src/device/identity.js';
import { generateIdentity, identityToRecipient, x25519Identity } from '../src/age/x25519.js';
import { parseHeader } from '../src/age/format.js';
import { openHeader } from '../src/age/header.js';
import { MemoryKeyValueStore } from '../src/memory-store.js';
import { LiveSealer } from '../src/live/sealer.js';
import { parseOpening, recordKey } from '../src/live/format.js';
import { openLiveSession } from '../src/live/opener.js';
import { decodePublicKey } from '../src/minisign.js';
import { seededRandom } from './seeded.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { encodeAuthKey } from '../src/roster/roster.js';
import { liveRequestMessage, signLiveRequest } from '../src/live/request.js';

export interface LiveVector {
  comment: string;
  randomSeed: string;
  identity: string;
  recipient: string;
  devicePublicKey: string;
  device: string;
  session: string;
  request: string;
  epoch: number;
  start: number;
  width: number;
  height: number;
  kid: number;
  /** the age header inside the opening, as text */
  header: string;
  nonce: string;
  /** HKDF-SHA-256(file key, nonce, "sealbell live v1 records") */
  recordKey: string;
  opening: string;
  records: { ctr: number; kind: 'frame' | 'end'; time: number; data: string; record: string }[];
  /** the phone's signed request for this session (src/live/request.ts) */
  signedRequest: {
    /** the phone's roster auth key: Ed25519 seed (hex) and public key (base64, as in the roster) */
    authSeed: string;
    auth: string;
    time: number;
    /** the bytes signed, and the signature (hex) */
    message: string;
    signature: string;
  };
}

export const LIVE_VECTOR_SEED = 'sealbell live vector 1';

export function makeLiveVector(): LiveVector {
  const random = seededRandom(LIVE_VECTOR_SEED);
  const identity = generateIdentity(random);
  const device = loadOrCreateIdentity(new MemoryKeyValueStore(), random);
  const request = random(16);
  const start = Date.UTC(2026, 10, 26, 12, 0, 0);
  const session = '5e55104a1b2c3d4e';
  const sealer = new LiveSealer({
    aead: nobleAead,
    random,
    key: device.key,
    device: device.deviceId,
    session,
    request,
    epoch: 3,
    start,
    width: 16,
    height: 8,
    recipient: identityToRecipient(identity),
  });
  const records: LiveVector['records'] = [];
  for (const n of [1, 2, 3]) {
    const data = Uint8Array.of(0xff, 0xd8, 0xff, n, n, n, 0xff, 0xd9);
    const time = start + n * 100;
    records.push({ ctr: n - 1, kind: 'frame', time, data: bytesToHex(data), record: bytesToHex(sealer.frame(data, time)) });
  }
  records.push({ ctr: 3, kind: 'end', time: start + 350, data: '00', record: bytesToHex(sealer.end('timeout', start + 350)) });
  // Drawn last, so the bytes above do not depend on it.
  const authSeed = random(32);
  const asked = { device: device.deviceId, session, request, time: start - 150 };
  const opening = parseOpening(sealer.opening);
  const fileKey = openHeader(parseHeader(opening.header)!, [x25519Identity(identity)]);
  return {
    comment: 'sealbell live v1 vector: see docs/live-format.md',
    randomSeed: LIVE_VECTOR_SEED,
    identity,
    recipient: identityToRecipient(identity),
    devicePublicKey: device.publicKeyText,
    device: device.deviceId,
    session,
    request: bytesToHex(request),
    epoch: 3,
    start,
    width: 16,
    height: 8,
    kid: sealer.kid,
    header: new TextDecoder().decode(opening.header),
    nonce: bytesToHex(opening.nonce),
    recordKey: bytesToHex(recordKey(fileKey, opening.nonce)),
    opening: bytesToHex(sealer.opening),
    records,
    signedRequest: {
      authSeed: bytesToHex(authSeed),
      auth: encodeAuthKey(ed25519.getPublicKey(authSeed)),
      time: asked.time,
      message: bytesToHex(liveRequestMessage(asked)),
      signature: bytesToHex(signLiveRequest(asked, authSeed)),
    },
  };
}

export { hexToBytes };

/** The phone's side of the vector: its opening opened with the vector's phone identity. */
export function openLiveVector(v: LiveVector) {
  return openLiveSession(hexToBytes(v.opening), {
    aead: nobleAead,
    identity: v.identity,
    devicePublicKey: decodePublicKey(v.devicePublicKey).publicKey,
    device: v.device,
    request: hexToBytes(v.request),
  });
}
