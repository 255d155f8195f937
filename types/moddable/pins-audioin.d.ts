// The SDK's audio input (`pins/audioin`, modules/pins/audioin): on ESP32 an I2S channel (PDM
// when the build defines audioin.i2s.pdm), configured by the manifest's `defines.audioin`
// (sampleRate, bitsPerSample, i2s.num / lr_pin (the PDM clock) / datain). read() blocks until
// `samples` samples have come.
declare module 'pins/audioin' {
  export default class AudioIn {
    constructor();
    close(): void;
    /** a new ArrayBuffer of `samples` samples */
    read(samples: number): ArrayBuffer;
    /** into `buffer` at byte `offset`; returns `buffer` */
    read<B extends ArrayBuffer | ArrayBufferView>(samples: number, buffer: B, offset?: number): B;
    readonly sampleRate: number;
    readonly bitsPerSample: number;
    readonly numChannels: number;
  }
}
