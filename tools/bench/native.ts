/**
 * Cost of the device's native ChaCha20-Poly1305 (hosts/moddable/native) in
 * x86-64 instructions per byte, counted by valgrind's callgrind (deterministic,
 * unlike wall time). Seals CHUNKS chunks of 64 KiB with test/native/bench-main.c
 * and subtracts a run sealing nothing, so process startup does not count.
 * The figure is for the path the device runs: each chunk sealed incrementally
 * from frame-shaped pieces (sb_aead_stream_*); `oneshot` measures sb_aead_seal.
 *
 * Standalone: `node dist/tools/bench/native.js` prints the figure.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const CHUNKS = 16;
const CHUNK_BYTES = 65536;

function missing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

export type NativeSealMode = 'incremental' | 'oneshot';

/** Instructions (Ir) of one callgrind run of `bin chunks mode`. */
async function callgrindInstructions(bin: string, chunks: number, mode: NativeSealMode): Promise<number> {
  const outFile = `${bin}.callgrind.${mode}.${chunks}.out`;
  await run('valgrind', ['--tool=callgrind', `--callgrind-out-file=${outFile}`, bin, String(chunks), mode]);
  const text = await readFile(outFile, 'utf8');
  const m = /^(?:summary|totals):\s*(\d+)/m.exec(text);
  if (!m) throw new Error(`no summary line in ${outFile}`);
  return Number(m[1]);
}

/**
 * x86-64 instructions per byte for sealing 64 KiB chunks with the native core
 * compiled at -O2, or a sentence saying why it could not be measured.
 */
export async function nativeSealInstructionsPerByte(root: string, mode: NativeSealMode = 'incremental'): Promise<number | string> {
  const native = join(root, 'hosts', 'moddable', 'native');
  const bin = join(root, 'build', 'native', 'aead-bench');
  await mkdir(dirname(bin), { recursive: true });
  try {
    await run('cc', ['-O2', '-std=c99', '-Wall', '-Wextra', '-Werror', `-I${native}`, '-o', bin,
      join(native, 'chacha20poly1305.c'), join(root, 'test', 'native', 'bench-main.c')]);
  } catch (err) {
    if (missing(err)) return 'no C compiler (cc) on PATH';
    return `cc failed: ${String((err as { stderr?: string }).stderr ?? err).trim()}`;
  }
  try {
    await run('valgrind', ['--version']);
  } catch (err) {
    return missing(err) ? 'valgrind not installed' : `valgrind does not run: ${String(err)}`;
  }
  try {
    const [full, empty] = await Promise.all([callgrindInstructions(bin, CHUNKS, mode), callgrindInstructions(bin, 0, mode)]);
    return (full - empty) / (CHUNKS * CHUNK_BYTES);
  } catch (err) {
    return `callgrind failed: ${String((err as { stderr?: string }).stderr ?? err).trim()}`;
  }
}

// dist/tools/bench/native.js run directly
const self = fileURLToPath(import.meta.url);
if (process.argv[1] !== undefined && resolve(process.argv[1]) === self) {
  const root = resolve(dirname(self), '..', '..', '..');
  for (const mode of ['incremental', 'oneshot'] as const) {
    const r = await nativeSealInstructionsPerByte(root, mode);
    console.log(
      typeof r === 'number'
        ? `native ChaCha20-Poly1305 seal, ${mode} (-O2, ${CHUNKS} x 64 KiB): ${r.toFixed(2)} x86-64 instructions/byte`
        : `native ChaCha20-Poly1305 seal, ${mode}: not measured (${r})`,
    );
  }
}
