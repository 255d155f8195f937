/**
 * XS entry for test/xs-native.test.ts, run in the xsnap-sealbell worker
 * (tools/xs-native): the device's XS binding (hosts/moddable/native/xs_aead.c,
 * through the same JS shell as aead.js) and host buffers (hostbuffer.c) under
 * a real XS engine, against noble and the core's reference STREAM sealer.
 *
 * Reports `{ cases }` (runCases) and then `{ clipVector }`: the clip-format
 * vector (test/vectors/clip-v1.json) made again with the native backend, for
 * the test to compare byte for byte.
 */
import { bytesToHex, equalBytes, hexToBytes } from '../../src/bytes.js';
import { PreRoll } from '../../src/device/preroll.js';
import { nobleAead, nobleBackend } from '../../src/crypto/noble.js';
import type { Aead, CryptoBackend } from '../../src/crypto/backend.js';
import { StreamSealer } from '../../src/age/stream.js';
import { StreamWriter } from '../../src/age/stream-writer.js';
import { Doorbell } from '../../src/device/doorbell.js';
import { loadOrCreateIdentity } from '../../src/device/identity.js';
import { generateIdentity, identityToRecipient } from '../../src/age/x25519.js';
import { MemoryKeyValueStore } from '../../src/memory-store.js';
import type { ClipSink } from '../../src/host.js';
import { concatBytes } from '../../src/bytes.js';
import { prng, seededRandom } from '../seeded.js';
import { report, runCases, type Case } from '../../tools/xs/guest.js';
import { hostAlloc, nativeAead } from '../../tools/xs-native/guest.js';

const native = nativeAead();
const random = seededRandom('xs-native cases');
const key = random(32);

/** All chunks of one STREAM, concatenated. */
function sealStream(make: (onChunk: (c: Uint8Array) => void) => { write(d: Uint8Array): void; close(): void }, pieces: Uint8Array[]): Uint8Array {
  const chunks: Uint8Array[] = [];
  const s = make((c) => chunks.push(c.slice()));
  for (const p of pieces) s.write(p);
  s.close();
  return concatBytes(...chunks);
}

/** `data` cut into pieces of 0..2×typical bytes (some empty), reproducibly. */
function split(data: Uint8Array, typical: number, seed: number): Uint8Array[] {
  const r = prng(seed);
  const pieces: Uint8Array[] = [];
  for (let off = 0; off < data.length; ) {
    const n = Math.min(data.length - off, r.int(2 * typical + 1));
    pieces.push(data.subarray(off, off + n));
    off += n;
  }
  return pieces;
}

const expectThrow = (fn: () => unknown, pattern: RegExp, what: string): void => {
  try {
    fn();
  } catch (e) {
    if (!pattern.test(String((e as Error).message))) throw new Error(`${what}: wrong error: ${(e as Error).message}`);
    return;
  }
  throw new Error(`${what}: accepted`);
};

const cases: Case[] = [
  {
    name: 'native one-shot seal and open equal noble (lengths 0..70,000)',
    run() {
      for (const len of [0, 1, 15, 16, 17, 63, 64, 65, 1000, 65536, 70_000]) {
        const nonce = random(12), pt = random(len);
        const sealed = native.seal(key, nonce, pt);
        if (!equalBytes(sealed, nobleAead.seal(key, nonce, pt))) return `seal differs at ${len}`;
        if (!equalBytes(native.open(key, nonce, sealed), pt)) return `open differs at ${len}`;
        if (len) {
          sealed[0] ^= 1;
          expectThrow(() => native.open(key, nonce, sealed), /authentication failed/, `tampered open at ${len}`);
        }
      }
    },
  },
  {
    name: 'StreamWriter on the native incremental AEAD and a host buffer = StreamSealer (one-shot) for chunk-edge lengths and random pieces',
    run() {
      const lengths = [0, 1, 65535, 65536, 65537, 131072, 131073, 200_000];
      lengths.forEach((len, i) => {
        const data = random(len);
        const reference = sealStream((on) => new StreamSealer(native, key, on), [data]);
        for (const typical of [1, 100, 5000, 40_000, 70_000]) {
          const got = sealStream((on) => new StreamWriter(native, key, on, hostAlloc), split(data, typical, i * 7 + typical));
          if (!equalBytes(got, reference)) throw new Error(`length ${len}, pieces ~${typical}: differs`);
        }
      });
    },
  },
  {
    name: 'native StreamWriter = noble StreamWriter = noble StreamSealer (noble under XS as the reference)',
    run() {
      const data = random(140_000);
      const reference = sealStream((on) => new StreamSealer(nobleAead, key, on), [data]);
      const pieces = split(data, 30_000, 99);
      if (!equalBytes(sealStream((on) => new StreamWriter(native, key, on, hostAlloc), pieces), reference)) return 'native differs';
      if (!equalBytes(sealStream((on) => new StreamWriter(nobleAead, key, on), pieces), reference)) return 'noble StreamWriter differs';
    },
  },
  {
    name: 'a piece may be reused once written (camera buffers are)',
    run() {
      const frame = random(50_000);
      const copy = frame.slice();
      const chunks: Uint8Array[] = [];
      const w = new StreamWriter(native, key, (c) => chunks.push(c.slice()), hostAlloc);
      w.write(frame);
      frame.fill(0);
      w.close();
      if (!equalBytes(concatBytes(...chunks), sealStream((on) => new StreamSealer(native, key, on), [copy]))) return 'output changed';
    },
  },
  {
    name: 'in-place pieces work; misuse of the binding is a clear error, not a crash',
    run() {
      const s = native.sealStream();
      const nonce = random(12), nonce2 = random(12);
      const out = hostAlloc(1000);
      const pt = random(300);
      expectThrow(() => s.update(pt), /no message begun/, 'update before begin');
      s.begin(key, nonce, out);
      out.set(pt.subarray(0, 100), 0);
      s.update(out.subarray(0, 100)); // in place
      s.update(pt.subarray(100));
      if (s.length !== 300) return `length ${s.length}`;
      if (!equalBytes(s.finish(nonce2), nobleAead.seal(key, nonce2, pt))) return 'in-place + finish under a new nonce differs';
      expectThrow(() => s.finish(), /no message begun/, 'finish twice');
      s.begin(key, nonce, out);
      s.update(random(10));
      expectThrow(() => s.update(out.subarray(5, 20)), /overlap/, 'overlapping piece');
      expectThrow(() => s.update(random(980)), /output too small/, 'piece past the buffer (tag room)');
      expectThrow(() => s.begin(key.subarray(1), nonce, out), /key must be 32 bytes/, 'short key');
      expectThrow(() => s.finish(random(11)), /nonce must be 12 bytes/, 'short finish nonce');
      const Stream = (globalThis as unknown as { sealbellNative: { SealStream: { prototype: { begin: (...a: unknown[]) => void } } } }).sealbellNative.SealStream;
      expectThrow(() => Stream.prototype.begin.call({}, key, nonce), /no host object|closed/, 'wrong this');
    },
  },
];

runCases(cases);

// The clip-format vector, exactly as test/clip-vectors.test.ts makes it, sealed natively into a host buffer.
{
  const backend: CryptoBackend = { name: 'native (xs-native)', aead: native as Aead, sha256: nobleBackend.sha256 };
  const r = seededRandom('sealbell clip vector 1');
  const identity = generateIdentity(r);
  const device = loadOrCreateIdentity(new MemoryKeyValueStore(), r);
  const segments: Uint8Array[] = [];
  let manifest = '';
  let signature = '';
  const sink: ClipSink = {
    begin() {},
    segment: (_id, _i, bytes) => segments.push(bytes.slice()),
    end(_id, m, s) {
      manifest = new TextDecoder().decode(m);
      signature = s;
    },
  };
  // the pre-roll ring in host memory, as on the device
  const preRoll = new PreRoll({ duration: 1000, capacity: 1024, alloc: hostAlloc });
  const doorbell = new Doorbell({ backend, random: r, identity: device, sink, width: 16, height: 8, headerPoolSize: 1, alloc: hostAlloc, preRoll });
  doorbell.setRecipients({ epoch: 3, recipients: [identityToRecipient(identity)] });
  doorbell.idle();
  const startTime = Date.UTC(2026, 10, 26, 12, 0, 0);
  const frame = (n: number) => doorbell.frame(hexToBytes('ffd8' + bytesToHex(Uint8Array.of(n, n, n)) + 'ffd9'), startTime + n * 100);
  frame(1);
  frame(2);
  doorbell.press(startTime + 250);
  frame(3);
  doorbell.finishClip();
  report({ clipVector: { ageHex: bytesToHex(concatBytes(...segments)), manifest, signature } });
}
