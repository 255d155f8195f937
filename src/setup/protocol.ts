/**
 * Constants of the setup protocol v1 (docs/setup-protocol.md) that both ends
 * and the provisioning tool must agree on.
 */
import { concatBytes, utf8ToBytes } from '../bytes.js';

export const PROTOCOL_VERSION = 1;
/** SPAKE2+ identities; also an input of the password hash, so provisioning uses them too. */
export const ID_PROVER = utf8ToBytes('sealbell phone');
export const ID_VERIFIER = utf8ToBytes('sealbell doorbell');
/** Bytes of the provisioning salt (the SPAKE2+ scrypt salt), also in the QR payload. */
export const SALT_LENGTH = 16;
export const SESSION_ID_LENGTH = 8;

/** The largest setup message either side accepts, in bytes (CONFIG with a full roster fits). */
export const MAX_MESSAGE_BYTES = 16 * 1024;
/** How long the setup window stays open after boot or a long press. */
export const SETUP_WINDOW_MS = 10 * 60 * 1000;
/** Sessions that reached a SPAKE2+ response without confirming, before the device locks. */
export const MAX_ATTEMPTS = 5;

/** SPAKE2+ Context: binds the protocol, this session and the salt the phone was given. */
export function spakeContext(sessionId: Uint8Array, salt: Uint8Array): Uint8Array {
  return concatBytes(utf8ToBytes('sealbell setup v1'), sessionId, salt);
}
