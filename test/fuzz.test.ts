// Random mutations of sealed clips, manifests and signatures: the opening side
// must never crash, hang or accept anything that was changed. 10,000+ cases a run;
// set FUZZ_SEED to replay a run, FUZZ_CASES to run more.
import assert from 'node:assert/strict';
import { ClipOpener } from '../src/clip/opener.js';
import { verifySignedManifest } from '../src/clip/signed-manifest.js';
import { decodePublicKey } from '../src/minisign.js';
import { nobleBackend } from '../src/crypto/noble.js';
import { concatBytes, equalBytes, utf8ToBytes } from '../src/bytes.js';
import { SealbellError } from '../src/errors.js';
import { parseHeader } from '../src/age/format.js';
import { MkvReader } from '../src/clip/mkv.js';
import { fuzzCases, makeRig, prng, recordClip } from './helpers.js';

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
const CASES = fuzzCases(10_000);

type Mutation = (b: Uint8Array) => Uint8Array;

function mutations(r: ReturnType<typeof prng>, donor: Uint8Array): Mutation[] {
  const pos = (b: Uint8Array) => r.int(Math.max(1, b.length));
  return [
    (b) => { const c = b.slice(); c[pos(c)] ^= 1 << r.int(8); return c; },                      // flip a bit
    (b) => { const c = b.slice(); for (let k = 0; k < 1 + r.int(8); k++) c[pos(c)] = r.int(256); return c; }, // scribble
    (b) => b.subarray(0, pos(b)),                                                                 // truncate
    (b) => { const p = pos(b); return concatBytes(b.subarray(0, p), b.subarray(p + 1 + r.int(64))); }, // delete a run
    (b) => { const p = pos(b); return concatBytes(b.subarray(0, p), Uint8Array.of(r.int(256)), b.subarray(p)); }, // insert a byte
    (b) => { const p = pos(b); const n = 1 + r.int(4096); return concatBytes(b.subarray(0, p), b.subarray(p, p + n), b.subarray(p)); }, // duplicate a run
    (b) => { const p = pos(b); const q = pos(donor); return concatBytes(b.subarray(0, p), donor.subarray(q, q + 1 + r.int(70_000)), b.subarray(p + r.int(70_000))); }, // splice from another
    (b) => concatBytes(b, donor.subarray(0, 1 + r.int(100))),                                      // append
  ];
}

describe(`fuzzing the opening side (seed ${SEED})`, function () {
  this.timeout(600_000);
  const rig = makeRig('fuzz');
  // two chunks: fast enough for thousands of full opens
  const clip = recordClip(rig, 1_800_000_000_000, 14, 5_000);
  const other = recordClip(rig, 1_800_000_050_000, 14, 5_000);
  const device = decodePublicKey(rig.devicePub);
  const manifest = verifySignedManifest(clip.manifest, clip.signature, device);

  function openClip(age: Uint8Array): boolean {
    const opener = new ClipOpener({ backend: nobleBackend, identities: [rig.phones[0]], manifest });
    opener.push(age);
    opener.end();
    return true;
  }

  function accepted(fn: () => unknown): boolean {
    try {
      fn();
      return true;
    } catch (e) {
      if (!(e instanceof SealbellError)) throw new Error(`crash instead of a clear error: ${(e as Error).stack}`);
      return false;
    }
  }

  it(`${CASES} mutated clips, manifests and signatures: clear errors, nothing changed accepted`, function () {
    const r = prng(SEED);
    const clipMutations = mutations(r, other.age);
    const textMutations = mutations(r, other.manifest);
    let rejected = 0;
    for (let i = 0; i < CASES; i++) {
      const what = r.int(10);
      if (what < 6) {
        const age = clipMutations[r.int(clipMutations.length)](clip.age);
        if (accepted(() => openClip(age))) assert.ok(equalBytes(age, clip.age), `case ${i}: a changed clip was accepted`);
        else rejected++;
      } else if (what < 8) {
        const m = textMutations[r.int(textMutations.length)](clip.manifest);
        if (accepted(() => verifySignedManifest(m, clip.signature, device))) assert.ok(equalBytes(m, clip.manifest), `case ${i}: a changed manifest was accepted`);
        else rejected++;
      } else {
        const sigBytes = utf8ToBytes(clip.signature);
        const s = new TextDecoder().decode(textMutations[r.int(textMutations.length)](sigBytes));
        // The untrusted comment (line 1) is not signed by design, and base64 lines may carry white space;
        // everything signed must be unchanged.
        const signed = (t: string) => t.split('\n').slice(1, 4).map((l, k) => (k === 1 ? l : l.trim()));
        if (accepted(() => verifySignedManifest(clip.manifest, s, device))) assert.deepEqual(signed(s), signed(clip.signature), `case ${i}: a changed signature was accepted`);
        else rejected++;
      }
    }
    assert.ok(rejected > CASES * 0.9, `only ${rejected} of ${CASES} mutations were rejected`);
  });

  it('random bytes into the header parser and the container reader: clear errors only', function () {
    const r = prng(SEED + 1);
    const prefix = utf8ToBytes('age-encryption.org/v1\n-> X25519 ');
    for (let i = 0; i < 5000; i++) {
      const junk = Uint8Array.from({ length: r.int(300) }, () => (r.int(4) === 0 ? 0x0a : r.int(256)));
      accepted(() => parseHeader(concatBytes(prefix, junk)));
      const reader = new MkvReader(() => {});
      accepted(() => {
        reader.push(junk);
        reader.end();
      });
    }
  });
});
