/**
 * Every vector in test/vectors/ checked against something sealbell did not write (the project's own
 * tests check the code reproduces each vector; here the vectors are read back without that code):
 *
 * - live-v1.json: a decoder written here from docs/live-format.md alone, with Node's OpenSSL for
 *   Ed25519, X25519, HKDF, HMAC and ChaCha20-Poly1305 (the age X25519 stanza per the C2SP age spec);
 * - roster-v1.json: stock `minisign -V` on the signed roster, stock `age-keygen -y` for the recipients;
 * - setup-v1.json: SPAKE2+ recomputed from RFC 9383 and docs/setup-spake2plus.md with Node's scrypt,
 *   SHA-256, HKDF and HMAC and noble's bare P-256 point arithmetic, M and N from the RFC;
 * - clip-v1.json: typage (the age-encryption package); Debian age and minisign in clip-vectors.test.ts;
 * - test/xs/core-vectors.ts (the XS conformance constants): OpenSSL's X25519, HKDF and
 *   ChaCha20-Poly1305 re-make the payload; Debian age, age-keygen and typage open the file.
 *
 * test/vectors/README.md names, per file, the check that covers it; the first test keeps that true.
 */
import assert from 'node:assert/strict';
import {
  X509Certificate, createCipheriv, createDecipheriv, createHash, createHmac, createPrivateKey, createPublicKey, diffieHellman, hkdfSync, scryptSync, verify,
} from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { p256 } from '@noble/curves/nist.js';
import { bech32 } from '@scure/base';
import { Decrypter } from 'age-encryption';
import { ROOT, requireTool, run, tempDir } from './helpers.js';
import { CORE_VECTOR } from './xs/core-vectors.js';

const VECTORS = path.join(ROOT, 'test', 'vectors');
const load = (name: string) => JSON.parse(fs.readFileSync(path.join(VECTORS, name), 'utf8'));
const hex = (s: string) => Buffer.from(s, 'hex');
const ascii = (s: string) => Buffer.from(s, 'latin1');
const b64 = (s: string) => Buffer.from(s, 'base64');
const hkdf = (ikm: Buffer, salt: Buffer, info: string, length: number) => Buffer.from(hkdfSync('sha256', ikm, salt, ascii(info), length));
const hmac = (key: Buffer, msg: Buffer) => createHmac('sha256', key).update(msg).digest();

/** ChaCha20-Poly1305 (RFC 8439) open with OpenSSL; `sealed` is ciphertext ‖ 16-byte tag. */
function chachaOpen(key: Buffer, nonce: Buffer, sealed: Buffer, aad?: Buffer): Buffer {
  const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  if (aad) d.setAAD(aad, { plaintextLength: sealed.length - 16 });
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([d.update(sealed.subarray(0, sealed.length - 16)), d.final()]);
}

// DER wrappers for raw keys (RFC 8410)
const x25519Private = (raw: Buffer) => createPrivateKey({ key: Buffer.concat([hex('302e020100300506032b656e04220420'), raw]), format: 'der', type: 'pkcs8' });
const x25519Public = (raw: Buffer) => createPublicKey({ key: Buffer.concat([hex('302a300506032b656e032100'), raw]), format: 'der', type: 'spki' });
const ed25519Public = (raw: Buffer) => createPublicKey({ key: Buffer.concat([hex('302a300506032b6570032100'), raw]), format: 'der', type: 'spki' });

/** An age bech32 key (AGE-SECRET-KEY-1… or age1…) to its 32 bytes. */
function bech32Key(text: string): Buffer {
  const { words } = bech32.decode(text.toLowerCase() as `${string}1${string}`, 100);
  return Buffer.from(bech32.fromWords(words));
}

/** A minisign public key file: "Ed" ‖ key id (8, little-endian) ‖ Ed25519 key (32). */
function minisignPublicKey(text: string): { id: string; key: Buffer } {
  const raw = b64(text.trim().split('\n')[1]!);
  assert.equal(raw.subarray(0, 2).toString('latin1'), 'Ed');
  return { id: Buffer.from(raw.subarray(2, 10)).reverse().toString('hex').toUpperCase(), key: raw.subarray(10, 42) };
}

describe('test vectors, checked independently of the code that made them', function () {
  this.timeout(60_000);

  it('test/vectors/README.md names, for every vector file, the independent check and the test that runs it', () => {
    const readme = fs.readFileSync(path.join(VECTORS, 'README.md'), 'utf8');
    const files = fs.readdirSync(VECTORS).filter((f) => f.endsWith('.json'));
    assert.ok(files.length >= 5);
    for (const f of files) {
      const section = readme.split(/^## /m).find((s) => s.startsWith(`\`${f}\``));
      assert.ok(section, `test/vectors/README.md has no "## \`${f}\`" section`);
      const checkedBy = /^Checked by: (.+)$/m.exec(section)?.[1];
      assert.ok(checkedBy, `${f}: no "Checked by:" line`);
      const tests = [...checkedBy.matchAll(/`(test\/[\w./-]+\.test\.ts)`/g)].map((m) => m[1]!);
      assert.ok(tests.length > 0, `${f}: "Checked by" names no test file`);
      for (const t of tests) assert.ok(fs.existsSync(path.join(ROOT, t)), `${f}: ${t} does not exist`);
    }
  });

  describe('live-v1.json: a decoder from docs/live-format.md, on OpenSSL', () => {
    const v = load('live-v1.json');
    const opening = hex(v.opening);

    /** The opening's table, field by field. */
    function parseOpening(b: Buffer) {
      let off = 0;
      const take = (n: number) => {
        assert.ok(off + n <= b.length, 'opening too short');
        const s = b.subarray(off, off + n);
        off += n;
        return s;
      };
      const magic = take(16).toString('latin1');
      const device = take(16).toString('latin1');
      const session = take(take(1)[0]!).toString('latin1');
      const request = take(16);
      const epoch = take(6).readUIntBE(0, 6);
      const start = take(6).readUIntBE(0, 6);
      const kid = take(4).readUInt32BE(0);
      const width = take(2).readUInt16BE(0);
      const height = take(2).readUInt16BE(0);
      const header = take(take(2).readUInt16BE(0));
      const nonce = take(16);
      const signed = b.subarray(0, off);
      const signature = take(64);
      assert.equal(off, b.length, 'nothing may follow the signature');
      return { magic, device, session, request, epoch, start, kid, width, height, header, nonce, signed, signature };
    }

    /** The age v1 header's one X25519 stanza unwrapped with `identity` (C2SP age), its MAC checked. */
    function unwrapFileKey(header: Buffer, identity: string): Buffer {
      const text = header.toString('latin1');
      const lines = text.split('\n');
      assert.equal(lines[0], 'age-encryption.org/v1');
      const [arrow, type, share, ...rest] = lines[1]!.split(' ');
      assert.deepEqual([arrow, type, rest.length], ['->', 'X25519', 0]);
      const body = b64(lines[2]!);
      assert.match(lines[3]!, /^--- /);
      assert.equal(lines[4], '', 'the header ends after the MAC line');
      const secret = bech32Key(identity);
      const ephemeral = b64(share!);
      const shared = diffieHellman({ privateKey: x25519Private(secret), publicKey: x25519Public(ephemeral) });
      const ourPublic = createPublicKey(x25519Private(secret)).export({ format: 'der', type: 'spki' }).subarray(-32);
      const wrapKey = hkdf(shared, Buffer.concat([ephemeral, ourPublic]), 'age-encryption.org/v1/X25519', 32);
      const fileKey = chachaOpen(wrapKey, Buffer.alloc(12), body);
      assert.equal(fileKey.length, 16);
      // header MAC: HMAC-SHA-256 under HKDF(file key, "", "header") over the header up to "---"
      const macInput = ascii(text.slice(0, text.indexOf('\n---') + 4));
      assert.equal(hmac(hkdf(fileKey, Buffer.alloc(0), 'header', 32), macInput).toString('base64').replace(/=+$/, ''), lines[3]!.slice(4));
      return fileKey;
    }

    it('the opening: every field where the table puts it, signed by the device (Ed25519, OpenSSL)', () => {
      const o = parseOpening(opening);
      const device = minisignPublicKey(v.devicePublicKey);
      assert.equal(o.magic, 'sealbell live v1');
      assert.equal(o.device, v.device);
      assert.equal(o.device, device.id, 'the device id is the minisign key id of device.pub');
      assert.equal(o.session, v.session);
      assert.equal(o.request.toString('hex'), v.request);
      assert.deepEqual([o.epoch, o.start, o.kid, o.width, o.height], [v.epoch, v.start, v.kid, v.width, v.height]);
      assert.equal(o.header.toString('latin1').startsWith(v.header), true);
      assert.equal(o.nonce.toString('hex'), v.nonce);
      assert.ok(verify(null, o.signed, ed25519Public(device.key), o.signature), 'the signature verifies');
      const altered = Buffer.from(o.signed);
      altered[40]! ^= 1;
      assert.equal(verify(null, altered, ed25519Public(device.key), o.signature), false, 'and fails on an altered byte');
    });

    it('the session key unwraps with the phone\'s identity (age X25519 stanza), and the record key derives from it', () => {
      const o = parseOpening(opening);
      const fileKey = unwrapFileKey(o.header, v.identity);
      assert.equal(hkdf(fileKey, o.nonce, 'sealbell live v1 records', 32).toString('hex'), v.recordKey);
    });

    it('every record opens under the record key with its 12-byte header as the nonce: kinds, times, frames, end reason', () => {
      const o = parseOpening(opening);
      const key = hkdf(unwrapFileKey(o.header, v.identity), o.nonce, 'sealbell live v1 records', 32);
      const kinds: Record<number, string> = { 1: 'frame', 2: 'end' };
      assert.ok(v.records.length >= 2);
      v.records.forEach((r: { ctr: number; kind: string; time: number; data: string; record: string }, i: number) => {
        const rec = hex(r.record);
        assert.equal(rec.readUInt32BE(0), o.kid, 'kid as in the opening');
        assert.equal(Number(rec.readBigUInt64BE(4)), i, 'counter: 0, then +1 per record');
        assert.equal(r.ctr, i);
        const plain = chachaOpen(key, rec.subarray(0, 12), rec.subarray(12));
        assert.equal(kinds[plain[0]!], r.kind);
        assert.equal(plain.readUIntBE(1, 6), r.time);
        assert.equal(plain.subarray(7).toString('hex'), r.data);
        if (r.kind === 'frame') assert.equal(plain.subarray(7, 10).toString('hex'), 'ffd8ff', 'a JPEG');
      });
      assert.equal(v.records.at(-1).kind, 'end', 'the last record ends the session');
      assert.equal(v.records.at(-1).data, '00', 'reason 0: timeout');
      const forged = hex(v.records[0].record);
      forged[11]! ^= 1; // the counter is the nonce: changing it fails authentication
      assert.throws(() => chachaOpen(key, forged.subarray(0, 12), forged.subarray(12)), /unable to authenticate/);
    });
  });

  describe('roster-v1.json: stock minisign and age-keygen', () => {
    const v = load('roster-v1.json');

    it('minisign -V verifies the roster\'s signature with the authority key, trusted comment included', () => {
      requireTool('minisign');
      const dir = tempDir('roster-vector');
      fs.writeFileSync(path.join(dir, 'authority.pub'), v.authorityPublicKey);
      fs.writeFileSync(path.join(dir, 'roster.json'), v.roster);
      fs.writeFileSync(path.join(dir, 'roster.json.minisig'), v.signature);
      const out = run('minisign', ['-V', '-p', path.join(dir, 'authority.pub'), '-m', path.join(dir, 'roster.json')]);
      assert.match(out, /Signature and comment signature verified/);
      const roster = JSON.parse(v.roster);
      assert.match(out, new RegExp(`Trusted comment: sealbell roster v1 device ${roster.device} epoch ${roster.epoch}`));
      // the same check refuses a changed roster (it can fail)
      fs.writeFileSync(path.join(dir, 'roster.json'), v.roster.replace('"epoch":3', '"epoch":4'));
      assert.throws(() => run('minisign', ['-V', '-p', path.join(dir, 'authority.pub'), '-m', path.join(dir, 'roster.json')]), /Signature verification failed/);
    });

    it('the recipients are the phones\' and the history identity\'s (age-keygen -y), in the roster in that order', () => {
      requireTool('age-keygen');
      const roster = JSON.parse(v.roster);
      const derived = [...v.phoneIdentities, v.historyIdentity].map((id: string) => run('age-keygen', ['-y'], `${id}\n`).trim());
      assert.deepEqual(v.recipients.recipients, derived);
      assert.equal(v.recipients.epoch, roster.epoch);
      assert.deepEqual(roster.phones.map((p: { recipient: string }) => p.recipient), derived.slice(0, -1));
      assert.equal(roster.history, derived.at(-1));
    });

    it('the bundle is "SBR1" ‖ u16 ‖ roster.json ‖ u16 ‖ roster.json.minisig (docs/roster-format.md)', () => {
      const b = hex(v.bundle);
      assert.equal(b.subarray(0, 4).toString('latin1'), 'SBR1');
      const n = b.readUInt16BE(4);
      assert.equal(b.subarray(6, 6 + n).toString('utf8'), v.roster);
      const m = b.readUInt16BE(6 + n);
      assert.equal(b.subarray(8 + n, 8 + n + m).toString('utf8'), v.signature);
      assert.equal(8 + n + m, b.length);
    });
  });

  describe('setup-v1.json: SPAKE2+ recomputed (RFC 9383, Node scrypt/HKDF/HMAC, noble P-256 points)', () => {
    const v = load('setup-v1.json');
    const rfc = load('spake2plus-rfc9383.json');
    const { Point } = p256;
    const n = Point.Fn.ORDER;
    const P = Point.BASE;
    const M = Point.fromHex(rfc.M.compressed);
    const N = Point.fromHex(rfc.N.compressed);
    const bigint = (b: Buffer) => BigInt(`0x${b.toString('hex') || '0'}`);
    const scalar = (k: bigint) => Buffer.from(k.toString(16).padStart(64, '0'), 'hex');
    const point = (p: InstanceType<typeof Point>) => Buffer.from(p.toBytes(false));
    const len = (b: Buffer) => {
      const l = Buffer.alloc(8);
      l.writeBigUInt64LE(BigInt(b.length));
      return Buffer.concat([l, b]);
    };
    const idProver = ascii('sealbell phone');
    const idVerifier = ascii('sealbell doorbell');
    const message = (name: string) => hex(v.messages.find((m: { name: string }) => m.name === name).hex);

    it('w0, w1 from the setup code by scrypt (N 2^15, r 8, p 1), L = w1·P, the stored record "SBV1" ‖ salt ‖ w0 ‖ L', () => {
      const salt = hex(v.salt);
      const password = Buffer.concat([len(ascii(v.code)), len(idProver), len(idVerifier)]);
      const out = scryptSync(password, salt, 80, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
      const w0 = bigint(out.subarray(0, 40)) % n;
      const w1 = bigint(out.subarray(40)) % n;
      assert.equal(scalar(w0).toString('hex'), v.w0);
      assert.equal(scalar(w1).toString('hex'), v.w1);
      assert.equal(point(P.multiply(w1)).toString('hex'), v.L);
      assert.equal(v.verifierRecord, Buffer.concat([ascii('SBV1'), salt, scalar(w0), hex(v.L)]).toString('hex'));
      assert.equal(v.manualCode.replaceAll('-', ''), v.code);
      assert.match(v.qrPayload, new RegExp(`^SB1:${v.code}:`));
    });

    it('shareP, Z, V, the transcript, K_main, K_shared, both confirmations and the channel keys, as the messages carry them', () => {
      const w0 = bigint(hex(v.w0));
      const w1 = bigint(hex(v.w1));
      const x = bigint(hex(v.x));
      const sid = hex(v.sessionId);
      const context = Buffer.concat([ascii('sealbell setup v1'), sid, hex(v.salt)]);
      assert.equal(context.toString('hex'), v.context);
      assert.deepEqual(message('PARAMS').subarray(4), Buffer.concat([sid, hex(v.salt)]));

      const shareP = point(P.multiply(x).add(M.multiply(w0)));
      const sp = message('SHARE_P');
      assert.deepEqual(sp.subarray(4, 12), sid);
      assert.equal(sp.subarray(12).toString('hex'), shareP.toString('hex'), 'shareP = x·P + w0·M');
      const sv = message('SHARE_V');
      assert.equal(sv.length, 4 + 8 + 65 + 32);
      const shareV = sv.subarray(12, 77);
      const confirmV = sv.subarray(77);
      const Y = Point.fromHex(shareV.toString('hex'));
      const base = Y.subtract(N.multiply(w0));
      const Z = point(base.multiply(x));
      const V = point(base.multiply(w1));
      const TT = Buffer.concat([context, idProver, idVerifier, point(M), point(N), shareP, shareV, Z, V, scalar(w0)].map(len));
      const kMain = createHash('sha256').update(TT).digest();
      assert.equal(kMain.toString('hex'), v.K_main);
      const confirmation = hkdf(kMain, Buffer.alloc(0), 'ConfirmationKeys', 64);
      const kShared = hkdf(kMain, Buffer.alloc(0), 'SharedKey', 32);
      assert.equal(kShared.toString('hex'), v.K_shared);
      assert.deepEqual(hmac(confirmation.subarray(32), shareP), confirmV, 'confirmV = HMAC(K_confirmV, shareP)');
      assert.deepEqual(message('CONFIRM_P').subarray(12), hmac(confirmation.subarray(0, 32), shareV), 'confirmP = HMAC(K_confirmP, shareV)');
      assert.equal(hkdf(kShared, sid, 'sealbell setup v1 phone to device', 32).toString('hex'), v.keyPhoneToDevice);
      assert.equal(hkdf(kShared, sid, 'sealbell setup v1 device to phone', 32).toString('hex'), v.keyDeviceToPhone);
      // the first channel record opens with OpenSSL under the device→phone key
      const rec = message('RECORD (DEVICE_INFO)');
      const nonce = Buffer.concat([Buffer.alloc(8), rec.subarray(12, 16)]);
      assert.equal(chachaOpen(hex(v.keyDeviceToPhone), nonce, rec.subarray(16), rec.subarray(0, 16)).toString('hex'), v.plaintexts.deviceInfo);
    });

    it('the CONFIG record opens with OpenSSL under the phone→device key; its fields per docs/setup-protocol.md, the relay CA last, an X.509 certificate to OpenSSL', () => {
      const rec = message('RECORD (CONFIG)');
      const nonce = Buffer.concat([Buffer.alloc(8), rec.subarray(12, 16)]);
      const plain = chachaOpen(hex(v.keyPhoneToDevice), nonce, rec.subarray(16), rec.subarray(0, 16));
      assert.equal(plain.toString('hex'), v.plaintexts.config);
      // 0x11 ‖ u8 ssid ‖ u8 password ‖ u16 relay URL ‖ credential (32) ‖ authority (32) ‖ u16 roster ‖ u16 relay CA
      let at = 0;
      const take = (n: number) => plain.subarray(at, (at += n));
      const sized = (prefix: 1 | 2) => take(prefix === 1 ? take(1)[0] : take(2).readUInt16BE(0));
      assert.equal(take(1)[0], 0x11);
      assert.equal(sized(1).toString('utf8'), 'Home Network');
      assert.equal(sized(1).toString('utf8'), 'correct horse battery staple');
      assert.equal(sized(2).toString('utf8'), 'https://relay.example/sealbell');
      take(64);
      sized(2);
      const ca = sized(2);
      assert.equal(at, plain.length, 'the relay CA is the last field');
      assert.equal(ca.toString('hex'), v.relayCa);
      const cert = new X509Certificate(ca);
      assert.equal(cert.subject, 'CN=sealbell vector relay CA');
      assert.ok(cert.ca, 'a CA certificate');
      assert.ok(cert.verify(cert.publicKey), 'self-signed');
    });
  });

  describe('test/xs/core-vectors.ts: OpenSSL, Debian age and typage', () => {
    const c = CORE_VECTOR;
    const buf = (b: Uint8Array) => Buffer.from(b);

    /** age STREAM (C2SP age): 64 KiB chunks, nonce = 11-byte big-endian counter ‖ last-chunk flag, on OpenSSL. */
    function sealStream(key: Buffer, plain: Buffer): Buffer {
      const out: Buffer[] = [];
      const chunks = Math.max(1, Math.ceil(plain.length / 65536));
      for (let i = 0; i < chunks; i++) {
        const nonce = Buffer.alloc(12);
        nonce.writeUIntBE(i, 5, 6);
        nonce[11] = i === chunks - 1 ? 1 : 0;
        const e = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
        out.push(e.update(plain.subarray(i * 65536, (i + 1) * 65536)), e.final(), e.getAuthTag());
      }
      return Buffer.concat(out);
    }

    it('keys: the identity and recipient (age-keygen -y, bech32), X25519 of the RFC 7748 keys, the payload key', () => {
      requireTool('age-keygen');
      assert.deepEqual(bech32Key(c.ALICE_IDENTITY), buf(c.ALICE_SECRET));
      assert.equal(run('age-keygen', ['-y'], `${c.ALICE_IDENTITY}\n`).trim(), c.ALICE_RECIPIENT);
      assert.deepEqual(bech32Key(c.ALICE_RECIPIENT), buf(c.ALICE_PUBLIC));
      const shared = diffieHellman({ privateKey: x25519Private(buf(c.ALICE_SECRET)), publicKey: x25519Public(buf(c.BOB_PUBLIC)) });
      assert.equal(shared.toString('hex'), c.RFC_SHARED);
      assert.equal(hkdf(buf(c.FILE_KEY), buf(c.PAYLOAD_NONCE), 'payload', 32).toString('hex'), c.PAYLOAD_KEY_HEX);
    });

    it('the sealed stream OpenSSL makes has the expected length and SHA-256; with the header, Debian age and typage open it', async () => {
      requireTool('age');
      const plain = buf(c.plaintext(c.PLAINTEXT_LENGTH));
      const sealed = sealStream(hkdf(buf(c.FILE_KEY), buf(c.PAYLOAD_NONCE), 'payload', 32), plain);
      assert.equal(sealed.length, c.SEALED_LENGTH);
      assert.equal(createHash('sha256').update(sealed).digest('hex'), c.SEALED_SHA256);
      const file = Buffer.concat([ascii(c.HEADER_TEXT), buf(c.PAYLOAD_NONCE), sealed]);
      const dir = tempDir('core-vector');
      fs.writeFileSync(path.join(dir, 'id.key'), `${c.ALICE_IDENTITY}\n`);
      fs.writeFileSync(path.join(dir, 'core.age'), file);
      run('age', ['-d', '-i', path.join(dir, 'id.key'), '-o', path.join(dir, 'out'), path.join(dir, 'core.age')]);
      assert.ok(fs.readFileSync(path.join(dir, 'out')).equals(plain), 'Debian age: the plaintext');
      const d = new Decrypter();
      d.addIdentity(c.ALICE_IDENTITY);
      assert.ok(Buffer.from(await d.decrypt(file)).equals(plain), 'typage: the plaintext');
    });
  });

  describe('clip-v1.json: typage (age-encryption)', () => {
    it('typage decrypts the clip with the vector identity to the vector plaintext', async () => {
      const v = load('clip-v1.json');
      const d = new Decrypter();
      d.addIdentity(v.identity);
      const plain = await d.decrypt(hex(v.ageHex));
      assert.equal(Buffer.from(plain).toString('hex'), v.plaintextHex);
    });
  });
});
