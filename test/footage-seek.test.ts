// What a phone writes is seekable: the device's forward-only Matroska (no Duration, no Cues)
// becomes, after decryption, a file with a known-size Segment, Duration and Cues
// (tools/phone/remux.ts), so ffprobe shows a Duration and `ffmpeg -ss` seeks into it. A clip
// cut short still plays up to its last whole frame.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { SyntheticCamera } from '../hosts/node/camera.js';
import { ClipFiles } from '../hosts/node/clip-files.js';
import { nobleBackend } from '../src/crypto/noble.js';
import { Doorbell } from '../src/device/doorbell.js';
import { loadOrCreateIdentity } from '../src/device/identity.js';
import { formatIdentityFile } from '../src/age/identity-file.js';
import { generateIdentity, identityToRecipient } from '../src/age/x25519.js';
import { decodeManifest } from '../src/clip/manifest.js';
import { MemoryStore, errorCode, requireTool, run, seededRandom, tempDir } from './helpers.js';
import { checkClip, clipPaths } from '../tools/clip-check.js';
import { remuxFile } from '../tools/phone/remux.js';
import { ID, readElementHead } from '../src/clip/mkv.js';
import { readUintBE } from '../src/bytes.js';
import { execFileSync } from 'node:child_process';
import { ok, sealbell } from './cli-helpers.js';

const probe = (file: string, entries: string) => run('ffprobe', ['-v', 'error', '-show_entries', entries, '-of', 'json', file]);

describe('seekable files on the phone (tools/phone/remux.ts)', function () {
  this.timeout(120_000);
  const dir = tempDir('seek');
  const random = seededRandom('seekable');
  const phone = generateIdentity(random);
  const key = path.join(dir, 'phone.key');
  fs.writeFileSync(key, formatIdentityFile(phone, new Date(0)));
  const files = new ClipFiles(path.join(dir, 'clips'));
  const identity = loadOrCreateIdentity(new MemoryStore(), random);
  const camera = new SyntheticCamera();
  const doorbell = new Doorbell({ backend: nobleBackend, random, identity, sink: files, width: camera.width, height: camera.height, clipDuration: 4000 });
  doorbell.setRecipients({ epoch: 1, recipients: [identityToRecipient(phone)] });
  let now = Date.UTC(2026, 11, 3, 7, 0, 0);
  const clipId = doorbell.press(now);
  const shot = new Map<number, Uint8Array>(); // capture time → JPEG
  for (let n = 0; doorbell.recording; n++) {
    now += 100;
    shot.set(now, camera.capture(n, now));
    doorbell.frame(shot.get(now)!, now);
  }
  doorbell.tick(now);
  const paths = clipPaths(files.paths(clipId).age);
  const manifest = decodeManifest(new Uint8Array(fs.readFileSync(paths.manifest)));

  it('the sealed clip is forward-only; the phone\'s copy has Duration and Cues, the same frames and times', function () {
    requireTool('ffprobe');
    const sealed = path.join(dir, 'sealed.mkv');
    checkClip(paths, identity.publicKeyText, { identities: [phone], out: sealed });
    assert.equal(JSON.parse(probe(sealed, 'format=duration')).format.duration, undefined, 'the device cannot write a Duration');
    const out = path.join(dir, 'seekable.mkv');
    const r = remuxFile(sealed, out);
    assert.equal(r.frames, manifest.frames);
    assert.equal(r.droppedTail, 0);
    assert.equal(Number(JSON.parse(probe(out, 'format=duration')).format.duration), (manifest.end - manifest.start + 100) / 1000);
    const frames = run('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', out]).trim();
    assert.equal(Number(frames), manifest.frames);
    const times = (f: string) => run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', f]).trim();
    assert.equal(times(out), times(sealed), 'same frames at the same times');
    const streams = (f: string) => run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type:stream_disposition=attached_pic', '-of', 'csv=p=0', f]).trim();
    assert.equal(streams(out), streams(sealed), 'the poster (cover attachment) is kept');
    assert.equal(streams(out), 'video,0\nvideo,1');
    // what phone fetch writes (the opener feeding the remux as it decrypts) is this same file
    const fetched = path.join(dir, 'fetched.mkv');
    checkClip(paths, identity.publicKeyText, { identities: [phone], out: fetched, seekable: true });
    assert.deepEqual(fs.readFileSync(fetched), fs.readFileSync(out));
  });

  it('ffmpeg -ss seeks into it: the first frame out is the one at the seek time, found through the Cues', function () {
    requireTool('ffmpeg');
    const out = path.join(dir, 'seekable.mkv');
    // -ss before -i seeks in the input (by the index); the frame shown must be the one at 2.5 s
    const seekTo = 2.5;
    const first = run('ffprobe', ['-v', 'error', '-read_intervals', `${seekTo}%+#1`, '-select_streams', 'v:0', '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', out]).trim().split('\n')[0];
    assert.equal(Number(first), seekTo);
    const decoded = (args: string[]) => execFileSync('ffmpeg', ['-v', 'error', ...args, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-']);
    const jpeg = path.join(dir, 'at-2.5.jpg');
    fs.writeFileSync(jpeg, shot.get(manifest.start + seekTo * 1000)!);
    // ffmpeg's input -ss counts from the file's first frame, which comes 100 ms after the press
    const firstFrame = Number(run('ffprobe', ['-v', 'error', '-show_entries', 'format=start_time', '-of', 'csv=p=0', out]).trim());
    assert.equal(firstFrame, 0.1);
    assert.deepEqual(decoded(['-ss', (seekTo - firstFrame).toFixed(3), '-i', out]), decoded(['-i', jpeg]), 'the camera\'s frame at 2.5 s');
  });

  it('its Cues index every frame: each CuePoint points at the Cluster of that time, and the SeekHead finds the Cues', function () {
    const file = new Uint8Array(fs.readFileSync(path.join(dir, 'seekable.mkv')));
    const at = (p: number) => {
      const h = readElementHead(file.subarray(p))!;
      return { ...h, body: p + h.headLength, end: p + h.headLength + h.size };
    };
    const kids = (e: { body: number; end: number }) => {
      const out: { id: number; body: number; end: number }[] = [];
      for (let p = e.body; p < e.end; p = out[out.length - 1].end) out.push(at(p));
      return out;
    };
    const value = (e: { body: number; end: number }) => readUintBE(file, e.body, e.end - e.body);
    const segment = at(at(0).end);
    assert.equal(segment.id, ID.Segment);
    assert.equal(segment.end, file.length, 'the Segment has its real size');
    const seekHead = at(segment.body);
    assert.equal(seekHead.id, ID.SeekHead);
    const cuesSeek = kids(seekHead).find((s) => readUintBE(file, kids(s)[0].body, 4) === ID.Cues)!;
    const cues = at(segment.body + value(kids(cuesSeek)[1]));
    assert.equal(cues.id, ID.Cues);
    const points = kids(cues);
    assert.equal(points.length, manifest.frames);
    for (const point of points) {
      const [time, positions] = kids(point);
      const cluster = at(segment.body + value(kids(positions)[1]));
      assert.equal(cluster.id, ID.Cluster);
      assert.equal(value(kids(cluster)[0]), value(time), 'the Cluster is the frame at the cue\'s time');
    }
  });

  it('a clip cut short (age -d of a truncated clip) plays up to its last whole frame; sealbell phone remux says so', async function () {
    requireTool('age');
    requireTool('ffprobe');
    const age = fs.readFileSync(paths.age);
    // A power cut after two sealed chunks: age decrypts what authenticates, then reports the cut.
    const cut = path.join(dir, 'cut.age');
    const headerEnd = age.indexOf('\n---') + 1;
    const headerLength = age.indexOf('\n', headerEnd) + 1 + 16;
    fs.writeFileSync(cut, age.subarray(0, headerLength + 2 * 65552 + 1000));
    const partial = path.join(dir, 'cut.mkv');
    assert.throws(() => run('age', ['-d', '-i', key, '-o', partial, cut]));
    assert.ok(fs.statSync(partial).size >= 65536, 'age wrote the chunks it could authenticate');
    const out = path.join(dir, 'cut-seekable.mkv');
    const r = remuxFile(partial, out);
    // The same through the command
    const said = ok(await sealbell(['phone', 'remux', partial, '--out', path.join(dir, 'cut-cli.mkv')]));
    assert.match(said, new RegExp(`ok: ${r.frames} frames, [0-9.]+ s, seekable, in .*; the input was cut short: ${r.droppedTail} bytes after the last whole frame dropped`));
    assert.deepEqual(fs.readFileSync(path.join(dir, 'cut-cli.mkv')), fs.readFileSync(out));
    assert.ok(r.frames > 0 && r.frames < manifest.frames, `${r.frames} whole frames`);
    assert.ok(r.droppedTail > 0, 'the half frame at the cut is dropped');
    const counted = run('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', out]).trim();
    assert.equal(Number(counted), r.frames);
    const decoded = run('ffmpeg', ['-v', 'error', '-i', out, '-f', 'null', '-']);
    assert.equal(decoded.trim(), '', 'every frame decodes');
    assert.ok(Number(JSON.parse(probe(out, 'format=duration')).format.duration) > 0);
  });

  it('a valid clip of no frame is fetched as a (seekable) file of no frame', function () {
    const empty = new Doorbell({ backend: nobleBackend, random, identity, sink: files, width: 32, height: 16, clipDuration: 1000 });
    empty.setRecipients({ epoch: 1, recipients: [identityToRecipient(phone)] });
    const id = empty.press(Date.UTC(2026, 11, 3, 9, 0, 0));
    empty.finishClip();
    const out = path.join(dir, 'empty.mkv');
    const { opened } = checkClip(clipPaths(files.paths(id).age), identity.publicKeyText, { identities: [phone], out, seekable: true });
    assert.equal(opened!.frames, 0);
    // (ffprobe reads no stream from a Matroska file without frames, sealed or seekable alike)
    assert.equal(fs.readFileSync(out).subarray(0, 4).toString('hex'), '1a45dfa3');
  });

  it('a file with no whole frame is refused (CONTAINER), and leaves nothing under the output name', function () {
    const sealed = path.join(dir, 'sealed.mkv');
    const stub = path.join(dir, 'stub.mkv');
    fs.writeFileSync(stub, fs.readFileSync(sealed).subarray(0, 200));
    const out = path.join(dir, 'stub-seekable.mkv');
    assert.equal(errorCode(() => remuxFile(stub, out)), 'CONTAINER');
    assert.ok(!fs.existsSync(out) && !fs.existsSync(`${out}.part`));
  });
});
