/**
 * XS entry for test/live-native.test.ts, run in the xsnap-sealbell worker
 * (tools/xs-native): live records sealed as on a device — the native AEAD's
 * incremental sealing (xs_aead.c through aead-shell.js) straight into a host
 * record buffer — must be the bytes noble makes.
 *
 * Reports `{ cases }` (runCases), then `{ liveVector }`: the opening and
 * records of docs/live-format.md's vector made again with the native backend
 * (the same seeded steps as test/live-vector.ts), for the test to compare with
 * test/vectors/live-v1.json.
 */
import { bytesToHex, equalBytes } from '../../src/bytes.js';
import { nobleAead } from '../../src/crypto/noble.js';
import type { Aead } from '../../src/crypto/backend.js';
import type { Alloc } from '../../src/host.js';
import { loadOrCreateIdentity } from '../../src/device/identity.js';
import { generateIdentity, identityToRecipient } from '../../src/age/x25519.js';
import { MemoryKeyValueStore } from '../../src/memory-store.js';
import { LiveSealer } from '../../src/live/sealer.js';
import { openLiveSession } from '../../src/live/opener.js';
import { MAX_LIVE_FRAME_BYTES } from '../../src/live/format.js';
import { report, runCases, type Case } from '../../tools/xs/guest.js';
import { hostAlloc, nativeAead } from '../../tools/xs-native/guest.js';
import { LIVE_VECTOR_SEED } from '../live-vector.js';
import { seededRandom } from '../seeded.js';

const native = nativeAead();

/** A sealer from a seeded generator: two made with the same seed have the same keys. */
function session(seed: string, aead: Aead, alloc?: Alloc) {
  const random = seededRandom(seed);
  const identity = generateIdentity(random);
  const device = loadOrCreateIdentity(new MemoryKeyValueStore(), random);
  const request = random(16);
  const start = Date.UTC(2026, 10, 26, 12, 0, 0);
  const sealer = new LiveSealer({
    aead, random, key: device.key, device: device.deviceId, session: '5e55104a1b2c3d4e', request,
    epoch: 3, start, width: 16, height: 8, recipient: identityToRecipient(identity), alloc,
  });
  return { sealer, identity, device, request, start };
}

function expect(cond: unknown, what: string): void {
  if (!cond) throw new Error(what);
}

/** Frame sizes around ChaCha20's 64-byte blocks and Poly1305's 16-byte ones (with the 7-byte prefix), up to the largest. */
const SIZES = [1, 8, 9, 56, 57, 58, 120, 121, 1000, 4096, 40_000, MAX_LIVE_FRAME_BYTES];
const frameOf = (n: number, fill: number) => {
  const f = hostAlloc(n);
  for (let i = 0; i < n; i++) f[i] = (i * 31 + fill) & 0xff;
  return f;
};

const cases: Case[] = [
  {
    name: 'native records (host record buffer, host frames) are the bytes noble makes, every size',
    run() {
      const a = session('live-native sizes', nobleAead);
      const b = session('live-native sizes', native, hostAlloc);
      expect(equalBytes(a.sealer.opening, b.sealer.opening), 'openings differ');
      SIZES.forEach((n, i) => {
        const frame = frameOf(n, i);
        const want = a.sealer.frame(frame.slice(), a.start + i).slice();
        const got = b.sealer.frame(frame, b.start + i);
        expect(equalBytes(got, want), `record of a ${n}-byte frame differs`);
      });
      expect(equalBytes(b.sealer.end('stopped', b.start + 99), a.sealer.end('stopped', a.start + 99)), 'end records differ');
    },
  },
  {
    name: 'the phone opens them; the frame buffer is untouched',
    run() {
      const s = session('live-native open', native, hostAlloc);
      const opener = openLiveSession(s.sealer.opening, {
        aead: nobleAead, identity: s.identity, devicePublicKey: s.device.key.publicKey, device: s.device.deviceId, request: s.request,
      });
      for (const n of [1, 777, MAX_LIVE_FRAME_BYTES]) {
        const frame = frameOf(n, n);
        const copy = frame.slice();
        const e = opener.open(s.sealer.frame(frame, s.start + n).slice());
        expect(e.t === 'frame' && equalBytes(e.data, copy), `the ${n}-byte frame did not come back`);
        expect(equalBytes(frame, copy), 'the sealer changed the frame');
      }
      const end = opener.open(s.sealer.end('timeout', s.start + 1e6).slice());
      expect(end.t === 'end', 'no end record');
    },
  },
];

runCases(cases);

// the vector's steps (test/live-vector.ts), sealed natively
const v = session(LIVE_VECTOR_SEED, native, hostAlloc);
const records: string[] = [];
for (const n of [1, 2, 3]) records.push(bytesToHex(v.sealer.frame(Uint8Array.of(0xff, 0xd8, 0xff, n, n, n, 0xff, 0xd9), v.start + n * 100)));
records.push(bytesToHex(v.sealer.end('timeout', v.start + 350)));
report({ liveVector: { opening: bytesToHex(v.sealer.opening), records } });
