/**
 * The release key as minisign keeps keys, so the project can sign releases with sealbell or
 * with minisign itself (`minisign -S -s release.key`), and anyone checks them with `minisign -V`:
 *
 *   release.key  an unencrypted minisign secret key (what `minisign -G -W` writes), mode 0600
 *   release.pub  its minisign public key; its Ed25519 key is what the firmware is built with
 *
 * Secret key layout (base64 on line 2): "Ed" ‖ kdf "\0\0" ‖ "B2" ‖ salt[32] ‖ opslimit[8] ‖
 * memlimit[8] ‖ key id[8] ‖ seed[32] ‖ public key[32] ‖ BLAKE2b-256("Ed" ‖ key id ‖ seed ‖ public key).
 * An encrypted key (kdf "Sc") is refused with a clear error: decrypt it with minisign first.
 */
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { blake2b } from '@noble/hashes/blake2.js';
import { base64 } from '@scure/base';
import { concatBytes, equalBytes, utf8ToBytes } from '../../src/bytes.js';
import { SealbellError } from '../../src/errors.js';
import { decodePublicKey, encodePublicKey, keyIdHex, signingKeyFromSeed, type SigningKey } from '../../src/minisign.js';

const ED = utf8ToBytes('Ed');
const B2 = utf8ToBytes('B2');
const SECRET_KEY_BYTES = 158;

export function encodeSecretKey(key: SigningKey): string {
  const sk = concatBytes(key.secretKey, key.publicKey);
  const chk = blake2b(concatBytes(ED, key.keyId, sk), { dkLen: 32 });
  const raw = concatBytes(ED, new Uint8Array(2), B2, new Uint8Array(32 + 8 + 8), key.keyId, sk, chk);
  return `untrusted comment: sealbell release secret key ${keyIdHex(key.keyId)} (unencrypted minisign secret key)\n${base64.encode(raw)}\n`;
}

export function decodeSecretKey(text: string): SigningKey {
  const bad = (why: string): never => {
    throw new SealbellError('RELEASE_KEY', `not a usable minisign secret key: ${why}`);
  };
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  if (lines.length < 2 || !lines[0].startsWith('untrusted comment:')) bad('no comment line');
  let raw: Uint8Array = new Uint8Array(0);
  try {
    raw = base64.decode(lines[1].trim());
  } catch {
    bad('bad base64');
  }
  if (raw.length !== SECRET_KEY_BYTES) bad('wrong length');
  if (!equalBytes(raw.subarray(0, 2), ED)) bad('not an Ed25519 key');
  if (raw[2] !== 0 || raw[3] !== 0) bad('it is encrypted (decrypt it with minisign, or make one with sealbell release keygen)');
  if (!equalBytes(raw.subarray(4, 6), B2)) bad('unknown checksum algorithm');
  const keyId = raw.slice(54, 62);
  const sk = raw.subarray(62, 126);
  // minisign 0.11's `-G -W` leaves the checksum of an unencrypted key zero; the public half checks it below
  const chk = raw.subarray(126, 158);
  if (chk.some((b) => b !== 0) && !equalBytes(blake2b(concatBytes(ED, keyId, sk), { dkLen: 32 }), chk)) bad('checksum mismatch');
  const key = signingKeyFromSeed(sk.slice(0, 32));
  if (!equalBytes(key.publicKey, sk.subarray(32))) bad('its public half does not match its seed');
  return { ...key, keyId };
}

export const readSecretKey = (file: string): SigningKey => decodeSecretKey(fs.readFileSync(file, 'utf8'));
export const readPublicKey = (file: string): Uint8Array => decodePublicKey(fs.readFileSync(file, 'utf8')).publicKey;

/** A new release key: writes `<out>.key` (0600) and `<out>.pub`; refuses to overwrite either. */
export function releaseKeygen(out: string): { key: string; pub: string; keyId: string } {
  const key = signingKeyFromSeed(new Uint8Array(randomBytes(32)));
  const files = { key: `${out}.key`, pub: `${out}.pub` };
  for (const f of Object.values(files)) if (fs.existsSync(f)) throw new SealbellError('RELEASE_EXISTS', `${f} exists: not overwriting a release key`);
  fs.writeFileSync(files.key, encodeSecretKey(key), { mode: 0o600, flag: 'wx' });
  fs.writeFileSync(files.pub, encodePublicKey(key.publicKey, key.keyId), { flag: 'wx' });
  return { ...files, keyId: keyIdHex(key.keyId) };
}
