// The few globals the core relies on beyond ES2022. Node has them; on Moddable
// hosts/moddable installs TextEncoder/TextDecoder and crypto.getRandomValues
// before the core loads (the runtime has neither).
declare class TextEncoder {
  encode(input?: string): Uint8Array;
}
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean });
  decode(input?: Uint8Array): string;
}
