/**
 * The file-free part of editing a doorbell's settings, shared by `sealbell phone settings`
 * (tools/phone/settings.ts) and the web app (web/app/doorbell-settings.ts): what the doorbell
 * runs (only what it signed), what waits at the relay (only if the account authority signed
 * it), and the next settings to sign, epoch above every one in sight.
 */
import { base64 } from '@scure/base';
import { SealbellError } from '../../src/errors.js';
import { decodePublicKey } from '../../src/minisign.js';
import { defaultSettings, parseSettingsBundle, verifySettings, verifySettingsAck, type Settings } from '../../src/settings/settings.js';
import type { SettingsView } from '../relay/settings.js';

export type SettingsChange = Partial<Pick<Settings, 'clipSeconds' | 'prerollSeconds' | 'zones' | 'sensitivity'>>;

/** What the doorbell runs, from its acknowledgement (SETTINGS_ACK when the relay shows one it did not sign); the defaults at epoch 0. */
export function runsFromView(view: SettingsView, deviceId: string, devicePub: string): Settings {
  const held = view.held;
  if (!(held && held.epoch > 0 && held.bundle && held.ack)) return defaultSettings(deviceId);
  const { bytes } = parseSettingsBundle(base64.decode(held.bundle));
  const runs = verifySettingsAck(bytes, held.ack, decodePublicKey(devicePub));
  if (runs.device !== deviceId) throw new SealbellError('SETTINGS_ACK', `the acknowledgement is for device ${runs.device}`);
  return runs;
}

/** The settings waiting at the relay, when the account authority signed them (else none: not a base, its epoch counts for nothing). */
export function pendingFromView(view: SettingsView, authority: Uint8Array): Settings | undefined {
  if (!view.pending) return undefined;
  try {
    const b = parseSettingsBundle(base64.decode(view.pending.bundle));
    return verifySettings(b.bytes, b.signature, authority).settings;
  } catch {
    return undefined;
  }
}

/** `change` applied to the newest of `known`, with an epoch above all of them. */
export function nextSettings(deviceId: string, known: (Settings | undefined)[], change: SettingsChange): Settings {
  const seen = known.filter((s): s is Settings => s !== undefined);
  if (!seen.length) seen.push(defaultSettings(deviceId));
  const newest = seen.reduce((x, y) => (y.epoch > x.epoch ? y : x));
  return { ...newest, ...change, device: deviceId, epoch: Math.max(...seen.map((s) => s.epoch)) + 1 };
}

/** One line for the owner: clip length, pre-roll, motion. */
export function describeValues(s: Settings): string {
  return `clips ${s.clipSeconds} s, pre-roll ${s.prerollSeconds} s, motion ${s.zones ? `zones ${s.zones.join('/')}, sensitivity ${s.sensitivity}` : 'off'}`;
}
