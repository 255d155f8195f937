// Every clip carries its poster frame (the frame at the trigger) as a Matroska cover
// attachment inside its first sealed STREAM chunk: a phone decrypts that one 64 KiB chunk,
// and stock ffmpeg extracts a JPEG that decodes to the trigger frame's picture.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import jpeg from 'jpeg-js';
import { SyntheticCamera } from '../hosts/node/camera.js';
import { nobleBackend } from '../src/crypto/noble.js';
import { Doorbell } from '../src/device/doorbell.js';
import { loadOrCreateIdentity } from '../src/device/identity.js';
import { formatIdentityFile } from '../src/age/identity-file.js';
import { generateIdentity, identityToRecipient, x25519Identity } from '../src/age/x25519.js';
import { parseHeader } from '../src/age/format.js';
import { openHeader } from '../src/age/header.js';
import { PAYLOAD_NONCE_LENGTH, SEALED_CHUNK_SIZE, payloadKey } from '../src/age/stream.js';
import { MkvReader } from '../src/clip/mkv.js';
import { ClipOpener } from '../src/clip/opener.js';
import { decodeManifest } from '../src/clip/manifest.js';
import { MemorySink, MemoryStore, requireTool, run, seededRandom, tempDir } from './helpers.js';

describe('the poster frame in the first sealed chunk', function () {
  this.timeout(120_000);
  const dir = tempDir('poster');
  const random = seededRandom('poster frame');
  const phone = generateIdentity(random);
  const key = path.join(dir, 'phone.key');
  fs.writeFileSync(key, formatIdentityFile(phone, new Date(0)));
  const sink = new MemorySink();
  const identity = loadOrCreateIdentity(new MemoryStore(), random);
  const camera = new SyntheticCamera({ width: 640, height: 480 });
  const doorbell = new Doorbell({ backend: nobleBackend, random, identity, sink, width: camera.width, height: camera.height, clipDuration: 3000 });
  doorbell.setRecipients({ epoch: 1, recipients: [identityToRecipient(phone)] });
  while (doorbell.idle());
  let now = Date.UTC(2026, 11, 3, 7, 45, 0);
  const id = doorbell.press(now);
  const shots: Uint8Array[] = [];
  for (let n = 0; doorbell.recording; n++) {
    now += 100;
    shots.push(camera.capture(n, now));
    doorbell.frame(shots[n], now);
  }
  doorbell.tick(now);
  const age = sink.clips.get(id)!.age;
  const trigger = shots[0]; // no pre-roll: the first frame after the press

  /** The first STREAM chunk alone, decrypted: what a phone fetches first. */
  function firstChunk(): Uint8Array {
    const header = parseHeader(age)!;
    const fileKey = openHeader(header, [x25519Identity(phone)]);
    const nonce = age.subarray(header.length, header.length + PAYLOAD_NONCE_LENGTH);
    const sealed = age.subarray(header.length + PAYLOAD_NONCE_LENGTH, header.length + PAYLOAD_NONCE_LENGTH + SEALED_CHUNK_SIZE);
    assert.equal(sealed.length, SEALED_CHUNK_SIZE, 'the clip has more than one chunk');
    return nobleBackend.aead.open(payloadKey(fileKey, nonce), new Uint8Array(12), sealed); // counter 0, not last
  }

  it('the first chunk alone holds the poster: ffmpeg extracts it as cover.jpg and it decodes to the trigger frame', function () {
    requireTool('ffmpeg');
    const chunk = path.join(dir, 'first-chunk.mkv');
    fs.writeFileSync(chunk, firstChunk());
    const poster = path.join(dir, 'poster.jpg');
    // The cover is stream 1 (an attached picture); stream 0 is the video track
    run('ffmpeg', ['-v', 'error', '-i', chunk, '-map', '0:1', '-c', 'copy', '-frames:v', '1', poster]);
    const got = new Uint8Array(fs.readFileSync(poster));
    assert.deepEqual(got, trigger, 'the poster is the trigger frame, byte for byte');
    const image = jpeg.decode(got);
    assert.deepEqual([image.width, image.height], [640, 480]);
    assert.deepEqual(image.data, jpeg.decode(trigger).data);
    // sealbell's own reader finds it in the same 64 KiB
    const reader = new MkvReader(() => {});
    reader.push(fs.readFileSync(chunk));
    assert.deepEqual(reader.poster, trigger);
  });

  it('ffprobe lists it as the clip\'s cover (an attached picture) beside the video track, whose frame count is unchanged', function () {
    requireTool('age');
    requireTool('ffprobe');
    const clip = path.join(dir, 'clip.age');
    fs.writeFileSync(clip, age);
    const video = path.join(dir, 'clip.mkv');
    run('age', ['-d', '-i', key, '-o', video, clip]);
    const streams = JSON.parse(run('ffprobe', ['-v', 'error', '-show_entries', 'stream=index,codec_name,codec_type:stream_tags=filename,mimetype:stream_disposition=attached_pic', '-of', 'json', video])).streams;
    assert.equal(streams.length, 2);
    assert.equal(streams[0].codec_type, 'video');
    assert.equal(streams[0].disposition.attached_pic, 0);
    assert.deepEqual([streams[1].codec_name, streams[1].disposition.attached_pic, streams[1].tags.filename, streams[1].tags.mimetype], ['mjpeg', 1, 'cover.jpg', 'image/jpeg']);
    const frames = run('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', video]).trim();
    assert.equal(Number(frames), decodeManifest(sink.clips.get(id)!.manifest).frames);
  });

  it('the opener reports it; a trigger frame too large for the first chunk leaves the clip without one', function () {
    let poster: Uint8Array | undefined;
    const opener = new ClipOpener({ backend: nobleBackend, identities: [phone] });
    opener.push(age);
    poster = opener.end().poster;
    assert.deepEqual(poster, trigger);
    const big = new Uint8Array(70_000);
    big.set([0xff, 0xd8]);
    const sink2 = new MemorySink();
    const d2 = new Doorbell({ backend: nobleBackend, random, identity, sink: sink2, width: 16, height: 16, clipDuration: 100 });
    d2.setRecipients({ epoch: 1, recipients: [identityToRecipient(phone)] });
    const id2 = d2.press(now);
    d2.frame(big, now + 50);
    d2.finishClip();
    const o2 = new ClipOpener({ backend: nobleBackend, identities: [phone] });
    o2.push(sink2.clips.get(id2)!.age);
    const opened = o2.end();
    assert.equal(opened.frames, 1);
    assert.equal(opened.poster, undefined);
  });
});
