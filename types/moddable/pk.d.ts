// `ecdsa`, `pkcs1_5`: the SDK's signature checks (modules/crypt/etc), part of its TLS.
declare module 'ecdsa' {
  class ECDSA {
    /** `key`: an X509 public key's `pub`, `curve` its `curve`; `priv` false for checking */
    constructor(key: object, curve: object, priv?: boolean, oid?: unknown[]);
    /** `hash`: the digest of the signed data; `asn1`: the signature is a DER SEQUENCE of r and s */
    verify(hash: ArrayBuffer, sig: ArrayBuffer | Uint8Array, asn1?: boolean): boolean;
  }
  export default ECDSA;
}
declare module 'pkcs1_5' {
  class PKCS1_5 {
    /** `key`: an X509 RSA public key ({ modulus, exponent }); `oid` [] takes any digest OID in the signature */
    constructor(key: object, priv?: boolean, oid?: unknown[]);
    verify(hash: ArrayBuffer, sig: ArrayBuffer | Uint8Array): boolean;
  }
  export default PKCS1_5;
}
