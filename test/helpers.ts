/** Shared test fixtures: deterministic randomness, temp folders, external tools, recording clips in memory. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { chacha20 } from '@noble/ciphers/chacha.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes, concatBytes } from '../src/bytes.js';
import type { ClipSink, Random } from '../src/host.js';
import { Doorbell } from '../src/device/doorbell.js';
import { loadOrCreateIdentity } from '../src/device/identity.js';
import { nobleBackend } from '../src/crypto/noble.js';
import { generateIdentity, identityToRecipient } from '../src/age/x25519.js';
import type { KeyValueStore } from '../src/host.js';

export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

/** A reproducible byte stream (ChaCha20 keystream of a seed): for vectors and fuzzing, never for keys in use. */
export function seededRandom(seed: string): Random {
  const key = sha256(utf8ToBytes(seed));
  let counter = 0;
  return (n) => {
    const out = chacha20(key, new Uint8Array(12), new Uint8Array(n), undefined, counter);
    counter += Math.ceil(n / 64);
    return out;
  };
}

export function tempDir(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `sealbell-${name}-`));
}

/** The interop checkers are part of the test suite: missing one is a failure, not a skip. */
export function requireTool(tool: string): void {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
    throw new Error(`${tool} is not installed: .ci/run installs it (apt-get install age minisign ffmpeg)`);
  }
}

/** Runs a command; returns stdout, throws with stderr on failure. */
export function run(cmd: string, args: string[], input?: Uint8Array | string): string {
  return execFileSync(cmd, args, { input, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 1 << 28 }).toString();
}

export class MemoryStore implements KeyValueStore {
  readonly map = new Map<string, Uint8Array>();
  get(k: string) {
    return this.map.get(k);
  }
  set(k: string, v: Uint8Array) {
    this.map.set(k, v.slice());
  }
  delete(k: string) {
    this.map.delete(k);
  }
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
export function makeRig(seed: string, phones = 2, opts: { clipDuration?: number } = {}): TestRig {
  const random = seededRandom(seed);
  const sink = new MemorySink();
  const identity = loadOrCreateIdentity(new MemoryStore(), random);
  const ids = Array.from({ length: phones }, () => generateIdentity(random));
  const doorbell = new Doorbell({
    backend: nobleBackend,
    random,
    identity,
    sink,
    width: 320,
    height: 240,
    clipDuration: opts.clipDuration ?? 2000,
  });
  doorbell.setRecipients({ epoch: 1, recipients: ids.map(identityToRecipient) });
  return { doorbell, sink, phones: ids, devicePub: identity.publicKeyText, random };
}

/** Records one clip of `frames` frames at 10 fps starting at `t0`; returns it. */
export function recordClip(rig: TestRig, t0: number, frames: number, frameSize = 3000): RecordedClip {
  const id = rig.doorbell.press(t0);
  for (let i = 1; i <= frames; i++) rig.doorbell.frame(fakeFrame(i, frameSize), t0 + i * 100);
  rig.doorbell.finishClip();
  return rig.sink.clips.get(id)!;
}
