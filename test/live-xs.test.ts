// Live view's core under real XS (xsnap, XS 13.3): the vector rebuilt byte for byte.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { evaluateCases, type CaseResult } from '../tools/xs/guest.js';
import { runUnderXs } from '../tools/xs/run.js';
import { cases, LIVE_VECTOR_DIGEST } from './xs/live-core.js';
import { ROOT } from './helpers.js';

const failures = (results: CaseResult[]) =>
  results
    .filter((r) => !r.ok)
    .map((r) => `${r.name}: ${r.error}`)
    .join('\n');

describe('live core under XS (xsnap, XS 13.3)', function () {
  this.timeout(300_000);

  it('the digest the XS entry checks is that of test/vectors/live-v1.json', () => {
    const file = JSON.parse(fs.readFileSync(path.join(ROOT, 'test/vectors/live-v1.json'), 'utf8'));
    assert.equal(createHash('sha256').update(JSON.stringify(file)).digest('hex'), LIVE_VECTOR_DIGEST);
  });

  it('the cases hold in Node (the reference)', () => {
    assert.equal(failures(evaluateCases(cases)), '');
  });

  it('the same cases pass under XS', async () => {
    const run = await runUnderXs('test/xs/live-core.ts', { root: ROOT });
    const results = (run.result as { cases: CaseResult[] } | undefined)?.cases;
    assert.ok(results, `the entry reported no results; output:\n${run.output.join('\n')}`);
    assert.deepEqual(results.map((r) => r.name), cases.map((c) => c.name));
    assert.equal(failures(results), '');
  });
});
