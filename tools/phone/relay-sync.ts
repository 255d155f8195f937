/**
 * The phone's dealings with the relay around the account: registering a doorbell
 * after setup (with the account's endorsement of its key), keeping the escrow there,
 * enrolling a further phone from the passphrase alone, and publishing roster changes.
 *
 * Nothing here trusts the relay: the escrow is opened with the passphrase, rosters are
 * checked with the account authority, and a doorbell's key is taken only with the
 * authority's endorsement of it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { SealbellError } from '../../src/errors.js';
import { utf8ToBytes } from '../../src/bytes.js';
import { decodePublicKey, keyIdHex, keyIdOf, sign, verify, type SigningKey } from '../../src/minisign.js';
import { credentialToken } from '../../src/setup/records.js';
import { writeFileAtomic } from '../../hosts/node/kv-store.js';
import { newToken } from '../relay/tokens.js';
import { registerDevice } from '../relay/owner-client.js';
import { authorityDevices, deviceKey, getEscrow, phoneAuthKeyFromSeed, PhoneClient, publishRoster, putEscrow } from '../relay/phone-client.js';
import { phoneEnroll, type PhoneEnrollResult, type RosterUpdate } from './enroll.js';
import { phoneRevoke } from './revoke.js';
import { normalizePassphrase, openEscrowAsync } from './escrow.js';
import { listDevices, readDevice, readPhone, writeDevice, type AccountKeys } from './state.js';

/** Where the account's escrow lives on a relay: derived from the passphrase, so a new phone needs nothing else. */
export function accountIdFor(passphrase: string): string {
  // The passphrase carries 128 bits of entropy: a fast hash of it reveals nothing useful.
  return bytesToHex(sha256(utf8ToBytes(`sealbell account id v1\n${normalizePassphrase(passphrase)}`)).subarray(0, 8)).toUpperCase();
}

const endorsementComment = (deviceId: string) => `sealbell device-key ${deviceId}`;

/** The account authority vouches for a doorbell's key (learnt over the SPAKE2+ channel at setup). */
export function endorseDevice(authority: SigningKey, deviceId: string, publicKeyText: string): string {
  return sign(utf8ToBytes(publicKeyText), authority, endorsementComment(deviceId), 'sealbell: the account authority endorses this doorbell key');
}

/** DEVICE_KEY unless the account authority endorsed exactly this key for this device. */
export function checkEndorsement(authority: Uint8Array, deviceId: string, publicKeyText: string, endorsement: string | undefined): void {
  const fail = (why: string): never => {
    throw new SealbellError('DEVICE_KEY', `the relay's key for doorbell ${deviceId} is not endorsed by this account: ${why}`);
  };
  if (!endorsement) fail('no endorsement');
  let comment = '';
  try {
    comment = verify(utf8ToBytes(publicKeyText), endorsement!, { keyId: keyIdOf(authority), publicKey: authority });
  } catch (e) {
    fail((e as Error).message);
  }
  if (comment !== endorsementComment(deviceId) || keyIdHex(decodePublicKey(publicKeyText).keyId) !== deviceId) fail('it is for another doorbell');
}

// --- escrow on the relay -------------------------------------------------------------------

interface EscrowRecord {
  account: string;
  /** set by the first upload; needed to replace the escrow */
  writeToken?: string;
}

const escrowRecordPath = (dir: string) => path.join(dir, 'escrow.json');

export function writeEscrowRecord(dir: string, r: EscrowRecord): void {
  writeFileAtomic(escrowRecordPath(dir), JSON.stringify(r, null, 2) + '\n');
}

function readEscrowRecord(dir: string): EscrowRecord {
  try {
    const r = JSON.parse(fs.readFileSync(escrowRecordPath(dir), 'utf8')) as EscrowRecord;
    if (typeof r.account === 'string' && /^[0-9A-F]{16}$/.test(r.account)) return r;
  } catch {
    // reported below
  }
  throw new SealbellError('PHONE_STATE', `${escrowRecordPath(dir)} is missing or corrupt`);
}

/** Uploads this phone's escrow.age to the relay (first time: makes and keeps the write token). */
export async function uploadEscrow(dir: string, relay: string): Promise<string> {
  const r = readEscrowRecord(dir);
  const writeToken = r.writeToken ?? newToken();
  await putEscrow(relay, r.account, writeToken, new Uint8Array(fs.readFileSync(path.join(dir, 'escrow.age'))));
  if (!r.writeToken) writeEscrowRecord(dir, { ...r, writeToken });
  return r.account;
}

// --- doorbells ------------------------------------------------------------------------------

/**
 * After setup: registers the doorbell on the relay (the relay's admin token; the credential
 * the phone gave the doorbell; the account's endorsement of its key) and uploads the escrow.
 */
export async function registerOnRelay(a: { dir: string; deviceId: string; adminToken: string; account: AccountKeys }): Promise<void> {
  const d = readDevice(a.dir, a.deviceId);
  if (!d.credential) throw new SealbellError('PHONE_STATE', `this phone did not set up ${a.deviceId}: it has no credential for it`);
  const account = a.account;
  await registerDevice(d.relayUrl, a.adminToken, {
    credential: credentialToken(d.credential),
    publicKey: d.publicKeyText,
    endorsement: endorseDevice(account.authority, a.deviceId, d.publicKeyText),
  });
  await uploadEscrow(a.dir, d.relayUrl);
}

/** Logs this phone in to the relay for one doorbell. */
export async function phoneLogin(dir: string, deviceId: string): Promise<PhoneClient> {
  const d = readDevice(dir, deviceId);
  return PhoneClient.login(d.relayUrl, deviceId, phoneAuthKeyFromSeed(readPhone(dir).auth.secretKey));
}

/** The doorbell's current roster as the relay has it (a pending update or the one it holds). */
async function currentRoster(client: PhoneClient): Promise<Uint8Array> {
  return (await client.getRoster()).blob;
}

async function publish(updates: RosterUpdate[], relayOf: (deviceId: string) => string): Promise<void> {
  for (const u of updates) await publishRoster(relayOf(u.deviceId), u.deviceId, u.bundle);
}

/**
 * `phone enroll`: a new phone from the passphrase alone. Fetches the escrow, opens it,
 * finds the account's doorbells, signs each roster with this phone added and publishes it;
 * each doorbell takes it when the relay passes it on.
 */
export async function enrollFromRelay(a: { dir: string; relay: string; passphrase: string; name: string; log?: (line: string) => void }): Promise<PhoneEnrollResult> {
  const account = accountIdFor(a.passphrase);
  const escrow = await getEscrow(a.relay, account);
  // Opened here first: a wrong passphrase fails before anything is asked of the relay or written.
  a.log?.('opening the escrow (scrypt, a few seconds)…');
  const keys = await openEscrowAsync(escrow, a.passphrase);
  const authorityId = keyIdHex(keys.authority.keyId);
  const devices = await authorityDevices(a.relay, authorityId);
  const authKey = phoneAuthKeyFromSeed(keys.authority.secretKey);
  const rosters: Uint8Array[] = [];
  const deviceKeys = new Map<string, string>();
  for (const id of devices) {
    const k = await deviceKey(a.relay, id);
    checkEndorsement(keys.authority.publicKey, id, k.publicKey, k.endorsement);
    deviceKeys.set(id, k.publicKey);
    rosters.push(await currentRoster(await PhoneClient.login(a.relay, id, authKey)));
  }
  const result = phoneEnroll({ dir: a.dir, passphrase: a.passphrase, escrow, account: keys, rosters, name: a.name });
  writeEscrowRecord(a.dir, { account });
  for (const [id, publicKeyText] of deviceKeys) writeDevice(a.dir, { deviceId: id, publicKeyText, relayUrl: a.relay });
  await publish(result.updates, () => a.relay);
  return result;
}

/** `phone revoke`: the current rosters from the relay, without that phone, signed and published. */
export async function revokeOnRelay(a: { dir: string; phone: string; account: AccountKeys; deviceId?: string }): Promise<RosterUpdate[]> {
  const ids = a.deviceId ? [a.deviceId] : listDevices(a.dir);
  const rosters: Uint8Array[] = [];
  for (const id of ids) rosters.push(await currentRoster(await phoneLogin(a.dir, id)));
  const updates = phoneRevoke({ dir: a.dir, phone: a.phone, deviceId: a.deviceId, rosters, account: a.account });
  await publish(updates, (id) => readDevice(a.dir, id).relayUrl);
  return updates;
}
