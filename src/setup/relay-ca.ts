/**
 * The certificate authority a doorbell trusts for its relay's TLS, as setup hands
 * it over: one X.509 certificate in DER (for a self-hosted relay it may be the
 * relay's own self-signed certificate). Absent, an https:// relay is checked
 * against the public CAs the platform ships. Only the outer DER shape is checked
 * here; the TLS stack parses the certificate itself.
 */
import { SealbellError } from '../errors.js';

/** Larger than any CA certificate in use (an RSA-4096 root is about 1.5 KB), small enough for a device. */
export const MAX_RELAY_CA_BYTES = 4096;

/** One DER SEQUENCE whose length covers exactly the bytes given. */
function isDerSequence(der: Uint8Array): boolean {
  if (der.length < 2 || der[0] !== 0x30) return false;
  const first = der[1];
  if (first < 0x80) return 2 + first === der.length;
  const n = first & 0x7f;
  if (n < 1 || n > 2 || der.length < 2 + n) return false;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + der[2 + i];
  // DER: the shortest length form only
  if (len < 0x80 || (n === 2 && len < 0x100)) return false;
  return 2 + n + len === der.length;
}

export function checkRelayCa(der: Uint8Array, relayUrl: string): Uint8Array {
  if (der.length < 1 || der.length > MAX_RELAY_CA_BYTES) throw new SealbellError('SETUP_CONFIG', `the relay CA certificate must be 1–${MAX_RELAY_CA_BYTES} bytes of DER`);
  if (!isDerSequence(der)) throw new SealbellError('SETUP_CONFIG', 'the relay CA is not a DER certificate');
  if (!/^(https|wss):/.test(relayUrl)) throw new SealbellError('SETUP_CONFIG', 'a relay CA certificate needs an https:// or wss:// relay URL');
  return der;
}
