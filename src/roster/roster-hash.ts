/**
 * A roster's fingerprint: lower-case hex SHA-256 of its canonical bytes (the
 * exact bytes the account authority signed). Clip manifests name the roster
 * they were sealed to by its epoch and this hash, so a phone can tell a clip
 * sealed to an old or unknown roster (docs/clip-format.md).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '../bytes.js';

export const rosterHash = (canonicalRosterBytes: Uint8Array): string => bytesToHex(sha256(canonicalRosterBytes));

/** In a manifest: the clip was sealed to recipients that came from no signed roster (tests, benchmarks). */
export const NO_ROSTER = '0'.repeat(64);
