/**
 * The doorbell's own check of the relay's TLS certificate when setup gave it the relay's CA
 * (`sealbell phone setup --relay-ca`).
 *
 * Why: the SDK's chain check (modules/crypt/ssl/ssl_cert.js, `verify`) skips a link of the
 * chain that does not verify and accepts the chain when its LAST certificate chains to a
 * trust anchor, while the session uses the FIRST one's key. A network attacker who sends
 * [its own self-signed certificate, the genuine relay certificate] is taken for the relay
 * (and in older SDK versions no server name is checked at all).
 *
 * So, in the handshake, once the SDK has accepted the chain and before the key exchange:
 * the certificate whose key the session will use must be (a) signed directly by the setup
 * CA's key, (b) within its dates, (c) issued for the host dialled (subjectAltName: a DNS
 * name, or an IPv4 address in an iPAddress entry). The hook is the session's certificate
 * manager's `verify`: the SDK drops `session.peerCert` before the handshake ends, so it
 * cannot be read afterwards. Session resumption is turned off for pinned connections
 * (`cache: false` in openTcp), so every handshake shows its certificate to this check.
 */
import X509, { type X509Certificate, type X509PublicKey } from 'x509';
import ECDSA from 'ecdsa';
import PKCS1_5 from 'pkcs1_5';
import { Digest } from 'crypt';
import { namesHost, subjectAltNames } from '../../src/net/cert-names.js';

const SUBJECT_ALT_NAME = [2, 5, 29, 17];

/** signature algorithm OIDs → digest, for the ones checked here */
const ECDSA_SHA: Record<string, 'SHA256' | 'SHA384' | 'SHA512'> = {
  '1,2,840,10045,4,3,2': 'SHA256',
  '1,2,840,10045,4,3,3': 'SHA384',
  '1,2,840,10045,4,3,4': 'SHA512',
};
const RSA_SHA: Record<string, 'SHA256' | 'SHA384' | 'SHA512'> = {
  '1,2,840,113549,1,1,11': 'SHA256',
  '1,2,840,113549,1,1,12': 'SHA384',
  '1,2,840,113549,1,1,13': 'SHA512',
};

function digest(hash: 'SHA256' | 'SHA384' | 'SHA512', data: Uint8Array): ArrayBuffer {
  const d = new Digest(hash);
  d.write(data.slice().buffer);
  return d.close();
}

/** Whether `cert`'s signature verifies with `key` (ECDSA or RSA PKCS#1 v1.5, SHA-2). */
function signedBy(cert: X509Certificate, key: X509PublicKey): boolean {
  const algo = cert.algo.toString();
  const ec = ECDSA_SHA[algo];
  if (ec) {
    if (!key.curve || !key.pub) return false;
    return new ECDSA(key.pub, key.curve, false, []).verify(digest(ec, cert.tbs), cert.sig, true);
  }
  const rsa = RSA_SHA[algo];
  if (rsa) {
    if (key.modulus === undefined || key.exponent === undefined) return false;
    return new PKCS1_5(key, false, []).verify(digest(rsa, cert.tbs), cert.sig);
  }
  return false;
}

/**
 * Why `leaf` (DER) is not the relay's certificate from the CA `ca` (DER) for `host` at `now`,
 * or undefined when it is.
 */
export function leafProblem(leaf: ArrayBuffer | Uint8Array, ca: ArrayBuffer | Uint8Array, host: string, now = Date.now()): string | undefined {
  try {
    const cert = X509.decode(leaf);
    if (!signedBy(cert, X509.decodeSPKI(ca))) return 'not signed by that CA';
    const { from, to } = X509.decodeTBS(cert.tbs).validity;
    if (!(from < now && now < to)) return 'outside its validity dates';
    const san = X509.decodeExtension(leaf, SUBJECT_ALT_NAME);
    if (!san) return 'it names no host (no subjectAltName)';
    if (!namesHost(subjectAltNames(new Uint8Array(san)), host)) return `it does not name ${host}`;
    return undefined;
  } catch (e) {
    return `unreadable (${(e as Error).message})`;
  }
}

/** What the pin saw in a connection's handshake. */
export interface PinState {
  /** the certificate the session uses passed `leafProblem` */
  checked: boolean;
  /** why it was refused, when it was */
  problem?: string;
}

interface CertificateManagerLike {
  verify(certs: Uint8Array[], ...rest: unknown[]): boolean;
}

/**
 * Hooks `leafProblem` into a SecureSocket's handshake (before its first message is handled):
 * a refused certificate fails the handshake as the SDK's own refusals do (the socket reports
 * an error), and the returned state says why. If the hook cannot be installed (another SDK
 * layout), `problem` says so at once and the caller must not use the connection.
 */
export function pinPeerCertificate(sock: object, ca: Uint8Array, host: string): PinState {
  const state: PinState = { checked: false };
  const manager = (sock as { ssl?: { certificateManager?: CertificateManagerLike } }).ssl?.certificateManager;
  if (!manager || typeof manager.verify !== 'function') {
    state.problem = 'this SDK gives no way to check it';
    return state;
  }
  const sdkVerify = manager.verify;
  // defineProperty, not assignment: the SDK's preloaded class prototype is frozen
  Object.defineProperty(manager, 'verify', {
    configurable: true,
    writable: true,
    value(certs: Uint8Array[], ...rest: unknown[]): boolean {
      if (!sdkVerify.call(manager, certs, ...rest)) return false;
      const problem = certs.length > 0 ? leafProblem(certs[0]!, ca, host) : 'the relay sent no certificate';
      if (problem) {
        state.problem = problem;
        return false;
      }
      state.checked = true;
      return true;
    },
  });
  return state;
}
