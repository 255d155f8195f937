/**
 * The native DC-image decoder (hosts/moddable/native/jpeg_dc.c): built with the machine's C
 * compiler at -O2, and its x86-64 instructions per SVGA frame counted by callgrind (a run
 * decoding FRAMES times, less a run that only reads the file).
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const FRAMES = 10;

/** Builds build/native/jpeg-dc (test/native/jpeg-dc-main.c); its path, or why not. */
export async function buildJpegDc(root: string): Promise<{ bin?: string; why?: string }> {
  const native = join(root, 'hosts', 'moddable', 'native');
  const bin = join(root, 'build', 'native', 'jpeg-dc');
  await mkdir(join(root, 'build', 'native'), { recursive: true });
  try {
    await run('cc', ['-O2', '-std=c99', '-Wall', '-Wextra', '-Werror', `-I${native}`, '-o', bin, join(native, 'jpeg_dc.c'), join(root, 'test', 'native', 'jpeg-dc-main.c')]);
    return { bin };
  } catch (err) {
    return { why: `cc failed: ${String((err as { stderr?: string }).stderr ?? err).trim()}` };
  }
}

async function instructions(bin: string, file: string, times: number): Promise<number> {
  const out = `${file}.callgrind.${times}.out`;
  await run('valgrind', ['--tool=callgrind', `--callgrind-out-file=${out}`, bin, file, String(times)]);
  const m = /^(?:summary|totals):\s*(\d+)/m.exec(await readFile(out, 'utf8'));
  if (!m) throw new Error(`no summary line in ${out}`);
  return Number(m[1]);
}

/** x86-64 instructions to make the DC image of `jpeg` natively, or why it was not measured. */
export async function nativeMotionInstructions(root: string, jpeg: Uint8Array): Promise<number | string> {
  const { bin, why } = await buildJpegDc(root);
  if (!bin) return why!;
  const file = join(root, 'build', 'native', 'motion-frame.jpg');
  await writeFile(file, jpeg);
  try {
    const [full, empty] = await Promise.all([instructions(bin, file, FRAMES), instructions(bin, file, 0)]);
    return Math.round((full - empty) / FRAMES);
  } catch (err) {
    return `callgrind failed: ${String((err as { stderr?: string }).stderr ?? err).trim()}`;
  }
}
