/**
 * The clip lifecycle on the device. The host feeds it events — camera frames,
 * button presses, idle time — and it records, seals and signs clips into a
 * ClipSink. A press starts a clip (or extends the one being recorded); the clip
 * covers `clipDuration` ms after the last press, capped at `maxClipDuration`, and,
 * with a pre-roll, the seconds before the trigger.
 * Idle time keeps the pool of ready headers full so a press seals at once.
 */
import type { Alloc, ClipSink, CryptoBackend, KeyValueStore, Log, Random } from '../host.js';
import { ClipChain } from '../clip/chain.js';
import { HeaderPool, type RecipientSet } from '../clip/prepared-header.js';
import { ClipSealer } from '../clip/sealer.js';
import { signManifest } from '../clip/signed-manifest.js';
import { bytesToHex } from '../bytes.js';
import type { DeviceIdentity } from './identity.js';
import type { ClipManifest, ClipTrigger } from '../clip/manifest.js';
import { AUDIO_BYTES_PER_MS, AUDIO_PCM } from '../clip/mkv.js';
import type { HeldFrame, PreRoll } from './preroll.js';
import type { PreparedHeader } from '../clip/prepared-header.js';
import { sealEventPayload, signEvent, type EventNotice } from '../event/event.js';

/** A trigger's event notice, sealed once the clip's poster is decided, signed on the next tick (docs/event-format.md). */
interface PendingEvent {
  notice: EventNotice;
  header: PreparedHeader;
  /** the sealed event, once the poster is decided */
  sealed: Uint8Array | undefined;
  /** a pre-roll poster, in the ring (whose bytes stay put while the clip records): sealed on the next tick */
  heldPoster?: Uint8Array;
}

export interface DoorbellOptions {
  backend: CryptoBackend;
  random: Random;
  identity: DeviceIdentity;
  sink: ClipSink;
  width: number;
  height: number;
  clipDuration?: number;
  maxClipDuration?: number;
  headerPoolSize?: number;
  alloc?: Alloc;
  log?: Log;
  /** Clip ids dropped since the last manifest (e.g. by a full spool), to report in the next one. */
  takeDropped?: () => string[];
  /**
   * Where the clip chain's position survives reboots (the store the identity is kept in).
   * Without it the chain restarts at 1 on every start, which phones report as a restart.
   */
  store?: KeyValueStore;
  /** Called after each clip is complete and signed. */
  onClip?: (manifest: ClipManifest) => void;
  /** the last seconds of frames, sealed into a clip ahead of its trigger (src/device/preroll.ts) */
  preRoll?: PreRoll;
  /**
   * the board has a microphone: clips get an audio track (16 kHz mono s16le PCM, `audio()`);
   * false: the manifest says there is none (`"audio":null`); left out, it says nothing
   */
  audio?: boolean;
}

/** Clip ids sort by time and never repeat: UTC time of the press plus 24 random bits. */
export function makeClipId(time: number, random: Random): string {
  const iso = new Date(time).toISOString(); // 2026-11-26T22:40:44.123Z
  const stamp = iso.slice(0, 19).replace(/[-:]/g, '');
  return `${stamp}Z-${bytesToHex(random(3))}`;
}

export class Doorbell {
  readonly pool: HeaderPool;
  private clip: ClipSealer | undefined;
  private clipStart = 0;
  /** where the clip's timeline starts (its first frame), ms since the Unix epoch */
  private clipOrigin = 0;
  private clipEnd = 0;
  private trigger: ClipTrigger = 'press';
  private zones: string[] | undefined;
  /** ms of the clip before its trigger */
  private preRollHeld = 0;
  /** pre-roll frames not yet sealed: the first chunk's worth goes at the trigger, the rest in idle time */
  private pending: HeldFrame[] = [];
  /** the current clip's event notice, until it is sealed and handed to the sink */
  private event: PendingEvent | undefined;
  private clipDuration: number;
  private readonly maxClipDuration: number;
  private preRoll: PreRoll | undefined;
  private readonly log: Log;
  private readonly chain: ClipChain;
  /** One clip records at a time, so its chunk buffer is made once and reused for every clip. */
  private readonly buffers = new Map<number, Uint8Array>();
  private readonly alloc: Alloc = (n) => {
    let b = this.buffers.get(n);
    if (!b) {
      b = this.o.alloc ? this.o.alloc(n) : new Uint8Array(n);
      this.buffers.set(n, b);
    }
    return b;
  };

  constructor(private readonly o: DoorbellOptions) {
    this.pool = new HeaderPool(o.random, o.headerPoolSize ?? 2);
    this.clipDuration = o.clipDuration ?? 10_000;
    this.maxClipDuration = o.maxClipDuration ?? 60_000;
    this.preRoll = o.preRoll;
    this.log = o.log ?? (() => {});
    this.chain = new ClipChain(o.identity.deviceId, () => o.backend.sha256(), o.store, this.log);
  }

  get deviceId(): string {
    return this.o.identity.deviceId;
  }

  get hasPreRoll(): boolean {
    return this.preRoll !== undefined;
  }

  /** ms a clip runs after its last trigger, from the next trigger on (signed settings change it). */
  setClipDuration(ms: number): void {
    this.clipDuration = ms;
  }

  /** The pre-roll for the clips after the current one (undefined: clips start at the trigger). */
  setPreRoll(preRoll: PreRoll | undefined): void {
    if (preRoll !== this.preRoll && !this.clip) this.preRoll?.clear();
    this.preRoll = preRoll;
  }

  get recording(): boolean {
    return this.clip !== undefined;
  }

  /** The sealer of the clip being recorded (for inspection in tests and benchmarks). */
  get currentClip(): ClipSealer | undefined {
    return this.clip;
  }

  /** Clips recorded from now on are sealed to exactly this set. */
  setRecipients(set: RecipientSet): void {
    this.pool.setRecipients(set);
  }

  /**
   * A trigger (the button, the PIR, motion in the picture): start a clip now, or keep the
   * current one going. With pre-roll the clip starts with the frames held before `now`,
   * the newest of them (the frame at the trigger) its poster.
   */
  press(now: number, trigger: ClipTrigger = 'press', zones?: string[]): string {
    if (this.clip) {
      this.clipEnd = Math.min(now + this.clipDuration, this.clipStart + this.maxClipDuration);
      return this.clip.clipId;
    }
    const header = this.pool.take();
    const clipId = makeClipId(now, this.o.random);
    let held = this.preRoll?.held(now) ?? [];
    // the clip starts with a frame: sound from before the first one is left out; the newest
    // frame is the trigger frame (only a board with a microphone holds sound: no scan without)
    let first = 0;
    let last = held.length - 1;
    if (this.o.audio) {
      while (first < held.length && held[first].audio) first++;
      while (last >= first && held[last].audio) last--;
      held = last < first ? [] : first > 0 ? held.slice(first) : held;
      last -= first;
    }
    const triggerFrame = held.length ? held[last] : undefined;
    const start = held.length ? held[0].time : now;
    this.clipOrigin = start;
    this.clipStart = now;
    this.clipEnd = now + this.clipDuration;
    this.trigger = trigger;
    this.zones = trigger === 'motion' ? zones ?? [] : undefined;
    // the newest held frame is the one at the trigger: the clip's poster, preRoll ms into the clip
    this.preRollHeld = triggerFrame ? triggerFrame.time - start : 0;
    this.event = this.o.sink.event ? { notice: { v: 1, device: this.deviceId, clip: clipId, trigger, time: now }, header, sealed: undefined } : undefined;
    this.clip = new ClipSealer({
      backend: this.o.backend,
      header,
      clipId,
      deviceId: this.deviceId,
      startTime: start,
      width: this.o.width,
      height: this.o.height,
      sink: this.o.sink,
      alloc: this.alloc,
      audio: this.o.audio,
    });
    // counted now: sealing the first chunk below takes from the front of `held`
    const heldFrames = this.o.audio ? held.filter((f) => !f.audio).length : held.length;
    if (held.length) {
      const poster = triggerFrame!.data;
      this.clip.begin(poster);
      // the first chunk leaves now (full, if the pre-roll fills it); the rest in idle time
      this.pending = held;
      while (this.pending.length && this.clip.chunksSealed === 0) this.sealPending();
      // the event is sealed on the next tick, from the ring: its bytes stay put until the clip ends (nothing is pushed while recording)
      if (this.event) this.event.heldPoster = poster;
    }
    this.log(`clip ${clipId}: recording (${trigger}${heldFrames ? `, ${heldFrames} frames${this.o.audio ? ' and sound' : ''} of pre-roll (${this.preRollHeld} ms)` : ''})`);
    return clipId;
  }

  /** A camera frame. Recorded only while a clip is open. */
  frame(jpeg: Uint8Array, now: number): void {
    this.tick(now);
    if (!this.clip) {
      this.preRoll?.push(jpeg, now);
      return;
    }
    if (now < this.clipStart) return;
    while (this.pending.length) this.sealPending();
    const first = !this.clip.begun;
    this.clip.addFrame(jpeg, now);
    if (first) this.notePoster(jpeg);
  }

  /**
   * The clip began: the event is sealed now with its poster (if the clip took one), read from
   * the frame's buffer during this call (no copy; the per-byte sealing is the backend's, native
   * on a device). Signing waits for the next tick.
   */
  private notePoster(frame: Uint8Array | undefined): void {
    const e = this.event;
    if (!e || e.sealed || !this.clip) return;
    try {
      e.sealed = sealEventPayload(e.notice, this.clip.hasPoster ? frame : undefined, {
        aead: this.o.backend.aead,
        header: e.header.header,
        clipNonce: e.header.nonce,
        eventNonce: e.header.eventNonce,
        key: e.header.eventKey,
      });
    } catch (err) {
      this.log(`clip ${e.notice.clip}: no event notice: ${String(err)}`);
      this.event = undefined;
    } finally {
      e.header.eventKey.fill(0);
    }
  }

  /**
   * Seals, signs and hands over the event notice: on the first tick after the poster is known,
   * never inside the press or the frame that makes the first chunk (signing costs the device
   * two Ed25519 signatures; the first chunk must not wait for them).
   */
  private makeEvent(): void {
    if (this.event && !this.event.sealed) this.notePoster(this.event.heldPoster); // a clip closed before its first tick or frame
    const e = this.event;
    this.event = undefined;
    if (!e?.sealed) return;
    try {
      this.o.sink.event?.(e.notice.clip, e.sealed, signEvent(e.notice, e.sealed, this.o.identity.key));
    } catch (err) {
      this.log(`clip ${e.notice.clip}: no event notice: ${String(err)}`);
    }
  }

  /**
   * Sound from the microphone: PCM samples (16 kHz mono, 16-bit little-endian), the first taken
   * at `time`. Into the pre-roll while no clip records, else into the clip after any pre-roll
   * not yet sealed (so both tracks stay in time order). Ignored without `audio`.
   */
  audio(pcm: Uint8Array, time: number): void {
    if (!this.o.audio || pcm.length === 0) return;
    if (!this.clip) {
      this.preRoll?.pushAudio(pcm, time);
      return;
    }
    while (this.pending.length) this.sealPending();
    this.addAudio(pcm, time);
  }

  /** Into the clip; samples from before its first frame are cut off. */
  private addAudio(pcm: Uint8Array, time: number): void {
    if (time < this.clipOrigin) {
      const skip = Math.ceil((this.clipOrigin - time) * (AUDIO_PCM.rate / 1000)) * 2;
      if (skip >= pcm.length) return;
      pcm = pcm.subarray(skip);
      time += skip / AUDIO_BYTES_PER_MS;
    }
    this.clip!.addAudio(pcm, time);
  }

  /** Seals the oldest pre-roll frame (or sound) not yet sealed; the ring is free again after the last. */
  private sealPending(): void {
    const f = this.pending.shift()!;
    if (f.audio) this.addAudio(f.data, f.time);
    else this.clip!.addFrame(f.data, f.time);
    if (this.pending.length === 0) this.preRoll?.clear();
  }

  /** Time passes: closes a clip whose time is up, even if no frame arrives. */
  tick(now: number): void {
    if (this.event?.heldPoster && !this.event.sealed) this.notePoster(this.event.heldPoster);
    if (this.event?.sealed) this.makeEvent();
    if (this.clip && now > this.clipEnd) this.finishClip();
  }

  /** Closes the current clip now (e.g. before a reboot or a roster change). */
  finishClip(): ClipManifest | undefined {
    const clip = this.clip;
    if (!clip) return undefined;
    while (this.pending.length) this.sealPending();
    this.makeEvent(); // a clip closed before its first tick still tells the phones (without a poster if it had no frame)
    this.clip = undefined;
    const link = this.chain.next();
    const manifest: ClipManifest = {
      ...clip.finish(this.o.takeDropped?.() ?? [], link),
      trigger: this.trigger,
      preRoll: this.preRollHeld,
      ...(this.zones ? { zones: this.zones } : {}),
      // the board's sound, or null: no microphone, video only (left out when the host does not say: tests, benches)
      ...(this.o.audio === undefined ? {} : { audio: this.o.audio ? { track: 2 as const, codec: 'A_PCM/INT/LIT' as const, rate: 16000 as const, channels: 1 as const, bits: 16 as const, samples: clip.audioSamples } : null }),
    };
    const signed = signManifest(manifest, this.o.identity.key);
    this.chain.advance(link, signed.manifest);
    this.o.sink.end(clip.clipId, signed.manifest, signed.signature);
    this.log(`clip ${clip.clipId}: ${manifest.frames} frames, ${manifest.payloadSize} bytes sealed`);
    this.o.onClip?.(manifest);
    return manifest;
  }

  /** Idle time: one unit of background work. Returns true if there is more to do. */
  idle(): boolean {
    if (this.clip) {
      // the one idle job while recording: the pre-roll not yet sealed
      if (this.pending.length) this.sealPending();
      return this.pending.length > 0;
    }
    return this.pool.refillOne();
  }
}
