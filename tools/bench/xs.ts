/**
 * Cost of the portable (noble) ChaCha20-Poly1305 under XS, in XS `compute` meter
 * units: deterministic (same figure on every machine and run), roughly 33 x86
 * instructions per unit. Runs tools/bench/xs-seal-entry.ts under xsnap (XS 13.3)
 * through tools/xs/run.ts.
 *
 *   node dist/tools/bench/xs.js   # prints the figures
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { measure } from '../xs/run.js';

export const XS_SEAL_ENTRY = 'tools/bench/xs-seal-entry.ts';

export interface XsSealCost {
  /** bytes sealed per call */
  size: number;
  /** meter units of one seal of `size` bytes, the dispatch baseline subtracted */
  compute: number;
  /** the dispatch baseline that was subtracted (a no-op delivery with the same argument) */
  baseline: number;
}

/** Meter units for one noble seal of `size` bytes under XS (the harness's dispatch cost subtracted). */
export async function xsJsSealCost(root: string, size: number): Promise<XsSealCost> {
  const m = await measure(XS_SEAL_ENTRY, ['noop', 'seal'], { root, arg: size, runs: 2 });
  return { size, compute: m.seal.compute - m.noop.compute, baseline: m.noop.compute };
}

/** Meter units per byte to seal one 64 KiB age chunk with noble's ChaCha20-Poly1305 under XS. */
export async function xsJsSealPerByte(root: string): Promise<number> {
  const size = 64 * 1024;
  const { compute } = await xsJsSealCost(root, size);
  return compute / size;
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href;
if (isMain) {
  // dist/tools/bench/xs.js → the repository root
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  const perByte = await xsJsSealPerByte(root);
  const fixed = await xsJsSealCost(root, 0);
  console.log(`noble ChaCha20-Poly1305 seal under XS 13.3 (xsnap), 64 KiB: ${perByte.toFixed(1)} meter units/byte`);
  console.log(`  fixed cost per call (0-byte seal): ${fixed.compute} units; dispatch baseline ${fixed.baseline} units`);
  console.log(`  ≈ ${Math.round(perByte * 33)} x86 instructions/byte (at ~33 instructions per meter unit)`);
}
