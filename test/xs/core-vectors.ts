/**
 * XS conformance entry for the age core: fixed vectors that XS must reproduce byte for
 * byte. Bundled from this source and run under xsnap by test/xs-conformance.test.ts
 * (tools/xs/run.ts); the same `cases` also run in Node there, as the reference.
 *
 * The constants were produced in Node with this same code; the X25519 keys are the
 * RFC 7748 §6.1 test vectors. test/vectors-independent.test.ts re-checks the rest without this
 * code: the header and a payload sealed with OpenSSL decrypt with Debian age and typage.
 *
 * Cost under XS 13.3 (xsnap): about 626 M meter units (the test allows 1,000 M), ~4 s on
 * a desktop: ~227 M mostly ChaCha20-Poly1305 (~354 units/byte) over the 150,000-byte seal
 * and open, and SHA-256; ~400 M the post-quantum cases (pq-vectors.ts: X-Wing key
 * expansions, encapsulations and decapsulations, a post-quantum doorbell clip and live
 * session). @noble/post-quantum runs unchanged under XS 13.3.
 */
import { x25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, concatBytes, equalBytes, hexToBytes, utf8Decode, utf8ToBytes } from '../../src/bytes.js';
import { SealbellError } from '../../src/errors.js';
import { nobleAead } from '../../src/crypto/noble.js';
import { CHUNK_SIZE, payloadKey, StreamOpener, StreamSealer } from '../../src/age/stream.js';
import { b64encode, parseHeader } from '../../src/age/format.js';
import { encodeHeader, openHeader, verifyHeaderMac } from '../../src/age/header.js';
import {
  decodeIdentity,
  decodeRecipient,
  encodeIdentity,
  encodeRecipient,
  identityToRecipient,
  wrapX25519,
  x25519Identity,
} from '../../src/age/x25519.js';
import { runCases, type Case } from '../../tools/xs/guest.js';
import { pqCases } from './pq-vectors.js';

// --- inputs -------------------------------------------------------------------------

/** RFC 7748 §6.1: Alice is the recipient (the phone), Bob's key is the ephemeral share. */
const ALICE_SECRET = hexToBytes('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
const ALICE_PUBLIC = hexToBytes('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
const BOB_SECRET = hexToBytes('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
const BOB_PUBLIC = hexToBytes('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');

const RFC_SHARED = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';

const FILE_KEY = hexToBytes('000102030405060708090a0b0c0d0e0f');
const PAYLOAD_NONCE = hexToBytes('f0e1d2c3b4a5968778695a4b3c2d1e0f');
const PLAINTEXT_LENGTH = 150_000;

/** Deterministic plaintext: byte i = (i·31 + ⌊i/256⌋) mod 256. */
function plaintext(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + (i >>> 8)) & 0xff;
  return out;
}

// --- expected (computed in Node with this code) -----------------------------------

const ALICE_RECIPIENT = 'age1s5s0qzvfxzn4gayt0hwtg0hhtgxm7wsdycup4a8t5j5ca25mfe4qt4hs7q';
const ALICE_IDENTITY = 'AGE-SECRET-KEY-1WURK6ZNNRZJH60QKC9E9RVNXGH05CTU8A0QFJ243WLA628DE9S4QRFH26J';
const PAYLOAD_KEY_HEX = 'b9ce966bcfc572db5d2e4ca8cecffcf655b668d97ae9b7ec2db873270a3f69df';
const SEALED_LENGTH = PLAINTEXT_LENGTH + 3 * 16;
const SEALED_SHA256 = 'd4f1609be1a2613300ae4e3eba9e6a05b09de6a656f82f1b48f8277794687888';
const HEADER_TEXT =
  'age-encryption.org/v1\n' +
  '-> X25519 3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08\n' +
  'HV4/6d8CHOO6dm2x5NTImNdB6lbgxUNE3VN7bdkHwM0\n' +
  '--- kVWU15NU7M0AsQyhmy7AwdRdZgVVZyCMvGpqiD9i0Sk\n';

/** The inputs and expected values above, for test/vectors-independent.test.ts (stock age, typage and OpenSSL re-check them). */
export const CORE_VECTOR = {
  ALICE_SECRET, ALICE_PUBLIC, BOB_PUBLIC, RFC_SHARED, FILE_KEY, PAYLOAD_NONCE, PLAINTEXT_LENGTH,
  ALICE_RECIPIENT, ALICE_IDENTITY, PAYLOAD_KEY_HEX, SEALED_LENGTH, SEALED_SHA256, HEADER_TEXT, plaintext,
};

// --- helpers --------------------------------------------------------------------------

function expectEqual(actual: unknown, expected: unknown, what: string): void {
  if (actual !== expected) throw new Error(`${what}: got ${String(actual)}, expected ${String(expected)}`);
}

function expectCode(run: () => unknown, code: string): void {
  try {
    run();
  } catch (e) {
    if (e instanceof SealbellError && e.code === code) return;
    throw new Error(`expected SealbellError ${code}, got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
  }
  throw new Error(`expected SealbellError ${code}, but nothing was thrown`);
}

/** Seals `data` as age STREAM under the test payload key; returns the concatenated output. */
function sealStream(data: Uint8Array, writeSize: number): { sealed: Uint8Array; lasts: boolean[] } {
  const sealed = new Uint8Array(data.length + 16 * Math.max(1, Math.ceil(data.length / CHUNK_SIZE)));
  let fill = 0;
  const lasts: boolean[] = [];
  const sealer = new StreamSealer(nobleAead, payloadKey(FILE_KEY, PAYLOAD_NONCE), (chunk, index, last) => {
    if (index !== lasts.length) throw new Error(`chunk ${index} out of order`);
    sealed.set(chunk, fill);
    fill += chunk.length;
    lasts.push(last);
  });
  for (let off = 0; off < data.length; off += writeSize) sealer.write(data.subarray(off, off + writeSize));
  sealer.close();
  if (fill !== sealed.length) throw new Error(`sealed ${fill} bytes, expected ${sealed.length}`);
  return { sealed, lasts };
}

function openStream(sealed: Uint8Array, pushSize: number): Uint8Array {
  const parts: Uint8Array[] = [];
  const opener = new StreamOpener(nobleAead, payloadKey(FILE_KEY, PAYLOAD_NONCE), (plain) => {
    parts.push(plain.slice());
  });
  for (let off = 0; off < sealed.length; off += pushSize) opener.push(sealed.subarray(off, off + pushSize));
  opener.end();
  return concatBytes(...parts);
}

let sample: { plain: Uint8Array; sealed: Uint8Array; lasts: boolean[] } | undefined;
function bigSample() {
  if (!sample) {
    const plain = plaintext(PLAINTEXT_LENGTH);
    // Odd write size: chunk boundaries fall inside writes.
    sample = { plain, ...sealStream(plain, 10_007) };
  }
  return sample;
}

/** The `Random` for wrapX25519: hands out Bob's key as the ephemeral secret (a copy: it is wiped). */
const bobRandom = (n: number): Uint8Array => {
  if (n !== 32) throw new Error(`unexpected random(${n})`);
  return BOB_SECRET.slice();
};

const headerBytes = (): Uint8Array => utf8ToBytes(HEADER_TEXT);

// --- cases ----------------------------------------------------------------------------

export const cases: Case[] = [
  {
    name: 'x25519: RFC 7748 public key and age bech32 encodings',
    run() {
      expectEqual(encodeRecipient(ALICE_PUBLIC), ALICE_RECIPIENT, 'recipient');
      expectEqual(encodeIdentity(ALICE_SECRET), ALICE_IDENTITY, 'identity');
      expectEqual(identityToRecipient(ALICE_IDENTITY), ALICE_RECIPIENT, 'identityToRecipient');
      expectEqual(bytesToHex(x25519Identity(ALICE_IDENTITY).publicKey), bytesToHex(ALICE_PUBLIC), 'public key');
      expectEqual(bytesToHex(x25519.getSharedSecret(ALICE_SECRET, BOB_PUBLIC)), RFC_SHARED, 'shared secret');
    },
  },
  {
    name: 'bech32: round trips and rejections',
    run() {
      expectEqual(bytesToHex(decodeRecipient(ALICE_RECIPIENT)), bytesToHex(ALICE_PUBLIC), 'decodeRecipient');
      expectEqual(bytesToHex(decodeIdentity(ALICE_IDENTITY)), bytesToHex(ALICE_SECRET), 'decodeIdentity');
      for (let i = 0; i < 8; i++) {
        const key = sha256(new Uint8Array([i]));
        expectEqual(bytesToHex(decodeRecipient(encodeRecipient(key))), bytesToHex(key), `recipient round trip ${i}`);
        expectEqual(bytesToHex(decodeIdentity(encodeIdentity(key))), bytesToHex(key), `identity round trip ${i}`);
      }
      expectCode(() => decodeRecipient(ALICE_RECIPIENT.toUpperCase()), 'AGE_KEY');
      expectCode(() => decodeIdentity(ALICE_IDENTITY.toLowerCase()), 'AGE_KEY');
      // One character changed: the checksum catches it.
      const typo = ALICE_RECIPIENT.slice(0, 10) + (ALICE_RECIPIENT[10] === 'q' ? 'p' : 'q') + ALICE_RECIPIENT.slice(11);
      expectCode(() => decodeRecipient(typo), 'AGE_KEY');
      expectCode(() => decodeRecipient(ALICE_IDENTITY.toLowerCase()), 'AGE_KEY');
    },
  },
  {
    name: 'stream: payload key (HKDF-SHA-256)',
    run() {
      expectEqual(bytesToHex(payloadKey(FILE_KEY, PAYLOAD_NONCE)), PAYLOAD_KEY_HEX, 'payload key');
    },
  },
  {
    name: `stream: seal ${PLAINTEXT_LENGTH} bytes (3 chunks), SHA-256 of the output`,
    run() {
      const { sealed, lasts } = bigSample();
      expectEqual(sealed.length, SEALED_LENGTH, 'sealed length');
      expectEqual(lasts.join(','), 'false,false,true', 'last-chunk flags');
      expectEqual(bytesToHex(sha256(sealed)), SEALED_SHA256, 'SHA-256 of the sealed stream');
    },
  },
  {
    name: 'stream: open the sealed stream back',
    run() {
      const { plain, sealed } = bigSample();
      const opened = openStream(sealed, 65_536 + 7);
      expectEqual(opened.length, plain.length, 'opened length');
      if (!equalBytes(opened, plain)) return 'opened bytes differ from the plaintext';
    },
  },
  {
    name: 'stream: tampered, truncated and empty streams are rejected',
    run() {
      const { sealed } = sealStream(plaintext(100), 100);
      const tampered = sealed.slice();
      tampered[50] ^= 1;
      expectCode(() => openStream(tampered, 1000), 'CHUNK_AUTH');
      expectCode(() => openStream(sealed.subarray(0, 10), 1000), 'TRUNCATED');
      // An empty plaintext is one empty final chunk (just a tag).
      const empty = sealStream(new Uint8Array(0), 1).sealed;
      expectEqual(empty.length, 16, 'empty stream length');
      expectEqual(openStream(empty, 16).length, 0, 'empty stream opens empty');
    },
  },
  {
    name: 'header: encode with an X25519 stanza (RFC 7748 keys)',
    run() {
      const stanza = wrapX25519(FILE_KEY, ALICE_PUBLIC, bobRandom);
      expectEqual(stanza.args[0], b64encode(BOB_PUBLIC), 'ephemeral share');
      const header = encodeHeader(FILE_KEY, [stanza]);
      expectEqual(utf8Decode(header), HEADER_TEXT, 'header text');
    },
  },
  {
    name: 'header: parse and open with the identity',
    run() {
      const payloadStart = bigSample().sealed.subarray(0, 100);
      const data = new Uint8Array(headerBytes().length + payloadStart.length);
      data.set(headerBytes(), 0);
      data.set(payloadStart, headerBytes().length);
      const parsed = parseHeader(data);
      if (!parsed) return 'parseHeader wants more data';
      expectEqual(parsed.length, headerBytes().length, 'header length');
      expectEqual(parsed.stanzas.length, 1, 'stanza count');
      const [s] = parsed.stanzas;
      expectEqual(s.type, 'X25519', 'stanza type');
      expectEqual(s.args.join(' '), b64encode(BOB_PUBLIC), 'stanza args');
      expectEqual(s.body.length, 32, 'stanza body length');
      expectEqual(bytesToHex(openHeader(parsed, [x25519Identity(ALICE_IDENTITY)])), bytesToHex(FILE_KEY), 'file key');
      // Incomplete input asks for more instead of failing.
      expectEqual(parseHeader(headerBytes().subarray(0, 40)), undefined, 'partial header');
    },
  },
  {
    name: 'header: wrong identity, altered MAC and malformed headers are rejected',
    run() {
      const parsed = parseHeader(headerBytes());
      if (!parsed) return 'parseHeader wants more data';
      expectCode(() => openHeader(parsed, [x25519Identity(encodeIdentity(BOB_SECRET))]), 'NO_IDENTITY');
      const mac = parsed.mac.slice();
      mac[0] ^= 0x80;
      expectCode(() => verifyHeaderMac({ ...parsed, mac }, FILE_KEY), 'HEADER_MAC');
      const text = HEADER_TEXT;
      expectCode(() => parseHeader(utf8ToBytes(text.replace('v1', 'v2'))), 'AGE_HEADER');
      expectCode(() => parseHeader(utf8ToBytes(text.replace('--- ', '---\t'))), 'AGE_HEADER');
      // Non-canonical base64: the last character of the share with spare bits set.
      const share = b64encode(BOB_PUBLIC);
      const last = share[share.length - 1];
      const bent = share.slice(0, -1) + String.fromCharCode(last.charCodeAt(0) + 1);
      const bad = text.replace(share, bent);
      const badParsed = parseHeader(utf8ToBytes(bad));
      expectCode(() => badParsed && openHeader(badParsed, [x25519Identity(ALICE_IDENTITY)]), 'AGE_HEADER');
    },
  },
  {
    name: 'bytes: strict UTF-8 decoding',
    run() {
      expectEqual(utf8Decode(utf8ToBytes('sealbell ✓')), 'sealbell ✓', 'round trip');
      let threw = false;
      try {
        utf8Decode(new Uint8Array([0x61, 0xff, 0x62]));
      } catch {
        threw = true;
      }
      expectEqual(threw, true, 'invalid UTF-8 throws');
    },
  },
  ...pqCases,
];

runCases(cases);
