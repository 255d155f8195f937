/**
 * Test vectors for docs/roster-format.md and docs/setup-protocol.md, computed
 * from fixed seeds with the real code (the device side is the real SetupMode).
 * test/roster.test.ts and test/setup-vectors.test.ts recompute them and compare
 * with test/vectors/*.json; `node dist/tools/vectors/setup-vectors.js --write`
 * rewrites those files after a deliberate format change.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToNumberBE, numberToBytesBE } from '@noble/curves/utils.js';
import { p256 } from '@noble/curves/nist.js';
import { bytesToHex, concatBytes, utf8ToBytes } from '../../src/bytes.js';
import type { KeyValueStore, Random } from '../../src/host.js';
import { MemoryKeyValueStore } from '../../src/memory-store.js';
import { encodeIdentity, identityToRecipient } from '../../src/age/x25519.js';
import { encodePublicKey, signingKeyFromSeed } from '../../src/minisign.js';
import { encodeAuthKey, encodeRoster, rosterHash, signRoster, successor, type Roster } from '../../src/roster/roster.js';
import { encodeRosterBundle } from '../../src/roster/bundle.js';
import { recipientsOf } from '../../src/roster/roster-store.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { SetupMode } from '../../src/setup/setup-mode.js';
import { installVerifierRecord, encodeVerifierRecord } from '../../src/setup/verifier-record.js';
import {
  Spake2PlusProver, deriveScalars, keySchedule, proverSecrets, registration, transcript,
} from '../../src/setup/spake2plus.js';
import { ID_PROVER, ID_VERIFIER, spakeContext } from '../../src/setup/protocol.js';
import { codePassword, qrPayload, verhoeffCheckDigit, formatManualCode } from '../../src/setup/setup-code.js';
import { encodeMessage, parseMessage } from '../../src/setup/messages.js';
import { SetupChannel, channelKeys } from '../../src/setup/channel.js';
import { encodeConfig, parseDeviceInfo, parseDone } from '../../src/setup/records.js';
import { assertMayRewriteVectors } from './rewrite-guard.js';
import { base64 } from '@scure/base';

/**
 * The relay CA the vector's CONFIG hands over: a self-signed P-256 certificate for
 * relay.example, made once with `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256
 * -nodes -days 36500 -subj "/CN=sealbell vector relay CA" -addext subjectAltName=DNS:relay.example`
 * (its key was thrown away). Fixed here, since openssl makes a new one each time.
 */
export const VECTOR_RELAY_CA = base64.decode(
  'MIIBuDCCAV2gAwIBAgIUHj7sVLGdtgVvViLCG4r8T+ySUUQwCgYIKoZIzj0EAwIwIzEhMB8GA1UEAwwYc2VhbGJlbGwgdmVj' +
  'dG9yIHJlbGF5IENBMCAXDTI2MTIwMzA3MzYyNVoYDzIxMjYxMTA5MDczNjI1WjAjMSEwHwYDVQQDDBhzZWFsYmVsbCB2ZWN0' +
  'b3IgcmVsYXkgQ0EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQeQBxW8KFnazIsijfApDRO19uEscG7J6aIMOCNsN4U4+t5' +
  'GAIvtQCh9cSzBMB+qU4QdbJ/SCsCBUuPY75UUJ5to20wazAdBgNVHQ4EFgQUKXMpt5wtfZAjt1QRSirOOJq3oecwHwYDVR0j' +
  'BBgwFoAUKXMpt5wtfZAjt1QRSirOOJq3oecwDwYDVR0TAQH/BAUwAwEB/zAYBgNVHREEETAPgg1yZWxheS5leGFtcGxlMAoG' +
  'CCqGSM49BAMCA0kAMEYCIQDtYK5arcjIUOMjMmAAKTlztqgOQm7Sqkzx3t61T+6WyAIhAP3kyIcEW5XQaH+YEFfr7Xx8Qfcl' +
  'HZDzD3RQ4SsT5h2I',
);

/** Labelled deterministic bytes: SHA-256(label ‖ counter) blocks. For vectors only, never for keys in use. */
export function labelledRandom(label: string): Random {
  let counter = 0;
  return (n) => {
    const out = new Uint8Array(n);
    for (let at = 0; at < n; at += 32) {
      const block = sha256(concatBytes(utf8ToBytes(label), numberToBytesBE(BigInt(counter++), 4)));
      out.set(block.subarray(0, Math.min(32, n - at)), at);
    }
    return out;
  };
}

const seed = (label: string) => sha256(utf8ToBytes(`sealbell vector ${label}`));

export function vectorAccount() {
  const authority = signingKeyFromSeed(seed('authority'));
  const phones = ['Alice\'s phone', 'Bob 📱'].map((name, i) => {
    const identity = encodeIdentity(seed(`phone ${i} age`));
    const auth = signingKeyFromSeed(seed(`phone ${i} auth`));
    return { name, identity, recipient: identityToRecipient(identity), auth: encodeAuthKey(ed25519.getPublicKey(auth.secretKey)) };
  });
  const history = encodeIdentity(seed('history'));
  return { authority, phones, history, historyRecipient: identityToRecipient(history) };
}

export function rosterVectors() {
  const a = vectorAccount();
  const [alice, bob] = a.phones.map((p) => ({ name: p.name, recipient: p.recipient, auth: p.auth }));
  // The chain the vector's roster ends: epoch 1 Alice, epoch 2 Alice and Bob, epoch 3 with the history recipient.
  const r1: Roster = { v: 1, device: '0123456789ABCDEF', epoch: 1, prev: null, phones: [alice], history: null, handover: null };
  const r2 = successor(r1, { phones: [alice, bob] });
  const roster = successor(r2, { history: a.historyRecipient });
  const signed = signRoster(roster, a.authority);
  // Bob's phone is lost: epoch 4 without it, a new history recipient, handed over to a new
  // authority (signed by the old one); epoch 5 is then signed by the new authority.
  const nextAuthority = signingKeyFromSeed(seed('authority 2'));
  const nextHistory = encodeIdentity(seed('history 2'));
  const r4 = successor(roster, { phones: [alice], history: identityToRecipient(nextHistory), handover: encodeAuthKey(nextAuthority.publicKey) });
  const s4 = signRoster(r4, a.authority);
  const s5 = signRoster(successor(r4, {}), nextAuthority);
  const text = new TextDecoder().decode(signed.bytes);
  const swap = text.replace('{"v":1,"device":"0123456789ABCDEF",', '{"device":"0123456789ABCDEF","v":1,');
  return {
    authoritySeed: bytesToHex(a.authority.secretKey),
    authorityPublicKey: encodePublicKey(a.authority.publicKey, a.authority.keyId),
    phoneIdentities: a.phones.map((p) => p.identity),
    historyIdentity: a.history,
    roster: text,
    signature: signed.signature,
    bundle: bytesToHex(encodeRosterBundle(signed)),
    recipients: recipientsOf(roster),
    previous: new TextDecoder().decode(encodeRoster(r2)),
    prev: rosterHash(r2),
    handover: {
      newAuthoritySeed: bytesToHex(nextAuthority.secretKey),
      newAuthorityPublicKey: encodePublicKey(nextAuthority.publicKey, nextAuthority.keyId),
      newHistoryIdentity: nextHistory,
      roster: new TextDecoder().decode(s4.bytes),
      signature: s4.signature,
      next: new TextDecoder().decode(s5.bytes),
      nextSignature: s5.signature,
    },
    invalid: [
      { why: 'whitespace', text: text.replace('{"v":1,', '{"v": 1,'), code: 'ROSTER_FORMAT' },
      { why: 'keys out of order', text: swap, code: 'ROSTER_FORMAT' },
      { why: 'duplicate key', text: text.replace('"epoch":3,', '"epoch":2,"epoch":3,'), code: 'ROSTER_FORMAT' },
      { why: 'epoch as float', text: text.replace('"epoch":3,', '"epoch":3.0,'), code: 'ROSTER_FORMAT' },
      { why: 'epoch zero', text: text.replace('"epoch":3,', '"epoch":0,'), code: 'ROSTER_FORMAT' },
      { why: 'unknown field', text: text.replace('"history"', '"extra":1,"history"'), code: 'ROSTER_FORMAT' },
      { why: 'lower-case device id', text: text.replace('0123456789ABCDEF', '0123456789abcdef'), code: 'ROSTER_FORMAT' },
      { why: 'no phones', text: text.replace(/"phones":\[.*\],"history"/, '"phones":[],"history"'), code: 'ROSTER_FORMAT' },
      { why: 'escaped where JSON.stringify would not', text: text.replace('Bob', 'B\\u006fb'), code: 'ROSTER_FORMAT' },
      { why: 'history equals a phone', text: text.replace(a.historyRecipient, a.phones[0].recipient), code: 'ROSTER_FORMAT' },
      { why: 'prev left out', text: text.replace(/"prev":"[0-9a-f]{64}",/, ''), code: 'ROSTER_FORMAT' },
      { why: 'prev in upper case', text: text.replace(/"prev":"([0-9a-f]{64})"/, (_m, h: string) => `"prev":"${h.toUpperCase()}"`), code: 'ROSTER_FORMAT' },
      { why: 'handover not a key', text: text.replace('"handover":null', '"handover":"AAAA"'), code: 'ROSTER_FORMAT' },
    ],
  };
}

/** Runs one full setup with fixed randomness; returns every value an implementer needs. */
export function setupVectors() {
  const code = '31415926535' + verhoeffCheckDigit('31415926535');
  const salt = seed('salt').slice(0, 16);
  const { w0, w1 } = deriveScalars(codePassword(code), salt, { idProver: ID_PROVER, idVerifier: ID_VERIFIER });
  const record = registration(w0, w1);
  const kv: KeyValueStore = new MemoryKeyValueStore();
  installVerifierRecord(kv, encodeVerifierRecord({ salt, w0: record.w0, L: record.L }));
  // The device's random bytes, in the order it asks: session id (8), y (48), identity seed (32).
  const deviceRandom = labelledRandom('sealbell vector device');
  const mode = new SetupMode({ store: kv, random: deviceRandom });
  const now = 1_800_000_000_000;
  mode.open(now);
  const messages: { dir: 'P→D' | 'D→P'; name: string; hex: string }[] = [];
  const send = (name: string, reply: string, m: Uint8Array) => {
    messages.push({ dir: 'P→D', name, hex: bytesToHex(m) });
    const r = mode.receive(m, now);
    if (r.error) throw r.error;
    messages.push({ dir: 'D→P', name: reply, hex: bytesToHex(r.reply) });
    return parseMessage(r.reply);
  };
  const params = send('PARAMS_REQUEST', 'PARAMS', encodeMessage({ type: 'PARAMS_REQUEST' }));
  if (params.type !== 'PARAMS') throw new Error('expected PARAMS');
  const sid = params.sessionId;
  const x = numberToBytesBE((bytesToNumberBE(seed('x')) % (p256.Point.Fn.ORDER - 1n)) + 1n, 32);
  const context = spakeContext(sid, salt);
  const prover = new Spake2PlusProver({ context, idProver: ID_PROVER, idVerifier: ID_VERIFIER, w0, w1, random: () => new Uint8Array(0), scalar: x });
  const shareP = prover.start();
  const sv = send('SHARE_P', 'SHARE_V', encodeMessage({ type: 'SHARE_P', sessionId: sid, shareP }));
  if (sv.type !== 'SHARE_V') throw new Error('expected SHARE_V');
  const zv = proverSecrets(w0, w1, x, sv.shareV);
  const ks = keySchedule(transcript({ context, idProver: ID_PROVER, idVerifier: ID_VERIFIER, shareP, shareV: sv.shareV, Z: zv.Z, V: zv.V, w0 }));
  const { confirmP, sharedKey } = prover.finish(sv.shareV, sv.confirmV);
  const keys = channelKeys(sharedKey, sid);
  const channel = new SetupChannel(sharedKey, sid, 'phone');
  const info = send('CONFIRM_P', 'RECORD (DEVICE_INFO)', encodeMessage({ type: 'CONFIRM_P', sessionId: sid, confirmP }));
  if (info.type !== 'RECORD') throw new Error('expected RECORD');
  const infoPlain = channel.open(info);
  const deviceInfo = parseDeviceInfo(infoPlain);
  const a = vectorAccount();
  const deviceId = deviceInfo.identity.split('\n')[0].split(' ').pop()!;
  const roster = signRoster({ v: 1, device: deviceId, epoch: 1, phones: [{ name: a.phones[0].name, recipient: a.phones[0].recipient, auth: a.phones[0].auth }], history: a.historyRecipient }, a.authority);
  const configPlain = encodeConfig({
    wifi: { ssid: 'Home Network', password: 'correct horse battery staple' },
    relayUrl: 'https://relay.example/sealbell',
    relayCa: VECTOR_RELAY_CA,
    credential: seed('credential'),
    authority: a.authority.publicKey,
    roster: encodeRosterBundle(roster),
  });
  const done = send('RECORD (CONFIG)', 'RECORD (DONE)', channel.seal(configPlain));
  if (done.type !== 'RECORD') throw new Error('expected RECORD');
  const donePlain = channel.open(done);
  const ack = parseDone(donePlain).ack;
  return {
    code,
    manualCode: formatManualCode(code),
    salt: bytesToHex(salt),
    qrPayload: qrPayload(code, salt),
    w0: bytesToHex(w0),
    w1: bytesToHex(w1),
    L: bytesToHex(record.L),
    verifierRecord: bytesToHex(encodeVerifierRecord({ salt, w0: record.w0, L: record.L })),
    sessionId: bytesToHex(sid),
    context: bytesToHex(context),
    x: bytesToHex(x),
    K_main: bytesToHex(ks.K_main),
    K_shared: bytesToHex(sharedKey),
    keyPhoneToDevice: bytesToHex(keys.phoneToDevice),
    keyDeviceToPhone: bytesToHex(keys.deviceToPhone),
    deviceIdentity: deviceInfo.identity,
    relayCa: bytesToHex(VECTOR_RELAY_CA),
    plaintexts: { deviceInfo: bytesToHex(infoPlain), config: bytesToHex(configPlain), done: bytesToHex(donePlain) },
    ack,
    messages,
  };
}

export const VECTOR_DIR = 'test/vectors';

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  const write = process.argv.includes('--write');
  if (write) assertMayRewriteVectors('setup-vectors --write');
  const files = { 'roster-v1.json': rosterVectors(), 'setup-v1.json': setupVectors() };
  for (const [name, value] of Object.entries(files)) {
    const text = JSON.stringify(value, null, 2) + '\n';
    if (write) fs.writeFileSync(path.join(root, VECTOR_DIR, name), text);
    else console.log(`${name}:\n${text}`);
  }
}
