/**
 * The doorbell's setup mode: the state machine behind the temporary access
 * point. Transport-agnostic: the host hands it each message's bytes with the
 * time, and sends back the reply bytes (docs/setup-protocol.md).
 *
 *   PARAMS_REQUEST → PARAMS        new session: session id, provisioning salt
 *   SHARE_P        → SHARE_V       SPAKE2+ verifier responds (one guess: counted)
 *   CONFIRM_P      → RECORD        key confirmed: channel open; DEVICE_INFO inside
 *   RECORD(CONFIG) → RECORD(DONE)  settings and signed roster stored; setup over
 *
 * Rules that keep an attacker on the access point out:
 *  - the device holds only the SPAKE2+ record (w0, L), never the code;
 *  - every SPAKE2+ response is an online guess and is counted (persistently) until
 *    a key confirmation succeeds; after MAX_ATTEMPTS the device refuses new sessions
 *    until a long press;
 *  - settings and roster arrive only inside the confirmed channel, and the roster
 *    must be signed by the account authority (and, once set up, by the same one);
 *  - a bad message gets an ERROR reply and changes nothing: the session in progress
 *    and everything stored stay as they were.
 */
import type { KeyValueStore, Log, Random } from '../host.js';
import type { RecipientSet } from '../clip/prepared-header.js';
import { equalBytes } from '../bytes.js';
import { SealbellError } from '../errors.js';
import { loadOrCreateIdentity, wipeIdentity, type DeviceIdentity } from '../device/identity.js';
import { ROSTER_KEY, RosterStore, authorityAfter, recipientsOf, type StoredRoster } from '../roster/roster-store.js';
import { SETTINGS_KEY } from '../settings/settings-store.js';
import { signRosterAck } from '../roster/ack.js';
import { encodeRosterBundle } from '../roster/bundle.js';
import { Spake2PlusVerifier } from './spake2plus.js';
import { encodeMessage, parseMessage, type SetupMessage } from './messages.js';
import { SetupChannel } from './channel.js';
import { encodeDeviceInfo, encodeDone, parseConfig, type DeviceConfig } from './records.js';
import { loadVerifierRecord } from './verifier-record.js';
import { storeDeviceConfig, wipeDeviceConfig } from './device-config.js';
import { ID_PROVER, ID_VERIFIER, MAX_ATTEMPTS, SESSION_ID_LENGTH, SETUP_WINDOW_MS, spakeContext } from './protocol.js';

export const ATTEMPTS_KEY = 'setup.attempts';

export type SetupState = 'closed' | 'open' | 'locked';

export interface SetupModeOptions {
  store: KeyValueStore;
  random: Random;
  log?: Log;
  /** how long the window stays open (default SETUP_WINDOW_MS, 10 minutes) */
  windowMs?: number;
  /** Called once setup has stored everything: give `recipients` to Doorbell.setRecipients. */
  onConfigured?: (result: SetupResult) => void;
}

export interface SetupResult {
  config: DeviceConfig;
  roster: StoredRoster;
  recipients: RecipientSet;
  identity: DeviceIdentity;
}

export interface SetupReply {
  /** bytes to send back (an ERROR message when `error` is set) */
  reply: Uint8Array;
  error?: SealbellError;
  /** set on the message that completed setup */
  configured?: SetupResult;
}

/** One run of the protocol with one phone. */
interface Session {
  id: Uint8Array;
  phase: 'share' | 'confirm' | 'channel';
  verifier?: Spake2PlusVerifier;
  channel?: SetupChannel;
  identity?: DeviceIdentity;
}

type Of<T extends SetupMessage['type']> = Extract<SetupMessage, { type: T }>;

function expect(condition: unknown, code: string, message: string): asserts condition {
  if (!condition) throw new SealbellError(code, message);
}

export class SetupMode {
  #session: Session | undefined;
  #deadline = 0;
  #open = false;
  #attempts: number;
  readonly #o: SetupModeOptions;
  readonly #log: Log;

  constructor(options: SetupModeOptions) {
    this.#o = options;
    this.#log = options.log ?? (() => {});
    // The count survives reboots: pulling the power does not buy more guesses.
    this.#attempts = options.store.get(ATTEMPTS_KEY)?.[0] ?? 0;
  }

  get state(): SetupState {
    if (!this.#open) return 'closed';
    return this.#locked() ? 'locked' : 'open';
  }

  /** Unconfirmed SPAKE2+ attempts since the last success or long press. */
  get attempts(): number {
    return this.#attempts;
  }

  /** When the window closes (ms), 0 when closed. */
  get deadline(): number {
    return this.#open ? this.#deadline : 0;
  }

  /** Opens the window (e.g. at boot of a doorbell that is not set up). Keeps the attempt count. */
  open(now: number): void {
    this.#open = true;
    this.#deadline = now + (this.#o.windowMs ?? SETUP_WINDOW_MS);
    this.#endSession();
    this.#log(this.#locked() ? 'setup: locked after too many wrong codes; long-press to reopen' : 'setup: window open');
  }

  /** The button held down: (re)opens the window and lifts a lockout. Someone is physically here. */
  longPress(now: number): void {
    this.#setAttempts(0);
    this.open(now);
  }

  /** Wipes identity, roster and settings (not the provisioning record). The host reboots afterwards. */
  factoryReset(): void {
    const s = this.#o.store;
    wipeIdentity(s);
    s.delete(ROSTER_KEY);
    s.delete(SETTINGS_KEY); // the owner's signed clip and motion settings
    wipeDeviceConfig(s);
    this.#setAttempts(0);
    this.#close();
    this.#log('setup: factory reset: identity, roster and settings wiped');
  }

  /** Time passes: the window closes when its time is up. */
  tick(now: number): void {
    if (this.#open && now >= this.#deadline) {
      this.#close();
      this.#log('setup: window closed (timeout)');
    }
  }

  /** One message in, one reply out. Never throws for bad input: the reply is an ERROR then. */
  receive(bytes: Uint8Array, now: number): SetupReply {
    try {
      this.tick(now);
      expect(this.#open, 'SETUP_CLOSED', 'setup mode is not open (long-press the button to open it)');
      const m = parseMessage(bytes);
      switch (m.type) {
        case 'PARAMS_REQUEST':
          return { reply: this.#params() };
        case 'SHARE_P':
          return { reply: this.#shareP(m) };
        case 'CONFIRM_P':
          return { reply: this.#confirmP(m) };
        case 'RECORD':
          return this.#record(m);
        default:
          throw new SealbellError('SETUP_UNEXPECTED', `a ${m.type} message is not sent to the doorbell`);
      }
    } catch (e) {
      // Anything that is not one of our own errors is reported without its text (no internals on the air).
      const ours = e instanceof SealbellError && /^[A-Z0-9_]{1,32}$/.test(e.code);
      const error = ours ? (e as SealbellError) : new SealbellError('SETUP_INTERNAL', 'the doorbell failed to process the message');
      if (!ours) this.#log(`setup: internal error: ${(e as Error)?.name ?? 'unknown'}`);
      return { reply: encodeMessage({ type: 'ERROR', code: error.code, message: error.message }), error };
    }
  }

  // -------------------------------------------------------------------------

  /** No new sessions. A session already waiting for its CONFIRM_P may still finish: its guess is counted. */
  #locked(): boolean {
    return this.#attempts >= MAX_ATTEMPTS;
  }

  #refuseIfLocked(): void {
    expect(this.#attempts < MAX_ATTEMPTS, 'SETUP_LOCKED', `too many wrong setup codes (${MAX_ATTEMPTS}): long-press the button to try again`);
  }

  #setAttempts(n: number): void {
    this.#attempts = n;
    if (n === 0) this.#o.store.delete(ATTEMPTS_KEY);
    else this.#o.store.set(ATTEMPTS_KEY, Uint8Array.of(Math.min(n, 255)));
  }

  #current(sessionId: Uint8Array, phase: Session['phase'], what: string): Session {
    const s = this.#session;
    expect(s, 'SETUP_UNEXPECTED', `${what} arrived with no setup session in progress`);
    expect(equalBytes(s.id, sessionId), 'SETUP_SESSION', `${what} belongs to another setup session`);
    expect(s.phase === phase, 'SETUP_UNEXPECTED', `${what} is out of order (the session expects ${this.#expected(s)})`);
    return s;
  }

  #expected(s: Session): string {
    return s.phase === 'share' ? 'SHARE_P' : s.phase === 'confirm' ? 'CONFIRM_P' : 'a CONFIG record';
  }

  #params(): Uint8Array {
    this.#refuseIfLocked();
    const record = loadVerifierRecord(this.#o.store);
    // A new request replaces any session in progress (a stalled or abandoned phone).
    this.#endSession();
    const id = this.#o.random(SESSION_ID_LENGTH);
    this.#session = { id, phase: 'share' };
    this.#log('setup: session started');
    return encodeMessage({ type: 'PARAMS', sessionId: id, salt: record.salt });
  }

  #shareP(m: Of<'SHARE_P'>): Uint8Array {
    const s = this.#current(m.sessionId, 'share', 'SHARE_P');
    this.#refuseIfLocked();
    const record = loadVerifierRecord(this.#o.store);
    const verifier = new Spake2PlusVerifier({
      context: spakeContext(s.id, record.salt),
      idProver: ID_PROVER,
      idVerifier: ID_VERIFIER,
      w0: record.w0,
      L: record.L,
      random: this.#o.random,
    });
    // An invalid share throws here, before any guess is answered: not counted, session unchanged.
    const { shareV, confirmV } = verifier.respond(m.shareP);
    // Count the guess durably before answering it: the answer lets the peer test one code.
    this.#setAttempts(this.#attempts + 1);
    s.verifier = verifier;
    s.phase = 'confirm';
    return encodeMessage({ type: 'SHARE_V', sessionId: s.id, shareV, confirmV });
  }

  #confirmP(m: Of<'CONFIRM_P'>): Uint8Array {
    const s = this.#current(m.sessionId, 'confirm', 'CONFIRM_P');
    let key: Uint8Array;
    try {
      key = (s.verifier as Spake2PlusVerifier).finish(m.confirmP);
    } catch {
      this.#endSession();
      const left = Math.max(0, MAX_ATTEMPTS - this.#attempts);
      this.#log(`setup: wrong setup code (${this.#attempts} of ${MAX_ATTEMPTS} attempts used)`);
      throw new SealbellError('SETUP_WRONG_CODE', `key confirmation failed: wrong setup code or a tampered exchange (${left} attempts left)`);
    }
    this.#setAttempts(0);
    s.verifier = undefined;
    s.channel = new SetupChannel(key, s.id, 'device');
    key.fill(0);
    s.phase = 'channel';
    s.identity = loadOrCreateIdentity(this.#o.store, this.#o.random);
    const stored = new RosterStore(this.#o.store, s.identity.deviceId).load();
    this.#log('setup: setup code confirmed; secure channel open');
    return s.channel.seal(
      encodeDeviceInfo({
        identity: s.identity.publicKeyText,
        epoch: stored?.roster.epoch ?? 0,
        // the authority that may sign its next roster (after a handover, the new one)
        authority: stored ? authorityAfter(stored) : null,
        roster: stored ? encodeRosterBundle(stored) : null,
      }),
    );
  }

  #record(m: Of<'RECORD'>): SetupReply {
    const s = this.#current(m.sessionId, 'channel', 'a record');
    const channel = s.channel as SetupChannel;
    const identity = s.identity as DeviceIdentity;
    // Refusals up to here change nothing; after open() the record is consumed, and a
    // CONFIG that fails its checks below stores nothing (the phone may send a corrected one).
    const config = parseConfig(channel.open(m));
    const rosters = new RosterStore(this.#o.store, identity.deviceId);
    const checked = rosters.check(config.roster, config.authority);
    // Everything is checked: store. Settings first, roster last: the roster marks a
    // finished setup, so a crash in between leaves a doorbell that is still not set up.
    const settings: DeviceConfig = { wifi: config.wifi, relayUrl: config.relayUrl, credential: config.credential };
    if (config.relayCa) settings.relayCa = config.relayCa;
    storeDeviceConfig(this.#o.store, settings);
    const roster = rosters.commit(checked);
    const ack = signRosterAck(roster.bytes, roster.roster, identity.key);
    const reply = channel.seal(encodeDone({ identity: identity.publicKeyText, epoch: roster.roster.epoch, ack }));
    const result: SetupResult = { config: settings, roster, recipients: recipientsOf(roster.roster), identity };
    this.#close();
    this.#log(`setup: done; roster epoch ${roster.roster.epoch} with ${roster.roster.phones.length} phone(s)`);
    this.#o.onConfigured?.(result);
    return { reply, configured: result };
  }

  #endSession(): void {
    this.#session?.channel?.close();
    this.#session = undefined;
  }

  #close(): void {
    this.#endSession();
    this.#open = false;
    this.#deadline = 0;
  }
}

/** For hosts: a doorbell with a stored roster is set up; one without opens setup at boot. */
export function isSetUp(store: KeyValueStore): boolean {
  return store.get(ROSTER_KEY) !== undefined;
}
