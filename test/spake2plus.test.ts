import assert from 'node:assert/strict';
import { createHash, scryptSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { p256 } from '@noble/curves/nist.js';
import { SealbellError } from '../src/errors.js';
import { seededRandom, testSeed } from './helpers.js';
import {
  CIPHERSUITE,
  M_BYTES,
  N_BYTES,
  SCRYPT_DKLEN,
  SCRYPT_N,
  SCRYPT_P,
  SCRYPT_R,
  Spake2PlusProver,
  Spake2PlusVerifier,
  computeShare,
  confirmation,
  deriveScalars,
  keySchedule,
  proverSecrets,
  registration,
  transcript,
  verifierSecrets,
} from '../src/setup/spake2plus.js';

// ---------------------------------------------------------------------------
// Helpers

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (s: string): Uint8Array => {
  assert.match(s, /^([0-9a-f]{2})*$/);
  return new Uint8Array(Buffer.from(s, 'hex'));
};
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
/** the random scalars and garbage of these tests: seeded, printed, replayable (SEALBELL_TEST_SEED) */
const random = seededRandom(testSeed('SPAKE2+ random scalars'));

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof SealbellError, `expected a SealbellError, got ${String(e)}`);
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    return true;
  });
}

interface Vector {
  name: string;
  contextText: string;
  context: string;
  idProver: string;
  idVerifier: string;
  w0: string;
  w1: string;
  L: string;
  x: string;
  shareP: string;
  y: string;
  shareV: string;
  Z: string;
  V: string;
  TT: string;
  K_main: string;
  K_confirmP: string;
  K_confirmV: string;
  confirmP: string;
  confirmV: string;
  K_shared: string;
}

interface VectorFile {
  ciphersuite: string;
  M: { seed: string; compressed: string };
  N: { seed: string; compressed: string };
  vectors: Vector[];
}

const file: VectorFile = JSON.parse(
  readFileSync(new URL('../../test/vectors/spake2plus-rfc9383.json', import.meta.url), 'utf8'),
);

const Point = p256.Point;
const Fp = Point.Fp;
const ORDER = Point.Fn.ORDER;
const scalarBytes = (s: bigint): Uint8Array => unhex(s.toString(16).padStart(64, '0'));
const bigOf = (b: Uint8Array): bigint => BigInt('0x' + hex(b));

/** RFC 9383 Appendix B, for a Weierstrass curve with 33-byte compressed points. */
function generatePoint(seed: string): Uint8Array {
  const iterated = (n: number): Buffer => {
    let h = Buffer.from(seed, 'utf8');
    for (let i = 0; i < n; i++) h = createHash('sha256').update(h).digest();
    return h;
  };
  for (let i = 1; i < 1000; i++) {
    const s = Buffer.concat([iterated(i), iterated(i + 1)]).subarray(0, 33);
    s[0] = (s[0] & 1) | 2;
    try {
      const p = Point.fromBytes(new Uint8Array(s));
      if (!p.is0()) return new Uint8Array(s);
    } catch {
      // not on the curve: next block
    }
  }
  throw new Error('no point');
}

// ---------------------------------------------------------------------------

describe('SPAKE2+ (RFC 9383, P256-SHA256-HKDF-SHA256-HMAC-SHA256)', () => {
  it('the vector file is for this ciphersuite', () => {
    assert.equal(file.ciphersuite, CIPHERSUITE);
    assert.ok(file.vectors.length >= 1);
  });

  it('M and N are the RFC points, regenerated from their seeds (Appendix B)', () => {
    assert.equal(hex(generatePoint(file.M.seed)), file.M.compressed);
    assert.equal(hex(generatePoint(file.N.seed)), file.N.compressed);
    assert.equal(hex(M_BYTES), Point.fromHex(file.M.compressed).toHex(false));
    assert.equal(hex(N_BYTES), Point.fromHex(file.N.compressed).toHex(false));
  });

  for (const v of file.vectors) {
    describe(v.name, () => {
      const ctx = { context: unhex(v.context), idProver: unhex(v.idProver), idVerifier: unhex(v.idVerifier) };

      it('context and identities are the ones the RFC prints', () => {
        assert.equal(new TextDecoder().decode(ctx.context), v.contextText);
        assert.equal(new TextDecoder().decode(ctx.idProver), 'client');
        assert.equal(new TextDecoder().decode(ctx.idVerifier), 'server');
      });

      it('registration: L = w1·P', () => {
        const rec = registration(unhex(v.w0), unhex(v.w1));
        assert.equal(hex(rec.L), v.L);
        assert.equal(hex(rec.w0), v.w0);
      });

      it('shares: X = x·P + w0·M, Y = y·P + w0·N', () => {
        assert.equal(hex(computeShare('prover', unhex(v.w0), unhex(v.x))), v.shareP);
        assert.equal(hex(computeShare('verifier', unhex(v.w0), unhex(v.y))), v.shareV);
      });

      it('Z and V, computed by each side', () => {
        const p = proverSecrets(unhex(v.w0), unhex(v.w1), unhex(v.x), unhex(v.shareV));
        assert.equal(hex(p.Z), v.Z);
        assert.equal(hex(p.V), v.V);
        const q = verifierSecrets(unhex(v.w0), unhex(v.L), unhex(v.y), unhex(v.shareP));
        assert.equal(hex(q.Z), v.Z);
        assert.equal(hex(q.V), v.V);
      });

      it('transcript TT and key schedule K_main, K_confirmP, K_confirmV, K_shared', () => {
        const TT = transcript({
          ...ctx,
          shareP: unhex(v.shareP),
          shareV: unhex(v.shareV),
          Z: unhex(v.Z),
          V: unhex(v.V),
          w0: unhex(v.w0),
        });
        assert.equal(hex(TT), v.TT);
        const k = keySchedule(TT);
        assert.equal(hex(k.K_main), v.K_main);
        assert.equal(hex(k.K_confirmP), v.K_confirmP);
        assert.equal(hex(k.K_confirmV), v.K_confirmV);
        assert.equal(hex(k.K_shared), v.K_shared);
        assert.equal(hex(confirmation(k.K_confirmP, unhex(v.shareV))), v.confirmP);
        assert.equal(hex(confirmation(k.K_confirmV, unhex(v.shareP))), v.confirmV);
      });

      it('a full run of both session objects reproduces every message and the key', () => {
        const noRandom = (): Uint8Array => {
          throw new Error('the vector run must not draw randomness');
        };
        const prover = new Spake2PlusProver({ ...ctx, w0: unhex(v.w0), w1: unhex(v.w1), random: noRandom, scalar: unhex(v.x) });
        const verifier = new Spake2PlusVerifier({ ...ctx, w0: unhex(v.w0), L: unhex(v.L), random: noRandom, scalar: unhex(v.y) });
        const shareP = prover.start();
        assert.equal(hex(shareP), v.shareP);
        const { shareV, confirmV } = verifier.respond(shareP);
        assert.equal(hex(shareV), v.shareV);
        assert.equal(hex(confirmV), v.confirmV);
        const { confirmP, sharedKey } = prover.finish(shareV, confirmV);
        assert.equal(hex(confirmP), v.confirmP);
        assert.equal(hex(sharedKey), v.K_shared);
        assert.equal(hex(verifier.finish(confirmP)), v.K_shared);
      });
    });
  }

  // -------------------------------------------------------------------------

  describe('password hashing (scrypt, RFC 9383 §3.2)', () => {
    const salt = unhex('000102030405060708090a0b0c0d0e0f');

    it('is scrypt(N=2^15, r=8, p=1, 80 bytes) over len-prefixed pw/ids, halves reduced mod n', () => {
      assert.deepEqual([SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_DKLEN], [32768, 8, 1, 80]);
      const pw = utf8('12345-67890');
      const idProver = utf8('phone');
      const idVerifier = utf8('sealbell-device-01');
      const { w0, w1 } = deriveScalars(pw, salt, { idProver, idVerifier });
      // Independent computation with Node's OpenSSL scrypt.
      const le = (n: number): Buffer => {
        const b = Buffer.alloc(8);
        b.writeBigUInt64LE(BigInt(n));
        return b;
      };
      const input = Buffer.concat([le(pw.length), pw, le(idProver.length), idProver, le(idVerifier.length), idVerifier]);
      const out = scryptSync(input, salt, 80, { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
      const reduce = (half: Buffer): string => hex(scalarBytes(BigInt('0x' + half.toString('hex')) % ORDER));
      assert.equal(hex(w0), reduce(out.subarray(0, 40)));
      assert.equal(hex(w1), reduce(out.subarray(40)));
      assert.equal(w0.length, 32);
      assert.equal(w1.length, 32);
    });

    it('absent identities are empty strings; identities and salt change the result', () => {
      const pw = utf8('12345-67890');
      const a = deriveScalars(pw, salt);
      const b = deriveScalars(pw, salt, { idProver: new Uint8Array(0), idVerifier: new Uint8Array(0) });
      assert.equal(hex(a.w0), hex(b.w0));
      const c = deriveScalars(pw, salt, { idVerifier: utf8('x') });
      assert.notEqual(hex(a.w0), hex(c.w0));
      const d = deriveScalars(pw, unhex('ff0102030405060708090a0b0c0d0e0f'));
      assert.notEqual(hex(a.w0), hex(d.w0));
    });

    it('refuses a short salt', () => {
      throwsCode(() => deriveScalars(utf8('pw'), new Uint8Array(15)), 'SPAKE2_BAD_SALT');
    });
  });

  // -------------------------------------------------------------------------

  describe('sessions', () => {
    const ids = { context: utf8('sealbell setup v1'), idProver: utf8('phone'), idVerifier: utf8('doorbell-1') };
    const salt = utf8('sealbell-salt-0001');
    const good = deriveScalars(utf8('482-913-557'), salt, ids);
    const bad = deriveScalars(utf8('482-913-558'), salt, ids);
    const record = registration(good.w0, good.w1);

    const newProver = (s = good) => new Spake2PlusProver({ ...ids, w0: s.w0, w1: s.w1, random });
    const newVerifier = () => new Spake2PlusVerifier({ ...ids, w0: record.w0, L: record.L, random });

    it('prover and verifier agree on a fresh key each run', () => {
      const keys = new Set<string>();
      for (let i = 0; i < 3; i++) {
        const p = newProver();
        const v = newVerifier();
        const { shareV, confirmV } = v.respond(p.start());
        const { confirmP, sharedKey } = p.finish(shareV, confirmV);
        assert.equal(sharedKey.length, 32);
        assert.equal(hex(v.finish(confirmP)), hex(sharedKey));
        keys.add(hex(sharedKey));
      }
      assert.equal(keys.size, 3);
    });

    it('a wrong setup code: the prover rejects confirmV', () => {
      const p = newProver(bad);
      const v = newVerifier();
      const { shareV, confirmV } = v.respond(p.start());
      throwsCode(() => p.finish(shareV, confirmV), 'SPAKE2_CONFIRM');
      // The session is over: no second try with the same ephemeral.
      throwsCode(() => p.finish(shareV, confirmV), 'SPAKE2_STATE');
    });

    it('a wrong setup code: the verifier rejects the confirmP such a prover computes', () => {
      const x = scalarBytes(12345678901234567890n);
      const shareP = computeShare('prover', bad.w0, x);
      const v = newVerifier();
      const { shareV } = v.respond(shareP);
      // What an attacker with the wrong code would send: RFC steps on its side.
      const zv = proverSecrets(bad.w0, bad.w1, x, shareV);
      const k = keySchedule(transcript({ ...ids, shareP, shareV, ...zv, w0: bad.w0 }));
      throwsCode(() => v.finish(confirmation(k.K_confirmP, shareV)), 'SPAKE2_CONFIRM');
      throwsCode(() => v.finish(confirmation(k.K_confirmP, shareV)), 'SPAKE2_STATE');
    });

    it('the verifier rejects garbage, truncated and extended confirmP', () => {
      for (const confirmP of [new Uint8Array(32), random(32), new Uint8Array(0), random(31), random(33)]) {
        const p = newProver();
        const v = newVerifier();
        const { shareV, confirmV } = v.respond(p.start());
        const real = p.finish(shareV, confirmV).confirmP;
        throwsCode(() => v.finish(confirmP), 'SPAKE2_CONFIRM');
        throwsCode(() => v.finish(real), 'SPAKE2_STATE');
      }
      const p = newProver();
      const v = newVerifier();
      const { shareV, confirmV } = v.respond(p.start());
      const { confirmP } = p.finish(shareV, confirmV);
      const flipped = confirmP.slice();
      flipped[31] ^= 1;
      throwsCode(() => v.finish(flipped), 'SPAKE2_CONFIRM');
      throwsCode(() => v.finish('nope' as unknown as Uint8Array), 'SPAKE2_STATE');
    });

    it('the prover rejects a tampered confirmV', () => {
      const p = newProver();
      const v = newVerifier();
      const { shareV, confirmV } = v.respond(p.start());
      const flipped = confirmV.slice();
      flipped[0] ^= 0x80;
      throwsCode(() => p.finish(shareV, flipped), 'SPAKE2_CONFIRM');
    });

    it('mismatched context or identities fail confirmation', () => {
      for (const change of [{ context: utf8('sealbell setup v2') }, { idProver: utf8('phone2') }, { idVerifier: utf8('doorbell-2') }]) {
        const p = new Spake2PlusProver({ ...ids, ...change, w0: good.w0, w1: good.w1, random });
        const v = newVerifier();
        const { shareV, confirmV } = v.respond(p.start());
        throwsCode(() => p.finish(shareV, confirmV), 'SPAKE2_CONFIRM');
      }
    });

    it('replaying an old shareP and confirmP against a new verifier session fails', () => {
      const p = newProver();
      const v1 = newVerifier();
      const shareP = p.start();
      const { shareV, confirmV } = v1.respond(shareP);
      const { confirmP } = p.finish(shareV, confirmV);
      v1.finish(confirmP);

      const v2 = newVerifier();
      const second = v2.respond(shareP); // a valid point, so accepted here...
      assert.notEqual(hex(second.shareV), hex(shareV));
      throwsCode(() => v2.finish(confirmP), 'SPAKE2_CONFIRM'); // ...but the old confirmation is worthless
    });

    it('each step runs once and in order', () => {
      const p = newProver();
      const v = newVerifier();
      throwsCode(() => p.finish(new Uint8Array(65), new Uint8Array(32)), 'SPAKE2_STATE');
      throwsCode(() => v.finish(new Uint8Array(32)), 'SPAKE2_STATE');
      const shareP = p.start();
      throwsCode(() => p.start(), 'SPAKE2_STATE');
      const r = v.respond(shareP);
      throwsCode(() => v.respond(shareP), 'SPAKE2_STATE');
      const { confirmP } = p.finish(r.shareV, r.confirmV);
      v.finish(confirmP);
      throwsCode(() => v.finish(confirmP), 'SPAKE2_STATE');
    });
  });

  // -------------------------------------------------------------------------

  describe('invalid shares and records', () => {
    const ids = { context: utf8('sealbell setup v1'), idProver: utf8('phone'), idVerifier: utf8('doorbell-1') };
    const w0 = scalarBytes(0x1234567890abcdefn * 0x1000000000000000000000001n);
    const w1 = scalarBytes(0xfedcba0987654321n * 0x1000000000000000000000001n);
    const record = registration(w0, w1);
    const valid = Point.BASE.multiply(7n).toBytes(false);
    const p = Fp.ORDER;

    // A point with a small x, so that x + p still fits in 32 bytes: the same
    // point, non-canonically encoded.
    let small: { x: bigint; y: bigint } | undefined;
    for (let x = 1n; !small; x++) {
      const rhs = Fp.add(Fp.add(Fp.mul(Fp.sqr(x), x), Fp.mul(Point.CURVE().a, x)), Point.CURVE().b);
      try {
        small = { x, y: Fp.sqrt(rhs) };
      } catch {
        // not a square: next x
      }
    }
    const enc = (x: bigint, y: bigint): Uint8Array =>
      unhex('04' + x.toString(16).padStart(64, '0') + y.toString(16).padStart(64, '0'));
    const smallY = small.y;
    assert.ok(Point.fromBytes(enc(small.x, smallY)).equals(Point.fromAffine({ x: small.x, y: smallY })));

    const garbage = random(65);
    garbage[0] = 0x04;
    const cases: [string, unknown][] = [
      ['empty', new Uint8Array(0)],
      ['SEC1 identity (0x00)', Uint8Array.of(0)],
      ['65 zero bytes', new Uint8Array(65)],
      ['0x04 then zeros (affine 0,0)', enc(0n, 0n)],
      ['compressed form of a valid point', Point.BASE.multiply(7n).toBytes(true)],
      ['hybrid prefix 0x06', Uint8Array.of(0x06, ...valid.subarray(1))],
      ['hybrid prefix 0x07', Uint8Array.of(0x07, ...valid.subarray(1))],
      ['truncated', valid.subarray(0, 64)],
      ['extended', Uint8Array.of(...valid, 0)],
      ['not on the curve (last byte flipped)', Uint8Array.of(...valid.subarray(0, 64), valid[64] ^ 1)],
      ['random garbage', garbage],
      ['x not reduced (x + p)', enc(small.x + p, smallY)],
      ['y out of the field (y = p)', enc(small.x, p)],
      ['coordinates all 0xff', unhex('04' + 'ff'.repeat(64))],
      ['a string', 'deadbeef'],
      ['a plain array', Array.from(valid)],
    ];

    for (const [name, share] of cases) {
      it(`verifier rejects shareP: ${name}`, () => {
        const v = new Spake2PlusVerifier({ ...ids, w0, L: record.L, random });
        throwsCode(() => v.respond(share as Uint8Array), 'SPAKE2_BAD_SHARE');
        throwsCode(() => v.respond(valid), 'SPAKE2_STATE'); // the session is spent
      });
      it(`prover rejects shareV: ${name}`, () => {
        const pr = new Spake2PlusProver({ ...ids, w0, w1, random });
        pr.start();
        throwsCode(() => pr.finish(share as Uint8Array, new Uint8Array(32)), 'SPAKE2_BAD_SHARE');
      });
    }

    it('a share that cancels the password mask (X = w0·M, Y = w0·N) is rejected', () => {
      const v = new Spake2PlusVerifier({ ...ids, w0, L: record.L, random });
      throwsCode(() => v.respond(Point.fromBytes(M_BYTES).multiply(bigOf(w0)).toBytes(false)), 'SPAKE2_BAD_SHARE');
      const pr = new Spake2PlusProver({ ...ids, w0, w1, random });
      pr.start();
      const Y = Point.fromBytes(N_BYTES).multiply(bigOf(w0)).toBytes(false);
      throwsCode(() => pr.finish(Y, new Uint8Array(32)), 'SPAKE2_BAD_SHARE');
    });

    it('the record L must be a valid point', () => {
      for (const L of [new Uint8Array(65), valid.subarray(0, 33), Uint8Array.of(...valid.subarray(0, 64), valid[64] ^ 1)]) {
        throwsCode(() => new Spake2PlusVerifier({ ...ids, w0, L, random }), 'SPAKE2_BAD_RECORD');
      }
    });

    it('w0, w1 and injected scalars must be 32-byte scalars in [1, n-1]', () => {
      const bads = [new Uint8Array(32), scalarBytes(ORDER), unhex('ff'.repeat(32)), new Uint8Array(31), new Uint8Array(33)];
      for (const s of bads) {
        throwsCode(() => registration(s, w1), 'SPAKE2_BAD_SCALAR');
        throwsCode(() => registration(w0, s), 'SPAKE2_BAD_SCALAR');
        throwsCode(() => new Spake2PlusProver({ ...ids, w0: s, w1, random }), 'SPAKE2_BAD_SCALAR');
        throwsCode(() => new Spake2PlusProver({ ...ids, w0, w1, random, scalar: s }), 'SPAKE2_BAD_SCALAR');
        throwsCode(() => new Spake2PlusVerifier({ ...ids, w0: s, L: record.L, random }), 'SPAKE2_BAD_SCALAR');
      }
      // n - 1 is fine.
      registration(scalarBytes(ORDER - 1n), scalarBytes(ORDER - 1n));
    });

    it('a random source that returns the wrong length is refused', () => {
      throwsCode(() => new Spake2PlusProver({ ...ids, w0, w1, random: () => new Uint8Array(8) }), 'SPAKE2_RANDOM');
    });
  });
});
