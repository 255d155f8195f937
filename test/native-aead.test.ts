/**
 * The device's native ChaCha20-Poly1305 (hosts/moddable/native/chacha20poly1305.c)
 * against RFC 8439 vectors and, differentially, against noble. The C core is
 * compiled with a small driver (test/native/aead-harness.c, which documents the
 * binary framing) and fed batches of requests over stdin.
 */
import assert from 'node:assert/strict';
import { concatBytes } from '../src/bytes.js';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chacha20, chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { poly1305 } from '@noble/ciphers/_poly1305.js';
import { testSeed } from './helpers.js';

// dist/test/native-aead.test.js -> repository root
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const NATIVE = join(ROOT, 'hosts', 'moddable', 'native');
const HARNESS = join(ROOT, 'build', 'native', 'aead-harness');

// ---- framing (see test/native/aead-harness.c) -----------------------------

type Op = 'S' | 'I' | 'O' | 'Q';
interface Reply {
  ok: boolean;
  data: Uint8Array;
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}

const concat = (parts: Uint8Array[]): Uint8Array => concatBytes(...parts);

const ascii = (s: string) => new TextEncoder().encode(s);
const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/[\s:]/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** seal/open request; for open, `data` is ciphertext‖tag. */
const aeadReq = (op: Op, key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, data: Uint8Array) =>
  concat([ascii(op), key, nonce, u32(aad.length), aad, u32(data.length), data]);
const blockReq = (key: Uint8Array, counter: number, nonce: Uint8Array) =>
  concat([ascii('B'), key, u32(counter), nonce]);
const polyReq = (key: Uint8Array, msg: Uint8Array) => concat([ascii('P'), key, u32(msg.length), msg]);
/** incremental seal of `pieces`; with `finishNonce` it finishes under that nonce instead */
const streamReq = (key: Uint8Array, nonce: Uint8Array, pieces: Uint8Array[], opts: { finishNonce?: Uint8Array; inPlace?: boolean } = {}) =>
  concat([
    ascii('T'), key, nonce, Uint8Array.of((opts.finishNonce ? 1 : 0) | (opts.inPlace ? 2 : 0)),
    ...(opts.finishNonce ? [opts.finishNonce] : []),
    u32(pieces.length), ...pieces.flatMap((p) => [u32(p.length), p]),
  ]);

/** Runs one batch of requests through the harness and splits the replies. */
function run(requests: Uint8Array[]): Reply[] {
  const r = spawnSync(HARNESS, [], { input: concat(requests), maxBuffer: 1 << 30 });
  if (r.error) throw r.error;
  assert.equal(r.status, 0, `harness exited ${r.status}: ${r.stderr.toString()}`);
  const out = new Uint8Array(r.stdout.buffer, r.stdout.byteOffset, r.stdout.length);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const replies: Reply[] = [];
  let off = 0;
  while (off < out.length) {
    const len = view.getUint32(off + 1, true);
    replies.push({ ok: out[off] === 0, data: out.slice(off + 5, off + 5 + len) });
    off += 5 + len;
  }
  assert.equal(off, out.length, 'truncated reply');
  assert.equal(replies.length, requests.length, 'one reply per request');
  return replies;
}

/** Deterministic test randomness (noble's ChaCha20 as a DRBG), so failures reproduce. */
class Rng {
  private readonly key: Uint8Array;
  private n = 0;
  constructor(readonly seed: string) {
    this.key = createHash('sha256').update(seed).digest();
  }
  bytes(len: number): Uint8Array {
    const nonce = new Uint8Array(12);
    new DataView(nonce.buffer).setUint32(0, this.n++, true);
    return chacha20(this.key, nonce, new Uint8Array(len));
  }
  /** Uniform-ish integer in [0, max]. */
  int(max: number): number {
    return new DataView(this.bytes(4).buffer).getUint32(0, true) % (max + 1);
  }
}

const SEED = testSeed('native AEAD random cases');

function nobleSeal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, pt: Uint8Array): Uint8Array {
  return chacha20poly1305(key, nonce, aad.length ? aad : undefined).encrypt(pt);
}

// ---- RFC 8439 vectors -------------------------------------------------------

// §2.8.2
const RFC_282 = {
  key: hex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f'),
  nonce: hex('070000004041424344454647'),
  aad: hex('50515253c0c1c2c3c4c5c6c7'),
  plaintext: ascii(
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
  ),
  ciphertext: hex(`
    d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6
    3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36
    92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc
    3ff4def08e4b7a9de576d26586cec64b6116`),
  tag: hex('1ae10b594f09e26a7e902ecbd0600691'),
};

// §A.5 (decryption)
const RFC_A5 = {
  key: hex('1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0'),
  nonce: hex('000000000102030405060708'),
  aad: hex('f33388860000000000004e91'),
  ciphertext: hex(`
    64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb2
    4c6cfc18755d43eea09ee94e382d26b0bdb7b73c321b0100d4f03b7f355894cf
    332f830e710b97ce98c8a84abd0b948114ad176e008d33bd60f982b1ff37c855
    9797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4
    b9166c767b804d46a59b5216cde7a4e99040c5a40433225ee282a1b0a06c523e
    af4534d7f83fa1155b0047718cbc546a0d072b04b3564eea1b422273f548271a
    0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a6727627097a10
    49e617d91d361094fa68f0ff77987130305beaba2eda04df997b714d6c6f2c29
    a6ad5cb4022b02709b`),
  tag: hex('eead9d67890cbb22392336fea1851f38'),
  plaintext: ascii(
    'Internet-Drafts are draft documents valid for a maximum of six months and may be updated, ' +
      'replaced, or obsoleted by other documents at any time. It is inappropriate to use ' +
      'Internet-Drafts as reference material or to cite them other than as /\u201cwork in progress./\u201d',
  ),
};

describe('native ChaCha20-Poly1305 (C core for the device)', function () {
  this.timeout(60_000);

  before(function () {
    this.timeout(60_000);
    mkdirSync(dirname(HARNESS), { recursive: true });
    const args = ['-O2', '-std=c99', '-Wall', '-Wextra', '-Werror', `-I${NATIVE}`, '-o', HARNESS,
      join(NATIVE, 'chacha20poly1305.c'), join(ROOT, 'test', 'native', 'aead-harness.c')];
    const r = spawnSync('cc', args, { encoding: 'utf8' });
    // a missing compiler fails the suite (CI installs gcc): a skipped check would pass silently
    if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error('no C compiler (cc) on PATH: the native AEAD tests need it (.ci/run installs gcc)');
    }
    if (r.error) throw r.error;
    assert.equal(r.status, 0, `cc failed:\n${r.stderr}`);
    assert.equal(r.stderr.trim(), '', `cc printed warnings:\n${r.stderr}`);
  });

  it('matches the RFC 8439 §2.3.2 ChaCha20 block and §2.5.2 Poly1305 vectors', () => {
    const [block, tag] = run([
      blockReq(hex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f'), 1,
        hex('000000090000004a00000000')),
      polyReq(hex('85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b'),
        ascii('Cryptographic Forum Research Group')),
    ]);
    assert.equal(toHex(block!.data), '10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e' +
      'd2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e');
    assert.equal(toHex(tag!.data), 'a8061dc1305136c6c22b8baf0c0127a9');
  });

  it('matches the RFC 8439 §2.8.2 AEAD vector (seal and open)', () => {
    const { key, nonce, aad, plaintext, ciphertext, tag } = RFC_282;
    const sealed = concat([ciphertext, tag]);
    assert.deepEqual(nobleSeal(key, nonce, aad, plaintext), sealed, 'noble agrees with the RFC');
    const [s, o] = run([aeadReq('S', key, nonce, aad, plaintext), aeadReq('O', key, nonce, aad, sealed)]);
    assert.equal(toHex(s!.data), toHex(sealed));
    assert.ok(o!.ok);
    assert.deepEqual(o!.data, plaintext);
  });

  it('decrypts the RFC 8439 §A.5 vector', () => {
    const { key, nonce, aad, ciphertext, tag, plaintext } = RFC_A5;
    const sealed = concat([ciphertext, tag]);
    assert.deepEqual(chacha20poly1305(key, nonce, aad).decrypt(sealed), plaintext, 'noble agrees with the RFC');
    const [o, q] = run([aeadReq('O', key, nonce, aad, sealed), aeadReq('Q', key, nonce, aad, sealed)]);
    assert.ok(o!.ok && q!.ok);
    assert.deepEqual(o!.data, plaintext);
    assert.deepEqual(q!.data, plaintext);
  });

  it('ChaCha20 blocks and Poly1305 (incl. carry/reduction edge cases) match noble', () => {
    const rng = new Rng(`${SEED}/prims`);
    const reqs: Uint8Array[] = [];
    const want: Uint8Array[] = [];
    for (let i = 0; i < 200; i++) {
      const key = rng.bytes(32), nonce = rng.bytes(12);
      const counter = i === 0 ? 0 : i === 1 ? 0x7fffffff : rng.int(0x7fffffff);
      reqs.push(blockReq(key, counter, nonce));
      want.push(chacha20(key, nonce, new Uint8Array(64), undefined, counter));
    }
    const ones = (n: number, b = 0xff) => new Uint8Array(n).fill(b);
    const polyCases: [Uint8Array, Uint8Array][] = [
      // largest clamped r with all-ones messages and s: maximal limbs and carries
      ...[0, 1, 15, 16, 17, 32, 33, 64, 255, 1000].map((n): [Uint8Array, Uint8Array] => [ones(32), ones(n)]),
      // accumulator landing on / just above / just below p = 2^130 - 5
      [concat([hex('02'), ones(31, 0)]), ones(16)],
      [concat([hex('02'), ones(15, 0), ones(16)]), concat([hex('02'), ones(15, 0)])],
      [concat([hex('01'), ones(31, 0)]), concat([ones(16), hex('f0'), ones(15), hex('11'), ones(15, 0)])],
      [concat([hex('01'), ones(31, 0)]), concat([ones(16), hex('fb'), ones(15, 0xfe), ones(16, 0x01)])],
      [concat([hex('02'), ones(31, 0)]), concat([hex('fd'), ones(15)])],
      [ones(32, 0), rng.bytes(100)],
    ];
    for (let i = 0; i < 300; i++) polyCases.push([rng.bytes(32), rng.bytes(rng.int(i < 200 ? 80 : 3000))]);
    for (const [key, msg] of polyCases) {
      reqs.push(polyReq(key, msg));
      want.push(poly1305(msg, key));
    }
    const got = run(reqs);
    got.forEach((r, i) => assert.equal(toHex(r.data), toHex(want[i]!), `case ${i} (seed ${SEED})`));
  });

  it('seals byte-identically to noble and opens what noble sealed (1,200 random cases)', () => {
    const rng = new Rng(`${SEED}/aead`);
    const special = [0, 1, 15, 16, 17, 63, 64, 65, 127, 128, 129, 65536];
    const cases: { key: Uint8Array; nonce: Uint8Array; aad: Uint8Array; pt: Uint8Array; sealed: Uint8Array }[] = [];
    for (let i = 0; i < 1200; i++) {
      const len = i % 4 === 0 ? special[(i / 4) % special.length]! : i % 4 === 1 ? rng.int(200) : rng.int(70_000);
      const key = rng.bytes(32), nonce = rng.bytes(12), aad = rng.bytes(rng.int(40)), pt = rng.bytes(len);
      cases.push({ key, nonce, aad, pt, sealed: nobleSeal(key, nonce, aad, pt) });
    }
    // batches keep the pipes' memory bounded
    for (let start = 0; start < cases.length; start += 200) {
      const batch = cases.slice(start, start + 200);
      const reqs = batch.flatMap((c) => [aeadReq('S', c.key, c.nonce, c.aad, c.pt), aeadReq('O', c.key, c.nonce, c.aad, c.sealed)]);
      const got = run(reqs);
      batch.forEach((c, j) => {
        const what = `case ${start + j}: len ${c.pt.length}, aad ${c.aad.length} (seed ${SEED})`;
        const s = got[2 * j]!, o = got[2 * j + 1]!;
        assert.ok(Buffer.from(s.data).equals(c.sealed), `seal differs from noble, ${what}`);
        assert.ok(o.ok, `open failed, ${what}`);
        assert.ok(Buffer.from(o.data).equals(c.pt), `open output differs, ${what}`);
      });
    }
  });

  it('incremental sealing, piece by piece, is byte-identical to one-shot sealing and to noble (1,000 random splits)', () => {
    const rng = new Rng(`${SEED}/stream`);
    const special = [0, 1, 15, 16, 17, 63, 64, 65, 127, 128, 129, 65536];
    /** piece sizes that hit every keystream and Poly1305 block position */
    const pieceSize = (left: number): number => {
      const r = rng.int(9);
      const n = r < 3 ? rng.int(20) : r < 6 ? rng.int(130) : r < 8 ? 64 * rng.int(4) + rng.int(2) * (rng.int(16) - 8) : rng.int(40_000);
      return Math.max(0, Math.min(left, n));
    };
    interface StreamCase { key: Uint8Array; nonce: Uint8Array; finishNonce?: Uint8Array; inPlace: boolean; pieces: Uint8Array[]; pt: Uint8Array }
    const cases: StreamCase[] = [];
    for (let i = 0; i < 1000; i++) {
      const len = i % 3 === 0 ? special[(i / 3) % special.length]! : i % 3 === 1 ? rng.int(300) : rng.int(70_000);
      const pt = rng.bytes(len);
      const pieces: Uint8Array[] = [];
      for (let off = 0; off < len || (pieces.length === 0 && rng.int(1)); ) {
        const n = pieceSize(len - off);
        pieces.push(pt.subarray(off, off + n));
        off += n;
      }
      const key = rng.bytes(32), nonce = rng.bytes(12);
      cases.push({ key, nonce, pt, pieces, inPlace: rng.int(3) === 0, finishNonce: rng.int(2) === 0 ? rng.bytes(12) : undefined });
    }
    for (let start = 0; start < cases.length; start += 100) {
      const batch = cases.slice(start, start + 100);
      const reqs = batch.flatMap((c) => [
        streamReq(c.key, c.nonce, c.pieces, { finishNonce: c.finishNonce, inPlace: c.inPlace }),
        aeadReq('S', c.key, c.finishNonce ?? c.nonce, new Uint8Array(0), c.pt),
      ]);
      const got = run(reqs);
      batch.forEach((c, j) => {
        const what = `case ${start + j}: len ${c.pt.length} in ${c.pieces.length} pieces, ${c.finishNonce ? 'finished under a new nonce' : 'finished'}${c.inPlace ? ', in place' : ''} (seed ${SEED})`;
        const incremental = got[2 * j]!.data, oneShot = got[2 * j + 1]!.data;
        assert.ok(Buffer.from(incremental).equals(oneShot), `incremental differs from one-shot, ${what}`);
        assert.ok(Buffer.from(incremental).equals(nobleSeal(c.key, c.finishNonce ?? c.nonce, new Uint8Array(0), c.pt)), `differs from noble, ${what}`);
      });
    }
  });

  it('incremental sealing handles 64 KiB chunks fed frame by frame (the clip sealer\'s pattern)', () => {
    const rng = new Rng(`${SEED}/frames`);
    const key = rng.bytes(32), nonce = rng.bytes(12), last = rng.bytes(12);
    const pt = rng.bytes(65536);
    const pieces: Uint8Array[] = [];
    // a 20-odd-byte container prefix, then a JPEG of a few KiB, repeated
    for (let off = 0; off < pt.length; ) {
      for (const n of [23 + rng.int(3), 2000 + rng.int(9000)]) {
        const end = Math.min(pt.length, off + n);
        pieces.push(pt.subarray(off, end));
        off = end;
      }
    }
    const [a, b] = run([streamReq(key, nonce, pieces), streamReq(key, nonce, pieces, { finishNonce: last })]);
    assert.ok(Buffer.from(a!.data).equals(nobleSeal(key, nonce, new Uint8Array(0), pt)));
    assert.ok(Buffer.from(b!.data).equals(nobleSeal(key, last, new Uint8Array(0), pt)));
  });

  it('rejects a tampered tag, ciphertext, AAD or nonce and zeroes the output', () => {
    const rng = new Rng(`${SEED}/tamper`);
    const reqs: Uint8Array[] = [];
    const labels: string[] = [];
    const flip = (b: Uint8Array, i: number, bit = 1) => {
      const c = b.slice();
      c[i]! ^= bit;
      return c;
    };
    for (const len of [0, 1, 16, 63, 64, 65, 1000, 65536]) {
      const key = rng.bytes(32), nonce = rng.bytes(12), aad = rng.bytes(len % 2 ? 13 : 0), pt = rng.bytes(len);
      const sealed = nobleSeal(key, nonce, aad, pt);
      const bad: [string, Uint8Array, Uint8Array, Uint8Array][] = [
        ['tag first byte', nonce, aad, flip(sealed, len)],
        ['tag last bit', nonce, aad, flip(sealed, len + 15, 0x80)],
        ['added aad', nonce, concat([aad, hex('00')]), sealed],
        ['nonce', flip(nonce, 11), aad, sealed],
      ];
      if (len > 0) {
        bad.push(['ciphertext first byte', nonce, aad, flip(sealed, 0)]);
        bad.push(['ciphertext last byte', nonce, aad, flip(sealed, len - 1, 0x40)]);
        bad.push(['truncated', nonce, aad, sealed.subarray(1)]);
      }
      if (aad.length) bad.push(['aad', nonce, flip(aad, aad.length - 1), sealed]);
      for (const [what, n, a, s] of bad) {
        for (const op of ['O', 'Q'] as const) {
          reqs.push(aeadReq(op, key, n, a, s));
          labels.push(`${what}, len ${len}, ${op === 'Q' ? 'in place' : 'out of place'}`);
        }
      }
    }
    run(reqs).forEach((r, i) => {
      assert.equal(r.ok, false, `accepted: ${labels[i]}`);
      assert.ok(r.data.every((b) => b === 0), `output not zeroed: ${labels[i]}`);
    });
  });

  it('in-place seal and open equal out-of-place', () => {
    const rng = new Rng(`${SEED}/inplace`);
    const reqs: Uint8Array[] = [];
    const lens = [0, 1, 63, 64, 65, 200, 4096, 65536, 69_999];
    for (const len of lens) {
      const key = rng.bytes(32), nonce = rng.bytes(12), aad = rng.bytes(rng.int(40)), pt = rng.bytes(len);
      const sealed = nobleSeal(key, nonce, aad, pt);
      reqs.push(aeadReq('S', key, nonce, aad, pt), aeadReq('I', key, nonce, aad, pt));
      reqs.push(aeadReq('O', key, nonce, aad, sealed), aeadReq('Q', key, nonce, aad, sealed));
    }
    const got = run(reqs);
    lens.forEach((len, k) => {
      const [s, i, o, q] = got.slice(4 * k, 4 * k + 4) as [Reply, Reply, Reply, Reply];
      assert.ok(Buffer.from(i.data).equals(s.data), `in-place seal differs, len ${len}`);
      assert.ok(o.ok && q.ok, `open failed, len ${len}`);
      assert.ok(Buffer.from(q.data).equals(o.data), `in-place open differs, len ${len}`);
    });
  });
});

