// ECMA-419 digital IO: `embedded:io/digital`.
declare module 'embedded:io/digital' {
  interface DigitalOptions {
    /** GPIO number */
    pin: number;
    /** Digital.Input, .InputPullUp, .InputPullDown, .InputPullUpDown, .Output or .OutputOpenDrain */
    mode: number;
    /** Digital.Rising, Digital.Falling or both (|): required with onReadable */
    edge?: number;
    /** the input changed as `edge` asks */
    onReadable?: (this: Digital) => void;
    target?: unknown;
  }

  class Digital {
    static readonly Input: number;
    static readonly InputPullUp: number;
    static readonly InputPullDown: number;
    static readonly InputPullUpDown: number;
    static readonly Output: number;
    static readonly OutputOpenDrain: number;
    static readonly Rising: number;
    static readonly Falling: number;
    constructor(options: DigitalOptions);
    read(): 0 | 1;
    write(value: 0 | 1): void;
    close(): void;
  }

  export default Digital;
}
