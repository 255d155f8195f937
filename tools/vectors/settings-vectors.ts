/**
 * Test vectors for docs/settings-format.md, computed from fixed seeds with the real code.
 * test/settings.test.ts recomputes them and compares with test/vectors/settings-v1.json;
 * `node dist/tools/vectors/settings-vectors.js --write` rewrites it after a deliberate
 * format change (refused in CI).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bytesToHex, hexToBytes, utf8Decode } from '../../src/bytes.js';
import { encodePublicKey, keyIdHex, signingKeyFromSeed } from '../../src/minisign.js';
import { encodeSettings, encodeSettingsBundle, signSettings, signSettingsAck, signSettingsBytes, type Settings } from '../../src/settings/settings.js';
import { assertMayRewriteVectors } from './rewrite-guard.js';

/** The roster vector's account authority (docs/roster-format.md). */
export const AUTHORITY_SEED = '4eae1df94f604a37b2dd07f8764de008fdf60481fe4f5d64082a45dd0e24f559';
/** The doorbell's identity key (its id is the key id), and a key that is not the authority. */
export const DEVICE_SEED = '5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e';
export const OTHER_SEED = '0707070707070707070707070707070707070707070707070707070707070707';

export interface SettingsRefusalVector {
  case: string;
  /** the epoch the doorbell holds when the bundle arrives */
  held: number;
  bundle: string;
  code: string;
}

export interface SettingsVectors {
  authoritySeed: string;
  authorityPublicKey: string;
  deviceSeed: string;
  devicePublicKey: string;
  settings: Settings;
  /** settings.json, exact text */
  json: string;
  /** settings.json.minisig */
  signature: string;
  /** the bundle, hex */
  bundle: string;
  /** the device's acknowledgement */
  ack: string;
  refusals: SettingsRefusalVector[];
}

export function settingsVectors(): SettingsVectors {
  const authority = signingKeyFromSeed(hexToBytes(AUTHORITY_SEED));
  const device = signingKeyFromSeed(hexToBytes(DEVICE_SEED));
  const other = signingKeyFromSeed(hexToBytes(OTHER_SEED));
  const id = keyIdHex(device.keyId);
  const settings: Settings = { v: 1, device: id, epoch: 7, clipSeconds: 15, prerollSeconds: 3, zones: ['....', 'AABB', 'AABB'], sensitivity: 60 };
  const signed = signSettings(settings, authority);
  const bundle = encodeSettingsBundle(signed);
  const hex = (s: Settings, key = authority) => {
    const bytes = encodeSettings(s);
    return bytesToHex(encodeSettingsBundle({ bytes, signature: signSettingsBytes(bytes, key) }));
  };
  const tampered = encodeSettingsBundle({ bytes: encodeSettings({ ...settings, clipSeconds: 60 }), signature: signed.signature });
  const spaced = new TextEncoder().encode(utf8Decode(signed.bytes).replace('"epoch":7', '"epoch": 7'));
  const refusals: SettingsRefusalVector[] = [
    { case: 'altered after signing (clipSeconds 15 → 60)', held: 6, bundle: bytesToHex(tampered), code: 'SETTINGS_SIGNATURE' },
    { case: 'signed by another key', held: 6, bundle: hex(settings, other), code: 'SETTINGS_SIGNATURE' },
    { case: 'for another doorbell', held: 6, bundle: hex({ ...settings, device: '0123456789ABCDEF' }), code: 'SETTINGS_DEVICE' },
    { case: 'replayed: the epoch held', held: 7, bundle: bytesToHex(bundle), code: 'SETTINGS_EPOCH' },
    { case: 'rolled back: an epoch below the one held', held: 8, bundle: bytesToHex(bundle), code: 'SETTINGS_EPOCH' },
    { case: 'out of range: clipSeconds 600', held: 6, bundle: hex({ ...settings, clipSeconds: 600 }), code: 'SETTINGS_RANGE' },
    { case: 'out of range: zone rows of different lengths', held: 6, bundle: hex({ ...settings, zones: ['AAAA', 'AA'] }), code: 'SETTINGS_RANGE' },
    { case: 'not canonical (a space)', held: 6, bundle: bytesToHex(encodeSettingsBundle({ bytes: spaced, signature: signed.signature })), code: 'SETTINGS_FORMAT' },
  ];
  return {
    authoritySeed: AUTHORITY_SEED,
    authorityPublicKey: encodePublicKey(authority.publicKey),
    deviceSeed: DEVICE_SEED,
    devicePublicKey: encodePublicKey(device.publicKey),
    settings,
    json: utf8Decode(signed.bytes),
    signature: signed.signature,
    bundle: bytesToHex(bundle),
    ack: signSettingsAck(signed, device),
    refusals,
  };
}

export const VECTOR_FILE = 'test/vectors/settings-v1.json';

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
  const text = JSON.stringify(settingsVectors(), null, 2) + '\n';
  if (process.argv.includes('--write')) {
    assertMayRewriteVectors('settings-vectors --write');
    fs.writeFileSync(path.join(root, VECTOR_FILE), text);
  } else process.stdout.write(text);
}
