/**
 * The phone's side of the setup protocol (docs/setup-protocol.md): SPAKE2+
 * prover with the setup code, then settings and the signed roster through the
 * confirmed channel, then the device's acknowledgement. Transport-agnostic: give
 * it a function that carries one message to the doorbell and returns the reply.
 */
import type { Random } from '../../src/host.js';
import { SealbellError } from '../../src/errors.js';
import { equalBytes } from '../../src/bytes.js';
import { decodePublicKey, keyIdHex, type SigningKey } from '../../src/minisign.js';
import { Spake2PlusProver, deriveScalars, deriveScalarsAsync } from '../../src/setup/spake2plus.js';
import type { AsyncScrypt } from '../../src/age/scrypt.js';
import { encodeMessage, parseMessage, type SetupMessage } from '../../src/setup/messages.js';
import { SetupChannel } from '../../src/setup/channel.js';
import { encodeConfig, parseDeviceInfo, parseDone, type DeviceInfo, type WifiCredentials } from '../../src/setup/records.js';
import { ID_PROVER, ID_VERIFIER, spakeContext } from '../../src/setup/protocol.js';
import { codePassword, parseSetupCode } from '../../src/setup/setup-code.js';
import { encodeAuthKey, parseRoster, signRoster, verifyRoster, type Roster, type SignedRoster } from '../../src/roster/roster.js';
import { encodeRosterBundle, parseRosterBundle } from '../../src/roster/bundle.js';
import { verifyRosterAck } from '../../src/roster/ack.js';

/** Carries one setup message to the doorbell and resolves with its reply. */
export type SetupTransport = (message: Uint8Array) => Promise<Uint8Array>;

export interface DeviceSeen extends DeviceInfo {
  deviceId: string;
  /** the doorbell's current roster, verified with our authority (a doorbell this account set up before) */
  current: SignedRoster | null;
}

export interface PhoneSetupOptions {
  transport: SetupTransport;
  /** the typed digits or the scanned QR text */
  code: string;
  random: Random;
  wifi: WifiCredentials;
  relayUrl: string;
  /** DER certificate of the only CA the doorbell trusts for its relay; absent: the public CAs */
  relayCa?: Uint8Array;
  /** the device's relay credential (32 random bytes) */
  credential: Uint8Array;
  /** the account authority key (signs the roster) */
  authority: SigningKey;
  /** The roster to give this device (its id and current state are known by then). */
  roster: (device: DeviceSeen) => Roster;
  /** runs the code's scrypt (2^15) off the event loop; without it, noble's runs in line */
  scrypt?: AsyncScrypt;
}

export interface PhoneSetupOutcome {
  deviceId: string;
  /** the device's minisign public key text: verifies its clip manifests */
  devicePublicKey: string;
  roster: SignedRoster;
  /** the signed roster as sent (roster/bundle.ts) */
  bundle: Uint8Array;
  /** the device's signature over the roster it stored */
  ack: string;
}

type Of<T extends SetupMessage['type']> = Extract<SetupMessage, { type: T }>;

async function exchange<T extends SetupMessage['type']>(transport: SetupTransport, out: Uint8Array, want: T): Promise<Of<T>> {
  let reply: Uint8Array;
  try {
    reply = await transport(out);
  } catch (e) {
    throw new SealbellError('SETUP_TRANSPORT', `could not reach the doorbell: ${(e as Error).message}`);
  }
  const m = parseMessage(reply);
  if (m.type === 'ERROR') throw new SealbellError(m.code, `the doorbell refused: ${m.message}`);
  if (m.type !== want) throw new SealbellError('SETUP_UNEXPECTED', `expected ${want} from the doorbell, got ${m.type}`);
  return m as Of<T>;
}

export async function runPhoneSetup(o: PhoneSetupOptions): Promise<PhoneSetupOutcome> {
  const code = parseSetupCode(o.code);
  const params = await exchange(o.transport, encodeMessage({ type: 'PARAMS_REQUEST' }), 'PARAMS');
  if (code.salt && !equalBytes(code.salt, params.salt)) {
    throw new SealbellError('SETUP_WRONG_DEVICE', 'this doorbell is not the one on the scanned QR code (its salt differs)');
  }
  const sid = params.sessionId;
  const ids = { idProver: ID_PROVER, idVerifier: ID_VERIFIER };
  const { w0, w1 } = o.scrypt ? await deriveScalarsAsync(codePassword(code.code), params.salt, ids, o.scrypt) : deriveScalars(codePassword(code.code), params.salt, ids);
  const prover = new Spake2PlusProver({ context: spakeContext(sid, params.salt), idProver: ID_PROVER, idVerifier: ID_VERIFIER, w0, w1, random: o.random });
  w1.fill(0);
  const shareP = prover.start();
  const v = await exchange(o.transport, encodeMessage({ type: 'SHARE_P', sessionId: sid, shareP }), 'SHARE_V');
  if (!equalBytes(v.sessionId, sid)) throw new SealbellError('SETUP_SESSION', 'the doorbell answered for another session');
  let confirmP: Uint8Array;
  let sharedKey: Uint8Array;
  try {
    ({ confirmP, sharedKey } = prover.finish(v.shareV, v.confirmV));
  } catch (e) {
    const why = e instanceof SealbellError && e.code === 'SPAKE2_BAD_SHARE' ? 'it sent an invalid share' : 'it did not prove it knows this code';
    throw new SealbellError('SETUP_WRONG_CODE', `setup failed: ${why}. The setup code is wrong, or someone is interfering with the setup link.`);
  }
  const channel = new SetupChannel(sharedKey, sid, 'phone');
  sharedKey.fill(0);
  try {
    const infoRecord = await exchange(o.transport, encodeMessage({ type: 'CONFIRM_P', sessionId: sid, confirmP }), 'RECORD');
    const info = parseDeviceInfo(channel.open(infoRecord));
    const key = decodePublicKey(info.identity);
    const deviceId = keyIdHex(key.keyId);
    if (info.authority && !equalBytes(info.authority, o.authority.publicKey)) {
      throw new SealbellError('SETUP_OTHER_OWNER', `doorbell ${deviceId} belongs to another account: it must be factory reset first`);
    }
    let current: SignedRoster | null = null;
    if (info.roster) {
      const b = parseRosterBundle(info.roster);
      // Signed by this authority, or by the one before it, handing over to it: the doorbell
      // (authenticated by the setup channel) checked that chain when it stored it.
      const parsed = parseRoster(b.bytes);
      current = parsed.handover === encodeAuthKey(o.authority.publicKey)
        ? { roster: parsed, bytes: b.bytes, signature: b.signature }
        : verifyRoster(b.bytes, b.signature, o.authority.publicKey);
      if (current.roster.device !== deviceId || current.roster.epoch !== info.epoch) {
        throw new SealbellError('SETUP_UNEXPECTED', 'the doorbell\'s current roster does not match what it reports');
      }
    }
    const roster = signRoster(o.roster({ ...info, deviceId, current }), o.authority);
    const bundle = encodeRosterBundle(roster);
    const config = encodeConfig({ wifi: o.wifi, relayUrl: o.relayUrl, relayCa: o.relayCa, credential: o.credential, authority: o.authority.publicKey, roster: bundle });
    const doneRecord = await exchange(o.transport, channel.seal(config), 'RECORD');
    const done = parseDone(channel.open(doneRecord));
    if (done.identity !== info.identity || done.epoch !== roster.roster.epoch) {
      throw new SealbellError('SETUP_UNEXPECTED', 'the doorbell\'s final answer does not match the session');
    }
    verifyRosterAck(roster.bytes, roster.roster, done.ack, key);
    return { deviceId, devicePublicKey: info.identity, roster, bundle, ack: done.ack };
  } finally {
    channel.close();
  }
}
