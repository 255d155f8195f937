/**
 * The deterministic cost figures of `npm run bench` stay within their limits (tools/bench/limits.ts):
 * the native AEAD's x86 instructions per byte (callgrind) and the XS meter units of a press, a
 * header, a live session and a setup attempt. Both counts are exact, not timed, so a busy machine
 * does not move them. The figures come from the benchmark code itself (tools/bench), measured here.
 */
import assert from 'node:assert/strict';
import { xsTrigger } from '../tools/bench/index.js';
import { xsLiveRecordCost, xsLiveStartCost } from '../tools/bench/live.js';
import { COST_LIMITS, type CostFigure } from '../tools/bench/limits.js';
import { nativeSealInstructionsPerByte } from '../tools/bench/native.js';
import { setupCosts } from '../tools/bench/setup.js';
import { buildNativeWorker } from '../tools/xs-native/build.js';
import { ROOT } from './helpers.js';

type Figures = Record<string, number | string>;

function withinLimit(figures: Figures, name: CostFigure): void {
  const value = figures[name];
  assert.equal(typeof value, 'number', `${name} was not measured: ${value}`);
  const limit = COST_LIMITS[name];
  assert.ok((value as number) <= limit, `${name} is ${value}, above its limit ${limit} (tools/bench/limits.ts)`);
}

describe('cost limits (deterministic benchmark figures, tools/bench/limits.ts)', function () {
  this.timeout(600_000);

  it('the native ChaCha20-Poly1305 seals in at most the limit of x86 instructions per byte (callgrind)', async () => {
    // a missing cc or valgrind comes back as a sentence, which fails here naming it
    const perByte = await nativeSealInstructionsPerByte(ROOT, 'incremental');
    console.log(`      native_seal_x86_instructions_per_byte ${typeof perByte === 'number' ? perByte.toFixed(2) : perByte}`);
    withinLimit({ native_seal_x86_instructions_per_byte: perByte }, 'native_seal_x86_instructions_per_byte');
  });

  describe('XS meter units (xsnap with the device natives)', () => {
    // the worker with the device's C sealing: without it the press figures would measure a stand-in
    before(async () => {
      await buildNativeWorker(ROOT);
    });

    it('a press: trigger, first chunk and a 3-recipient header within their limits; no JS work per frame byte', async () => {
      const f = await xsTrigger();
      console.log(`      ${JSON.stringify(f)}`);
      assert.equal(f.xs_trigger_to_first_chunk_sealing, 'native C (xs-native)');
      for (const name of ['xs_trigger_ready', 'xs_trigger_to_first_chunk', 'xs_trigger_to_first_chunk_preroll', 'xs_header_3_recipients', 'xs_trigger_to_first_chunk_units_per_frame_byte'] as const) {
        withinLimit(f, name);
      }
    });

    it('live view: a session start and a record within their limits; no JS work per frame byte', async () => {
      const f: Figures = { ...(await xsLiveStartCost(ROOT)), ...(await xsLiveRecordCost(ROOT)) };
      console.log(`      ${JSON.stringify(f)}`);
      for (const name of ['xs_live_session_start', 'xs_live_record_small_frame', 'xs_live_record_units_per_frame_byte'] as const) {
        withinLimit(f, name);
      }
    });

    it('setup: the doorbell\'s SPAKE2+ work for one attempt within its limit', async () => {
      const f = await setupCosts(ROOT);
      console.log(`      xs_setup_spake2_verifier_total ${f.xs_setup_spake2_verifier_total}`);
      withinLimit(f, 'xs_setup_spake2_verifier_total');
    });
  });
});
