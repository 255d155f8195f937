/**
 * A core's cases in Node and under real XS (xsnap, XS 13.3): the same `cases` hold in Node (the
 * reference) and pass when `entry` runs them in an xsnap worker, in the same order.
 */
import assert from 'node:assert/strict';
import { evaluateCases, type CaseResult, type Case } from '../tools/xs/guest.js';
import { runUnderXs } from '../tools/xs/run.js';
import { ROOT } from './helpers.js';

const failures = (results: CaseResult[]) =>
  results
    .filter((r) => !r.ok)
    .map((r) => `${r.name}: ${r.error}`)
    .join('\n');

/** The two tests, inside a describe(): in Node, then under XS (`what` names what must agree). */
export function casesInNodeAndXs(entry: string, cases: Case[], what = 'the same cases pass under XS'): void {
  it('the cases hold in Node (the reference)', () => {
    assert.equal(failures(evaluateCases(cases)), '');
  });

  it(what, async () => {
    const run = await runUnderXs(entry, { root: ROOT });
    const results = (run.result as { cases: CaseResult[] } | undefined)?.cases;
    assert.ok(results, `the entry reported no results; output:\n${run.output.join('\n')}`);
    assert.deepEqual(results.map((r) => r.name), cases.map((c) => c.name));
    assert.equal(failures(results), '');
  });
}
