// The post-quantum hybrid recipient type (mlkem768x25519) in src/age: the C2SP test kit's
// vectors, both directions against typage (age-encryption ≥ 0.3), the spec's malformed-
// stanza cases (fuzzed, seeded: set PQ_FUZZ_SEED to replay), and the no-mixing rule.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { Decrypter, Encrypter, generateHybridIdentity, identityToRecipient as typageRecipient } from 'age-encryption';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from '../src/bytes.js';
import { nobleAead } from '../src/crypto/noble.js';
import { decryptAgeFile, encryptAgeFile } from '../src/age/file.js';
import { b64encode, encodeStanzas, parseHeader, type Stanza } from '../src/age/format.js';
import { encodeHeader, openHeader } from '../src/age/header.js';
import {
  ageIdentity,
  anyIdentityToRecipient,
  generateAgeIdentity,
  kemOf,
  stanzaKem,
  wrapFileKey,
  wrapFileKeyToAll,
} from '../src/age/recipients.js';
import { decodeHybridRecipient, HYBRID_ENC_LENGTH, wrapHybrid } from '../src/age/mlkem768x25519.js';
import { parseIdentityFile, formatIdentityFile } from '../src/age/identity-file.js';
import { errorCode, prng, ROOT, seededRandom } from './helpers.js';

const VECTORS = path.join(ROOT, 'test', 'vectors', 'cctv-age');

interface Vector {
  name: string;
  expect: string;
  payload?: string;
  identities: string[];
  file: Uint8Array;
}

function loadVector(name: string): Vector {
  const bytes = new Uint8Array(fs.readFileSync(path.join(VECTORS, name)));
  let pos = 0;
  const fields: [string, string][] = [];
  for (;;) {
    const nl = bytes.indexOf(0x0a, pos);
    const line = Buffer.from(bytes.subarray(pos, nl)).toString('latin1');
    pos = nl + 1;
    if (line === '') break;
    const i = line.indexOf(': ');
    fields.push([line.slice(0, i), line.slice(i + 2)]);
  }
  const get = (k: string) => fields.find(([key]) => key === k)?.[1];
  return {
    name,
    expect: get('expect')!,
    payload: get('payload'),
    identities: fields.filter(([k]) => k === 'identity').map(([, v]) => v),
    file: get('compressed') === 'zlib' ? new Uint8Array(zlib.inflateSync(bytes.subarray(pos))) : bytes.subarray(pos),
  };
}

function openWith(file: Uint8Array, identities: string[]): Uint8Array {
  return decryptAgeFile(file, (h) => openHeader(h, identities.map(ageIdentity)), nobleAead);
}

/**
 * sealbell refuses a header that mixes classic and post-quantum stanzas (the spec's SHOULD
 * NOT, made a MUST for clips); the kit expects generic age to open `hybrid_and_x25519`.
 */
const SEALBELL_DEVIATIONS: Record<string, string> = { hybrid_and_x25519: 'AGE_KEM_MIX' };

const EXPECTED_CODE: Record<string, string> = { 'header failure': 'AGE_HEADER', 'no match': 'NO_IDENTITY' };

describe('mlkem768x25519: the C2SP age test kit (cctv-age) vectors', function () {
  this.timeout(60_000);
  const names = fs.readdirSync(VECTORS).filter((n) => n.startsWith('hybrid')).sort();

  it('has the hybrid vectors', () => assert.equal(names.length, 18));

  for (const name of names) {
    it(name, () => {
      const v = loadVector(name);
      const deviation = SEALBELL_DEVIATIONS[name];
      if (deviation) {
        assert.equal(v.expect, 'success');
        assert.equal(errorCode(() => openWith(v.file, v.identities)), deviation);
      } else if (v.expect === 'success') {
        assert.equal(bytesToHex(sha256(openWith(v.file, v.identities))), v.payload);
      } else {
        assert.ok(EXPECTED_CODE[v.expect], `unknown expectation ${v.expect}`);
        assert.equal(errorCode(() => openWith(v.file, v.identities)), EXPECTED_CODE[v.expect]);
      }
    });
  }

  it('the spec\'s example identity gives the spec\'s example recipient (age.md)', () => {
    const recipient = anyIdentityToRecipient('AGE-SECRET-KEY-PQ-1XX76JRALNLXDMEW0CRK45QMCCH4X06SE84UN3VPM33W6HWDX0H3SK3ZQFR');
    assert.ok(recipient.startsWith('age1pq1x34nzsvr0rxjsgdn8zgyhfe8j7ceq5r9rdelkjuh3y235jzxshfg87pzf5zrqtzdxz95paef6caq5aapdmwjjqpjfdyxnzr2zampc3uxy0dg4z2n2gm9su72p0pc3u0jvev55l694v78snxg3yzvcl7yda0eyytqj6a0ec477lnhcy5hzpz4zq3pxanve'));
    assert.equal(recipient.length, 1959);
    // SHA-256 of the whole recipient line in C2SP age.md (commit 5ba5ee83)
    assert.equal(bytesToHex(sha256(utf8ToBytes(recipient))), 'a091dd7e0ee9d62b75173dcc98441a0424baa941e66a8776e570a4ae60ff61ea');
  });
});

describe('mlkem768x25519: interoperability with typage (age-encryption)', function () {
  this.timeout(60_000);
  const random = seededRandom('pq-typage');
  const plaintext = utf8ToBytes('a visitor at the door, 07:12\n'.repeat(5000));

  it('derives the same recipient from an identity as typage, both ways', async () => {
    const ours = generateAgeIdentity('mlkem768x25519', random);
    assert.match(ours, /^AGE-SECRET-KEY-PQ-1[0-9A-Z]+$/);
    assert.equal(await typageRecipient(ours), anyIdentityToRecipient(ours));
    const theirs = await generateHybridIdentity();
    assert.equal(anyIdentityToRecipient(theirs), await typageRecipient(theirs));
  });

  it('a file sealbell seals to three hybrid recipients opens with typage for each identity', async () => {
    const ids = [0, 1, 2].map(() => generateAgeIdentity('mlkem768x25519', random));
    const recipients = ids.map(anyIdentityToRecipient);
    const file = encryptAgeFile(plaintext, (k) => wrapFileKeyToAll(k, recipients, random), random, nobleAead);
    for (const id of ids) {
      const d = new Decrypter();
      d.addIdentity(id);
      assert.deepEqual(await d.decrypt(file), plaintext);
    }
  });

  it('a file typage seals to hybrid recipients opens with sealbell', async () => {
    const ids = [await generateHybridIdentity(), generateAgeIdentity('mlkem768x25519', random)];
    const e = new Encrypter();
    for (const id of ids) e.addRecipient(await typageRecipient(id));
    const file = await e.encrypt(plaintext);
    for (const id of ids) assert.deepEqual(openWith(file, [id]), plaintext);
    assert.equal(errorCode(() => openWith(file, [generateAgeIdentity('mlkem768x25519', random)])), 'NO_IDENTITY');
    assert.equal(errorCode(() => openWith(file, [generateAgeIdentity('x25519', random)])), 'NO_IDENTITY');
  });

  it('identity files hold post-quantum identities', () => {
    const id = generateAgeIdentity('mlkem768x25519', random);
    const text = formatIdentityFile(id, new Date(0));
    assert.ok(text.includes(`# public key: ${anyIdentityToRecipient(id)}\n`));
    assert.deepEqual(parseIdentityFile(text), [id]);
    assert.equal(errorCode(() => parseIdentityFile(id.slice(0, -1) + (id.endsWith('Q') ? 'P' : 'Q'))), 'AGE_KEY');
    assert.equal(errorCode(() => parseIdentityFile(id.toLowerCase())), 'AGE_KEY');
  });

  it('a hybrid stanza is 1,494 + 43 base64 characters: one stanza per recipient', () => {
    const id = generateAgeIdentity('mlkem768x25519', random);
    const s = wrapFileKey(new Uint8Array(16), anyIdentityToRecipient(id), random);
    assert.equal(s.type, 'mlkem768x25519');
    assert.equal(s.args[0].length, Math.ceil((HYBRID_ENC_LENGTH * 4) / 3));
    assert.equal(s.body.length, 32);
  });
});

describe('mlkem768x25519: malformed stanzas are refused (AGE_HEADER), never a crash', function () {
  this.timeout(120_000);
  const SEED = Number(process.env.PQ_FUZZ_SEED ?? Date.now() % 1_000_000);
  const CASES = Number(process.env.PQ_FUZZ_CASES ?? 300);
  const random = seededRandom(`pq-malformed-${SEED}`);
  const identity = generateAgeIdentity('mlkem768x25519', random);
  const recipient = decodeHybridRecipient(anyIdentityToRecipient(identity));
  const fileKey = random(16);
  const good = wrapHybrid(fileKey, recipient, random);
  const enc = Buffer.from(good.args[0], 'base64');

  /** A header with `stanza`, MAC'd under the real file key (so only the stanza can be wrong). */
  const headerWith = (stanza: Stanza) => parseHeader(encodeHeader(fileKey, [stanza]))!;
  const open = (stanza: Stanza) => openHeader(headerWith(stanza), [ageIdentity(identity)]);

  it('the well-formed stanza opens', () => assert.deepEqual(open(good), fileKey));

  it('each of the spec\'s MUST-reject cases, by name', () => {
    const cases: [string, Stanza][] = [
      ['no argument', { ...good, args: [] }],
      ['an extra argument', { ...good, args: [good.args[0], 'AAAA'] }],
      ['enc one byte short', { ...good, args: [b64encode(enc.subarray(0, HYBRID_ENC_LENGTH - 1))] }],
      ['enc one byte long', { ...good, args: [b64encode(concatBytes(enc, new Uint8Array(1)))] }],
      ['enc not canonical base64', { ...good, args: [good.args[0].slice(0, -1) + String.fromCharCode(good.args[0].charCodeAt(good.args[0].length - 1) + 1)] }],
      ['enc padded base64', { ...good, args: [good.args[0] + '='] }],
      ['body 31 bytes', { ...good, body: good.body.subarray(0, 31) }],
      ['body 48 bytes', { ...good, body: concatBytes(good.body, new Uint8Array(16)) }],
      ['X25519 share a low-order point', { ...good, args: [b64encode(concatBytes(enc.subarray(0, 1088), hexToBytes('5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f11d7')))] }],
    ];
    for (const [what, stanza] of cases) {
      let code = '';
      try {
        open(stanza);
      } catch (e) {
        code = (e as { code?: string }).code ?? String(e);
        if (code === 'AGE_HEADER') assert.match((e as Error).message, /malformed age header/, what);
      }
      // 'enc not canonical' may decode to other bytes of the right length: AGE_HEADER either way
      assert.equal(code, 'AGE_HEADER', what);
    }
  });

  it(`random mutations of the stanza are refused with a code (seed ${SEED}, ${CASES} cases)`, () => {
    const r = prng(SEED);
    const codes = new Map<string, number>();
    const b64chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    for (let i = 0; i < CASES; i++) {
      let args = [...good.args];
      let body = good.body;
      switch (r.int(6)) {
        case 0: { // change one base64 character of enc
          const p = r.int(args[0].length);
          args = [args[0].slice(0, p) + b64chars[r.int(64)] + args[0].slice(p + 1)];
          break;
        }
        case 1: // cut or grow enc by whole bytes
          args = [b64encode(r.int(2) ? enc.subarray(0, r.int(HYBRID_ENC_LENGTH)) : concatBytes(enc, new Uint8Array(1 + r.int(40))))];
          break;
        case 2: // cut or grow the body
          body = r.int(2) ? body.subarray(0, r.int(32)) : concatBytes(body, new Uint8Array(1 + r.int(40)));
          break;
        case 3: { // flip a body bit: not for us (no match)
          body = body.slice();
          body[r.int(32)] ^= 1 << r.int(8);
          break;
        }
        case 4: // argument count
          args = r.int(2) ? [] : [...args, b64chars[r.int(64)].repeat(1 + r.int(8))];
          break;
        default: { // flip a bit of enc
          const e = new Uint8Array(enc);
          e[r.int(e.length)] ^= 1 << r.int(8);
          args = [b64encode(e)];
        }
      }
      let code = 'opened';
      try {
        const key = open({ type: good.type, args, body });
        assert.deepEqual(key, fileKey, 'only the real file key may come out');
      } catch (e) {
        assert.equal((e as Error).name, 'SealbellError', `case ${i} (seed ${SEED}): ${String(e)}`);
        code = (e as { code: string }).code;
      }
      assert.ok(['AGE_HEADER', 'AGE_STANZA', 'NO_IDENTITY', 'opened'].includes(code), `case ${i} (seed ${SEED}): ${code}`);
      codes.set(code, (codes.get(code) ?? 0) + 1);
    }
    // Every kind of damage happened, and the malformed ones were told apart from "not for us".
    assert.ok((codes.get('AGE_HEADER') ?? 0) > CASES / 4, JSON.stringify([...codes]));
    assert.ok((codes.get('NO_IDENTITY') ?? 0) > 0, JSON.stringify([...codes]));
  });
});

describe('post-quantum and classic recipients are never mixed', () => {
  const random = seededRandom('pq-mix');
  const pq = anyIdentityToRecipient(generateAgeIdentity('mlkem768x25519', random));
  const classic = anyIdentityToRecipient(generateAgeIdentity('x25519', random));

  it('a recipient set is one kind', () => {
    assert.equal(kemOf([pq]), 'mlkem768x25519');
    assert.equal(kemOf([classic]), 'x25519');
    assert.equal(errorCode(() => kemOf([pq, classic])), 'AGE_KEM_MIX');
    assert.equal(errorCode(() => wrapFileKeyToAll(new Uint8Array(16), [classic, pq], random)), 'AGE_KEM_MIX');
  });

  it('a header with both stanza kinds is refused, whichever identity opens it', () => {
    const fileKey = random(16);
    const stanzas = [wrapFileKey(fileKey, pq, random), wrapFileKey(fileKey, classic, random)];
    assert.equal(errorCode(() => stanzaKem(stanzas)), 'AGE_KEM_MIX');
    const header = parseHeader(encodeHeader(fileKey, stanzas))!;
    assert.equal(errorCode(() => openHeader(header, [ageIdentity(generateAgeIdentity('x25519', random))])), 'AGE_KEM_MIX');
    assert.ok(encodeStanzas(stanzas).includes('-> mlkem768x25519 '));
  });
});
