/**
 * The cost limits test/cost-limits.test.ts holds the deterministic benchmark figures to (the one
 * place they are kept; README "Benchmarks" describes them). Each figure is a `npm run bench` name;
 * a change that pushes one past its limit fails the suite, and raising a limit is a reviewed change
 * that says why. Limits leave ~10–15 % over the figure measured when set (in the comment), so a
 * toolchain's small drift passes and a real regression (a second pass over the bytes, a per-byte JS
 * loop) does not.
 */
export const COST_LIMITS = {
  /** callgrind, the device's ChaCha20-Poly1305 (-O2) sealing 64 KiB chunks incrementally: 26.9 */
  native_seal_x86_instructions_per_byte: 30,
  /**
   * XS meter units, a press with a ready header up to the first sealed chunk (JS only; sealing in C): 7,729; 8,016 with the
   * poster's fit check (the frame is too large for a poster here); 10,865 with the event notice (docs/event-format.md), which
   * without pre-roll must be sealed in the same frame call, after the chunk has gone to the sink (the camera's buffer is not
   * kept; ~2,600 units of JS, the bytes sealed in C; its signing waits for the next tick). With pre-roll it waits for the tick.
   */
  xs_trigger_to_first_chunk: 12_500,
  /** XS meter units, a press with 3 s of 40 KB pre-roll frames held, up to the first sealed chunk: 12,363 */
  xs_trigger_to_first_chunk_preroll: 14_200,
  /** XS meter units, a press with a ready header up to segment 0 going out: 8,411 */
  xs_trigger_ready: 9_700,
  /** XS meter units, building one 3-recipient age header (3 X25519 wraps): 6,587,765 */
  xs_header_3_recipients: 7_500_000,
  /** XS meter units per byte of frame up to the first chunk: 0 (every byte handled in C) */
  xs_trigger_to_first_chunk_units_per_frame_byte: 0.01,
  /** XS meter units, starting a live session (key wrap + one Ed25519 signature): 4,502,181 */
  xs_live_session_start: 5_200_000,
  /** XS meter units, sealing one small frame as a live record: 1,188 */
  xs_live_record_small_frame: 1_400,
  /** XS meter units per byte of a live frame: 0 (every byte handled in C) */
  xs_live_record_units_per_frame_byte: 0.01,
  /** XS meter units, the doorbell's SPAKE2+ verifier work for one setup attempt: 15,782,473 */
  xs_setup_spake2_verifier_total: 18_000_000,
} as const;

export type CostFigure = keyof typeof COST_LIMITS;
