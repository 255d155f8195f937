/**
 * Whole age files in memory, for small things (the account escrow): header and
 * STREAM payload, with whatever stanzas the caller wraps the file key in.
 * Clips use the streaming sealer/opener instead.
 */
import type { Aead, Random } from '../crypto/backend.js';
import { concatBytes } from '../bytes.js';
import { SealbellError } from '../errors.js';
import { parseHeader, type ParsedHeader, type Stanza } from './format.js';
import { encodeHeader, verifyHeaderMac } from './header.js';
import { PAYLOAD_NONCE_LENGTH, StreamOpener, StreamSealer, payloadKey } from './stream.js';
import { FILE_KEY_LENGTH } from './x25519.js';
import { scryptWrapperAsync, unwrapScrypt, unwrapScryptAsync, wrapScrypt, SCRYPT_MAX_LOG_N, SCRYPT_WRITE_LOG_N, type AsyncScrypt } from './scrypt.js';

export function encryptAgeFile(
  plaintext: Uint8Array,
  wrap: (fileKey: Uint8Array) => Stanza[],
  random: Random,
  aead: Aead,
): Uint8Array {
  const fileKey = random(FILE_KEY_LENGTH);
  const header = encodeHeader(fileKey, wrap(fileKey));
  const nonce = random(PAYLOAD_NONCE_LENGTH);
  const key = payloadKey(fileKey, nonce);
  fileKey.fill(0);
  const chunks: Uint8Array[] = [header, nonce];
  const sealer = new StreamSealer(aead, key, (sealed) => chunks.push(sealed.slice()));
  sealer.write(plaintext);
  sealer.close();
  key.fill(0);
  return concatBytes(...chunks);
}

/** Opens a whole age file; `unwrap` recovers the file key from the header's stanzas. */
export function decryptAgeFile(
  file: Uint8Array,
  unwrap: (header: ParsedHeader) => Uint8Array,
  aead: Aead,
): Uint8Array {
  const header = headerOf(file);
  return openPayload(file, header, unwrap(header), aead);
}

function headerOf(file: Uint8Array): ParsedHeader {
  const header = parseHeader(file);
  if (!header) throw new SealbellError('TRUNCATED', 'the age file is truncated inside its header');
  return header;
}

function openPayload(file: Uint8Array, header: ParsedHeader, fileKey: Uint8Array, aead: Aead): Uint8Array {
  verifyHeaderMac(header, fileKey);
  const nonce = file.subarray(header.length, header.length + PAYLOAD_NONCE_LENGTH);
  if (nonce.length < PAYLOAD_NONCE_LENGTH) throw new SealbellError('TRUNCATED', 'the age file has no payload');
  const key = payloadKey(fileKey, nonce);
  fileKey.fill(0);
  const parts: Uint8Array[] = [];
  const opener = new StreamOpener(aead, key, (plain) => parts.push(plain.slice()));
  opener.push(file.subarray(header.length + PAYLOAD_NONCE_LENGTH));
  opener.end();
  key.fill(0);
  return concatBytes(...parts);
}

/** An age file that `age -d` opens with the passphrase. */
export function encryptWithPassphrase(
  plaintext: Uint8Array,
  passphrase: Uint8Array,
  random: Random,
  aead: Aead,
  logN = SCRYPT_WRITE_LOG_N,
): Uint8Array {
  return encryptAgeFile(plaintext, (fileKey) => [wrapScrypt(fileKey, passphrase, random, logN)], random, aead);
}

export function decryptWithPassphrase(file: Uint8Array, passphrase: Uint8Array, aead: Aead, maxLogN = SCRYPT_MAX_LOG_N): Uint8Array {
  return decryptAgeFile(file, (h) => unwrapScrypt(h.stanzas, passphrase, maxLogN), aead);
}

/** encryptWithPassphrase with scrypt run by `kdf` (off the event loop in Node tools). */
export async function encryptWithPassphraseAsync(
  plaintext: Uint8Array,
  passphrase: Uint8Array,
  random: Random,
  aead: Aead,
  kdf: AsyncScrypt,
  logN = SCRYPT_WRITE_LOG_N,
): Promise<Uint8Array> {
  const wrap = await scryptWrapperAsync(passphrase, random, kdf, logN);
  return encryptAgeFile(plaintext, (fileKey) => [wrap(fileKey)], random, aead);
}

/** decryptWithPassphrase with scrypt run by `kdf`; the same errors. */
export async function decryptWithPassphraseAsync(file: Uint8Array, passphrase: Uint8Array, aead: Aead, kdf: AsyncScrypt, maxLogN = SCRYPT_MAX_LOG_N): Promise<Uint8Array> {
  const header = headerOf(file);
  return openPayload(file, header, await unwrapScryptAsync(header.stanzas, passphrase, kdf, maxLogN), aead);
}
