// Sharing one clip (tools/phone/share.ts, `sealbell phone share`): the clip's file key is
// re-wrapped for one outside recipient; the payload and its signed manifest are unchanged.
// Stock tools check the bundle (Debian age and minisign), the recipient opens that clip and
// no other, and nothing in the bundle is a key of the phone or the account.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Decrypter } from 'age-encryption';
import { SyntheticCamera } from '../hosts/node/camera.js';
import { ClipFiles } from '../hosts/node/clip-files.js';
import { nobleBackend } from '../src/crypto/noble.js';
import { Doorbell } from '../src/device/doorbell.js';
import { loadOrCreateIdentity } from '../src/device/identity.js';
import { anyIdentityToRecipient, generateAgeIdentity } from '../src/age/recipients.js';
import { parseHeader } from '../src/age/format.js';
import { phoneInit } from '../tools/phone/init.js';
import { readPhone, writeDevice } from '../tools/phone/state.js';
import { checkClip } from '../tools/clip-check.js';
import { shareClip } from '../tools/phone/share.js';
import { MemoryStore, errorCode, requireTool, run, seededRandom, tempDir } from './helpers.js';
import { ok, sealbell } from './cli-helpers.js';
import { ageDecryptWithPassphrase } from './tty.js';

describe('sharing one clip (sealbell phone share)', function () {
  this.timeout(180_000);
  const dir = tempDir('share');
  const phoneDir = path.join(dir, 'phone');
  const random = seededRandom('share-one-clip');
  phoneInit(phoneDir, { random, logN: 10 });
  const phone = readPhone(phoneDir);
  const identity = loadOrCreateIdentity(new MemoryStore(), random);
  writeDevice(phoneDir, { deviceId: identity.deviceId, publicKeyText: identity.publicKeyText, relayUrl: 'http://127.0.0.1:9' });
  // What phone fetch leaves in <phone>/clips: two clips of the same doorbell.
  const files = new ClipFiles(path.join(phoneDir, 'clips'));
  const camera = new SyntheticCamera({ width: 160, height: 120 });
  const doorbell = new Doorbell({ backend: nobleBackend, random, identity, sink: files, width: camera.width, height: camera.height, clipDuration: 1500 });
  doorbell.setRecipients({ epoch: 1, recipients: [phone.recipient] });
  const clips: string[] = [];
  let now = Date.UTC(2026, 11, 3, 7, 30, 0);
  for (let c = 0; c < 2; c++) {
    while (doorbell.idle());
    clips.push(doorbell.press(now));
    for (let n = 0; doorbell.recording; n++) {
      now += 100;
      doorbell.frame(camera.capture(n, now), now);
    }
    doorbell.tick(now);
    now += 60_000;
  }
  const friendKey = path.join(dir, 'friend.key');
  const bundle = path.join(dir, 'bundle');

  it('--to: a bundle of four files that Debian age opens with the friend\'s key and minisign verifies; same payload, one stanza', async function () {
    requireTool('age-keygen');
    requireTool('age');
    requireTool('minisign');
    run('age-keygen', ['-o', friendKey]);
    const friend = fs.readFileSync(friendKey, 'utf8').match(/^# public key: (age1\w+)$/m)![1];
    const said = ok(await sealbell(['phone', 'share', clips[0], '--dir', phoneDir, '--to', friend, '--out', bundle]));
    assert.match(said, new RegExp(`ok: clip ${clips[0]} \\(\\d+ frames\\) shared to`));
    assert.deepEqual(fs.readdirSync(bundle).sort(), [`${clips[0]}.age`, `${clips[0]}.manifest.json`, `${clips[0]}.manifest.json.minisig`, 'device.pub']);

    const video = path.join(dir, 'friend.mkv');
    run('age', ['-d', '-i', friendKey, '-o', video, path.join(bundle, `${clips[0]}.age`)]);
    const mine = path.join(dir, 'mine.mkv');
    checkClip(files.paths(clips[0]), identity.publicKeyText, { identities: [phone.identity], out: mine });
    assert.deepEqual(fs.readFileSync(video), fs.readFileSync(mine), 'the friend sees exactly the clip');
    const verified = run('minisign', ['-V', '-p', path.join(bundle, 'device.pub'), '-m', path.join(bundle, `${clips[0]}.manifest.json`)]);
    assert.match(verified, new RegExp(`Signature and comment signature verified[\\s\\S]*sealbell clip ${clips[0]} device ${identity.deviceId}`));

    const original = new Uint8Array(fs.readFileSync(files.paths(clips[0]).age));
    const shared = new Uint8Array(fs.readFileSync(path.join(bundle, `${clips[0]}.age`)));
    const [h1, h2] = [parseHeader(original)!, parseHeader(shared)!];
    assert.deepEqual(shared.subarray(h2.length), original.subarray(h1.length), 'the payload the device signed, unchanged');
    assert.deepEqual(h2.stanzas.map((s) => s.type), ['X25519'], 'one stanza: the friend\'s; not the phone\'s');
    assert.equal(fs.readFileSync(path.join(bundle, 'device.pub'), 'utf8'), identity.publicKeyText);
    // sealbell's own check of the bundle, as its recipient would run it
    ok(await sealbell(['verify', path.join(bundle, `${clips[0]}.age`), '--pub', path.join(bundle, 'device.pub'), '-i', friendKey]));
  });

  it('the friend opens no other clip, and not the phone\'s copy; the bundle holds no key', function () {
    requireTool('age');
    for (const c of clips) assert.throws(() => run('age', ['-d', '-i', friendKey, '-o', path.join(dir, 'nope.mkv'), files.paths(c).age]), /no identity matched/);
    for (const f of fs.readdirSync(bundle)) {
      const text = fs.readFileSync(path.join(bundle, f), 'latin1');
      assert.ok(!/AGE-SECRET-KEY/i.test(text), `${f} holds no age identity`);
      assert.ok(!text.includes(phone.recipient), `${f} does not name the phone`);
    }
  });

  it('--passphrase: an scrypt stanza alone; Debian age (at a terminal) and typage open it with that passphrase', async function () {
    requireTool('script');
    const out = path.join(dir, 'bundle-pass');
    const passphrase = 'correct horse battery staple for the neighbours';
    ok(await sealbell(['phone', 'share', clips[1], '--dir', phoneDir, '--passphrase', '--out', out], { env: { SEALBELL_SHARE_PASSPHRASE: passphrase } }));
    const file = path.join(out, `${clips[1]}.age`);
    const header = parseHeader(new Uint8Array(fs.readFileSync(file)))!;
    assert.deepEqual(header.stanzas.map((s) => s.type), ['scrypt']);
    await ageDecryptWithPassphrase(file, passphrase);
    const d = new Decrypter();
    d.addPassphrase(passphrase);
    const plain = await d.decrypt(new Uint8Array(fs.readFileSync(file)), 'uint8array');
    const mine = path.join(dir, 'mine-2.mkv');
    checkClip(files.paths(clips[1]), identity.publicKeyText, { identities: [phone.identity], out: mine });
    assert.deepEqual(Buffer.from(plain), fs.readFileSync(mine));
  });

  it('refuses what it must, with codes: a post-quantum recipient for a classic clip, an existing bundle, a clip not on the phone, a stranger\'s phone', async function () {
    const pq = anyIdentityToRecipient(generateAgeIdentity('mlkem768x25519', random));
    const base = { clip: files.paths(clips[0]), identities: [phone.identity], devicePub: identity.publicKeyText, random };
    assert.equal(errorCode(() => shareClip({ ...base, to: pq, out: path.join(dir, 'x1') })), 'AGE_KEM_MIX');
    const friend = fs.readFileSync(friendKey, 'utf8').match(/^# public key: (age1\w+)$/m)![1];
    assert.equal(errorCode(() => shareClip({ ...base, to: friend, out: bundle })), 'SHARE_EXISTS');
    assert.equal(errorCode(() => shareClip({ ...base, out: path.join(dir, 'x2') })), 'SHARE_TARGET');
    const stranger = generateAgeIdentity('x25519', random);
    assert.equal(errorCode(() => shareClip({ ...base, identities: [stranger], to: friend, out: path.join(dir, 'x3') })), 'NO_IDENTITY');
    assert.ok(!fs.existsSync(path.join(dir, 'x3', `${clips[0]}.age`)), 'nothing written for a clip it cannot open');
    const missing = await sealbell(['phone', 'share', '20261203T000000Z-abcdef', '--dir', phoneDir, '--to', friend]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /\[UNKNOWN_CLIP\]/);
    const both = await sealbell(['phone', 'share', clips[0], '--dir', phoneDir, '--to', friend, '--passphrase']);
    assert.equal(both.status, 2);
    assert.match(both.stderr, /--to age1…RECIPIENT or --passphrase/);
  });
});
