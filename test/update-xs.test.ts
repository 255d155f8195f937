/**
 * Firmware updates (src/update) under real XS (xsnap, XS 13.3): the documents' vectors and the
 * update state machine give the same results as in Node (test/xs/update-core.ts).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { evaluateCases, type CaseResult } from '../tools/xs/guest.js';
import { runUnderXs } from '../tools/xs/run.js';
import { cases } from './xs/update-core.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const failures = (results: CaseResult[]) =>
  results
    .filter((r) => !r.ok)
    .map((r) => `${r.name}: ${r.error}`)
    .join('\n');

describe('firmware updates under XS (xsnap, XS 13.3)', function () {
  this.timeout(300_000);

  it('the cases hold in Node (the reference)', () => {
    assert.equal(failures(evaluateCases(cases)), '');
  });

  it('the same cases pass under XS', async () => {
    const run = await runUnderXs('test/xs/update-core.ts', { root: ROOT });
    const results = (run.result as { cases: CaseResult[] } | undefined)?.cases;
    assert.ok(results, `the entry reported no results; output:\n${run.output.join('\n')}`);
    assert.deepEqual(results.map((r) => r.name), cases.map((c) => c.name));
    assert.equal(failures(results), '');
  });
});
