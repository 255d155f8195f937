/**
 * The SPAKE2+ registration record the device keeps (made by tools/provision.ts):
 * the salt and the verifier's (w0, L). Never the setup code, never w1: a dumped
 * device cannot play the phone (docs/setup-spake2plus.md).
 *
 *   record = "SBV1" ‖ salt (16) ‖ w0 (32) ‖ L (65, uncompressed P-256)
 */
import type { KeyValueStore } from '../host.js';
import { equalBytes, utf8ToBytes } from '../bytes.js';
import { SealbellError } from '../errors.js';
import { Reader, Writer } from '../wire.js';
import { SALT_LENGTH } from './protocol.js';
import { SCALAR_LENGTH, SHARE_LENGTH } from './spake2plus.js';

export const VERIFIER_KEY = 'setup.verifier';
const MAGIC = utf8ToBytes('SBV1');

export interface VerifierRecord {
  salt: Uint8Array;
  w0: Uint8Array;
  L: Uint8Array;
}

export function encodeVerifierRecord(r: VerifierRecord): Uint8Array {
  if (r.salt.length !== SALT_LENGTH || r.w0.length !== SCALAR_LENGTH || r.L.length !== SHARE_LENGTH) {
    throw new SealbellError('SETUP_VERIFIER', 'verifier record fields have the wrong lengths');
  }
  return new Writer().bytes(MAGIC).bytes(r.salt).bytes(r.w0).bytes(r.L).finish();
}

/** Framing only; the SPAKE2+ verifier validates w0 and L when a session starts. */
export function parseVerifierRecord(bytes: Uint8Array): VerifierRecord {
  const r = new Reader(bytes, 'SETUP_VERIFIER', 'setup verifier record');
  if (!equalBytes(r.bytesN(MAGIC.length, 'magic'), MAGIC)) r.fail('does not start with SBV1');
  const record = { salt: r.bytesN(SALT_LENGTH, 'salt'), w0: r.bytesN(SCALAR_LENGTH, 'w0'), L: r.bytesN(SHARE_LENGTH, 'L') };
  r.end();
  return record;
}

/** Factory step (or the simulator's first boot): puts the record where setup mode reads it. */
export function installVerifierRecord(store: KeyValueStore, record: Uint8Array): void {
  parseVerifierRecord(record);
  store.set(VERIFIER_KEY, record);
}

export function loadVerifierRecord(store: KeyValueStore): VerifierRecord {
  const raw = store.get(VERIFIER_KEY);
  if (!raw) throw new SealbellError('SETUP_NOT_PROVISIONED', 'this doorbell has no setup verifier (it was not provisioned)');
  return parseVerifierRecord(raw);
}
