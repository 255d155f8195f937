// Post-quantum clips end to end on the real core: a doorbell sealing to hybrid
// (mlkem768x25519) phones, opened by typage and by sealbell's opener and `verify`,
// refused by Debian's age 1.1; the no-mixing rule at the roster, the doorbell and the
// opener; the manifest's "kem"; live view's session key wrapped the same way.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ed25519 } from '@noble/curves/ed25519.js';
import { Decrypter } from 'age-encryption';
import { nobleAead, nobleBackend } from '../src/crypto/noble.js';
import { anyIdentityToRecipient, generateAgeIdentity } from '../src/age/recipients.js';
import { formatIdentityFile } from '../src/age/identity-file.js';
import { ClipOpener } from '../src/clip/opener.js';
import { decodeManifest, encodeManifest } from '../src/clip/manifest.js';
import { signManifest } from '../src/clip/signed-manifest.js';
import { encodeAuthKey, MAX_ROSTER_BYTES, MAX_PHONES, encodeRoster, rosterKem, signRoster, successor, verifyRoster, type Roster } from '../src/roster/roster.js';
import { encodeRosterBundle } from '../src/roster/bundle.js';
import { RosterStore, recipientsOf } from '../src/roster/roster-store.js';
import { DeviceRoster } from '../src/roster/device-roster.js';
import { signingKeyFromSeed } from '../src/minisign.js';
import { MAX_CONTROL_BYTES } from '../src/uplink/wire.js';
import { LiveSealer } from '../src/live/sealer.js';
import { openLiveSession } from '../src/live/opener.js';
import { parseOpening } from '../src/live/format.js';
import { loadOrCreateIdentity } from '../src/device/identity.js';
import { checkClip, clipPaths } from '../tools/clip-check.js';
import { errorCode, makeRig, MemoryStore, recordClip, requireTool, seededRandom, tempDir } from './helpers.js';

const T0 = 1_800_000_000_000;

describe('post-quantum clips (mlkem768x25519 phones)', function () {
  this.timeout(120_000);
  const rig = makeRig('pq-clips', 3, { kem: 'mlkem768x25519', clipDuration: 10_000 });
  const clip = recordClip(rig, T0, 30, 5_000);
  const manifest = decodeManifest(clip.manifest);
  const dir = tempDir('pq-clips');
  const agePath = path.join(dir, `${clip.id}.age`);
  const paths = clipPaths(agePath);
  fs.writeFileSync(agePath, clip.age);
  fs.writeFileSync(paths.manifest, clip.manifest);
  fs.writeFileSync(paths.signature, clip.signature);

  it('the phones hold AGE-SECRET-KEY-PQ-1… identities and the header has one mlkem768x25519 stanza each', () => {
    for (const p of rig.phones) assert.match(p, /^AGE-SECRET-KEY-PQ-1/);
    const header = new TextDecoder('latin1').decode(clip.segments[0]);
    assert.equal(header.split('\n-> mlkem768x25519 ').length - 1, 3);
    assert.ok(!header.includes('-> X25519 '));
  });

  it('the signed manifest says "kem":"mlkem768x25519" (after dropped; then the trigger fields)', () => {
    assert.equal(manifest.kem, 'mlkem768x25519');
    assert.ok(new TextDecoder().decode(clip.manifest).includes('"dropped":[],"kem":"mlkem768x25519","trigger":"press","preRoll":0}\n'));
  });

  it('opens with typage (age-encryption ≥ 0.3) for each phone\'s identity', async () => {
    for (const id of rig.phones) {
      const d = new Decrypter();
      d.addIdentity(id);
      const video = await d.decrypt(clip.age);
      assert.ok(video.length > 30 * 5_000);
      assert.deepEqual([...video.subarray(0, 4)], [0x1a, 0x45, 0xdf, 0xa3], 'a Matroska file');
    }
  });

  it('opens and verifies with sealbell (checkClip, as `sealbell verify` does) for each phone', () => {
    for (const id of rig.phones) {
      const { opened } = checkClip(paths, rig.devicePub, { identities: [id] });
      assert.equal(opened!.frames, 30);
    }
    assert.equal(checkClip(paths, rig.devicePub).manifest.kem, 'mlkem768x25519');
  });

  it('Debian\'s age 1.1 (no post-quantum support) refuses it: "no identity matched"', () => {
    requireTool('age');
    const classic = generateAgeIdentity('x25519', seededRandom('pq-debian'));
    const keyFile = path.join(dir, 'classic.key');
    fs.writeFileSync(keyFile, formatIdentityFile(classic, new Date(0)));
    const r = spawnSync('age', ['-d', '-i', keyFile, agePath]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr.toString(), /no identity matched any of the recipients/);
    // and it cannot even read a post-quantum identity file
    const pqFile = path.join(dir, 'pq.key');
    fs.writeFileSync(pqFile, formatIdentityFile(rig.phones[0], new Date(0)));
    const r2 = spawnSync('age', ['-d', '-i', pqFile, agePath]);
    assert.notEqual(r2.status, 0);
  });

  it('a manifest that claims a classic clip for a post-quantum header is refused (MANIFEST_MISMATCH)', () => {
    const { kem: _kem, ...classic } = manifest;
    const o = new ClipOpener({ backend: nobleBackend, identities: [rig.phones[0]], manifest: classic });
    assert.equal(errorCode(() => o.push(clip.age)), 'MANIFEST_MISMATCH');
    // the same downgrade, signed by the device, through `verify`'s key-less path
    const device = loadOrCreateIdentity(new MemoryStore(), seededRandom('other device'));
    const s = signManifest({ ...classic, device: device.deviceId }, device.key);
    fs.writeFileSync(paths.manifest, s.manifest);
    fs.writeFileSync(paths.signature, s.signature);
    try {
      assert.equal(errorCode(() => checkClip(paths, device.publicKeyText)), 'MANIFEST_MISMATCH');
    } finally {
      fs.writeFileSync(paths.manifest, clip.manifest);
      fs.writeFileSync(paths.signature, clip.signature);
    }
  });

  it('a classic clip\'s manifest keeps its bytes (no kem field) and a bad kem value is refused', () => {
    const classicRig = makeRig('pq-clips-classic', 1);
    const m = decodeManifest(recordClip(classicRig, T0, 3).manifest);
    assert.equal(m.kem, undefined);
    assert.ok(!new TextDecoder().decode(encodeManifest(m)).includes('kem'));
    const bad = new TextDecoder().decode(clip.manifest).replace('"kem":"mlkem768x25519"', '"kem":"x25519"');
    assert.equal(errorCode(() => decodeManifest(new TextEncoder().encode(bad))), 'MANIFEST_FORMAT');
  });
});

describe('post-quantum rosters: all post-quantum or all classic, history included', function () {
  this.timeout(60_000);
  const random = seededRandom('pq-roster');
  const authority = signingKeyFromSeed(random(32));
  const DEVICE = '00112233445566AA';
  const phone = (name: string, kem: 'x25519' | 'mlkem768x25519') => ({
    name,
    recipient: anyIdentityToRecipient(generateAgeIdentity(kem, random)),
    auth: encodeAuthKey(ed25519.getPublicKey(random(32))),
  });
  const pqHistory = anyIdentityToRecipient(generateAgeIdentity('mlkem768x25519', random));
  const classicHistory = anyIdentityToRecipient(generateAgeIdentity('x25519', random));
  const roster = (epoch: number, phones: Roster['phones'], history: string | null): Roster => ({ v: 1, device: DEVICE, epoch, phones, history });

  it('a post-quantum roster signs, verifies and gives a post-quantum recipient set', () => {
    const r = roster(1, [phone('a', 'mlkem768x25519'), phone('b', 'mlkem768x25519')], pqHistory);
    const s = signRoster(r, authority);
    assert.equal(rosterKem(verifyRoster(s.bytes, s.signature, authority.publicKey).roster), 'mlkem768x25519');
    assert.equal(recipientsOf(r).recipients.length, 3);
  });

  it('16 post-quantum phones and a history recipient fit the roster limit, and the relay\'s control message', () => {
    const phones = Array.from({ length: MAX_PHONES }, (_, i) => phone(`phone ${String(i).padStart(2, '0')} ${'x'.repeat(50)}`, 'mlkem768x25519'));
    const bytes = encodeRoster(roster(1, phones, pqHistory));
    assert.ok(bytes.length <= MAX_ROSTER_BYTES, `${bytes.length} bytes`);
    // the device tells the relay the roster it holds: base64 bundle, authority key, minisign ack (≤ 4 KiB)
    const bundle = encodeRosterBundle(signRoster(roster(1, phones, pqHistory), authority));
    const held = JSON.stringify({ t: 'roster', bundle: Buffer.from(bundle).toString('base64'), authority: 'A'.repeat(44), ack: 'x'.repeat(4096) });
    assert.ok(held.length <= MAX_CONTROL_BYTES, `${held.length} bytes`);
  });

  it('a roster mixing the two kinds is refused at signing and at parsing (ROSTER_KEM_MIX)', () => {
    const mixedPhones = roster(1, [phone('a', 'mlkem768x25519'), phone('b', 'x25519')], null);
    const mixedHistory = roster(1, [phone('a', 'mlkem768x25519')], classicHistory);
    const classicWithPqHistory = roster(1, [phone('a', 'x25519')], pqHistory);
    for (const r of [mixedPhones, mixedHistory, classicWithPqHistory]) {
      assert.equal(errorCode(() => signRoster(r, authority)), 'ROSTER_KEM_MIX');
      const text = JSON.stringify({ v: 1, device: r.device, epoch: r.epoch, phones: r.phones, history: r.history });
      assert.equal(errorCode(() => verifyRoster(new TextEncoder().encode(text), '', authority.publicKey)), 'ROSTER_KEM_MIX');
    }
  });

  it('the doorbell prepares hybrid headers in idle time, so a press takes a ready one', () => {
    const rig = makeRig('pq-idle', 2, { kem: 'mlkem768x25519' });
    while (rig.doorbell.idle());
    assert.equal(rig.doorbell.pool.available, rig.doorbell.pool.size);
    recordClip(rig, T0, 3);
    assert.equal(rig.doorbell.pool.misses, 0, 'no header was built on the press path');
  });

  it('the doorbell refuses a mixed recipient set and keeps the one it had (AGE_KEM_MIX)', () => {
    const rig = makeRig('pq-mix-doorbell', 1, { kem: 'mlkem768x25519' });
    const mixed = [anyIdentityToRecipient(rig.phones[0]), classicHistory];
    assert.equal(errorCode(() => rig.doorbell.setRecipients({ epoch: 2, recipients: mixed })), 'AGE_KEM_MIX');
    assert.equal(rig.doorbell.pool.recipients?.epoch, 1);
    const clip = recordClip(rig, T0, 3);
    assert.equal(decodeManifest(clip.manifest).kem, 'mlkem768x25519');
  });

  it('a signed roster update moves a classic doorbell to post-quantum; the clip in progress ends first', () => {
    const rig = makeRig('pq-migrate', 1);
    const device = loadOrCreateIdentity(new MemoryStore(), seededRandom('pq-migrate-device'));
    const rosters = new RosterStore(new MemoryStore(), device.deviceId);
    const classic: Roster = { v: 1, device: device.deviceId, epoch: 1, phones: [phone('a', 'x25519')], history: classicHistory };
    rosters.accept(encodeRosterBundle(signRoster(classic, authority)), authority.publicKey);
    const follower = new DeviceRoster({ rosters, identity: device, doorbell: rig.doorbell });
    rig.doorbell.setRecipients(recipientsOf(classic));
    const pqPhone = generateAgeIdentity('mlkem768x25519', random);
    const next: Roster = successor(classic, {
      phones: [{ ...classic.phones[0], recipient: anyIdentityToRecipient(pqPhone) }],
      history: pqHistory,
    });
    const id = rig.doorbell.press(T0);
    follower.update(encodeRosterBundle(signRoster(next, authority)));
    assert.equal(rig.doorbell.recording, false, 'the classic clip ended before the switch');
    assert.equal(rig.sink.clips.get(id)!.manifest.length > 0, true);
    const after = recordClip(rig, T0 + 10_000, 3);
    assert.equal(decodeManifest(after.manifest).kem, 'mlkem768x25519');
    const opened = new ClipOpener({ backend: nobleBackend, identities: [pqPhone], manifest: decodeManifest(after.manifest) });
    opened.push(after.age);
    assert.equal(opened.end().frames, 3);
  });
});

describe('post-quantum live view: the session key is wrapped in one mlkem768x25519 stanza', () => {
  it('the phone opens the session with its AGE-SECRET-KEY-PQ-1… identity', () => {
    const random = seededRandom('pq-live');
    const identity = generateAgeIdentity('mlkem768x25519', random);
    const device = loadOrCreateIdentity(new MemoryStore(), random);
    const request = random(16);
    const sealer = new LiveSealer({
      aead: nobleAead, random, key: device.key, device: device.deviceId, session: 'pq-session', request,
      epoch: 1, start: T0, width: 16, height: 8, recipient: anyIdentityToRecipient(identity),
    });
    const header = new TextDecoder('latin1').decode(parseOpening(sealer.opening).header);
    assert.ok(header.includes('\n-> mlkem768x25519 '));
    const frame = Uint8Array.of(0xff, 0xd8, 1, 2, 3, 0xff, 0xd9);
    const record = sealer.frame(frame, T0 + 100);
    const opener = openLiveSession(sealer.opening, {
      aead: nobleAead, identity, devicePublicKey: device.key.publicKey, device: device.deviceId, request,
    });
    const ev = opener.open(record);
    assert.equal(ev.t, 'frame');
    assert.deepEqual(ev.t === 'frame' ? ev.data : undefined, frame);
    const classic = generateAgeIdentity('x25519', random);
    assert.equal(errorCode(() => openLiveSession(sealer.opening, {
      aead: nobleAead, identity: classic, devicePublicKey: device.key.publicKey, device: device.deviceId, request,
    })), 'NO_IDENTITY');
  });
});
