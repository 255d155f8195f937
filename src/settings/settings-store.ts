/**
 * The settings a doorbell runs, kept under one KeyValueStore key (so a crash during an
 * update leaves the old settings or the new ones), and taken only when the account
 * authority signed them for this doorbell with a higher epoch and every value is in range:
 *
 *   SETTINGS_FORMAT     malformed (bundle or document)
 *   SETTINGS_AUTHORITY  no account authority yet (not set up)
 *   SETTINGS_SIGNATURE  not signed by the account authority, or altered
 *   SETTINGS_DEVICE     for another doorbell
 *   SETTINGS_EPOCH      not above the epoch held (a replay or a rollback)
 *   SETTINGS_RANGE      a value out of range
 *
 * Any refusal leaves the stored settings byte for byte as they were.
 *   record = "SBU1" ‖ settings bundle (settings.ts)
 */
import type { KeyValueStore } from '../host.js';
import { equalBytes, utf8ToBytes } from '../bytes.js';
import { SealbellError } from '../errors.js';
import { Reader, Writer } from '../wire.js';
import {
  checkSettingsRange,
  defaultSettings,
  encodeSettingsBundle,
  parseSettings,
  parseSettingsBundle,
  verifySettings,
  type Settings,
  type SignedSettings,
} from './settings.js';

export const SETTINGS_KEY = 'settings.signed';
const MAGIC = utf8ToBytes('SBU1');

export class SettingsStore {
  constructor(
    private readonly store: KeyValueStore,
    readonly deviceId: string,
  ) {}

  /** The signed settings held, or undefined (the defaults run). SETTINGS_STORE if the record is corrupt. */
  load(): SignedSettings | undefined {
    const raw = this.store.get(SETTINGS_KEY);
    if (raw === undefined) return undefined;
    try {
      const r = new Reader(raw, 'SETTINGS_STORE', 'stored settings');
      if (!equalBytes(r.bytesN(MAGIC.length, 'magic'), MAGIC)) r.fail('bad magic');
      const b = parseSettingsBundle(r.rest());
      return { settings: parseSettings(b.bytes), bytes: b.bytes, signature: b.signature };
    } catch (e) {
      throw new SealbellError('SETTINGS_STORE', `the stored settings are corrupt: ${(e as Error).message}`);
    }
  }

  /** What runs: the held settings, else the defaults (epoch 0). */
  current(): Settings {
    return this.load()?.settings ?? defaultSettings(this.deviceId);
  }

  /** Checks a bundle as described above without storing it. `authority`: the account authority now. */
  check(bundle: Uint8Array, authority: Uint8Array | undefined, held = this.load()): SignedSettings {
    const { bytes, signature } = parseSettingsBundle(bundle);
    parseSettings(bytes);
    if (!authority) throw new SealbellError('SETTINGS_AUTHORITY', 'no account authority yet: the doorbell has not been set up');
    const signed = verifySettings(bytes, signature, authority);
    const s = signed.settings;
    if (s.device !== this.deviceId) throw new SealbellError('SETTINGS_DEVICE', `the settings are for device ${s.device}, this is ${this.deviceId}`);
    const epoch = held?.settings.epoch ?? 0;
    if (s.epoch <= epoch) throw new SealbellError('SETTINGS_EPOCH', `settings epoch ${s.epoch} is not above the epoch held, ${epoch} (replayed or rolled back)`);
    checkSettingsRange(s);
    return signed;
  }

  /** check(), then store (one set()). Returns what is now held. */
  accept(bundle: Uint8Array, authority: Uint8Array | undefined): SignedSettings {
    const next = this.check(bundle, authority);
    this.store.set(SETTINGS_KEY, new Writer().bytes(MAGIC).bytes(encodeSettingsBundle(next)).finish());
    return next;
  }

  /** Factory reset. */
  wipe(): void {
    this.store.delete(SETTINGS_KEY);
  }
}
