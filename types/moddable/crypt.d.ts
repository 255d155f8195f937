// `crypt`: native hashes (MD5, SHA1, SHA224, SHA256, SHA384, SHA512).
declare module 'crypt' {
  class Digest {
    constructor(algorithm: 'MD5' | 'SHA1' | 'SHA224' | 'SHA256' | 'SHA384' | 'SHA512');
    /** adds data; any number of times */
    write(data: ArrayBuffer | string): void;
    /** the hash; the digest is finished afterwards */
    close(): ArrayBuffer;
    reset(): void;
    readonly blockSize: number;
    readonly outputSize: number;
  }
  export { Digest };
}
