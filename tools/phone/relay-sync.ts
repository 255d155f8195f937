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
import { SealbellError } from '../../src/errors.js';
import { keyIdHex, signingKeyFromSeed } from '../../src/minisign.js';
import { credentialToken } from '../../src/setup/records.js';
import { writeFileAtomic } from '../../hosts/node/kv-store.js';
import { newToken } from '../relay/tokens.js';
import { registerDevice } from '../relay/owner-client.js';
import { authorityDevices, deleteEscrow, deviceKey, getEscrow, phoneAuthKeyFromSeed, PhoneClient, publishRoster, putEscrow } from '../relay/phone-client.js';
import type { Random } from '../../src/host.js';
import { systemRandom } from '../../src/crypto/noble.js';
import { generateAgeIdentity, identityKem } from '../../src/age/recipients.js';
import { phoneEnroll, type PhoneEnrollResult, type RosterUpdate } from './enroll.js';
import { phonePqUpgrade, type PhonePqUpgradeResult } from './pq-upgrade.js';
import { phoneRevoke } from './revoke.js';
import { MAX_PREVIOUS_AUTHORITIES, MAX_PREVIOUS_HISTORIES, newPassphrase } from './escrow.js';
import { openEscrowAsync, sealEscrowAsync } from './escrow-node.js';
import { listDevices, readDevice, readPhone, unlockAccountAsync, writeAuthorityPub, writeDevice, writeEscrow, writeRoster, type AccountKeys } from './state.js';
import { accountSigners, ackedRoster, confirmUpdates, editBase, type Confirmation, type EditBase, type WaitOptions } from './roster-sync.js';
import { trustRelayCa } from '../relay/client-http.js';
import { accountIdFor, checkEndorsement, endorseDevice, escrowWriteToken } from './account-core.js';

export { accountIdFor, checkEndorsement, endorseDevice, escrowWriteToken } from './account-core.js';

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

export function readEscrowRecord(dir: string): EscrowRecord {
  try {
    const r = JSON.parse(fs.readFileSync(escrowRecordPath(dir), 'utf8')) as EscrowRecord;
    if (typeof r.account === 'string' && /^[0-9A-F]{16}$/.test(r.account)) return r;
  } catch {
    // reported below
  }
  throw new SealbellError('PHONE_STATE', `${escrowRecordPath(dir)} is missing or corrupt`);
}

/**
 * Uploads this phone's escrow.age to the relay (first time: makes and keeps the write token;
 * `phone init` and `enroll` keep the one derived from the passphrase).
 */
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

/**
 * The account keys for `passphrase`: from this phone's escrow.age, or, when that is an older
 * escrow (another phone revoked someone and the account moved to this new passphrase), from the
 * relay's escrow for it, which is then kept here. AGE_PASSPHRASE when neither opens.
 */
export async function unlockCurrentAccount(dir: string, passphrase: string): Promise<AccountKeys> {
  try {
    return await unlockAccountAsync(dir, passphrase); // scrypt off the event loop
  } catch (e) {
    const [id] = listDevices(dir);
    if (!(e instanceof SealbellError && e.code === 'AGE_PASSPHRASE') || !id) throw e;
    const account = accountIdFor(passphrase);
    let escrow: Uint8Array;
    try {
      escrow = await getEscrow(readDevice(dir, id).relayUrl, account);
    } catch {
      throw e;
    }
    const keys = await openEscrowAsync(escrow, passphrase);
    writeEscrow(dir, escrow);
    writeAuthorityPub(dir, keys);
    writeEscrowRecord(dir, { account });
    return keys;
  }
}

/** Logs this phone in to the relay for one doorbell. */
export async function phoneLogin(dir: string, deviceId: string): Promise<PhoneClient> {
  const d = readDevice(dir, deviceId);
  return PhoneClient.login(d.relayUrl, deviceId, phoneAuthKeyFromSeed(readPhone(dir).auth.secretKey));
}

async function publish(updates: RosterUpdate[], relayOf: (deviceId: string) => string): Promise<void> {
  for (const u of updates) await publishRoster(relayOf(u.deviceId), u.deviceId, u.bundle);
}

/**
 * `phone enroll`: a new phone from the passphrase alone. Fetches the escrow, opens it,
 * finds the account's doorbells, and for each signs the roster the doorbell acknowledged
 * (not what the relay calls newest) with this phone added, and publishes it; each doorbell
 * takes it when the relay passes it on (waitForAcks tells whether it did).
 */
export async function enrollFromRelay(a: {
  dir: string;
  relay: string;
  passphrase: string;
  name: string;
  /** the CA (PEM) the relay's certificate chains to, trusted alone for it and kept with each doorbell */
  relayCa?: string;
  /** then wait (bounded) for each doorbell's acknowledgement */
  wait?: WaitOptions;
  /** progress lines (the scrypt step takes seconds) */
  log?: (line: string) => void;
}): Promise<PhoneEnrollResult & { confirmations?: Confirmation[]; alarms?: string[] }> {
  if (a.relayCa) trustRelayCa(a.relay, a.relayCa);
  const account = accountIdFor(a.passphrase);
  const escrow = await getEscrow(a.relay, account);
  // Opened here first: a wrong passphrase fails before anything is asked of the relay or written.
  a.log?.('opening the escrow (scrypt, a few seconds)…');
  const keys = await openEscrowAsync(escrow, a.passphrase);
  const authorityId = keyIdHex(keys.authority.keyId);
  const devices = await authorityDevices(a.relay, authorityId);
  const authKey = phoneAuthKeyFromSeed(keys.authority.secretKey);
  const deviceKeys = new Map<string, string>();
  for (const id of devices) {
    const k = await deviceKey(a.relay, id);
    checkEndorsement(keys.authority.publicKey, id, k.publicKey, k.endorsement);
    deviceKeys.set(id, k.publicKey);
  }
  // The doorbells' keys are needed to check their acknowledgements: kept before anything else.
  fs.mkdirSync(a.dir, { recursive: true, mode: 0o700 });
  for (const [id, publicKeyText] of deviceKeys) writeDevice(a.dir, { deviceId: id, publicKeyText, relayUrl: a.relay, relayCa: a.relayCa });
  const bases: EditBase[] = [];
  for (const id of devices) {
    const acked = await ackedRoster(a.dir, id, await PhoneClient.login(a.relay, id, authKey));
    bases.push(editBase(a.dir, acked, accountSigners(keys).map((k) => k.publicKey)));
  }
  const result = phoneEnroll({ dir: a.dir, passphrase: a.passphrase, escrow, account: keys, rosters: [], bases, name: a.name, keep: false });
  // No write token kept: the phone that made the account (or last rotated it) replaces the escrow;
  // a revocation from here derives the token from the passphrase to drop it.
  writeEscrowRecord(a.dir, { account });
  await publish(result.updates, () => a.relay);
  for (const u of result.updates) writeRoster(a.dir, u.roster);
  const alarms = bases.flatMap((b) => b.alarms);
  if (!a.wait) return { ...result, alarms };
  // This phone logs in only once a doorbell holds it: the account authority's login watches meanwhile.
  const confirmations = await confirmUpdates(a.dir, result.updates, (id) => PhoneClient.login(a.relay, id, authKey), a.wait);
  return { ...result, confirmations, alarms };
}

export interface RevokeOutcome {
  updates: RosterUpdate[];
  /** the doorbells whose roster listed the phone */
  removedFrom: string[];
  /** forks seen on the way (the edit went on from what each doorbell acknowledged) */
  alarms: string[];
  /** the account's new passphrase: show it once */
  passphrase: string;
  /** the new escrow's place on the relay */
  account: string;
  /** undefined when the relay dropped the old escrow; else why not */
  oldEscrow?: string;
}

/**
 * `phone revoke`: removes the phone from the rosters the doorbells acknowledged and rotates
 * the account: a new passphrase, history recipient and account authority (handed over by
 * the rosters, signed with the old one), the account escrowed again under the new
 * passphrase, and the old escrow dropped at the relay.
 */
export async function revokeOnRelay(a: {
  dir: string;
  phone: string;
  account: AccountKeys;
  /** the passphrase that opened `account`: its write token drops the old escrow */
  passphrase?: string;
  deviceId?: string;
  random?: Random;
  /** scrypt work factor of the new escrow (tests may lower it) */
  logN?: number;
  /** shown the new passphrase once it is kept, before any doorbell is handed over to it */
  onPassphrase?: (passphrase: string) => void;
}): Promise<RevokeOutcome> {
  const random = a.random ?? systemRandom;
  const ids = listDevices(a.dir);
  if (a.deviceId && !ids.includes(a.deviceId)) throw new SealbellError('PHONE_STATE', `no roster known for ${a.deviceId}`);
  const bases: EditBase[] = [];
  const authorities = accountSigners(a.account).map((k) => k.publicKey);
  for (const id of ids) bases.push(editBase(a.dir, await ackedRoster(a.dir, id, await phoneLogin(a.dir, id)), authorities));
  // The old authority stays in the new escrow only to hand over a doorbell that has not taken this handover.
  const next: AccountKeys = {
    authority: signingKeyFromSeed(random(32)),
    // the same kind as before (classic or post-quantum): a roster never mixes them
    history: generateAgeIdentity(identityKem(a.account.history), random),
    previous: [a.account.history, ...(a.account.previous ?? [])].slice(0, MAX_PREVIOUS_HISTORIES),
    previousAuthorities: accountSigners(a.account).slice(0, MAX_PREVIOUS_AUTHORITIES),
  };
  const updates = phoneRevoke({ dir: a.dir, phone: a.phone, deviceId: a.deviceId, bases, account: a.account, rotate: next, keep: false });
  const relay = readDevice(a.dir, ids[0]).relayUrl;
  const passphrase = newPassphrase(random);
  const escrow = await sealEscrowAsync(next, passphrase, random, a.logN);
  const account = accountIdFor(passphrase);
  const writeToken = escrowWriteToken(passphrase);
  let old: EscrowRecord | undefined;
  try {
    old = readEscrowRecord(a.dir);
  } catch {
    // no record: nothing to drop
  }
  // The new account is kept (at the relay and here) and its passphrase shown before any doorbell
  // is handed over to it: whatever fails later, the owner holds the keys the doorbells follow.
  await putEscrow(relay, account, writeToken, escrow);
  writeEscrow(a.dir, escrow);
  writeAuthorityPub(a.dir, next);
  writeEscrowRecord(a.dir, { account, writeToken });
  a.onPassphrase?.(passphrase);
  await publish(updates, (id) => readDevice(a.dir, id).relayUrl);
  for (const u of updates) writeRoster(a.dir, u.roster);
  let oldEscrow: string | undefined;
  const oldToken = old?.writeToken ?? (a.passphrase ? escrowWriteToken(a.passphrase) : undefined);
  if (!old || old.account === account) oldEscrow = 'this phone has no record of it';
  else if (!oldToken) oldEscrow = 'this phone has no write token for it';
  else {
    try {
      await deleteEscrow(relay, old.account, oldToken);
    } catch (e) {
      oldEscrow = (e as Error).message;
    }
  }
  const removedFrom = bases.filter((b) => b.base.roster.phones.some((p) => [p.name, p.recipient, p.auth].includes(a.phone))).map((b) => b.base.roster.device);
  const alarms = bases.flatMap((b) => b.alarms);
  return { updates, removedFrom, alarms, passphrase, account, ...(oldEscrow === undefined ? {} : { oldEscrow }) };
}

/**
 * `phone pq-upgrade` (tools/phone/pq-upgrade.ts) through the relay: the current escrow and
 * rosters come from the relay, read with the account authority's login as enroll does (a
 * phone left out of a roster by an earlier upgrade can no longer log in as itself); the
 * new escrow, if the account moved, is uploaded first, then the roster updates.
 */
export async function pqUpgradeOnRelay(a: { dir: string; passphrase: string }): Promise<PhonePqUpgradeResult> {
  const ids = listDevices(a.dir);
  if (ids.length === 0) throw new SealbellError('PHONE_STATE', 'no doorbell known to this phone');
  const relayOf = (id: string) => readDevice(a.dir, id).relayUrl;
  const record = readEscrowRecord(a.dir);
  const escrow = await getEscrow(relayOf(ids[0]), record.account);
  const keys = await openEscrowAsync(escrow, a.passphrase);
  const authKey = phoneAuthKeyFromSeed(keys.authority.secretKey);
  // each doorbell's acknowledged roster, not what the relay calls newest (roster-sync.ts)
  const bases: EditBase[] = [];
  for (const id of ids) bases.push(editBase(a.dir, await ackedRoster(a.dir, id, await PhoneClient.login(relayOf(id), id, authKey)), accountSigners(keys).map((k) => k.publicKey)));
  const result = phonePqUpgrade({ dir: a.dir, passphrase: a.passphrase, escrow, rosters: [], bases, canReplaceEscrow: record.writeToken !== undefined });
  if (result.escrow) await uploadEscrow(a.dir, relayOf(ids[0]));
  await publish(result.updates, relayOf);
  return result;
}
