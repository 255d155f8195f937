// The demo is the whole system on loopback: provision → setup over SPAKE2+ → clips streamed
// through the relay → phones fetch them; phones 2..M enrolled with the passphrase alone;
// phone 2 revoked halfway. What a user would check afterwards, checked here.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { base64 } from '@scure/base';
import { Decrypter } from 'age-encryption';
import { utf8ToBytes } from '../src/bytes.js';
import { loadDeviceConfig } from '../src/setup/device-config.js';
import { FileKeyValueStore } from '../hosts/node/kv-store.js';
import { SyntheticCamera } from '../hosts/node/camera.js';
import { runDemo, type DemoResult } from '../tools/demo.js';
import { unlockAccount } from '../tools/phone/state.js';
import { requireTool, run, tempDir } from './helpers.js';
import { allFiles } from './relay-helpers.js';

describe('demo: provision → setup → relay → phones, with enrollment and a revocation', function () {
  this.timeout(180_000);
  const dir = tempDir('demo');
  let r: DemoResult;
  const log: string[] = [];

  before(async () => {
    r = await runDemo({ out: dir, clips: 4, phones: 3, revoke: 2, seconds: 2, fps: 10, live: 2, log: (l) => log.push(l) });
  });

  it('phones 1 and 3 open every clip; revoked phone 2 only those from before its revocation, and the relay shuts it out', () => {
    assert.equal(r.clipIds.length, 4);
    assert.deepEqual(r.opened[0], r.clipIds);
    assert.deepEqual(r.opened[2], r.clipIds);
    assert.deepEqual(r.opened[1], r.clipIds.slice(0, 2));
    assert.ok(log.some((l) => /phone 2 \(revoked\): the relay refuses it/.test(l)));
  });

  it('stock age agrees: phone 2 cannot decrypt a clip recorded after its revocation', function () {
    requireTool('age');
    const age = (key: string, clip: string) => spawnSync('age', ['-d', '-i', path.join(dir, key), path.join(dir, 'clips', `${clip}.age`)]);
    for (const [i, clip] of r.clipIds.entries()) {
      assert.equal(age('phone-1.key', clip).status, 0);
      assert.equal(age('phone-3.key', clip).status, 0);
      const p2 = age('phone-2.key', clip);
      if (i < 2) assert.equal(p2.status, 0, `clip ${i + 1} opens for phone 2`);
      else assert.match(p2.stderr.toString(), /no identity matched/, `clip ${i + 1} is not for phone 2`);
    }
  });

  it('leaves the passphrase (the new one, after the revocation) and the escrow, which opens with it (age-encryption, scrypt)', async () => {
    const passphrase = fs.readFileSync(path.join(dir, 'passphrase.txt'), 'utf8').trim();
    assert.equal(passphrase, r.passphrase);
    assert.equal(passphrase.split(' ').length, 12);
    assert.equal(fs.statSync(path.join(dir, 'passphrase.txt')).mode & 0o077, 0, 'only the owner may read it');
    const d = new Decrypter();
    d.addPassphrase(passphrase);
    const account = JSON.parse(await d.decrypt(fs.readFileSync(path.join(dir, 'account.escrow.age')), 'text'));
    // after the revocation: the new account keys, and the ones rotated away from (docs/roster-format.md)
    assert.deepEqual(Object.keys(account).sort(), ['authority', 'history', 'previous', 'previousAuthorities', 'v']);
    assert.equal(r.passphrases.length, 2, 'the revocation made a new passphrase');
  });

  it('--live: phone 1 watched live, and DIR/live.mkv holds the decrypted frames (ffprobe)', function () {
    requireTool('ffprobe');
    const frames = Number(run('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', path.join(dir, 'live.mkv')]).trim());
    assert.ok(frames >= 5, `${frames} live frames`);
    assert.ok(log.some((l) => /live: \d+ frames decrypted at the phone/.test(l)));
  });

  it('warrant test: the relay\'s whole data folder holds no JPEG, no Wi-Fi password, no private key', () => {
    const store = new FileKeyValueStore(path.join(dir, 'device', 'store'));
    const wifi = loadDeviceConfig(store)!.wifi.password;
    // Needles long enough that random ciphertext cannot contain them by chance (3 bytes would, ~once per 16 MB).
    const frame = new SyntheticCamera({ width: 640, height: 480 }).capture(1, Date.now());
    const secrets: [string, Uint8Array][] = [
      ['JPEG header as the camera writes it', frame.subarray(0, 32)],
      ['JFIF', utf8ToBytes('JFIF\0')],
      ['Matroska', utf8ToBytes('matroska')],
      ['age secret key', utf8ToBytes('AGE-SECRET-KEY-')],
      ['Wi-Fi password', utf8ToBytes(wifi)],
      ...r.passphrases.map((p, i): [string, Uint8Array] => [`passphrase ${i + 1}`, utf8ToBytes(p)]),
      ['device identity key', store.get('identity.ed25519')!],
    ];
    for (const phoneDir of r.phoneDirs) {
      const phone = JSON.parse(fs.readFileSync(path.join(phoneDir, 'phone.json'), 'utf8'));
      // phone 1 revoked phone 2 and holds the new escrow; the others keep the old one
      const account = r.passphrases.map((p) => { try { return unlockAccount(phoneDir, p); } catch { return undefined; } }).find((a) => a !== undefined)!;
      for (const [what, b64] of [['phone auth key', phone.auth], ['account authority key', base64.encode(account.authority.secretKey)]]) {
        const raw = base64.decode(b64);
        secrets.push([what, raw], [`${what} (base64)`, utf8ToBytes(b64)], [`${what} (hex)`, utf8ToBytes(Buffer.from(raw).toString('hex'))]);
      }
      secrets.push(['history identity', utf8ToBytes(account.history)]);
    }
    const files = allFiles(path.join(dir, 'relay'));
    assert.ok(files.some((f) => f.endsWith('.log') && fs.statSync(f).size > 0), 'the clips are there, as ciphertext (in the segment log)');
    for (const file of files) {
      const bytes = fs.readFileSync(file);
      for (const [what, needle] of secrets) assert.equal(bytes.indexOf(Buffer.from(needle)), -1, `${what} found in ${file}`);
    }
  });
});
