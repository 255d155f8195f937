// Signed settings (docs/settings-format.md): the format and its vector, checked here and
// independently (stock minisign, and Ed25519 over BLAKE2b-512 with @noble straight from the
// spec); the doorbell's store refusing each bad document with its own code and keeping what
// it holds; and settings that survive a reboot.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import { blake2b } from '@noble/hashes/blake2.js';
import { base64 } from '@scure/base';
import { bytesToHex, hexToBytes, utf8ToBytes } from '../src/bytes.js';
import { decodePublicKey, signingKeyFromSeed } from '../src/minisign.js';
import {
  checkSettingsRange,
  encodeSettings,
  parseSettings,
  parseSettingsBundle,
  signSettings,
  verifySettingsAck,
  type Settings,
} from '../src/settings/settings.js';
import { SettingsStore, SETTINGS_KEY } from '../src/settings/settings-store.js';
import { settingsVectors, VECTOR_FILE, type SettingsVectors } from '../tools/vectors/settings-vectors.js';
import { parseSettingsDeviceMessage, parseSettingsRelayMessage } from '../src/uplink/settings-wire.js';
import { MemoryStore, ROOT, errorCode, requireTool, run, tempDir } from './helpers.js';
import { Writer } from '../src/wire.js';
import { encodeSettingsBundle } from '../src/settings/settings.js';

const vectors = JSON.parse(fs.readFileSync(path.join(ROOT, VECTOR_FILE), 'utf8')) as SettingsVectors;
const authority = signingKeyFromSeed(hexToBytes(vectors.authoritySeed));

/** A doorbell's store holding the vector's settings at `epoch` (stored as the device would). */
function holding(epoch: number): { store: MemoryStore; settings: SettingsStore } {
  const store = new MemoryStore();
  const settings = new SettingsStore(store, vectors.settings.device);
  if (epoch > 0) {
    const held = signSettings({ ...vectors.settings, epoch }, authority);
    store.set(SETTINGS_KEY, new Writer().bytes(utf8ToBytes('SBU1')).bytes(encodeSettingsBundle(held)).finish());
  }
  return { store, settings };
}

describe('signed settings: format, vector, the doorbell\'s checks', () => {
  it('the vector is what the code makes (canonical bytes, deterministic signature, bundle, acknowledgement)', () => {
    assert.deepEqual(settingsVectors(), vectors);
    assert.equal(new TextDecoder().decode(encodeSettings(vectors.settings)), vectors.json);
    assert.deepEqual(parseSettings(utf8ToBytes(vectors.json)), vectors.settings);
    const b = parseSettingsBundle(hexToBytes(vectors.bundle));
    assert.equal(new TextDecoder().decode(b.bytes), vectors.json);
    assert.equal(b.signature, vectors.signature);
    assert.deepEqual(verifySettingsAck(b.bytes, vectors.ack, decodePublicKey(vectors.devicePublicKey)), vectors.settings);
    // docs/settings-format.md shows the same vector
    const doc = fs.readFileSync(path.join(ROOT, 'docs/settings-format.md'), 'utf8');
    for (const part of [vectors.json, vectors.signature.trim(), vectors.ack.trim(), vectors.authorityPublicKey.trim(), vectors.devicePublicKey.trim()]) assert.ok(doc.includes(part), part.slice(0, 60));
    for (const r of vectors.refusals) assert.ok(doc.includes(`| ${r.case} | ${r.held} | \`${r.code}\` |`), r.case);
  });

  it('independent check: stock minisign -V verifies settings.json and the acknowledgement; @noble verifies the spec\'s construction', () => {
    requireTool('minisign');
    const dir = tempDir('settings-minisign');
    fs.writeFileSync(path.join(dir, 'settings.json'), vectors.json);
    fs.writeFileSync(path.join(dir, 'settings.json.minisig'), vectors.signature);
    fs.writeFileSync(path.join(dir, 'authority.pub'), vectors.authorityPublicKey);
    const out = run('minisign', ['-V', '-m', path.join(dir, 'settings.json'), '-p', path.join(dir, 'authority.pub')]);
    assert.match(out, /Trusted comment: sealbell settings v1 device 52AD0E9612E68C09 epoch 7/);
    fs.writeFileSync(path.join(dir, 'ack.minisig'), vectors.ack);
    fs.writeFileSync(path.join(dir, 'device.pub'), vectors.devicePublicKey);
    assert.match(run('minisign', ['-V', '-m', path.join(dir, 'settings.json'), '-x', path.join(dir, 'ack.minisig'), '-p', path.join(dir, 'device.pub')]), /settings-ack v1 device 52AD0E9612E68C09 epoch 7/);
    // The spec, by hand: line 2 is "ED" ‖ key id ‖ Ed25519(BLAKE2b-512(settings.json)); line 4 is
    // Ed25519(that signature ‖ the trusted comment's text), both by the authority's key.
    const lines = vectors.signature.split('\n');
    const sig = base64.decode(lines[1]);
    assert.equal(new TextDecoder().decode(sig.subarray(0, 2)), 'ED');
    const pub = base64.decode(vectors.authorityPublicKey.split('\n')[1]).subarray(10);
    assert.deepEqual(sig.subarray(2, 10), base64.decode(vectors.authorityPublicKey.split('\n')[1]).subarray(2, 10));
    assert.ok(ed25519.verify(sig.subarray(10), blake2b(utf8ToBytes(vectors.json), { dkLen: 64 }), pub));
    const comment = lines[2].slice('trusted comment: '.length);
    const global = new Uint8Array([...sig.subarray(10), ...utf8ToBytes(comment)]);
    assert.ok(ed25519.verify(base64.decode(lines[3]), global, pub));
    assert.equal(comment, `sealbell settings v1 device ${vectors.settings.device} epoch ${vectors.settings.epoch}`);
  });

  it('the doorbell refuses each bad document with its own code and keeps what it holds (vector refusals)', () => {
    for (const r of vectors.refusals) {
      const { store, settings } = holding(r.held);
      const before = bytesToHex(store.get(SETTINGS_KEY) ?? new Uint8Array());
      assert.equal(errorCode(() => settings.accept(hexToBytes(r.bundle), authority.publicKey)), r.code, r.case);
      assert.equal(bytesToHex(store.get(SETTINGS_KEY) ?? new Uint8Array()), before, `${r.case}: nothing changed`);
      assert.equal(settings.current().epoch, r.held);
    }
    // and before setup there is no authority to check against
    assert.equal(errorCode(() => holding(0).settings.accept(hexToBytes(vectors.bundle), undefined)), 'SETTINGS_AUTHORITY');
    assert.equal(errorCode(() => holding(0).settings.accept(new Uint8Array([1, 2, 3]), authority.publicKey)), 'SETTINGS_FORMAT');
  });

  it('takes a higher epoch signed by the authority, keeps it (a reboot reads it back), and the defaults run before any', () => {
    const { store, settings } = holding(0);
    assert.deepEqual(settings.current(), { v: 1, device: vectors.settings.device, epoch: 0, clipSeconds: 10, prerollSeconds: 3, zones: null, sensitivity: 50 });
    assert.equal(settings.accept(hexToBytes(vectors.bundle), authority.publicKey).settings.epoch, 7);
    assert.deepEqual(new SettingsStore(store, vectors.settings.device).current(), vectors.settings);
    // any higher epoch (no chain, unlike rosters)
    const later = signSettings({ ...vectors.settings, epoch: 100, zones: null }, authority);
    settings.accept(encodeSettingsBundle(later), authority.publicKey);
    assert.equal(settings.current().zones, null);
    store.set(SETTINGS_KEY, new Uint8Array([1, 2, 3]));
    assert.equal(errorCode(() => settings.load()), 'SETTINGS_STORE');
  });

  it('the phone signs nothing out of range or malformed; the wire messages are strict', () => {
    const s: Settings = { ...vectors.settings };
    for (const bad of [{ clipSeconds: 1 }, { clipSeconds: 61 }, { prerollSeconds: 11 }, { sensitivity: 0 }, { sensitivity: 101 }, { zones: [] as string[] }, { zones: ['A'.repeat(33)] }]) {
      assert.equal(errorCode(() => signSettings({ ...s, ...bad }, authority)), 'SETTINGS_RANGE', JSON.stringify(bad));
    }
    assert.equal(errorCode(() => signSettings({ ...s, zones: ['ab'] }, authority)), 'SETTINGS_FORMAT');
    assert.equal(errorCode(() => signSettings({ ...s, epoch: 0 }, authority)), 'SETTINGS_FORMAT');
    assert.doesNotThrow(() => checkSettingsRange({ ...s, clipSeconds: 2, prerollSeconds: 0, sensitivity: 100 }));
    assert.equal(parseSettingsRelayMessage('{"t":"segment"}'), undefined);
    assert.deepEqual(parseSettingsRelayMessage('{"t":"settings","bundle":"AAAA"}'), { t: 'settings', bundle: 'AAAA' });
    assert.equal(errorCode(() => parseSettingsRelayMessage('{"t":"settings","bundle":"!"}')), 'WIRE_FORMAT');
    assert.deepEqual(parseSettingsDeviceMessage('{"t":"settings-held","epoch":0,"bundle":null,"ack":null}'), { t: 'settings-held', epoch: 0, bundle: null, ack: null });
    assert.equal(errorCode(() => parseSettingsDeviceMessage('{"t":"settings-held","epoch":3,"bundle":null,"ack":null}')), 'WIRE_FORMAT');
  });
});
