/**
 * The two native age recipient types sealbell seals to, behind one interface:
 * X25519 ("age1…", classic) and MLKEM768-X25519 ("age1pq1…", post-quantum hybrid).
 *
 * The no-mixing rule lives here. The age spec says a file SHOULD NOT be sealed to a
 * post-quantum recipient and a classic one at once (the classic stanza would undo the
 * post-quantum protection); sealbell makes it a MUST: every recipient set it seals to,
 * and every clip header it opens, is all one kind ("KEM"), or it is refused (AGE_KEM_MIX).
 */
import { check, SealbellError } from '../errors.js';
import type { Random } from '../crypto/backend.js';
import type { Stanza } from './format.js';
import {
  decodeRecipient,
  encodeRecipient,
  generateIdentity,
  identityToRecipient,
  unwrapX25519,
  wrapX25519,
  x25519Identity,
  type X25519Identity,
} from './x25519.js';
import {
  decodeHybridRecipient,
  encodeHybridRecipient,
  generateHybridIdentity,
  hybridIdentity,
  hybridIdentityToRecipient,
  isHybridIdentity,
  isHybridRecipient,
  unwrapHybrid,
  wrapHybrid,
  HYBRID_STANZA_TYPE,
  type HybridIdentity,
} from './mlkem768x25519.js';

/** Which key encapsulation a recipient, identity, roster or clip uses. */
export type Kem = 'x25519' | 'mlkem768x25519';

/** An identity ready to try on stanzas (public parts computed once). */
export type AgeIdentity = X25519Identity | HybridIdentity;

export function recipientKem(recipient: string): Kem {
  return isHybridRecipient(recipient) ? 'mlkem768x25519' : 'x25519';
}

export function identityKem(identity: string): Kem {
  return isHybridIdentity(identity) ? 'mlkem768x25519' : 'x25519';
}

/** Parses an age1… or age1pq1… recipient; throws AGE_KEY unless it is valid and in canonical form. */
export function checkAnyRecipient(recipient: string): Kem {
  const kem = recipientKem(recipient);
  const canonical = kem === 'mlkem768x25519'
    ? encodeHybridRecipient(decodeHybridRecipient(recipient))
    : encodeRecipient(decodeRecipient(recipient));
  check(canonical === recipient, 'AGE_KEY', 'the age recipient is not in canonical form');
  return kem;
}

export function ageIdentity(identity: string): AgeIdentity {
  return identityKem(identity) === 'mlkem768x25519' ? hybridIdentity(identity) : x25519Identity(identity);
}

/** An identity as text (AGE-SECRET-KEY-1… / -PQ-1…) or ready to use (one whose secret JavaScript does not hold, see x25519.ts). */
export type IdentityInput = string | AgeIdentity;

export const toAgeIdentity = (i: IdentityInput): AgeIdentity => (typeof i === 'string' ? ageIdentity(i) : i);

export function anyIdentityToRecipient(identity: string): string {
  return identityKem(identity) === 'mlkem768x25519' ? hybridIdentityToRecipient(identity) : identityToRecipient(identity);
}

export function generateAgeIdentity(kem: Kem, random: Random): string {
  return kem === 'mlkem768x25519' ? generateHybridIdentity(random) : generateIdentity(random);
}

/** The one KEM of a recipient set; AGE_KEM_MIX if it mixes post-quantum and classic recipients. */
export function kemOf(recipients: readonly string[]): Kem {
  const kems = new Set(recipients.map(recipientKem));
  if (kems.size > 1) {
    throw new SealbellError('AGE_KEM_MIX', 'post-quantum (age1pq1…) and classic (age1…) recipients are mixed; a clip is sealed to one kind only');
  }
  return kems.has('mlkem768x25519') ? 'mlkem768x25519' : 'x25519';
}

/** Wraps the file key to one recipient of either type. */
export function wrapFileKey(fileKey: Uint8Array, recipient: string, random: Random): Stanza {
  return recipientKem(recipient) === 'mlkem768x25519'
    ? wrapHybrid(fileKey, decodeHybridRecipient(recipient), random)
    : wrapX25519(fileKey, decodeRecipient(recipient), random);
}

/** Wraps the file key to every recipient of a set that must be all one KEM. */
export function wrapFileKeyToAll(fileKey: Uint8Array, recipients: readonly string[], random: Random): Stanza[] {
  kemOf(recipients);
  return recipients.map((r) => wrapFileKey(fileKey, r, random));
}

export function unwrapFileKey(stanza: Stanza, identity: AgeIdentity): Uint8Array | undefined {
  return identity.kem === 'mlkem768x25519' ? unwrapHybrid(stanza, identity) : unwrapX25519(stanza, identity);
}

/**
 * The KEM of a header's recipient stanzas. Stanzas of other types (grease, scrypt)
 * are ignored here; a header with both X25519 and mlkem768x25519 stanzas is refused.
 * Undefined when it has neither.
 */
export function stanzaKem(stanzas: readonly Stanza[]): Kem | undefined {
  const hybrid = stanzas.some((s) => s.type === HYBRID_STANZA_TYPE);
  const classic = stanzas.some((s) => s.type === 'X25519');
  if (hybrid && classic) {
    throw new SealbellError('AGE_KEM_MIX', 'the age header mixes post-quantum (mlkem768x25519) and classic (X25519) stanzas');
  }
  return hybrid ? 'mlkem768x25519' : classic ? 'x25519' : undefined;
}
