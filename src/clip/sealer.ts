/**
 * Seals one clip as it is recorded: JPEG frames go in one at a time, age v1
 * bytes come out as numbered segments — segment 0 is the header and payload
 * nonce, segment i ≥ 1 is STREAM chunk i−1 — each as soon as it exists.
 * Concatenated in order they are the clip's .age file. Memory stays at one
 * chunk buffer, whatever the clip's length: frames are sealed straight into it
 * from where the camera left them (StreamWriter), with no plaintext copy, and
 * the core's work per frame does not grow with the frame's size. The first chunk
 * also carries the poster (the frame at the trigger) as a cover attachment.
 */
import type { CryptoBackend, Sha256 } from '../crypto/backend.js';
import type { Alloc } from '../age/stream.js';
import { StreamWriter } from '../age/stream-writer.js';
import { concatBytes, bytesToHex } from '../bytes.js';
import { check } from '../errors.js';
import { mkvAudioPrefix, mkvFramePrefix, mkvHead, mkvPosterPrefix, mkvPosterPrefixLength } from './mkv.js';
import { CHUNK_SIZE } from '../age/stream.js';
import type { PreparedHeader } from './prepared-header.js';
import type { ClipManifest } from './manifest.js';
import { FIRST_LINK, type ChainLink } from './chain.js';

/** Where sealed clips go: files, the spool, the uplink. */
export interface ClipSink {
  begin(clipId: string, epoch: number): void;
  /** `bytes` is only valid during the call (it is the sealer's reused buffer). */
  segment(clipId: string, index: number, bytes: Uint8Array): void;
  end(clipId: string, manifest: Uint8Array, signature: string): void;
  /**
   * The clip's sealed, signed event notice (src/event/event.ts), between its first segments and
   * its end; sinks that do not take events leave it out. `sealed` is the sink's to keep.
   */
  event?(clipId: string, sealed: Uint8Array, signature: string): void;
}

export interface ClipSealerOptions {
  backend: CryptoBackend;
  header: PreparedHeader;
  clipId: string;
  deviceId: string;
  /** ms since the Unix epoch */
  startTime: number;
  width: number;
  height: number;
  sink: ClipSink;
  alloc?: Alloc;
  /** the file has an audio track (16 kHz mono s16le PCM: a board with a microphone) */
  audio?: boolean;
}

export class ClipSealer {
  readonly clipId: string;
  private readonly stream: StreamWriter;
  private readonly hash: Sha256;
  private frames = 0;
  private lastTime: number;
  private payloadSize = 0;
  private finished = false;
  private started = false;
  private chunks = 0;
  private poster = false;
  private samples = 0;
  private lastAudio = 0;

  constructor(private readonly o: ClipSealerOptions) {
    this.clipId = o.clipId;
    this.lastTime = o.startTime;
    this.hash = o.backend.sha256();
    o.sink.begin(o.clipId, o.header.epoch);
    this.hash.update(o.header.nonce);
    this.payloadSize = o.header.nonce.length;
    o.sink.segment(o.clipId, 0, concatBytes(o.header.header, o.header.nonce));
    this.stream = new StreamWriter(
      o.backend.aead,
      o.header.key,
      (sealed, index) => {
        this.chunks++;
        this.hash.update(sealed);
        this.payloadSize += sealed.length;
        o.sink.segment(o.clipId, index + 1, sealed);
      },
      o.alloc,
    );
  }

  /**
   * Writes the container's head with `poster` (the frame at the trigger) as its cover
   * attachment, when it fits in the first STREAM chunk with the head: a phone shows it after
   * opening that chunk alone. Without a call, the first frame added is the poster.
   */
  begin(poster?: Uint8Array): void {
    check(!this.started, 'CLIP_STARTED', 'the clip has begun');
    this.started = true;
    const head = mkvHead({ width: this.o.width, height: this.o.height, startTime: this.o.startTime, audio: this.o.audio });
    this.stream.write(head);
    if (!poster || head.length + mkvPosterPrefixLength() + poster.length > CHUNK_SIZE) return;
    this.stream.write(mkvPosterPrefix(poster.length));
    this.stream.write(poster);
    this.poster = true;
  }

  /** Whether the container's head (and the poster, if any) is written: the poster is decided. */
  get begun(): boolean {
    return this.started;
  }

  /** STREAM chunks sealed and handed to the sink so far. */
  get chunksSealed(): number {
    return this.chunks;
  }

  /** Whether the clip carries a poster (false until begun, or if the trigger frame was too large). */
  get hasPoster(): boolean {
    return this.poster;
  }

  /** Bytes of the chunk in progress, not yet handed to the sink (at most one chunk). */
  get buffered(): number {
    return this.stream.buffered;
  }

  /** Adds one JPEG frame taken at `time` (ms since the Unix epoch). */
  addFrame(jpeg: Uint8Array, time: number): void {
    check(!this.finished, 'CLIP_FINISHED', 'frame after the clip was finished');
    if (!this.started) this.begin(jpeg);
    // A clock step backwards must not make the container's timestamps go backwards.
    const t = Math.max(time, this.lastTime);
    this.lastTime = t;
    this.stream.write(mkvFramePrefix(t - this.o.startTime, jpeg.length));
    this.stream.write(jpeg);
    this.frames++;
  }

  /** PCM samples in the audio track so far. */
  get audioSamples(): number {
    return this.samples;
  }

  /**
   * Adds PCM samples (16 kHz mono, 16-bit little-endian) whose first was taken at `time` (ms
   * since the Unix epoch, not before the clip's start), in their own block on the audio track,
   * sealed from where they lie.
   */
  addAudio(pcm: Uint8Array, time: number): void {
    check(!this.finished, 'CLIP_FINISHED', 'sound after the clip was finished');
    check(this.o.audio === true && pcm.length > 0 && pcm.length % 2 === 0, 'CLIP_AUDIO', 'audio needs a clip with an audio track, and whole 16-bit samples');
    if (!this.started) this.begin();
    const t = Math.max(Math.round(time - this.o.startTime), this.lastAudio, 0);
    this.lastAudio = t;
    this.stream.write(mkvAudioPrefix(t, pcm.length));
    this.stream.write(pcm);
    this.samples += pcm.length / 2;
  }

  /** Seals the final chunk and returns the (unsigned) manifest, linked into the device's clip chain by `link`. */
  finish(dropped: string[] = [], link: ChainLink = FIRST_LINK): ClipManifest {
    check(!this.finished, 'CLIP_FINISHED', 'clip finished twice');
    this.finished = true;
    if (!this.started) this.begin();
    this.stream.close();
    this.o.header.key.fill(0);
    return {
      v: 1,
      clip: this.o.clipId,
      device: this.o.deviceId,
      epoch: this.o.header.epoch,
      roster: this.o.header.roster,
      seq: link.seq,
      prev: link.prev,
      start: this.o.startTime,
      end: this.lastTime,
      frames: this.frames,
      payloadSize: this.payloadSize,
      payloadSha256: bytesToHex(this.hash.digest()),
      dropped,
      ...(this.o.header.kem === 'mlkem768x25519' ? { kem: 'mlkem768x25519' as const } : {}),
    };
  }
}
