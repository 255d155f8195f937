/**
 * Live records sealed as on a device, under a real XS engine: the xsnap-sealbell
 * worker (tools/xs-native) runs the device's native AEAD (xs_aead.c, the C core,
 * aead-shell.js) with host buffers; test/xs/live-native.ts seals with it.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { buildNativeWorker } from '../tools/xs-native/build.js';
import type { CaseResult } from '../tools/xs/guest.js';
import { runUnderXs } from '../tools/xs/run.js';
import { ROOT } from './helpers.js';

describe('live records with the device natives under XS (xsnap + hosts/moddable/native)', function () {
  this.timeout(300_000);
  let run: Awaited<ReturnType<typeof runUnderXs>> | undefined;

  // no compiler, xsnap or XS sources fails here with what is missing (CI installs them): never a skip
  before(async () => {
    run = await runUnderXs('test/xs/live-native.ts', { root: ROOT, bin: await buildNativeWorker(ROOT) });
  });

  it('native records are byte-identical to noble for every frame size, and open', () => {
    const cases = (run!.reports.find((r) => (r as { cases?: unknown }).cases) as { cases: CaseResult[] } | undefined)?.cases;
    assert.ok(cases && cases.length === 2, `no results; output:\n${run!.output.join('\n')}`);
    assert.deepEqual(cases.filter((c) => !c.ok), []);
  });

  it('with the native backend and a host record buffer, XS reproduces the live vector byte for byte', () => {
    const v = JSON.parse(fs.readFileSync(path.join(ROOT, 'test/vectors/live-v1.json'), 'utf8'));
    const got = (run!.reports.find((r) => (r as { liveVector?: unknown }).liveVector) as { liveVector: { opening: string; records: string[] } }).liveVector;
    assert.equal(got.opening, v.opening);
    assert.deepEqual(got.records, v.records.map((r: { record: string }) => r.record));
  });
});
