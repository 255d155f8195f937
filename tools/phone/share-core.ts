/**
 * The heart of `phone share` without files (share.ts writes the bundle; the web app offers it
 * as downloads): a clip's file key, taken with the phone's identities from the clip's header,
 * wrapped again for one new recipient (or a passphrase) alone. The payload is unchanged, so
 * the device's signature on the manifest still verifies.
 */
import type { Random } from '../../src/host.js';
import { systemRandom } from '../../src/crypto/noble.js';
import { SealbellError } from '../../src/errors.js';
import { MAX_HEADER_BYTES, parseHeader, type Stanza } from '../../src/age/format.js';
import { encodeHeader, openHeader } from '../../src/age/header.js';
import { toAgeIdentity, checkAnyRecipient, wrapFileKey, type IdentityInput } from '../../src/age/recipients.js';
import { wrapScrypt } from '../../src/age/scrypt.js';

export interface ShareTarget {
  /** an age1… or age1pq1… recipient */
  to?: string;
  /** or a passphrase (an scrypt stanza, alone in the header) */
  passphrase?: Uint8Array;
  /** scrypt work factor (tests lower it; default age's 18) */
  logN?: number;
}

/**
 * The new header for a clip whose file starts with `head` (at least its header) and is sealed
 * to `kem` recipients, and the length of the old header (the payload follows it).
 */
export function rewrapHeader(head: Uint8Array, identities: IdentityInput[], target: ShareTarget, kem: string, random: Random = systemRandom): { header: Uint8Array; oldLength: number } {
  if ((target.to === undefined) === (target.passphrase === undefined)) {
    throw new SealbellError('SHARE_TARGET', 'share needs exactly one of a recipient (--to age1…) or a passphrase');
  }
  if (target.to !== undefined && checkAnyRecipient(target.to) !== kem) {
    // A classic stanza on a post-quantum clip would undo its protection (and its manifest's
    // kem would no longer match); a post-quantum stanza on a classic clip adds nothing.
    throw new SealbellError('AGE_KEM_MIX', `the clip is sealed to ${kem} recipients: share it to ${kem === 'x25519' ? 'an age1…' : 'an age1pq1…'} recipient (or with a passphrase)`);
  }
  const parsed = parseHeader(head.subarray(0, MAX_HEADER_BYTES));
  if (!parsed) throw new SealbellError('TRUNCATED', 'the clip is truncated inside its header');
  const fileKey = openHeader(parsed, identities.map(toAgeIdentity));
  try {
    const stanza: Stanza = target.to !== undefined ? wrapFileKey(fileKey, target.to, random) : wrapScrypt(fileKey, target.passphrase!, random, target.logN);
    return { header: encodeHeader(fileKey, [stanza]), oldLength: parsed.length };
  } finally {
    fileKey.fill(0);
  }
}
