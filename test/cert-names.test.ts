// The pure half of the doorbell's own relay-certificate pin (hosts/moddable/tls-pin.ts):
// reading subjectAltName entries and matching them to the host dialled. Checked on
// hand-made DER and on certificates openssl makes the way tools/test-ca.ts does for the
// end-to-end runs (the good relay's, one for another name, the impostor's own).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { requireTool, tempDir } from './helpers.js';
import { ipv4Host, namesHost, subjectAltNames } from '../src/net/cert-names.js';
import { issueServerCert, makeImpostorChain, makeTestCa } from '../tools/test-ca.js';

/** The subjectAltName extension's value in a certificate (DER), as the SDK's X509.decodeExtension gives it. */
function sanOf(pemFile: string): Uint8Array {
  const der = new Uint8Array(new crypto.X509Certificate(fs.readFileSync(pemFile)).raw);
  const oid = [0x06, 0x03, 0x55, 0x1d, 0x11];
  for (let i = 0; i + oid.length < der.length; i++) {
    if (!oid.every((b, k) => der[i + k] === b)) continue;
    let at = i + oid.length;
    if (der[at] === 0x01) at += 3; // critical BOOLEAN
    assert.equal(der[at], 0x04, 'extnValue is an OCTET STRING');
    let len = der[at + 1]!;
    let start = at + 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let k = 0; k < n; k++) len = len * 256 + der[start + k]!;
      start += n;
    }
    return der.subarray(start, start + len);
  }
  throw new Error(`no subjectAltName in ${pemFile}`);
}

const seq = (...parts: number[][]) => {
  const body = parts.flat();
  return new Uint8Array([0x30, body.length, ...body]);
};
const dns = (s: string) => [0x82, s.length, ...Buffer.from(s, 'latin1')];
const ip = (...o: number[]) => [0x87, o.length, ...o];

describe('certificate names (the relay pin on the doorbell)', () => {
  it('reads dNSName and IPv4 iPAddress entries, skips others, lower-cases DNS names', () => {
    const email = [0x81, 5, ...Buffer.from('a@b.c')];
    const ipv6 = ip(...new Array<number>(16).fill(0));
    assert.deepEqual(subjectAltNames(seq(dns('Relay.Example.COM'), email, ip(10, 0, 2, 2), ipv6)), { dns: ['relay.example.com'], ipv4: ['10.0.2.2'] });
  });

  it('refuses malformed DER', () => {
    assert.throws(() => subjectAltNames(new Uint8Array([0x04, 0x00])), /not a SEQUENCE/);
    assert.throws(() => subjectAltNames(new Uint8Array([0x30, 0x06, 0x82, 0x09, 0x61])), /truncated/);
    assert.throws(() => subjectAltNames(new Uint8Array([0x30, 0x03, 0x82, 0x01, 0x00])), /printable/);
  });

  it('matches an IPv4 host only against iPAddress entries', () => {
    assert.equal(namesHost({ dns: [], ipv4: ['127.0.0.1'] }, '127.0.0.1'), true);
    assert.equal(namesHost({ dns: [], ipv4: ['127.0.0.1'] }, '10.0.2.2'), false);
    // a DNS entry spelling the address does not name it
    assert.equal(namesHost({ dns: ['127.0.0.1'], ipv4: [] }, '127.0.0.1'), false);
    assert.equal(ipv4Host('010.000.002.002'), '10.0.2.2');
    assert.equal(ipv4Host('256.0.0.1'), undefined);
    assert.equal(namesHost({ dns: [], ipv4: ['10.0.2.2'] }, '010.0.2.2'), true);
  });

  it('matches DNS names exactly or by one leftmost wildcard label', () => {
    const names = { dns: ['relay.example.com', '*.cams.example.net'], ipv4: ['10.0.2.2'] };
    assert.equal(namesHost(names, 'RELAY.example.com'), true);
    assert.equal(namesHost(names, 'relay.example.com.'), true);
    assert.equal(namesHost(names, 'evil.example.com'), false);
    assert.equal(namesHost(names, 'a.cams.example.net'), true);
    assert.equal(namesHost(names, 'a.b.cams.example.net'), false);
    assert.equal(namesHost(names, 'cams.example.net'), false);
    assert.equal(namesHost({ dns: ['*.com', '*'], ipv4: [] }, 'example.com'), false);
    assert.equal(namesHost(names, '*.cams.example.net'), false);
    assert.equal(namesHost(names, ''), false);
  });

  it('on the test CA certificates: the relay for 127.0.0.1, not the one for another name', function () {
    this.timeout(60_000);
    requireTool('openssl');
    const dir = tempDir('cert-names');
    const good = makeTestCa(dir, 'good', ['127.0.0.1', '10.0.2.2']);
    const wrong = issueServerCert(dir, 'wrong-name', good, ['IP:10.9.9.9', 'DNS:relay.example']);
    const impostor = makeImpostorChain(dir, 'impostor', good);
    assert.deepEqual(subjectAltNames(sanOf(good.cert)), { dns: [], ipv4: ['127.0.0.1', '10.0.2.2'] });
    assert.equal(namesHost(subjectAltNames(sanOf(good.cert)), '10.0.2.2'), true);
    assert.equal(namesHost(subjectAltNames(sanOf(wrong.cert)), '127.0.0.1'), false);
    assert.equal(namesHost(subjectAltNames(sanOf(wrong.cert)), 'relay.example'), true);
    // the impostor's own certificate names the relay's address: only the signature check refuses it
    assert.equal(namesHost(subjectAltNames(sanOf(impostor.cert)), '127.0.0.1'), true);
    // and its chain file is [impostor, genuine relay certificate]
    const chain = fs.readFileSync(impostor.chain, 'utf8').match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g)!;
    assert.equal(chain.length, 2);
    assert.equal(new crypto.X509Certificate(chain[1]!).fingerprint256, new crypto.X509Certificate(fs.readFileSync(good.cert)).fingerprint256);
    assert.equal(new crypto.X509Certificate(chain[0]!).checkIssued(new crypto.X509Certificate(fs.readFileSync(good.ca))), false);
  });
});
