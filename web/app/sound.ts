/**
 * A clip's sound in the player: the audio track's PCM (16 kHz mono 16-bit, docs/clip-format.md)
 * laid out from the clip's start in one WebAudio buffer, played from where the frames are and
 * stopped, moved and restarted with them. The frames keep their own clock (the page's); the
 * sound starts at the same instant from the same place, so the two stay in step over a clip.
 * A clip without sound has no buffer and plays silently.
 */
import type { Frame } from '../../src/clip/mkv.js';

export const CLIP_RATE = 16_000;

/** Collects the audio track's blocks as the clip opens; `pcm()` lays them out from time 0. */
export class PcmCollector {
  private readonly blocks: { timestamp: number; samples: Int16Array }[] = [];

  readonly onAudio = (b: Frame): void => {
    const view = new DataView(b.data.buffer, b.data.byteOffset, b.data.byteLength);
    const samples = new Int16Array(b.data.byteLength >> 1);
    for (let i = 0; i < samples.length; i++) samples[i] = view.getInt16(i * 2, true);
    this.blocks.push({ timestamp: b.timestamp, samples });
  };

  /**
   * The samples from the clip's start. Blocks follow on from one another (their ms timestamps
   * are rounded); a block that starts clearly later than the last one ended (a gap in the
   * microphone's delivery) starts at its own time, with silence before it.
   */
  pcm(): Int16Array | undefined {
    if (!this.blocks.length) return undefined;
    const perMs = CLIP_RATE / 1000;
    const placed: { at: number; samples: Int16Array }[] = [];
    let end = 0;
    for (const b of this.blocks) {
      const own = Math.round(b.timestamp * perMs);
      const at = own > end + perMs ? own : end;
      placed.push({ at, samples: b.samples });
      end = at + b.samples.length;
    }
    const out = new Int16Array(end);
    for (const p of placed) out.set(p.samples, p.at);
    return out;
  }
}

/** What the player shows of its sound (and tests read). */
export interface SoundState {
  samples: number;
  /** seconds of sound */
  seconds: number;
  playing: boolean;
  /** where in the clip (ms) the sound last started or stopped */
  from: number;
  /** 'none' (no sound), 'idle', or the AudioContext's state once it exists */
  context: string;
}

export class ClipSound {
  readonly buffer: AudioBuffer | undefined;
  private context: AudioContext | undefined;
  private source: AudioBufferSourceNode | undefined;
  private startedAt = 0;
  private from = 0;

  constructor(pcm: Int16Array | undefined) {
    if (!pcm || !pcm.length || typeof AudioBuffer === 'undefined') return;
    this.buffer = new AudioBuffer({ length: pcm.length, numberOfChannels: 1, sampleRate: CLIP_RATE });
    const ch = this.buffer.getChannelData(0);
    for (let i = 0; i < pcm.length; i++) ch[i] = pcm[i] / 32768;
  }

  /** Plays from `ms` into the clip (a user's tap starts the AudioContext). */
  play(ms: number): void {
    this.stop(ms);
    if (!this.buffer || ms >= this.buffer.duration * 1000) return;
    try {
      this.context ??= new AudioContext();
    } catch {
      return; // no audio output here: the frames play on, silently
    }
    void this.context.resume().catch(() => undefined);
    const source = this.context.createBufferSource();
    source.buffer = this.buffer;
    source.connect(this.context.destination);
    source.start(0, ms / 1000);
    source.onended = () => {
      if (this.source === source) this.source = undefined;
    };
    this.source = source;
    this.startedAt = this.context.currentTime;
  }

  /** Stops the sound where the frames stopped, or moves it there (a seek). */
  stop(ms: number): void {
    const s = this.source;
    this.source = undefined;
    if (s) {
      s.onended = null;
      try {
        s.stop();
      } catch {
        // not started: nothing to stop
      }
      s.disconnect();
    }
    this.from = ms;
  }

  /** Where the sound is now, ms into the clip. */
  position(): number {
    return this.source && this.context ? this.from + (this.context.currentTime - this.startedAt) * 1000 : this.from;
  }

  state(): SoundState {
    const samples = this.buffer?.length ?? 0;
    return { samples, seconds: samples / CLIP_RATE, playing: this.source !== undefined, from: this.from, context: !this.buffer ? 'none' : (this.context?.state ?? 'idle') };
  }

  close(): void {
    this.stop(this.from);
    void this.context?.close().catch(() => undefined);
    this.context = undefined;
  }
}
