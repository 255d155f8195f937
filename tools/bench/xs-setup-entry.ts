/**
 * XS entry for the setup benchmarks (tools/bench/setup.ts): what the doorbell's
 * JavaScript spends on each setup step, one xsnap delivery per op. Ops named
 * `phone_*` or `prepare_*` do the other side's work or set-up and are not reported.
 * The phone side uses the vector's scalars (no scrypt: that never runs on the device).
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { hexToBytes } from '../../src/bytes.js';
import { systemRandom } from '../../src/crypto/noble.js';
import type { KeyValueStore } from '../../src/host.js';
import { loadOrCreateIdentity } from '../../src/device/identity.js';
import { signingKeyFromSeed } from '../../src/minisign.js';
import { encodeAuthKey, signRoster, verifyRoster, type SignedRoster } from '../../src/roster/roster.js';
import { encodeRosterBundle } from '../../src/roster/bundle.js';
import { signRosterAck } from '../../src/roster/ack.js';
import { encodeIdentity, identityToRecipient } from '../../src/age/x25519.js';
import { Spake2PlusProver, Spake2PlusVerifier } from '../../src/setup/spake2plus.js';
import { ID_PROVER, ID_VERIFIER, spakeContext } from '../../src/setup/protocol.js';
import { SetupMode } from '../../src/setup/setup-mode.js';
import { installVerifierRecord, parseVerifierRecord } from '../../src/setup/verifier-record.js';
import { encodeMessage, parseMessage, type SetupMessage } from '../../src/setup/messages.js';
import { SetupChannel } from '../../src/setup/channel.js';
import { encodeConfig, parseDeviceInfo } from '../../src/setup/records.js';
import { decodePublicKey, keyIdHex } from '../../src/minisign.js';
import { MemoryKeyValueStore } from '../../src/memory-store.js';
import { defineOps } from '../xs/guest.js';

// test/vectors/setup-v1.json: the record the device stores, and the phone's scalars for it
const RECORD = hexToBytes('53425631b7dbd73e0dc80ac5368ba24b2f411b9c00336b6d3d80bce6243d39eb59fea5a0d29aa182b8fde7b9cb0a9218f00b2d2304391e1f77ed2f0a63842f0dfee881941c010b11e4532ed429fdc7b0b2cd013d552c0068e33205ca87d1276a30d872878e9541cf1f67b831a4eafe681b626b464e');
const W0 = hexToBytes('00336b6d3d80bce6243d39eb59fea5a0d29aa182b8fde7b9cb0a9218f00b2d23');
const W1 = hexToBytes('170dd12182d72307ab3dc49cfd7dd0b614adc39826122b32f67eed6884a3582a');
const { salt, L } = parseVerifierRecord(RECORD);
const SID = new Uint8Array(8).fill(1);
const spake = { context: spakeContext(SID, salt), idProver: ID_PROVER, idVerifier: ID_VERIFIER, random: systemRandom };

const authority = signingKeyFromSeed(new Uint8Array(32).fill(7));
const phone = { name: 'phone', recipient: identityToRecipient(encodeIdentity(new Uint8Array(32).fill(8))), auth: encodeAuthKey(ed25519.getPublicKey(new Uint8Array(32).fill(9))) };
const rosterFor = (device: string): SignedRoster => signRoster({ v: 1, device, epoch: 1, phones: [phone], history: null }, authority);
const signed = rosterFor('0123456789ABCDEF');
const device = signingKeyFromSeed(new Uint8Array(32).fill(5));

const memoryStore = (): KeyValueStore => new MemoryKeyValueStore();

// SPAKE2+ alone
let prover: Spake2PlusProver;
let verifier: Spake2PlusVerifier;
let shareP: Uint8Array;
let fromVerifier: { shareV: Uint8Array; confirmV: Uint8Array };
let confirmP: Uint8Array;

// the whole setup mode, message by message
type Rec = Extract<SetupMessage, { type: 'RECORD' }>;
let mode: SetupMode;
let flowProver: Spake2PlusProver;
let channel: SetupChannel;
let pending: Uint8Array;
let sid: Uint8Array;
const now = 1_800_000_000_000;

function deliver(m: Uint8Array): SetupMessage {
  const r = mode.receive(m, now);
  if (r.error) throw r.error;
  return parseMessage(r.reply);
}

defineOps({
  noop() {},
  prepare_spake() {
    prover = new Spake2PlusProver({ ...spake, w0: W0, w1: W1 });
    shareP = prover.start();
    verifier = new Spake2PlusVerifier({ ...spake, w0: W0, L });
  },
  spake2_verifier_respond() {
    fromVerifier = verifier.respond(shareP);
  },
  phone_spake_finish() {
    confirmP = prover.finish(fromVerifier.shareV, fromVerifier.confirmV).confirmP;
  },
  spake2_verifier_finish() {
    verifier.finish(confirmP);
  },
  identity_keygen() {
    loadOrCreateIdentity(memoryStore(), systemRandom);
  },
  roster_verify() {
    verifyRoster(signed.bytes, signed.signature, authority.publicKey);
  },
  roster_ack_sign() {
    signRosterAck(signed.bytes, signed.roster, device);
  },
  prepare_setup() {
    const store = memoryStore();
    installVerifierRecord(store, RECORD);
    mode = new SetupMode({ store, random: systemRandom });
    mode.open(now);
  },
  setup_params() {
    pending = encodeMessage({ type: 'PARAMS_REQUEST' });
    const p = deliver(pending) as Extract<SetupMessage, { type: 'PARAMS' }>;
    sid = p.sessionId;
  },
  phone_share() {
    flowProver = new Spake2PlusProver({ ...spake, context: spakeContext(sid, salt), w0: W0, w1: W1 });
    pending = encodeMessage({ type: 'SHARE_P', sessionId: sid, shareP: flowProver.start() });
  },
  setup_share() {
    pending = encodeMessage(deliver(pending));
  },
  phone_confirm() {
    const v = parseMessage(pending) as Extract<SetupMessage, { type: 'SHARE_V' }>;
    const f = flowProver.finish(v.shareV, v.confirmV);
    channel = new SetupChannel(f.sharedKey, sid, 'phone');
    pending = encodeMessage({ type: 'CONFIRM_P', sessionId: sid, confirmP: f.confirmP });
  },
  /** confirmation, identity key generation (first boot), DEVICE_INFO sealed */
  setup_confirm() {
    pending = encodeMessage(deliver(pending));
  },
  phone_config() {
    const info = parseDeviceInfo(channel.open(parseMessage(pending) as Rec));
    const id = keyIdHex(decodePublicKey(info.identity).keyId);
    const config = encodeConfig({ wifi: { ssid: 'net', password: 'password1' }, relayUrl: 'https://relay.example/', credential: new Uint8Array(32), authority: authority.publicKey, roster: encodeRosterBundle(rosterFor(id)) });
    pending = channel.seal(config);
  },
  /** CONFIG opened, roster verified, settings and roster stored, acknowledgement signed, DONE sealed */
  setup_config() {
    const r = deliver(pending);
    if (r.type !== 'RECORD') throw new Error('setup did not finish');
  },
});
