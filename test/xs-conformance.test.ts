/**
 * The core under real XS (xsnap-worker, XS 13.3): the same `src/` code must give the
 * same bytes as in Node. Entries are bundled from their .ts sources (tools/xs).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleForXs, NodeBuiltinImportError } from '../tools/xs/bundle.js';
import { evaluateCases, type CaseResult } from '../tools/xs/guest.js';
import { measure, runUnderXs, XsRunError } from '../tools/xs/run.js';
import { XsExitError } from '../tools/xs/xsnap.js';
import { cases } from './xs/core-vectors.js';

/** dist/test/ → the repository root (entries are bundled from the .ts sources there). */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function failures(results: CaseResult[]): string {
  return results
    .filter((r) => !r.ok)
    .map((r) => `${r.name}: ${r.error}`)
    .join('\n');
}

describe('XS conformance (xsnap, XS 13.3)', function () {
  this.timeout(120_000);

  it('the core vectors hold in Node (the reference)', () => {
    const results = evaluateCases(cases);
    assert.equal(failures(results), '');
  });

  it('the core vectors pass under XS: same bytes as Node', async () => {
    const run = await runUnderXs('test/xs/core-vectors.ts', { root: ROOT, meterLimit: 1_000_000_000 });
    const results = (run.result as { cases: CaseResult[] } | undefined)?.cases;
    assert.ok(results, `the entry reported no results; output:\n${run.output.join('\n')}`);
    assert.deepEqual(
      results.map((r) => r.name),
      cases.map((c) => c.name),
      'every case ran under XS',
    );
    assert.equal(failures(results), '');
    assert.equal(run.output.filter((l) => l.startsWith('ok - ')).length, cases.length);
    assert.ok(run.meter.compute > 0);
  });

  it('Node-only globals fail under XS with a clear error', async () => {
    await assert.rejects(runUnderXs('test/xs/fixtures/node-only.ts', { root: ROOT }), (e: unknown) => {
      assert.ok(e instanceof XsRunError, String(e));
      assert.match(e.xsMessage ?? '', /ReferenceError.*Buffer/);
      assert.match(e.message, /node-only\.ts failed under XS/);
      assert.deepEqual(e.output, ['before Buffer']);
      return true;
    });
  });

  it('the bundler rejects node: imports, naming the module and the importer', async () => {
    await assert.rejects(bundleForXs('test/xs/fixtures/node-import.ts', { root: ROOT }), (e: unknown) => {
      assert.ok(e instanceof NodeBuiltinImportError, String(e));
      assert.deepEqual(e.imports, [{ module: 'node:crypto', importer: 'test/xs/fixtures/node-import.ts' }]);
      assert.match(e.message, /'node:crypto' \(imported by test\/xs\/fixtures\/node-import\.ts\)/);
      return true;
    });
  });

  it('a meter limit stops runaway work (worker exit code 17)', async () => {
    await assert.rejects(runUnderXs('test/xs/core-vectors.ts', { root: ROOT, meterLimit: 1_000_000 }), (e: unknown) => {
      assert.ok(e instanceof XsRunError, String(e));
      assert.ok(e.cause instanceof XsExitError, String(e.cause));
      assert.equal(e.cause.code, 17);
      return true;
    });
  });

  it('measures named ops deterministically, one delivery each', async () => {
    const m = await measure('tools/bench/xs-seal-entry.ts', ['noop', 'seal'], { root: ROOT, arg: 1024, runs: 2 });
    assert.equal(m.noop.computeRuns[0], m.noop.computeRuns[1]);
    assert.equal(m.seal.computeRuns[0], m.seal.computeRuns[1]);
    const perByte = (m.seal.compute - m.noop.compute) / 1024;
    assert.ok(perByte > 50 && perByte < 5000, `implausible cost: ${perByte} units/byte`);
  });
});
