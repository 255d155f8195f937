// `text/encoder` and `text/decoder`: UTF-8 TextEncoder and TextDecoder classes (not installed as globals).
declare module 'text/encoder' {
  class TextEncoder {
    constructor();
    encode(input?: string): Uint8Array;
    encodeInto(input: string, destination: Uint8Array): { read: number; written: number };
  }
  export default TextEncoder;
}

declare module 'text/decoder' {
  class TextDecoder {
    constructor(label?: 'utf-8', options?: { fatal?: boolean; ignoreBOM?: boolean });
    decode(input?: ArrayBufferLike | ArrayBufferView, options?: { stream?: boolean }): string;
    readonly encoding: string;
    readonly fatal: boolean;
    readonly ignoreBOM: boolean;
  }
  export default TextDecoder;
}
