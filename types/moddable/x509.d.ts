// `x509`: the SDK's certificate decoder (modules/crypt/etc/x509.js), part of its TLS.
declare module 'x509' {
  /** a public key as `decodeSPKI` gives it: RSA (modulus, exponent) or EC on P-256 (curve, pub); {} for other kinds */
  export interface X509PublicKey {
    algo?: number[];
    modulus?: bigint;
    exponent?: bigint;
    /** a `curve` module Curve */
    curve?: object;
    /** an `ecp` module ECPoint */
    pub?: object;
  }
  export interface X509Certificate {
    /** the DER TBSCertificate, what the signature covers */
    tbs: Uint8Array;
    /** the signature algorithm's OID, as its arcs */
    algo: number[];
    /** the signature: the BIT STRING's bytes (for ECDSA the DER SEQUENCE of r and s) */
    sig: Uint8Array | ArrayBuffer;
    spki: X509PublicKey;
  }
  const X509: {
    /** throws on malformed input */
    decode(cert: ArrayBuffer | Uint8Array): X509Certificate;
    /** `validity`: ms since the epoch */
    decodeTBS(tbs: Uint8Array): { validity: { from: number; to: number } };
    decodeSPKI(cert: ArrayBuffer | Uint8Array): X509PublicKey;
    /** an extension's value (the contents of its extnValue OCTET STRING), undefined when absent; `oid` as arcs */
    decodeExtension(cert: ArrayBuffer | Uint8Array, oid: number[]): ArrayBuffer | undefined;
  };
  export default X509;
}
