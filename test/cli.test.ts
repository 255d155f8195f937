// The sealbell command as a user runs it: the demo leaves what the README
// promises, and `sealbell verify` accepts good clips and refuses bad ones clearly.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Decrypter } from 'age-encryption';
import { ROOT, requireTool, run, tempDir } from './helpers.js';

function sealbell(...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/sealbell.js'), ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('sealbell demo and verify', function () {
  const dir = tempDir('cli');
  let clips: string[] = [];

  before(function () {
    const r = sealbell('demo', '--out', dir, '--clips', '2', '--phones', '3', '--seconds', '2');
    assert.equal(r.status, 0, r.stderr);
    clips = fs.readdirSync(path.join(dir, 'clips')).filter((f) => f.endsWith('.age')).map((f) => path.join(dir, 'clips', f));
  });

  it('leaves phone keys, the device key, and each clip with its manifest and signature', function () {
    for (const f of ['phone-1.key', 'phone-2.key', 'phone-3.key', 'device.pub']) assert.ok(fs.existsSync(path.join(dir, f)), f);
    assert.equal(clips.length, 2);
    for (const c of clips) {
      const base = c.replace(/\.age$/, '');
      assert.ok(fs.existsSync(`${base}.manifest.json`) && fs.existsSync(`${base}.manifest.json.minisig`));
    }
  });

  it('every clip opens with Debian age and age-encryption for every phone; ffprobe agrees with the manifest; minisign verifies', async function () {
    requireTool('age');
    requireTool('ffprobe');
    requireTool('minisign');
    for (const c of clips) {
      const manifestFile = c.replace(/\.age$/, '.manifest.json');
      const frames = JSON.parse(fs.readFileSync(manifestFile, 'utf8')).frames;
      for (let i = 1; i <= 3; i++) {
        const key = path.join(dir, `phone-${i}.key`);
        const out = path.join(dir, `p${i}.mkv`);
        run('age', ['-d', '-i', key, '-o', out, c]);
        const n = run('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', out]);
        assert.equal(Number(n.trim()), frames);
        const d = new Decrypter();
        d.addIdentity(fs.readFileSync(key, 'utf8').split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-'))!);
        assert.ok(Buffer.from(await d.decrypt(new Uint8Array(fs.readFileSync(c)), 'uint8array')).equals(fs.readFileSync(out)));
      }
      assert.match(run('minisign', ['-V', '-p', path.join(dir, 'device.pub'), '-m', manifestFile]), /verified/);
    }
  });

  it('verify: ok with and without a key, and writes the video only when everything checks out', function () {
    const r = sealbell('verify', clips[0], '--pub', path.join(dir, 'device.pub'), '-i', path.join(dir, 'phone-2.key'), '--out', path.join(dir, 'v.mkv'));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^ok: clip .* decrypted \d+ frames 320x240/);
    assert.ok(fs.statSync(path.join(dir, 'v.mkv')).size > 1000);
    const keyless = sealbell('verify', clips[0], '--pub', path.join(dir, 'device.pub'));
    assert.equal(keyless.status, 0, keyless.stderr);
    assert.match(keyless.stdout, /payload hash matches/);
  });

  it('verify: each bad input fails with its own clear error and leaves no output file', function () {
    const pub = path.join(dir, 'device.pub');
    const key = path.join(dir, 'phone-1.key');
    const age = fs.readFileSync(clips[0]);
    const manifest = clips[0].replace(/\.age$/, '.manifest.json');
    const bad = (name: string, bytes: Buffer) => {
      const f = path.join(dir, `${name}.age`);
      fs.writeFileSync(f, bytes);
      return f;
    };
    const flipped = Buffer.from(age);
    flipped[flipped.length - 100] ^= 1;
    const cases: [string, string[], RegExp][] = [
      ['flipped', [bad('flipped', flipped), '--manifest', manifest], /CHUNK_AUTH/],
      ['truncated', [bad('truncated', age.subarray(0, age.length - 70_000)), '--manifest', manifest], /TRUNCATED/],
      ['other clip', [clips[1], '--manifest', manifest], /MANIFEST_MISMATCH/],
    ];
    for (const [what, args, expected] of cases) {
      const out = path.join(dir, 'never.mkv');
      const r = sealbell('verify', ...args, '--pub', pub, '-i', key, '--out', out);
      assert.equal(r.status, 1, `${what}: ${r.stdout}`);
      assert.match(r.stderr, expected, what);
      assert.ok(!fs.existsSync(out) && !fs.existsSync(`${out}.part`), `${what}: output left behind`);
    }
    const stranger = path.join(dir, 'stranger.key');
    fs.writeFileSync(stranger, 'AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX\n');
    assert.match(sealbell('verify', clips[0], '--pub', pub, '-i', stranger).stderr, /NO_IDENTITY/);
    assert.match(sealbell('verify', clips[0], '--pub', pub, '-i', manifest).stderr, /AGE_KEY|identity/);
    assert.match(sealbell('verify', path.join(dir, 'nope.age'), '--pub', pub).stderr, /no such file/);
    assert.equal(sealbell('verify', clips[0]).status, 2);
  });
});
