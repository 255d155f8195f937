/**
 * XS entry for the roster benchmarks (tools/bench/roster.ts): what the doorbell's JavaScript
 * spends taking a roster update from the relay (DeviceRoster.update: parse the run, check the
 * signature and the chain, store, follow) and acknowledging it (DeviceRoster.held: sign), one
 * xsnap delivery per op. Ops named `prepare_*` set up the next op and are not reported.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import type { KeyValueStore } from '../../src/host.js';
import { MemoryKeyValueStore } from '../../src/memory-store.js';
import { loadOrCreateIdentity } from '../../src/device/identity.js';
import { signingKeyFromSeed } from '../../src/minisign.js';
import { encodeAuthKey, signRoster, successor, type Roster } from '../../src/roster/roster.js';
import { encodeRosterBundle, encodeRosterRun } from '../../src/roster/bundle.js';
import { RosterStore } from '../../src/roster/roster-store.js';
import { DeviceRoster } from '../../src/roster/device-roster.js';
import { encodeIdentity, identityToRecipient } from '../../src/age/x25519.js';
import { defineOps } from '../xs/guest.js';

const random = (n: number) => {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 73 + 11) & 0xff;
  return out;
};
const authority = signingKeyFromSeed(new Uint8Array(32).fill(7));
const nextAuthority = signingKeyFromSeed(new Uint8Array(32).fill(17));
const phone = (n: number) => ({
  name: `phone ${n}`,
  recipient: identityToRecipient(encodeIdentity(new Uint8Array(32).fill(40 + n))),
  auth: encodeAuthKey(ed25519.getPublicKey(new Uint8Array(32).fill(60 + n))),
});
const history = identityToRecipient(encodeIdentity(new Uint8Array(32).fill(9)));
const history2 = identityToRecipient(encodeIdentity(new Uint8Array(32).fill(10)));

let store: KeyValueStore;
let device: DeviceRoster;
let first: Roster;
let update: Uint8Array;

/** A doorbell holding epoch 1 (three phones and the history recipient), as setup leaves it. */
function freshDoorbell(): void {
  store = new MemoryKeyValueStore();
  const identity = loadOrCreateIdentity(store, random);
  const rosters = new RosterStore(store, identity.deviceId);
  first = { v: 1, device: identity.deviceId, epoch: 1, phones: [phone(1), phone(2), phone(3)], history };
  rosters.accept(encodeRosterBundle(signRoster(first, authority)), authority.publicKey);
  device = new DeviceRoster({ rosters, identity });
  device.held(); // the acknowledgement of epoch 1, as after connecting
}

defineOps({
  noop() {},
  /** epoch 2: phone 3 removed (the common update) */
  prepare_successor() {
    freshDoorbell();
    update = encodeRosterBundle(signRoster(successor(first, { phones: [phone(1), phone(2)] }), authority));
  },
  /** epoch 2: phone 3 removed, a new history recipient, the account handed to a new authority (a revocation) */
  prepare_handover() {
    freshDoorbell();
    const r = successor(first, { phones: [phone(1), phone(2)], history: history2, handover: encodeAuthKey(nextAuthority.publicKey) });
    update = encodeRosterBundle(signRoster(r, authority));
  },
  /** the handover and the next roster (signed by the new authority) as one run */
  prepare_handover_run() {
    freshDoorbell();
    const r2 = successor(first, { phones: [phone(1), phone(2)], history: history2, handover: encodeAuthKey(nextAuthority.publicKey) });
    const r3 = successor(r2, { phones: [phone(1), phone(2), phone(4)] });
    update = encodeRosterRun([signRoster(r2, authority), signRoster(r3, nextAuthority)]);
  },
  /** parse, check (signature, successor), store, follow */
  roster_update() {
    device.update(update);
  },
  /** the acknowledgement told to the relay afterwards */
  roster_ack() {
    device.held();
  },
});
