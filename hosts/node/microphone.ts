/**
 * The hosted simulator's microphone: a test signal at the rate the boards record (16 kHz mono,
 * 16-bit little-endian PCM), so a clip's sound can be checked by ear and by test: a steady
 * 440 Hz tone at a quarter of full scale, and a click (a 2 ms full-scale square burst) at each
 * trigger the host reports. Every sample is a function of its absolute time, so the same
 * instant always sounds the same, in pre-roll or not.
 */
export const MIC_RATE = 16_000;
export const TONE_HZ = 440;
const TONE_AMPLITUDE = 8192;
const CLICK_AMPLITUDE = 30_000;
const CLICK_MS = 2;
/** samples per ms */
const PER_MS = MIC_RATE / 1000;

export class SyntheticMicrophone {
  readonly sampleRate = MIC_RATE;
  /** trigger times (ms since the Unix epoch), each heard as a click */
  private readonly clicks: number[] = [];

  /** A click at `time` (the host's trigger: the button). */
  click(time: number): void {
    this.clicks.push(time);
    if (this.clicks.length > 64) this.clicks.shift();
  }

  /** The samples from `from` up to (not including) `to`, ms since the Unix epoch (whole ms). */
  capture(from: number, to: number): Uint8Array {
    const n = Math.max(0, Math.round((to - from) * PER_MS));
    const out = new Uint8Array(n * 2);
    const view = new DataView(out.buffer);
    const first = Math.round(from * PER_MS);
    const clicks = this.clicks.filter((c) => c + CLICK_MS > from && c < to).map((c) => Math.round(c * PER_MS));
    for (let i = 0; i < n; i++) {
      const s = first + i;
      // the phase from the sample's absolute index (mod one second keeps the float exact)
      let v = Math.round(TONE_AMPLITUDE * Math.sin((2 * Math.PI * TONE_HZ * (s % MIC_RATE)) / MIC_RATE));
      for (const c of clicks) if (s >= c && s < c + CLICK_MS * PER_MS) v = (s - c) % 8 < 4 ? CLICK_AMPLITUDE : -CLICK_AMPLITUDE;
      view.setInt16(i * 2, v, true);
    }
    return out;
  }
}
