/**
 * The board's microphone through the SDK's audio input (`pins/audioin`): the XIAO ESP32S3
 * Sense's PDM microphone (clock GPIO 42, data GPIO 41), 16 kHz, 16-bit, mono, as its board
 * manifest defines it (boards/xiao_esp32s3_sense/manifest.json, `defines.audioin`). Only that
 * board's build holds this module (as `sealbell/microphone`): platform.ts opens it when it is
 * there (microphone-loader.ts), so boards without a microphone build without the driver.
 *
 * `poll(now)` reads the samples that came since the last poll (at most what the I2S DMA
 * buffers hold: ~90 ms) into one buffer of host memory, reused, and says when the first was
 * taken. The host polls before each camera frame, so the sound reaches the clip in step.
 */
import AudioIn from 'pins/audioin';
import type { Alloc } from '../../src/host.js';
import type { MicrophoneSource } from './types.js';

/** The I2S driver's DMA buffers: 6 × 240 samples by default; more than that has been overwritten. */
const MAX_SAMPLES = 1440;

export class PdmMicrophone implements MicrophoneSource {
  readonly sampleRate: number;
  private readonly input: AudioIn;
  private readonly buffer: Uint8Array;
  private last: number | undefined;

  constructor(alloc: Alloc) {
    this.input = new AudioIn();
    if (this.input.bitsPerSample !== 16 || this.input.numChannels !== 1) throw new Error(`the microphone gives ${this.input.bitsPerSample}-bit ×${this.input.numChannels}, not 16-bit mono`);
    this.sampleRate = this.input.sampleRate;
    this.buffer = alloc(MAX_SAMPLES * 2);
  }

  poll(now: number): { pcm: Uint8Array; time: number } | undefined {
    const last = this.last ?? now;
    this.last = now;
    const samples = Math.min(MAX_SAMPLES, Math.round(((now - last) * this.sampleRate) / 1000));
    if (samples <= 0) return undefined;
    // the SDK types `read`'s buffer as an ArrayBuffer (offset in bytes): the one under our host-memory view
    this.input.read(samples, this.buffer.buffer as ArrayBuffer, this.buffer.byteOffset);
    return { pcm: this.buffer.subarray(0, samples * 2), time: now - (samples * 1000) / this.sampleRate };
  }

  close(): void {
    this.input.close();
  }
}
