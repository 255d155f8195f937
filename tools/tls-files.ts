/**
 * TLS files given on the command line: the relay's certificate chain and key
 * (`sealbell relay --tls-cert/--tls-key`) and the CA a doorbell and phone trust for
 * their relay (`sealbell phone setup --relay-ca`). Bad files get a clear error with
 * a code, never an OpenSSL stack; a key's contents are never echoed.
 */
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import tls from 'node:tls';
import { SealbellError } from '../src/errors.js';

function readFile(file: string, what: string, code: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new SealbellError(code, `cannot read the ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** One X.509 certificate (PEM, or DER) from `file`: its DER bytes and PEM text. */
export function readCaCertificate(file: string, what = 'CA certificate'): { der: Uint8Array; pem: string } {
  const bytes = readFile(file, what, 'TLS_CERTIFICATE');
  const blocks = bytes.toString('latin1').match(/-----BEGIN CERTIFICATE-----/g)?.length ?? 0;
  if (blocks > 1) throw new SealbellError('TLS_CERTIFICATE', `the ${what} ${file} holds ${blocks} certificates; give the one CA certificate`);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(bytes);
  } catch {
    throw new SealbellError('TLS_CERTIFICATE', `the ${what} ${file} is not an X.509 certificate (PEM or DER)`);
  }
  return { der: new Uint8Array(cert.raw), pem: cert.toString() };
}

/** The relay's certificate chain (PEM, its own certificate first) and private key (PEM), checked to match. */
export function readTlsServerFiles(certFile: string, keyFile: string): { cert: Buffer; key: Buffer } {
  const cert = readFile(certFile, 'TLS certificate', 'TLS_CERTIFICATE');
  const key = readFile(keyFile, 'TLS key', 'TLS_KEY');
  try {
    new X509Certificate(cert);
  } catch {
    throw new SealbellError('TLS_CERTIFICATE', `the TLS certificate ${certFile} is not a PEM certificate`);
  }
  try {
    tls.createSecureContext({ cert, key });
  } catch (e) {
    const why = /KEY_VALUES_MISMATCH|key values mismatch/i.test(String((e as Error).message)) ? 'does not match the certificate' : 'is not a PEM private key';
    throw new SealbellError('TLS_KEY', `the TLS key ${keyFile} ${why}`);
  }
  return { cert, key };
}
