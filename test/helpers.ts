/** Shared test fixtures: deterministic randomness, temp folders, external tools, recording clips in memory. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { concatBytes } from '../src/bytes.js';
import { SealbellError } from '../src/errors.js';
import { MemoryKeyValueStore } from '../src/memory-store.js';
import { seededRandom } from './seeded.js';
import type { ClipSink, Random } from '../src/host.js';
import { Doorbell } from '../src/device/doorbell.js';
import { loadOrCreateIdentity } from '../src/device/identity.js';
import { nobleBackend } from '../src/crypto/noble.js';
import { anyIdentityToRecipient, generateAgeIdentity, type Kem } from '../src/age/recipients.js';

export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

export { seededRandom, prng } from './seeded.js';

export function tempDir(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `sealbell-${name}-`));
}

/** The interop checkers are part of the test suite: missing one is a failure, not a skip. */
export function requireTool(tool: string): void {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
    throw new Error(`${tool} is not installed: .ci/run installs it (apt-get install age minisign ffmpeg)`);
  }
}

/**
 * The seed of a random test: `env` (e.g. SEALBELL_TEST_SEED) when set, so a failing run replays,
 * else a fresh one. Printed either way, so the run that failed can be replayed.
 */
export function testSeed(what: string, env = 'SEALBELL_TEST_SEED'): string {
  const seed = process.env[env] || `${Date.now() % 1_000_000}`;
  console.log(`    (${what}: seed ${seed}; replay with ${env}=${seed})`);
  return seed;
}

/** FUZZ_CASES (else `fallback`): a fuzz test refuses to run with no cases, rather than passing having checked nothing. */
export function fuzzCases(fallback: number): number {
  const raw = process.env.FUZZ_CASES;
  const n = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`FUZZ_CASES=${raw}: a fuzz run needs at least 1 case`);
  return n;
}

/** Runs a command; returns stdout, throws with stderr on failure. */
export function run(cmd: string, args: string[], input?: Uint8Array | string): string {
  return execFileSync(cmd, args, { input, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 1 << 28 }).toString();
}

export { MemoryKeyValueStore as MemoryStore } from '../src/memory-store.js';

/** Runs `fn`, which must throw a SealbellError; returns its code. */
export function errorCode(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof SealbellError, `expected a SealbellError, got ${e}`);
    return e.code;
  }
  assert.fail('accepted');
}

export interface RecordedClip {
  id: string;
  age: Uint8Array;
  manifest: Uint8Array;
  signature: string;
  segments: Uint8Array[];
}

/** A ClipSink keeping whole clips in memory (copies each segment: the sealer reuses its buffer). */
export class MemorySink implements ClipSink {
  readonly clips = new Map<string, RecordedClip>();
  begin(id: string) {
    this.clips.set(id, { id, age: new Uint8Array(0), manifest: new Uint8Array(0), signature: '', segments: [] });
  }
  segment(id: string, index: number, bytes: Uint8Array) {
    const c = this.clips.get(id)!;
    if (index !== c.segments.length) throw new Error(`segment ${index} out of order`);
    c.segments.push(bytes.slice());
  }
  end(id: string, manifest: Uint8Array, signature: string) {
    const c = this.clips.get(id)!;
    c.age = concatBytes(...c.segments);
    c.manifest = manifest;
    c.signature = signature;
  }
}

/** Small distinct fake JPEG-sized frames (the container does not parse JPEG). */
export function fakeFrame(n: number, size = 3000): Uint8Array {
  const f = new Uint8Array(size);
  for (let i = 0; i < size; i++) f[i] = (i * 31 + n * 7) & 0xff;
  f[0] = 0xff;
  f[1] = 0xd8;
  return f;
}

export interface TestRig {
  doorbell: Doorbell;
  sink: MemorySink;
  phones: string[];
  devicePub: string;
  random: Random;
}

/** A doorbell on the real core with in-memory host parts, sealing to `phones` new identities. */
export function makeRig(seed: string, phones = 2, opts: { clipDuration?: number; kem?: Kem } = {}): TestRig {
  const random = seededRandom(seed);
  const sink = new MemorySink();
  const identity = loadOrCreateIdentity(new MemoryKeyValueStore(), random);
  const ids = Array.from({ length: phones }, () => generateAgeIdentity(opts.kem ?? 'x25519', random));
  const doorbell = new Doorbell({
    backend: nobleBackend,
    random,
    identity,
    sink,
    width: 320,
    height: 240,
    clipDuration: opts.clipDuration ?? 2000,
  });
  doorbell.setRecipients({ epoch: 1, recipients: ids.map(anyIdentityToRecipient) });
  return { doorbell, sink, phones: ids, devicePub: identity.publicKeyText, random };
}

/** Records one clip of `frames` frames at 10 fps starting at `t0`; returns it. */
export function recordClip(rig: TestRig, t0: number, frames: number, frameSize = 3000): RecordedClip {
  const id = rig.doorbell.press(t0);
  for (let i = 1; i <= frames; i++) rig.doorbell.frame(fakeFrame(i, frameSize), t0 + i * 100);
  rig.doorbell.finishClip();
  return rig.sink.clips.get(id)!;
}
