// `sealbell demo --pq`: the whole flow (setup over SPAKE2+, enrollment with the passphrase,
// a revocation, clips through the relay, live view) on a post-quantum account. Every key
// is AGE-SECRET-KEY-PQ-1…, every clip is sealed with mlkem768x25519 stanzas only, typage
// opens them, Debian's age 1.1 does not.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Decrypter } from 'age-encryption';
import { parseIdentityFile } from '../src/age/identity-file.js';
import { decodeManifest } from '../src/clip/manifest.js';
import { runDemo, type DemoResult } from '../tools/demo.js';
import { unlockAccount } from '../tools/phone/state.js';
import { ROOT, requireTool, run, tempDir } from './helpers.js';

describe('demo --pq: the whole flow on a post-quantum account', function () {
  this.timeout(300_000);
  const dir = tempDir('pq-demo');
  let r: DemoResult;
  const log: string[] = [];

  before(async () => {
    r = await runDemo({ out: dir, clips: 4, phones: 3, revoke: 2, seconds: 2, fps: 10, live: 2, pq: true, escrowLogN: 10, log: (l) => log.push(l) });
  });

  it('every phone and the account history key are post-quantum', () => {
    for (const phoneDir of r.phoneDirs) {
      const [identity] = parseIdentityFile(fs.readFileSync(path.join(phoneDir, 'identity.key'), 'utf8'));
      assert.match(identity, /^AGE-SECRET-KEY-PQ-1/);
      // phone 1 revoked phone 2 and holds the rotated account (new passphrase); the others the old escrow
      const account = r.passphrases.map((p) => { try { return unlockAccount(phoneDir, p); } catch { return undefined; } }).find((a) => a !== undefined)!;
      assert.match(account.history, /^AGE-SECRET-KEY-PQ-1/);
    }
  });

  it('enrollment and revocation worked as in the classic demo', () => {
    assert.deepEqual(r.opened[0], r.clipIds);
    assert.deepEqual(r.opened[2], r.clipIds);
    assert.deepEqual(r.opened[1], r.clipIds.slice(0, 2));
  });

  it('each clip is sealed with mlkem768x25519 stanzas only and its manifest says so', () => {
    for (const clip of r.clipIds) {
      const head = fs.readFileSync(path.join(dir, 'clips', `${clip}.age`)).subarray(0, 40_000).toString('latin1');
      assert.ok(head.includes('\n-> mlkem768x25519 '), clip);
      assert.ok(!head.includes('\n-> X25519 '), clip);
      const manifest = decodeManifest(new Uint8Array(fs.readFileSync(path.join(dir, 'clips', `${clip}.manifest.json`))));
      assert.equal(manifest.kem, 'mlkem768x25519');
    }
  });

  it('typage opens every clip with phone 1\'s identity; Debian\'s age 1.1 cannot read the post-quantum key ("unknown identity type")', async function () {
    requireTool('age');
    const [identity] = parseIdentityFile(fs.readFileSync(path.join(dir, 'phone-1.key'), 'utf8'));
    for (const clip of r.clipIds) {
      const d = new Decrypter();
      d.addIdentity(identity);
      const video = await d.decrypt(new Uint8Array(fs.readFileSync(path.join(dir, 'clips', `${clip}.age`))));
      assert.deepEqual([...video.subarray(0, 4)], [0x1a, 0x45, 0xdf, 0xa3]);
      const age = spawnSync('age', ['-d', '-i', path.join(dir, 'phone-1.key'), path.join(dir, 'clips', `${clip}.age`)]);
      assert.notEqual(age.status, 0);
      assert.match(age.stderr.toString(), /unknown identity type/);
    }
  });

  it('`sealbell verify` checks a clip with a phone\'s post-quantum key file, and says it is post-quantum', () => {
    const clip = path.join(dir, 'clips', `${r.clipIds[0]}.age`);
    const args = ['verify', clip, '--pub', path.join(dir, 'device.pub')];
    const sealbell = (...more: string[]) => run(process.execPath, [path.join(ROOT, 'bin/sealbell.js'), ...args, ...more]);
    assert.match(sealbell('-i', path.join(dir, 'phone-3.key')), /^ok: clip .* sealed post-quantum \(mlkem768x25519\), .* decrypted \d+ frames/);
    assert.match(sealbell(), /sealed post-quantum .* payload hash matches/);
  });

  it('live view ran post-quantum', () => {
    assert.ok(log.some((l) => /live: \d+ frames decrypted at the phone/.test(l)), log.join('\n'));
  });
});
