/**
 * The phone's state, one folder per phone (secrets 0600, written atomically):
 *
 *   identity.key          this phone's age identity (age -d -i identity.key opens its clips); after
 *                         `phone pq-upgrade`, the earlier classic identity follows it (older clips)
 *   phone.json            { v, name, recipient, auth: base64 Ed25519 seed } (secret)
 *   authority.pub         the account authority's minisign public key
 *   escrow.age            the account keys, age-encrypted to the passphrase (also on the relay)
 *   escrow.json           where the escrow lives on the relay, and its write token
 *
 * The account keys (authority, history) are not kept in the clear: a stolen phone must not be
 * able to sign itself back into a roster, nor read the clips recorded after its revocation
 * through the history recipient. Account operations (setup, enroll, revoke) ask for the
 * passphrase and open escrow.age (`unlockAccount`).
 *   devices/<ID>/device.pub            the doorbell's identity (minisign public key)
 *   devices/<ID>/device.json           { relayUrl, credential: base64 } (secret)
 *   devices/<ID>/relay-ca.pem          the CA given at setup (--relay-ca): this phone's requests to
 *                                      the doorbell's relay trust it alone
 *   devices/<ID>/roster.json           the newest roster this phone signed or saw
 *   devices/<ID>/roster.json.minisig   its account authority signature
 */
import fs from 'node:fs';
import path from 'node:path';
import { base64 } from '@scure/base';
import { writeFileAtomic } from '../../hosts/node/kv-store.js';
import { SealbellError } from '../../src/errors.js';
import { formatIdentityFile, parseIdentityFile } from '../../src/age/identity-file.js';
import { anyIdentityToRecipient } from '../../src/age/recipients.js';
import { decodePublicKey, encodePublicKey, signingKeyFromSeed, type SigningKey } from '../../src/minisign.js';
import { openEscrow } from './escrow.js';
import { openEscrowAsync } from './escrow-node.js';
import { trustRelayCa } from '../relay/client-http.js';
import { verifyRoster, type SignedRoster } from '../../src/roster/roster.js';
import { encodeRosterBundle, parseRosterBundle } from '../../src/roster/bundle.js';

export type { AccountKeys, PhoneKeys } from './account-core.js';
import type { AccountKeys, PhoneKeys } from './account-core.js';

export interface DeviceRecord {
  deviceId: string;
  publicKeyText: string;
  relayUrl: string;
  /** the relay credential this phone gave the doorbell at setup (phones enrolled later have none) */
  credential?: Uint8Array;
  /** the CA (PEM) given at setup for the relay, if any */
  relayCa?: string;
}

const file = (dir: string, ...parts: string[]) => path.join(dir, ...parts);

function readJson(p: string, what: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(p, 'utf8');
  } catch {
    throw new SealbellError('PHONE_STATE', `${what} is missing (${p}): run phone init or enroll first`);
  }
  try {
    const v = JSON.parse(text);
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v;
  } catch {
    // reported below
  }
  throw new SealbellError('PHONE_STATE', `${what} is corrupt (${p})`);
}

function seed(value: unknown, what: string): Uint8Array {
  try {
    const b = base64.decode(String(value));
    if (b.length === 32) return b;
  } catch {
    // reported below
  }
  throw new SealbellError('PHONE_STATE', `${what} is not a 32-byte base64 key`);
}

export function hasPhone(dir: string): boolean {
  return fs.existsSync(file(dir, 'phone.json'));
}

export function writePhone(dir: string, p: PhoneKeys): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const created = new Date();
  const earlier = (p.previous ?? []).map((id) => `# earlier key, kept to open older clips:\n${formatIdentityFile(id, created)}`);
  writeFileAtomic(file(dir, 'identity.key'), [formatIdentityFile(p.identity, created), ...earlier].join(''));
  writeFileAtomic(file(dir, 'phone.json'), JSON.stringify({ v: 1, name: p.name, recipient: p.recipient, auth: base64.encode(p.auth.secretKey) }, null, 2) + '\n');
}

export function readPhone(dir: string): PhoneKeys {
  const j = readJson(file(dir, 'phone.json'), 'phone.json');
  const [identity, ...previous] = parseIdentityFile(fs.readFileSync(file(dir, 'identity.key'), 'utf8'));
  const recipient = anyIdentityToRecipient(identity);
  if (j.recipient !== recipient || typeof j.name !== 'string') throw new SealbellError('PHONE_STATE', 'phone.json does not match identity.key');
  return { name: j.name, identity, recipient, previous, auth: signingKeyFromSeed(seed(j.auth, 'phone auth key')) };
}

/** Keeps the account authority's public key (the secret keys stay in the escrow). */
export function writeAuthorityPub(dir: string, a: AccountKeys): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(file(dir, 'authority.pub'), encodePublicKey(a.authority.publicKey, a.authority.keyId));
}

/** The account authority's public key, as kept by writeAuthorityPub. */
export function readAuthorityPub(dir: string): Uint8Array {
  try {
    return decodePublicKey(fs.readFileSync(file(dir, 'authority.pub'), 'utf8')).publicKey;
  } catch {
    throw new SealbellError('PHONE_STATE', `${file(dir, 'authority.pub')} is missing or corrupt: run phone init or enroll first`);
  }
}

/** The account keys, from this phone's escrow.age and the passphrase (AGE_PASSPHRASE if wrong). */
export function unlockAccount(dir: string, passphrase: string): AccountKeys {
  return openEscrow(readEscrow(dir), passphrase);
}

/** unlockAccount with scrypt off the event loop: what the commands use. */
export function unlockAccountAsync(dir: string, passphrase: string): Promise<AccountKeys> {
  return openEscrowAsync(readEscrow(dir), passphrase);
}

function readEscrow(dir: string): Uint8Array {
  try {
    return new Uint8Array(fs.readFileSync(file(dir, 'escrow.age')));
  } catch {
    throw new SealbellError('PHONE_STATE', `${file(dir, 'escrow.age')} is missing: run phone init or enroll first`);
  }
}

export function writeEscrow(dir: string, escrow: Uint8Array): string {
  const p = file(dir, 'escrow.age');
  writeFileAtomic(p, escrow);
  return p;
}

export { authKeyPublic } from './account-core.js';

function deviceDir(dir: string, deviceId: string): string {
  if (!/^[0-9A-F]{16}$/.test(deviceId)) throw new SealbellError('PHONE_STATE', `not a device id: ${deviceId.slice(0, 40)}`);
  return file(dir, 'devices', deviceId);
}

export function writeDevice(dir: string, d: DeviceRecord): void {
  const dd = deviceDir(dir, d.deviceId);
  fs.mkdirSync(dd, { recursive: true, mode: 0o700 });
  fs.writeFileSync(file(dd, 'device.pub'), d.publicKeyText);
  const record = d.credential ? { relayUrl: d.relayUrl, credential: base64.encode(d.credential) } : { relayUrl: d.relayUrl };
  writeFileAtomic(file(dd, 'device.json'), JSON.stringify(record, null, 2) + '\n');
  if (d.relayCa) writeFileAtomic(file(dd, 'relay-ca.pem'), d.relayCa);
}

export function readDevice(dir: string, deviceId: string): DeviceRecord {
  const dd = deviceDir(dir, deviceId);
  const j = readJson(file(dd, 'device.json'), `doorbell ${deviceId}`);
  if (typeof j.relayUrl !== 'string') throw new SealbellError('PHONE_STATE', `doorbell ${deviceId}: device.json has no relay URL`);
  let publicKeyText: string;
  try {
    publicKeyText = fs.readFileSync(file(dd, 'device.pub'), 'utf8');
  } catch {
    throw new SealbellError('PHONE_STATE', `doorbell ${deviceId}: device.pub is missing`);
  }
  const relayCa = readIfThere(file(dd, 'relay-ca.pem'));
  // Whatever this phone then asks that relay trusts the CA from setup alone.
  if (relayCa) trustRelayCa(j.relayUrl, relayCa);
  return {
    deviceId,
    publicKeyText,
    relayUrl: j.relayUrl,
    ...(j.credential === undefined ? {} : { credential: seed(j.credential, 'device credential') }),
    ...(relayCa ? { relayCa } : {}),
  };
}

function readIfThere(f: string): string | undefined {
  try {
    return fs.readFileSync(f, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

export function listDevices(dir: string): string[] {
  try {
    return fs.readdirSync(file(dir, 'devices')).filter((n) => /^[0-9A-F]{16}$/.test(n)).sort();
  } catch {
    return [];
  }
}

/**
 * Saves a signed roster: roster.sbr (the bundle, one atomic file) is what the phone
 * reads back; roster.json and roster.json.minisig are copies for `minisign -V`.
 */
export function writeRoster(dir: string, signed: SignedRoster): void {
  const dd = deviceDir(dir, signed.roster.device);
  fs.mkdirSync(dd, { recursive: true, mode: 0o700 });
  writeFileAtomic(file(dd, 'roster.sbr'), encodeRosterBundle(signed));
  writeFileAtomic(file(dd, 'roster.json'), signed.bytes);
  writeFileAtomic(file(dd, 'roster.json.minisig'), signed.signature);
}

/** The roster kept for a device, verified with the account authority; undefined if none. */
export function readRoster(dir: string, deviceId: string, authority: Uint8Array): SignedRoster | undefined {
  const p = file(deviceDir(dir, deviceId), 'roster.sbr');
  if (!fs.existsSync(p)) return undefined;
  return verifyBundle(new Uint8Array(fs.readFileSync(p)), authority);
}

/** A bundle from outside (relay), verified with the account authority. */
export function verifyBundle(bundle: Uint8Array, authority: Uint8Array): SignedRoster {
  const { bytes, signature } = parseRosterBundle(bundle);
  return verifyRoster(bytes, signature, authority);
}
