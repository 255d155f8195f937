/**
 * Signed settings on the uplink (docs/settings-format.md, docs/relay-api.md "Settings"):
 * JSON text messages of their own types, so a relay or a device that predates them ignores
 * them (the relay answers UNKNOWN_TYPE, which the device takes as "no settings here").
 *
 * Relay → device
 *   {"t":"settings","bundle":"<base64 settings bundle>"}          the owner's newest settings
 * Device → relay
 *   {"t":"settings-held","epoch":N,"bundle":"<base64>"|null,"ack":"<minisig>"|null}
 *        what it runs: after every hello and after taking settings; epoch 0 and nulls: the defaults
 *   {"t":"settings-refused","code":"SETTINGS_…","message":"…"}    it keeps what it runs
 */
import { SealbellError } from '../errors.js';
import { controlObject } from './control-object.js';
import { MAX_SETTINGS_BUNDLE_BYTES } from '../settings/settings.js';

const BUNDLE_TEXT = Math.ceil(MAX_SETTINGS_BUNDLE_BYTES / 3) * 4;

export type SettingsRelayMessage = { t: 'settings'; bundle: string };
export type SettingsDeviceMessage =
  | { t: 'settings-held'; epoch: number; bundle: string | null; ack: string | null }
  | { t: 'settings-refused'; code: string; message: string };

const bad = (why: string): never => {
  throw new SealbellError('WIRE_FORMAT', `settings message: ${why}`);
};
const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
const isCode = (s: unknown): s is string => typeof s === 'string' && /^[A-Z][A-Z0-9_]{0,63}$/.test(s);
const isBase64 = (s: unknown): s is string => typeof s === 'string' && s.length > 0 && s.length <= BUNDLE_TEXT && s.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s);

const objectOf = (text: string | Uint8Array, types: string[]) => controlObject(text, ['"t":"settings'], types, 16 * 1024, () => bad('too large'));

/** A settings message from the relay, undefined for any other message; WIRE_FORMAT when malformed. */
export function parseSettingsRelayMessage(text: string | Uint8Array): SettingsRelayMessage | undefined {
  const m = objectOf(text, ['settings']);
  if (!m) return undefined;
  if (!isBase64(m.bundle)) return bad('settings: bundle must be base64');
  return { t: 'settings', bundle: m.bundle };
}

/** A settings message from the device, undefined for any other message; WIRE_FORMAT when malformed. */
export function parseSettingsDeviceMessage(text: string | Uint8Array): SettingsDeviceMessage | undefined {
  const m = objectOf(text, ['settings-held', 'settings-refused']);
  if (!m) return undefined;
  if (m.t === 'settings-refused') {
    if (!isCode(m.code) || typeof m.message !== 'string') return bad('settings-refused: malformed');
    return { t: 'settings-refused', code: m.code, message: m.message.slice(0, 500) };
  }
  if (!isCount(m.epoch)) return bad('settings-held: epoch must be a whole number');
  if (m.epoch === 0 ? m.bundle !== null || m.ack !== null : !isBase64(m.bundle) || typeof m.ack !== 'string' || m.ack.length > 4096) {
    return bad('settings-held: bundle and ack must be given for an epoch above 0, null for 0');
  }
  return { t: 'settings-held', epoch: m.epoch, bundle: m.bundle as string | null, ack: m.ack as string | null };
}

export const encodeSettingsMessage = (m: SettingsRelayMessage | SettingsDeviceMessage): string => JSON.stringify(m);
