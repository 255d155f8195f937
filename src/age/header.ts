/** The age header MAC and file-key recovery (C2SP age spec, "Header" and "Header MAC"). */
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { equalBytes, utf8ToBytes, concatBytes } from '../bytes.js';
import { check, SealbellError } from '../errors.js';
import { b64encode, encodeStanzas, parseHeader, MAX_HEADER_BYTES, type ParsedHeader, type Stanza } from './format.js';
import { x25519Shares } from './x25519.js';
import { stanzaKem, unwrapFileKey, type AgeIdentity } from './recipients.js';

const HEADER_INFO = utf8ToBytes('header');

function headerMac(fileKey: Uint8Array, macInput: Uint8Array): Uint8Array {
  return hmac(sha256, hkdf(sha256, fileKey, new Uint8Array(0), HEADER_INFO, 32), macInput);
}

/** The whole header, MAC line and final newline included. */
export function encodeHeader(fileKey: Uint8Array, stanzas: Stanza[]): Uint8Array {
  const macInput = utf8ToBytes(encodeStanzas(stanzas));
  const macLine = utf8ToBytes(' ' + b64encode(headerMac(fileKey, macInput)) + '\n');
  return concatBytes(macInput, macLine);
}

/**
 * Recovers the file key with one of the `identities` (X25519 or post-quantum hybrid)
 * and checks the header MAC. Throws NO_IDENTITY when no stanza is for these keys,
 * HEADER_MAC when the header was altered, AGE_KEM_MIX when it mixes classic and
 * post-quantum stanzas (see recipients.ts).
 */
export function openHeader(header: ParsedHeader, identities: AgeIdentity[]): Uint8Array {
  if (header.stanzas.some((s) => s.type === 'scrypt')) {
    check(header.stanzas.length === 1, 'AGE_HEADER', 'malformed age header: an scrypt stanza must be alone');
  }
  stanzaKem(header.stanzas);
  for (const stanza of header.stanzas) {
    for (const identity of identities) {
      const fileKey = unwrapFileKey(stanza, identity);
      if (fileKey === undefined) continue;
      check(fileKey.length === 16, 'AGE_HEADER', 'malformed age header: file key must be 16 bytes');
      verifyHeaderMac(header, fileKey);
      return fileKey;
    }
  }
  throw new SealbellError('NO_IDENTITY', 'no identity given opens this clip (it was not sealed to these keys)');
}

/**
 * The X25519 shares in the age header at the start of `bytes` (a clip, an event, a live opening's
 * header): what an identity whose secret lives outside JavaScript must multiply before the
 * header is opened. Empty when `bytes` does not start with a whole header (opening it says why).
 */
export function headerShares(bytes: Uint8Array): string[] {
  try {
    const header = parseHeader(bytes.subarray(0, MAX_HEADER_BYTES));
    return header ? x25519Shares(header.stanzas) : [];
  } catch {
    return [];
  }
}

export function verifyHeaderMac(header: ParsedHeader, fileKey: Uint8Array): void {
  if (!equalBytes(headerMac(fileKey, header.macInput), header.mac)) {
    throw new SealbellError('HEADER_MAC', 'the age header was altered (header MAC does not match)');
  }
}
