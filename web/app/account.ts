/**
 * The account operations a phone does in the page, as `sealbell phone enroll`, `phone revoke`
 * and `phone status` do them through the relay (tools/phone/relay-sync.ts, status.ts), with
 * the same file-free pieces (tools/phone/roster-chain.ts, roster-edit.ts, account-core.ts,
 * escrow.ts) and the keys kept in IndexedDB (keystore.ts) instead of a phone folder.
 *
 * Nothing here trusts the relay: the escrow opens only with the passphrase, a doorbell key is
 * taken only with the account authority's endorsement, and every edit starts from the roster
 * the doorbell itself acknowledged (its signature, checked with its key).
 */
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { equalBytes } from '../../src/bytes.js';
import { SealbellError } from '../../src/errors.js';
import { systemRandom } from '../../src/crypto/noble.js';
import { decodePublicKey, encodePublicKey, keyIdHex, keyIdOf, signingKeyFromSeed } from '../../src/minisign.js';
import { generateAgeIdentity, identityKem } from '../../src/age/recipients.js';
import type { AsyncScrypt } from '../../src/age/scrypt.js';
import { encodeRosterBundle, parseRosterBundle, type RosterBundle } from '../../src/roster/bundle.js';
import { parseRoster, rosterHash } from '../../src/roster/roster.js';
import { authorityAfter } from '../../src/roster/roster-store.js';
import { accountIdFor, authKeyPublic, checkEndorsement, escrowWriteToken, newPhoneKeys } from '../../tools/phone/account-core.js';
import { encodeRecipient } from '../../src/age/x25519.js';
import { encodeAuthKey } from '../../src/roster/roster.js';
import { MAX_PREVIOUS_AUTHORITIES, MAX_PREVIOUS_HISTORIES, newPassphrase, openEscrowWith, sealEscrowWith } from '../../tools/phone/escrow.js';
import { accountSigners, checkHeldViewWith, chainFromWith, editBaseWith, noAckWarning, notOurAuthority, type AckedRoster, type EditBase } from '../../tools/phone/roster-chain.js';
import { enrollUpdates, revokeUpdates, type RosterUpdate } from '../../tools/phone/roster-edit.js';
import type { AccountKeys } from '../../tools/phone/account-core.js';
import type { BrowserDoorbell, BrowserPhone } from './keystore.js';
import { authSignerOf, makeWebKeys, seedSigner, type AuthSigner, type PhoneSecrets, type WebPhoneKeys } from './phone-keys.js';
import { authorityDevices, deleteEscrow, deviceKey, getEscrow, publishRoster, putEscrow, RelayError, Session } from './relay.js';

/** noble's scrypt, yielding to the page now and then (seconds at 2^18). */
const browserScrypt: AsyncScrypt = (i) => scryptAsync(i.password, i.salt, { N: i.N, r: i.r, p: i.p, dkLen: i.dkLen, maxmem: i.maxmem, asyncTick: 20 });

const bundleOf = (b: Uint8Array | undefined): RosterBundle | undefined => {
  try {
    return b ? parseRosterBundle(b) : undefined;
  } catch {
    return undefined;
  }
};

async function ackedFor(relayOrigin: string, d: BrowserDoorbell, signer: AuthSigner): Promise<AckedRoster> {
  const s = await Session.login(relayOrigin, d.deviceId, signer);
  return checkHeldViewWith(d.devicePub, d.deviceId, await s.heldRoster());
}

/** Publishes each update and keeps its roster as what this phone last published (roster.sbr's role). */
async function publish(updates: RosterUpdate[], doorbells: BrowserDoorbell[]): Promise<void> {
  for (const u of updates) {
    await publishRoster(u.deviceId, u.bundle);
    const d = doorbells.find((x) => x.deviceId === u.deviceId);
    if (d) d.lastBundle = encodeRosterBundle(u.roster);
  }
}

export interface EnrollOutcome {
  phone: BrowserPhone;
  /** forks seen on the way (the loud alarm) */
  alarms: string[];
}

/**
 * Enrolls this browser as a phone of the account from the passphrase alone: the escrow from
 * the relay, opened here; the account's doorbells and their endorsed keys; this phone's keys
 * made here; each doorbell's acknowledged roster signed again with it added, and published.
 */
export async function enroll(a: { relayOrigin: string; passphrase: string; name: string; progress?: (line: string) => void; makeKeys?: () => Promise<WebPhoneKeys | undefined> }): Promise<EnrollOutcome> {
  const account = accountIdFor(a.passphrase);
  a.progress?.('fetching the account escrow…');
  const escrow = await getEscrow(account);
  a.progress?.('opening the escrow with the passphrase (scrypt, a few seconds)…');
  const keys = await openEscrowWith(browserScrypt, escrow, a.passphrase);
  const devices = await authorityDevices(keyIdHex(keys.authority.keyId));
  const doorbells: BrowserDoorbell[] = [];
  for (const id of devices) {
    const k = await deviceKey(id);
    checkEndorsement(keys.authority.publicKey, id, k.publicKey, k.endorsement);
    doorbells.push({ deviceId: id, devicePub: k.publicKey });
  }
  a.progress?.(`signing the roster of ${doorbells.length} doorbell(s) with this phone added…`);
  const bases: EditBase[] = [];
  for (const d of doorbells) {
    const acked = await ackedFor(a.relayOrigin, d, seedSigner(keys.authority.secretKey));
    bases.push(editBaseWith(undefined, acked, accountSigners(keys).map((k) => k.publicKey)));
  }
  // This phone's keys: non-extractable WebCrypto keys where the browser has X25519 and Ed25519
  // (not for a post-quantum account: WebCrypto has no ML-KEM), else text and a seed (noble).
  const kem = identityKem(keys.history);
  const webKeys = kem === 'x25519' ? await (a.makeKeys ?? makeWebKeys)() : undefined;
  let secrets: PhoneSecrets & { recipient: string; authPublic: Uint8Array };
  if (webKeys) {
    secrets = { webKeys, recipient: encodeRecipient(webKeys.agePublic), authPublic: webKeys.authPublic };
  } else {
    const k = newPhoneKeys(a.name, systemRandom, kem);
    secrets = { identity: k.identity, authSeed: k.auth.secretKey, recipient: k.recipient, authPublic: authKeyPublic(k.auth) };
  }
  a.progress?.(webKeys ? "this phone's keys are WebCrypto keys the page cannot read" : "this phone's keys are kept as bytes (this browser's WebCrypto lacks X25519 or Ed25519, or the account is post-quantum)");
  const updates = enrollUpdates(keys, bases, { name: a.name, recipient: secrets.recipient, auth: encodeAuthKey(secrets.authPublic) });
  await publish(updates, doorbells);
  const phone: BrowserPhone = {
    v: 1,
    name: a.name,
    relayOrigin: a.relayOrigin,
    account,
    ...(webKeys ? { webKeys } : { identity: secrets.identity, authSeed: secrets.authSeed }),
    recipient: secrets.recipient,
    authorityPub: encodePublicKey(keys.authority.publicKey, keys.authority.keyId),
    doorbells,
  };
  return { phone, alarms: bases.flatMap((b) => b.alarms) };
}

/**
 * The account keys from the passphrase, for what only the account authority may sign (a
 * revocation, settings): the escrow fetched and opened in the page. A passphrase of valid
 * words that is not this account's finds no escrow (PASSPHRASE_WRONG); one that opens
 * another account's is refused too (the doorbells follow this phone's authority only).
 */
export async function unlockAccount(phone: BrowserPhone, passphrase: string, progress?: (line: string) => void): Promise<AccountKeys> {
  const account = accountIdFor(passphrase); // PASSPHRASE_TYPO first: no request for a misspelling
  progress?.('fetching the account escrow…');
  let escrow: Uint8Array;
  try {
    escrow = await getEscrow(account);
  } catch (e) {
    if (e instanceof RelayError && e.code === 'NO_ESCROW') {
      throw new SealbellError('PASSPHRASE_WRONG', 'wrong passphrase: it is not the one of this account (after a revocation, the account has the new passphrase shown then)');
    }
    throw e;
  }
  progress?.('opening the escrow with the passphrase (scrypt, a few seconds)…');
  const keys = await openEscrowWith(browserScrypt, escrow, passphrase);
  if (!accountSigners(keys).some((k) => equalBytes(k.publicKey, decodePublicKey(phone.authorityPub).publicKey))) {
    throw new SealbellError('PASSPHRASE_WRONG', 'wrong passphrase: it opens another account than the one this phone belongs to');
  }
  return keys;
}

export interface RevokeOutcome {
  /** the account's new passphrase: shown once */
  passphrase: string;
  removedFrom: string[];
  alarms: string[];
  /** why the old escrow is still on the relay, if it is */
  oldEscrow?: string;
}

/**
 * Revokes a phone (by name) and rotates the account, as `sealbell phone revoke` does: new
 * authority and history recipient handed over by every doorbell's roster, the account
 * escrowed again under a new passphrase, the old escrow dropped. `phone` is updated in place
 * (the new authority); the caller saves it.
 */
export async function revoke(phone: BrowserPhone, a: { who: string; passphrase: string; logN?: number; progress?: (line: string) => void }): Promise<RevokeOutcome> {
  const keys: AccountKeys = await unlockAccount(phone, a.passphrase, a.progress);
  const authorities = accountSigners(keys).map((k) => k.publicKey);
  const bases: EditBase[] = [];
  for (const d of phone.doorbells) bases.push(editBaseWith(bundleOf(d.lastBundle), await ackedFor(phone.relayOrigin, d, authSignerOf(phone)), authorities));
  const next: AccountKeys = {
    authority: signingKeyFromSeed(systemRandom(32)),
    history: generateAgeIdentity(identityKem(keys.history), systemRandom),
    previous: [keys.history, ...(keys.previous ?? [])].slice(0, MAX_PREVIOUS_HISTORIES),
    previousAuthorities: accountSigners(keys).slice(0, MAX_PREVIOUS_AUTHORITIES),
  };
  const updates = revokeUpdates({ all: bases, who: a.who, account: keys, rotate: next });
  const passphrase = newPassphrase(systemRandom);
  a.progress?.('sealing the account to its new passphrase (scrypt)…');
  const escrow = await sealEscrowWith(browserScrypt, next, passphrase, systemRandom, a.logN);
  const account = accountIdFor(passphrase);
  // The new account is kept at the relay before any doorbell is handed over to it.
  await putEscrow(account, escrowWriteToken(passphrase), escrow);
  phone.account = account;
  phone.authorityPub = encodePublicKey(next.authority.publicKey, next.authority.keyId);
  await publish(updates, phone.doorbells);
  let oldEscrow: string | undefined;
  try {
    await deleteEscrow(accountIdFor(a.passphrase), escrowWriteToken(a.passphrase));
  } catch (e) {
    oldEscrow = (e as Error).message;
  }
  const removedFrom = bases.filter((b) => b.base.roster.phones.some((p) => p.name === a.who)).map((b) => b.base.roster.device);
  return { passphrase, removedFrom, alarms: bases.flatMap((b) => b.alarms), ...(oldEscrow ? { oldEscrow } : {}) };
}

export interface DoorbellStatus {
  deviceId: string;
  acked?: { epoch: number; hash: string; phones: string[]; at: number; authority: string };
  pending: number[];
  warnings: string[];
  alarm?: string;
  firmware?: string;
}

/** What each doorbell acknowledged, and the hostile-relay checks of `sealbell phone status`. */
export async function status(phone: BrowserPhone): Promise<DoorbellStatus[]> {
  const ours = decodePublicKey(phone.authorityPub).publicKey;
  const out: DoorbellStatus[] = [];
  for (const d of phone.doorbells) {
    const s: DoorbellStatus = { deviceId: d.deviceId, pending: [], warnings: [] };
    out.push(s);
    let acked: AckedRoster;
    try {
      const session = await Session.login(phone.relayOrigin, d.deviceId, authSignerOf(phone));
      acked = checkHeldViewWith(d.devicePub, d.deviceId, await session.heldRoster());
      const f = await session.firmware().catch(() => undefined);
      if (f?.firmware) s.firmware = `${f.firmware.version} (${f.firmware.board}), security version ${f.firmware.security}${f.firmware.trial ? ', on trial' : ''}`;
    } catch (e) {
      s.warnings.push(noAckWarning(e));
      continue;
    }
    const held = acked.held;
    s.acked = { epoch: held.roster.epoch, hash: rosterHash(held.bytes), phones: held.roster.phones.map((p) => p.name), at: acked.at, authority: keyIdHex(keyIdOf(authorityAfter(held))) };
    const local = bundleOf(d.lastBundle);
    const { base, run, alarms } = chainFromWith(local, acked);
    s.pending = run.map((r) => r.roster.epoch);
    if (alarms.length) s.alarm = alarms.join(' ');
    const follows = authorityAfter(base);
    if (!equalBytes(follows, ours)) s.warnings.push(notOurAuthority(d.deviceId, follows, ours).message);
    const epochOf = (b: Uint8Array) => {
      try {
        return parseRoster(b).epoch;
      } catch {
        return 0;
      }
    };
    const relayPending = acked.pending.map((b) => epochOf(b.bytes)).filter((e) => e > held.roster.epoch && !s.pending.includes(e));
    if (relayPending.length) s.warnings.push(`the relay has epoch ${relayPending.join(', ')} pending that does not follow on from what the doorbell acknowledged`);
    const localEpoch = local ? epochOf(local.bytes) : 0;
    if (localEpoch > held.roster.epoch) {
      s.warnings.push(`this phone published roster epoch ${localEpoch}; the doorbell acknowledges only epoch ${held.roster.epoch}: until it does, a removed phone may still read new clips`);
    }
  }
  return out;
}
