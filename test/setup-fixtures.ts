/** Fixtures for the setup, roster and phone tests: provisioned devices, phones, a manual protocol driver. */
import assert from 'node:assert/strict';
import { Doorbell } from '../src/device/doorbell.js';
import { loadOrCreateIdentity } from '../src/device/identity.js';
import { nobleBackend } from '../src/crypto/noble.js';
import { SealbellError } from '../src/errors.js';
import type { RecipientSet } from '../src/clip/prepared-header.js';
import { SetupMode, type SetupResult } from '../src/setup/setup-mode.js';
import { installVerifierRecord } from '../src/setup/verifier-record.js';
import { Spake2PlusProver, deriveScalars } from '../src/setup/spake2plus.js';
import { encodeMessage, parseMessage, type SetupMessage } from '../src/setup/messages.js';
import { SetupChannel } from '../src/setup/channel.js';
import { parseDeviceInfo, type DeviceInfo } from '../src/setup/records.js';
import { ID_PROVER, ID_VERIFIER, spakeContext } from '../src/setup/protocol.js';
import { codePassword, verhoeffCheckDigit as verhoeff } from '../src/setup/setup-code.js';
import { ClipOpener } from '../src/clip/opener.js';
import { verifySignedManifest } from '../src/clip/signed-manifest.js';
import { decodePublicKey } from '../src/minisign.js';
import { parseHeader } from '../src/age/format.js';
import { startSetupEndpoint, type SetupEndpoint } from '../hosts/node/setup-endpoint.js';
import { provision, type ProvisionResult } from '../tools/provision.js';
import { phoneInit, unlockAccount, type PhoneInitResult } from '../tools/phone/index.js';
import type { AccountKeys } from '../tools/phone/state.js';
import type { SetupTransport } from '../tools/phone/setup-client.js';
import { MemorySink, MemoryStore, seededRandom, tempDir, type RecordedClip, type TestRig } from './helpers.js';

export const WIFI = { ssid: 'Home Network', password: 'correct horse battery staple' };
export const RELAY = 'https://relay.example/sealbell';
export const T0 = 1_800_000_000_000;

export interface TestDevice {
  prov: ProvisionResult;
  store: MemoryStore;
  mode: SetupMode;
  results: SetupResult[];
  now: number;
  /** phone → device in process (no HTTP) */
  transport: SetupTransport;
  /** the replies the device gave, errors included */
  errors: SealbellError[];
  /** a new SetupMode on the same store: what a reboot does */
  reboot(): void;
}

const provisions = new Map<string, ProvisionResult>();

/** A provisioned doorbell that was never set up, with setup mode open at T0. */
export async function freshDevice(seed: string): Promise<TestDevice> {
  let prov = provisions.get(seed);
  if (!prov) provisions.set(seed, (prov = await provision({ out: tempDir('factory'), random: seededRandom(`${seed}/factory`) })));
  const store = new MemoryStore();
  installVerifierRecord(store, prov.verifierRecord);
  const random = seededRandom(`${seed}/device`);
  const d: TestDevice = {
    prov,
    store,
    mode: undefined as unknown as SetupMode,
    results: [],
    now: T0,
    errors: [],
    transport: async (m) => {
      const r = d.mode.receive(m, d.now);
      if (r.error) d.errors.push(r.error);
      return r.reply;
    },
    reboot() {
      d.mode = new SetupMode({ store, random, onConfigured: (r) => d.results.push(r) });
    },
  };
  d.reboot();
  d.mode.open(d.now);
  return d;
}

/** The same device behind the Node setup endpoint on 127.0.0.1. */
export async function serve(d: TestDevice): Promise<SetupEndpoint> {
  return startSetupEndpoint({ mode: d.mode, now: () => d.now });
}

export interface TestPhone {
  dir: string;
  init: PhoneInitResult;
  /** the account keys, unlocked with the passphrase */
  account: AccountKeys;
}

/** A phone with a new account (escrow at a low work factor: tests that need 2^18 make their own). */
export function freshPhone(seed: string, name = 'phone 1'): TestPhone {
  const dir = tempDir('phone');
  const init = phoneInit(dir, { name, random: seededRandom(`${seed}/phone`), logN: 10 });
  return { dir, init, account: unlockAccount(dir, init.passphrase) };
}

/** Everything the store holds, for "nothing changed" checks. */
export function snapshot(store: MemoryStore): Map<string, string> {
  return new Map([...store.map].map(([k, v]) => [k, Buffer.from(v).toString('hex')]));
}

export function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof SealbellError, `expected a SealbellError, got ${String(e)}`);
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    return true;
  });
}

export async function rejectsCode(p: Promise<unknown>, code: string): Promise<SealbellError> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof SealbellError, `expected a SealbellError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, `expected ${code}, got ${caught.code}: ${caught.message}`);
  return caught;
}

type Of<T extends SetupMessage['type']> = Extract<SetupMessage, { type: T }>;

/** The device's reply to `m`, parsed; ERROR replies come back as such. */
export function ask(d: TestDevice, m: Uint8Array): SetupMessage {
  return parseMessage(d.mode.receive(m, d.now).reply);
}

export function expectError(reply: SetupMessage, code: string): void {
  assert.equal(reply.type, 'ERROR', `expected an ERROR ${code}, got ${reply.type}`);
  assert.equal((reply as Of<'ERROR'>).code, code, (reply as Of<'ERROR'>).message);
}

/** Scalars for a code at a salt (scrypt: ~0.1 s). */
const scalarCache = new Map<string, { w0: Uint8Array; w1: Uint8Array }>();
export function scalarsFor(code: string, salt: Uint8Array) {
  const k = `${code}/${Buffer.from(salt).toString('hex')}`;
  let s = scalarCache.get(k);
  if (!s) scalarCache.set(k, (s = deriveScalars(codePassword(code), salt, { idProver: ID_PROVER, idVerifier: ID_VERIFIER })));
  return { w0: s.w0.slice(), w1: s.w1.slice() };
}

/** The phone's protocol step by step, up to an open channel, for tests that then misbehave. */
export class ManualPhone {
  sid: Uint8Array = new Uint8Array(0);
  salt: Uint8Array = new Uint8Array(0);
  prover: Spake2PlusProver | undefined;
  channel: SetupChannel | undefined;
  info: DeviceInfo | undefined;
  confirmP: Uint8Array = new Uint8Array(0);

  constructor(readonly d: TestDevice, readonly code: string, readonly seed = 'manual') {}

  params(): Of<'PARAMS'> {
    const m = ask(this.d, encodeMessage({ type: 'PARAMS_REQUEST' }));
    assert.equal(m.type, 'PARAMS', m.type === 'ERROR' ? m.message : m.type);
    this.sid = (m as Of<'PARAMS'>).sessionId;
    this.salt = (m as Of<'PARAMS'>).salt;
    return m as Of<'PARAMS'>;
  }

  shareMessage(): Uint8Array {
    const { w0, w1 } = scalarsFor(this.code, this.salt);
    this.prover = new Spake2PlusProver({ context: spakeContext(this.sid, this.salt), idProver: ID_PROVER, idVerifier: ID_VERIFIER, w0, w1, random: seededRandom(this.seed) });
    return encodeMessage({ type: 'SHARE_P', sessionId: this.sid, shareP: this.prover.start() });
  }

  /** SHARE_P → SHARE_V → finish; returns the CONFIRM_P message (not sent). */
  shareAndConfirm(): Uint8Array {
    const v = ask(this.d, this.shareMessage());
    assert.equal(v.type, 'SHARE_V', v.type === 'ERROR' ? v.message : v.type);
    const sv = v as Of<'SHARE_V'>;
    const { confirmP, sharedKey } = this.prover!.finish(sv.shareV, sv.confirmV);
    this.channel = new SetupChannel(sharedKey, this.sid, 'phone');
    this.confirmP = confirmP;
    return encodeMessage({ type: 'CONFIRM_P', sessionId: this.sid, confirmP });
  }

  /** Full handshake; returns the DEVICE_INFO. */
  open(): DeviceInfo {
    this.params();
    const r = ask(this.d, this.shareAndConfirm());
    assert.equal(r.type, 'RECORD', r.type === 'ERROR' ? r.message : r.type);
    this.info = parseDeviceInfo(this.channel!.open(r as Of<'RECORD'>));
    return this.info;
  }

  get deviceId(): string {
    return this.info!.identity.split('\n')[0].split(' ').pop()!;
  }
}

/** A Doorbell on the device's store (the identity setup used), sealing to `recipients`. */
export function doorbellFor(store: MemoryStore, recipients: RecipientSet, seed: string): TestRig {
  const random = seededRandom(`${seed}/doorbell`);
  const identity = loadOrCreateIdentity(store, random);
  const sink = new MemorySink();
  const doorbell = new Doorbell({ backend: nobleBackend, random, identity, sink, width: 320, height: 240, clipDuration: 2000 });
  doorbell.setRecipients(recipients);
  return { doorbell, sink, phones: [], devicePub: identity.publicKeyText, random };
}

/** Opens a clip with one identity (manifest checked): true, or false when it was not sealed to it. */
export function opens(clip: RecordedClip, identity: string, devicePub: string): boolean {
  const manifest = verifySignedManifest(clip.manifest, clip.signature, decodePublicKey(devicePub));
  try {
    const o = new ClipOpener({ backend: nobleBackend, identities: [identity], manifest });
    o.push(clip.age);
    o.end();
    return true;
  } catch (e) {
    if (e instanceof SealbellError && e.code === 'NO_IDENTITY') return false;
    throw e;
  }
}

export function stanzaCount(clip: RecordedClip): number {
  return parseHeader(clip.age)!.stanzas.length;
}

/** A valid code that is not this device's (right check digit, wrong digits). */
export function wrongCode(d: TestDevice, n = 0): string {
  const digits = String((Number(d.prov.code.slice(0, 11)) + 1 + n) % 1e11).padStart(11, '0');
  return digits + verhoeff(digits);
}
