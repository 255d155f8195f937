/**
 * Which hosts a server certificate names: its subjectAltName entries (RFC 5280 GeneralNames),
 * matched against the host a client dialled (RFC 6125: a DNS name against dNSName entries,
 * with a wildcard only as the whole leftmost label; an IPv4 address only against iPAddress
 * entries, never against a DNS name or the subject's CN).
 *
 * Pure (no SDK, no Node): the doorbell's own pin of the relay certificate
 * (hosts/moddable/tls-pin.ts) uses it on the XS side, and the Node tests check it directly.
 */

export interface CertNames {
  /** dNSName entries, lower case */
  dns: string[];
  /** iPAddress entries that are IPv4 addresses, dotted ("10.0.2.2") */
  ipv4: string[];
}

/** One DER element: its tag byte and the bounds of its contents in `der`. */
function element(der: Uint8Array, at: number): { tag: number; start: number; end: number } {
  if (at + 2 > der.length) throw new Error('DER: truncated');
  const tag = der[at]!;
  let len = der[at + 1]!;
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3 || start + n > der.length) throw new Error('DER: bad length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[start + i]!;
    start += n;
  }
  const end = start + len;
  if (end > der.length) throw new Error('DER: truncated');
  return { tag, start, end };
}

/**
 * The names in a subjectAltName extension's value (the DER GeneralNames SEQUENCE, what the
 * SDK's `X509.decodeExtension(cert, [2, 5, 29, 17])` gives). Other kinds of name are skipped.
 * Throws on malformed DER.
 */
export function subjectAltNames(der: Uint8Array): CertNames {
  const names: CertNames = { dns: [], ipv4: [] };
  const seq = element(der, 0);
  if (seq.tag !== 0x30) throw new Error('subjectAltName: not a SEQUENCE');
  for (let at = seq.start; at < seq.end; ) {
    const e = element(der, at);
    if (e.end > seq.end) throw new Error('subjectAltName: truncated');
    const value = der.subarray(e.start, e.end);
    if (e.tag === 0x82) {
      // dNSName: [2] IMPLICIT IA5String
      let s = '';
      for (const b of value) {
        if (b < 0x21 || b > 0x7e) throw new Error('subjectAltName: a dNSName that is not printable ASCII');
        s += String.fromCharCode(b);
      }
      names.dns.push(s.toLowerCase());
    } else if (e.tag === 0x87 && value.length === 4) {
      // iPAddress: [7] IMPLICIT OCTET STRING, 4 bytes for IPv4 (16 for IPv6, not used here)
      names.ipv4.push(Array.from(value).join('.'));
    }
    at = e.end;
  }
  return names;
}

/** `host` as a canonical dotted IPv4 address, or undefined if it is not one. */
export function ipv4Host(host: string): string | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return undefined;
  const octets = m.slice(1).map(Number);
  return octets.every((o) => o <= 255) ? octets.join('.') : undefined;
}

/** Whether the certificate's names cover `host` (a DNS name or an IPv4 address, as dialled). */
export function namesHost(names: CertNames, host: string): boolean {
  const ip = ipv4Host(host);
  if (ip !== undefined) return names.ipv4.includes(ip);
  const h = host.toLowerCase().replace(/\.$/, '');
  if (!h || h.includes('*')) return false;
  for (const raw of names.dns) {
    const n = raw.replace(/\.$/, '');
    if (n === h) return true;
    // "*.example.com": exactly one label in its place, and not for a bare "*" or "*.com"
    if (n.startsWith('*.') && !n.slice(2).includes('*') && n.slice(2).includes('.')) {
      const dot = h.indexOf('.');
      if (dot > 0 && h.slice(dot + 1) === n.slice(2)) return true;
    }
  }
  return false;
}
