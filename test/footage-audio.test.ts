// Sound in clips (issue 14, item 4): the hosted doorbell's microphone (a 440 Hz tone, a click at
// the press) goes into an audio track of the same Matroska file, 16 kHz mono 16-bit PCM in step
// with the video, pre-roll included. Stock tools check it: age -d opens the clip, ffprobe shows
// both streams with durations within a frame, ffmpeg decodes the sound (the tone's frequency,
// the click at the press); the phone's seekable copy keeps both tracks and its Cues. A board
// without a microphone records video only and its manifest says so.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { bytesToHex } from '../src/bytes.js';
import { AUDIO_PCM, buildTracks, MkvReader, mkvAudioPrefix, mkvFramePrefix, mkvHead } from '../src/clip/mkv.js';
import { decodeManifest, encodeManifest, type ClipManifest } from '../src/clip/manifest.js';
import { PreRoll } from '../src/device/preroll.js';
import { provision } from '../tools/provision.js';
import { phoneSetup, readPhone } from '../tools/phone/index.js';
import { phoneLogin, registerOnRelay } from '../tools/phone/relay-sync.js';
import { checkClip } from '../tools/clip-check.js';
import { remuxFile } from '../tools/phone/remux.js';
import { SyntheticMicrophone, TONE_HZ } from '../hosts/node/microphone.js';
import { ROOT, errorCode, requireTool, run, seededRandom, tempDir } from './helpers.js';
import { freshPhone } from './setup-fixtures.js';
import { ADMIN_TOKEN, closeRelays, startTestRelay } from './relay-helpers.js';
import { stopDoorbells, testDoorbell } from './app-helpers.js';

interface Packet {
  stream: number;
  pts: number;
  duration: number;
}

/** ffprobe's packets of a file: stream index, pts and duration (s). */
function packets(file: string): Packet[] {
  const out = run('ffprobe', ['-v', 'error', '-show_entries', 'packet=stream_index,pts_time,duration_time', '-of', 'csv=p=0', file]);
  return out.trim().split('\n').map((l) => {
    const [stream, pts, duration] = l.split(',');
    return { stream: Number(stream), pts: Number(pts), duration: Number(duration) };
  });
}

function streams(file: string): Record<string, string>[] {
  const out = run('ffprobe', ['-v', 'error', '-show_entries', 'stream=index,codec_type,codec_name,sample_rate,channels:stream_disposition=attached_pic', '-of', 'json', file]);
  // the poster is a cover attachment, listed as an attached picture: not a track
  type Stream = Record<string, string> & { disposition?: { attached_pic?: number } };
  return (JSON.parse(out) as { streams: Stream[] }).streams.filter((s) => !s.disposition?.attached_pic);
}

/** Zero crossings per second of a stretch of samples: twice the frequency of a pure tone. */
function frequency(s: Int16Array): number {
  let crossings = 0;
  for (let i = 1; i < s.length; i++) if ((s[i - 1] < 0) !== (s[i] < 0)) crossings++;
  return crossings / 2 / (s.length / 16_000);
}

async function recordPress(seed: string, microphone?: boolean) {
  const relay = await startTestRelay();
  const prov = await provision({ out: tempDir(`${seed}-factory`), random: seededRandom(`${seed}/factory`) });
  const phone = freshPhone(seed);
  const d = testDoorbell(prov, `${seed}/device`, { microphone });
  d.boot();
  const outcome = await phoneSetup({ dir: phone.dir, endpoint: await d.setupUrl(), code: prov.manualCode, wifi: { ssid: 'Home', password: 'correct horse battery' }, relayUrl: relay.url, account: phone.account, random: seededRandom(`${seed}/setup`) });
  await registerOnRelay({ dir: phone.dir, deviceId: outcome.deviceId, adminToken: ADMIN_TOKEN, account: phone.account });
  await d.until(() => d.app.uplink?.state === 'ready', 'uplink ready');
  await d.runUntil(() => d.app.doorbell.pool.available === d.app.doorbell.pool.size, 'clip headers prepared');
  await d.run(3550); // 3 s of pre-roll, and a press between two frames
  const pressedAt = Math.round(d.now);
  d.press();
  await d.runUntil(() => !d.app.doorbell.recording, 'clip recorded');
  await d.drain();
  const client = await phoneLogin(phone.dir, outcome.deviceId);
  const [info] = await client.clips();
  const out = tempDir(`${seed}-download`);
  const got = await client.download(info.clip, out, { devicePub: outcome.devicePublicKey });
  const { manifest } = checkClip({ age: got.age, manifest: got.manifest!, signature: got.signature! }, outcome.devicePublicKey, { identities: [readPhone(phone.dir).identity] });
  const mkv = path.join(out, 'clip.mkv');
  run('age', ['-d', '-i', path.join(phone.dir, 'identity.key'), '-o', mkv, got.age]);
  return { manifest, mkv, out, pressedAt };
}

describe('sound in clips (issue 14, item 4)', function () {
  this.timeout(300_000);
  afterEach(stopDoorbells);
  after(closeRelays);

  it('the audio track: its TrackEntry and block prefix are docs/clip-format.md\'s vector; the reader takes them and refuses sound without the track', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs/clip-format.md'), 'utf8').replace(/\s+/g, '');
    const tracks = buildTracks(800, 600, true);
    const video = buildTracks(800, 600, false);
    // the audio TrackEntry is what follows the video one inside Tracks
    const audioEntry = tracks.subarray(12 + video.length - 12);
    assert.ok(doc.includes(bytesToHex(audioEntry)), 'the audio TrackEntry hex is in the doc');
    assert.ok(doc.includes(bytesToHex(mkvAudioPrefix(1234, 3200))), 'the audio block prefix hex is in the doc');
    const pcm = new SyntheticMicrophone().capture(0, 100);
    const jpeg = new Uint8Array([0xff, 0xd8, 0xff, 0xd9]);
    const file = (audio: boolean) => [mkvHead({ width: 800, height: 600, startTime: 1_800_000_000_000, audio }), mkvAudioPrefix(0, pcm.length), pcm, mkvFramePrefix(0, 4), jpeg];
    const blocks: number[] = [];
    const r = new MkvReader(() => blocks.push(1));
    r.onAudio = (a) => blocks.push(a.data.length);
    for (const b of file(true)) r.push(b);
    r.end();
    assert.deepEqual(blocks, [3200, 1]);
    assert.equal(r.audioSamples, 1600);
    assert.equal(r.info!.audio, true);
    const video1 = new MkvReader(() => {});
    assert.equal(errorCode(() => file(false).forEach((b) => video1.push(b))), 'CONTAINER', 'a sound block without an audio track');
    assert.equal(AUDIO_PCM.rate * 2, 32_000, '32 KB of sound a second');
  });

  it('the manifest names the track (samples) or says there is no microphone (null); only canonical forms parse', () => {
    const base: ClipManifest = { v: 1, clip: 'c1', device: 'D', epoch: 1, roster: '0'.repeat(64), seq: 1, prev: '0'.repeat(64), start: 1, end: 2, frames: 1, payloadSize: 1, payloadSha256: '0'.repeat(64), dropped: [], trigger: 'press', preRoll: 0 };
    const audio = { track: 2, codec: 'A_PCM/INT/LIT', rate: 16000, channels: 1, bits: 16, samples: 16000 } as const;
    const bytes = encodeManifest({ ...base, audio });
    assert.match(new TextDecoder().decode(bytes), /"audio":\{"track":2,"codec":"A_PCM\/INT\/LIT","rate":16000,"channels":1,"bits":16,"samples":16000\}\}\n$/);
    assert.deepEqual(decodeManifest(bytes), { ...base, audio });
    assert.match(new TextDecoder().decode(encodeManifest({ ...base, audio: null })), /"audio":null\}\n$/);
    const reordered = new TextEncoder().encode(new TextDecoder().decode(bytes).replace('"track":2,"codec":"A_PCM/INT/LIT"', '"codec":"A_PCM/INT/LIT","track":2'));
    assert.equal(errorCode(() => decodeManifest(reordered)), 'MANIFEST_FORMAT');
    assert.equal(errorCode(() => encodeManifest({ ...base, audio: { ...audio, rate: 44100 as 16000 } })), 'MANIFEST_FORMAT');
  });

  it('pre-roll sound shares the frames\' ring: held in order, from the first frame on', () => {
    const ring = new PreRoll({ duration: 3000, capacity: 1 << 20 });
    const mic = new SyntheticMicrophone();
    const t0 = 1_800_000_000_000;
    for (let n = 1; n <= 60; n++) {
      const t = t0 + n * 100;
      ring.pushAudio(mic.capture(t - 100, t), t - 100);
      ring.push(new Uint8Array(5000).fill(n), t);
    }
    const held = ring.held(t0 + 6000);
    const frames = held.filter((h) => !h.audio);
    assert.ok(frames[0].time <= t0 + 3000, 'the frames reach 3 s back');
    assert.equal(held.filter((h) => h.audio).reduce((a, h) => a + h.data.length, 0) / 32, held.filter((h) => h.audio).length * 100, '100 ms of sound a piece');
    assert.ok(held.every((h, i) => i === 0 || h.time >= held[i - 1].time), 'in time order');
  });

  it('the hosted doorbell records a tone and a click at the press: ffprobe sees both streams in step, ffmpeg decodes them, age opens the clip, the phone\'s seekable copy keeps both tracks and Cues', async () => {
    requireTool('age');
    requireTool('ffprobe');
    const { manifest, mkv, out, pressedAt } = await recordPress('audio-press');
    assert.ok(manifest.audio, 'the manifest names the audio track');
    assert.equal(manifest.audio.codec, 'A_PCM/INT/LIT');
    assert.ok(manifest.preRoll! >= 3000);
    const kinds = streams(mkv).map((s) => `${s.codec_type}:${s.codec_name}${s.sample_rate ? `:${s.sample_rate}:${s.channels}` : ''}`);
    assert.deepEqual(kinds, ['video:mjpeg', 'audio:pcm_s16le:16000:1']);

    // the phone's seekable copy: both tracks, Duration and Cues
    const seekable = path.join(out, 'seekable.mkv');
    const r = remuxFile(mkv, seekable);
    assert.equal(r.frames, manifest.frames);
    assert.deepEqual(streams(seekable).map((s) => s.codec_type), ['video', 'audio']);
    assert.ok(fs.readFileSync(seekable).includes(Buffer.from([0x1c, 0x53, 0xbb, 0x6b])), 'Cues');
    const format = JSON.parse(run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'json', seekable])) as { format: { duration: string } };
    assert.ok(Math.abs(Number(format.format.duration) - r.duration / 1000) < 0.002, 'the Duration');
    for (const file of [mkv, seekable]) {
      const p = packets(file);
      const video = p.filter((x) => x.stream === 0);
      const audio = p.filter((x) => x.stream === 1);
      assert.equal(video.length, manifest.frames, 'ffprobe counts the manifest\'s frames');
      const frame = 0.1;
      const videoEnd = video[video.length - 1].pts + frame;
      const audioEnd = audio[audio.length - 1].pts + audio[audio.length - 1].duration;
      assert.ok(Math.abs(videoEnd - audioEnd) <= frame + 0.001, `durations in step: video ${videoEnd} s, audio ${audioEnd} s`);
      assert.ok(Math.abs(audioEnd - manifest.audio.samples / 16_000) <= 0.001, 'the sound is as long as its samples');
      assert.ok(audio[0].pts <= 0.001, 'the sound starts with the first frame');
    }

    // ffmpeg decodes the sound: the tone's frequency, the click at the press
    const raw = path.join(out, 'sound.raw');
    run('ffmpeg', ['-v', 'error', '-i', seekable, '-map', '0:a', '-f', 's16le', '-acodec', 'pcm_s16le', raw]);
    const b = fs.readFileSync(raw);
    const samples = new Int16Array(b.buffer, b.byteOffset, b.length / 2);
    assert.equal(samples.length, manifest.audio.samples);
    assert.ok(Math.abs(frequency(samples.subarray(1600, 1600 + 16_000)) - TONE_HZ) <= 2, `the tone is ${TONE_HZ} Hz`);
    const click = samples.findIndex((v) => Math.abs(v) > 20_000);
    const expected = ((pressedAt - manifest.start) / 1000) * 16_000;
    assert.ok(Math.abs(click - expected) <= 16, `the click at ${click / 16} ms into the clip, the press at ${expected / 16} ms`);
    assert.ok(Math.abs(click / 16 - manifest.preRoll!) < 100, 'within a frame of the trigger frame');
  });

  it('a board without a microphone records video only, and its manifest says so', async () => {
    requireTool('ffprobe');
    const { manifest, mkv } = await recordPress('audio-none', false);
    assert.equal(manifest.audio, null);
    assert.deepEqual(streams(mkv).map((s) => s.codec_type), ['video']);
  });
});
