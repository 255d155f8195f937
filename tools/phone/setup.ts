/**
 * `sealbell phone setup`: set up a doorbell in setup mode with its code. The
 * roster given to it: this phone and the history recipient, epoch 1; or, for a
 * doorbell this account already owns, its current roster (it sends it) plus this phone.
 */
import type { Random } from '../../src/host.js';
import { systemRandom } from '../../src/crypto/noble.js';
import { anyIdentityToRecipient } from '../../src/age/recipients.js';
import type { Roster } from '../../src/roster/roster.js';
import type { WifiCredentials } from '../../src/setup/records.js';
import { runPhoneSetup, type DeviceSeen, type PhoneSetupOutcome, type SetupTransport } from './setup-client.js';
import { httpSetupTransport } from './http-transport.js';
import { nodeScrypt } from '../scrypt-async.js';
import { readPhone, writeDevice, writeRoster, type AccountKeys } from './state.js';
import { rosterEntry, withPhone } from './roster-edit.js';

export interface PhoneSetupArgs {
  dir: string;
  /** the doorbell's setup endpoint URL (http://127.0.0.1:…/setup in the simulator), or a transport */
  endpoint: string | SetupTransport;
  /** typed digits or the QR text */
  code: string;
  wifi: WifiCredentials;
  relayUrl: string;
  /** the only CA the doorbell (DER) and this phone (PEM) trust for an https relay; absent: the public CAs */
  relayCa?: { der: Uint8Array; pem: string };
  /** the account keys: unlockAccount(dir, passphrase) */
  account: AccountKeys;
  random?: Random;
}

export async function phoneSetup(a: PhoneSetupArgs): Promise<PhoneSetupOutcome> {
  const random = a.random ?? systemRandom;
  const phone = readPhone(a.dir);
  const account = a.account;
  const history = anyIdentityToRecipient(account.history);
  const credential = random(32);
  // A doorbell this account set up before: its current roster, plus this phone. A new one: this phone.
  const rosterFor = (d: DeviceSeen): Roster =>
    d.current
      ? withPhone(d.current.roster, rosterEntry(phone))
      : { v: 1, device: d.deviceId, epoch: 1, phones: [rosterEntry(phone)], history };
  const transport = typeof a.endpoint === 'string' ? httpSetupTransport(a.endpoint) : a.endpoint;
  const outcome = await runPhoneSetup({
    transport,
    code: a.code,
    random,
    wifi: a.wifi,
    relayUrl: a.relayUrl,
    relayCa: a.relayCa?.der,
    credential,
    authority: account.authority,
    roster: rosterFor,
    scrypt: nodeScrypt,
  });
  writeDevice(a.dir, { deviceId: outcome.deviceId, publicKeyText: outcome.devicePublicKey, relayUrl: a.relayUrl, credential, relayCa: a.relayCa?.pem });
  writeRoster(a.dir, outcome.roster);
  return outcome;
}
