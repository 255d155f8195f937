/**
 * The device's native code under a real XS engine: tools/xs-native builds
 * @agoric/xsnap's worker (XS 13.3) with hosts/moddable/native/{xs_aead.c,
 * chacha20poly1305.c, hostbuffer.c} built in, so the XS binding, the JS shell
 * (aead-shell.js) and host buffers run here as on a device.
 *
 * Memory: the streaming path (press → frames → sealed chunks out) keeps no
 * 64 KiB buffer in the XS heap, and the whole clip lifecycle runs in a
 * fixed-size heap with the room the lilygo_t_camera_plus_s3 target gives XS by
 * default (78,848 bytes of chunks, 4,928 slots) beyond the loaded code.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildNativeWorker } from '../tools/xs-native/build.js';
import type { CaseResult } from '../tools/xs/guest.js';
import { runUnderXs } from '../tools/xs/run.js';
import { measureStreamHeap, LILYGO_DEFAULT_HEAP } from '../tools/bench/xs-stream.js';
import { CHUNK_SIZE, SEALED_CHUNK_SIZE } from '../src/age/stream.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('device natives under XS (xsnap + hosts/moddable/native)', function () {
  this.timeout(300_000);
  let bin = '';

  // no compiler, xsnap or XS sources fails here with what is missing (CI installs them): never a skip
  before(async () => {
    bin = await buildNativeWorker(ROOT);
  });

  /** test/xs/native-cases.ts, run once for the two tests that read it */
  let casesRun: ReturnType<typeof runUnderXs> | undefined;
  const nativeCases = () => (casesRun ??= runUnderXs('test/xs/native-cases.ts', { root: ROOT, bin }));

  it('the XS binding seals byte-identically to noble, incrementally too, and rejects misuse clearly', async () => {
    const run = await nativeCases();
    const cases = (run.reports.find((r) => (r as { cases?: unknown }).cases) as { cases: CaseResult[] } | undefined)?.cases;
    assert.ok(cases && cases.length >= 5, `no results; output:\n${run.output.join('\n')}`);
    assert.deepEqual(cases.filter((c) => !c.ok), []);
  });

  it('with the native backend and a host chunk buffer, XS reproduces the clip-format vector byte for byte', async () => {
    const v = JSON.parse(fs.readFileSync(path.join(ROOT, 'test/vectors/clip-v1.json'), 'utf8'));
    const run = await nativeCases();
    const got = (run.reports.find((r) => (r as { clipVector?: unknown }).clipVector) as { clipVector: Record<string, string> }).clipVector;
    assert.equal(got.ageHex, v.ageHex);
    assert.equal(got.manifest, v.manifest);
    assert.equal(got.signature, v.signature);
  });

  it('streaming keeps no 64 KiB buffer in the XS heap; the same measure sees one when Alloc is the XS heap', async () => {
    const host = await measureStreamHeap(ROOT, { bin, alloc: 'host', frames: 60 });
    const xs = await measureStreamHeap(ROOT, { bin, alloc: 'xs', frames: 60 });
    assert.ok(host.chunksOut >= 20 && host.chunksOut === xs.chunksOut, `${host.chunksOut} chunks went out`);
    // above the idle doorbell, at the peak of the press or any frame, garbage included (no collection
    // needed): within the lilygo default heap
    assert.ok(host.streamPeak.chunks < LILYGO_DEFAULT_HEAP.chunks / 2, `${host.streamPeak.chunks} bytes of chunks above idle while streaming`);
    assert.ok(host.streamPeak.slots < LILYGO_DEFAULT_HEAP.slots / 2, `${host.streamPeak.slots} slots above idle while streaming`);
    // the clip's live data while it records, host Alloc: no buffer in the heap
    assert.ok(host.clipLive.chunks < 4 * 1024, `${host.clipLive.chunks} live bytes of chunks held by the recording clip`);
    // control: the chunk buffer in the XS heap shows up as one, and only one, 64 KiB buffer
    assert.ok(xs.clipLive.chunks >= SEALED_CHUNK_SIZE && xs.clipLive.chunks < SEALED_CHUNK_SIZE + CHUNK_SIZE, `${xs.clipLive.chunks}`);
  });

  it(`the whole clip lifecycle runs in a fixed heap with the lilygo default room (${LILYGO_DEFAULT_HEAP.chunks} chunk bytes, ${LILYGO_DEFAULT_HEAP.slots} slots)`, async () => {
    const r = await measureStreamHeap(ROOT, { bin, alloc: 'host', frames: 40, fixedRoom: LILYGO_DEFAULT_HEAP });
    assert.equal(r.fixed?.outcome, 'completed');
    assert.ok(r.fixed!.room.chunks <= LILYGO_DEFAULT_HEAP.chunks && r.fixed!.room.slots <= LILYGO_DEFAULT_HEAP.slots);
    assert.ok(r.chunksOut >= 10);
  });

  it('a fixed heap too small for the work fails with out-of-memory (the check can fail)', async () => {
    const r = await measureStreamHeap(ROOT, { bin, alloc: 'host', frames: 5, fixedRoom: { chunks: LILYGO_DEFAULT_HEAP.chunks, slots: 300 } });
    assert.match(r.fixed?.outcome ?? '', /out of memory/);
  });
});
