// `securesocket`: a TLS client connection with the same interface as `socket`'s Socket.
declare module 'securesocket' {
  class SecureSocket {
    /**
     * `secure`: TLS options, e.g. { protocolVersion: 0x303, certificate: caDer } (an ArrayBuffer
     * the SDK's CertificateManager registers as a trust anchor beside the build's ca.ski / ca<N>.der
     * resources; `verify: false` turns checking off); the server name is `host`
     */
    constructor(options: { host: string; port: number; secure?: Record<string, unknown> });
    callback: (message: 1 | 2 | 3 | -1 | -2, value?: number) => void;
    read(type: typeof ArrayBuffer): ArrayBuffer | undefined;
    write(): number;
    write(...data: (string | number | ArrayBuffer | ArrayBufferView)[]): void;
    close(): void;
  }
  export default SecureSocket;
}
