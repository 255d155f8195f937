// `flash`: a flash partition by name (ESP32: a data partition of the partition table).
declare module 'flash' {
  class Flash {
    constructor(partition: string);
    /** erases sector `sector` (blockSize bytes) to 0xFF */
    erase(sector: number): void;
    read(offset: number, byteLength: number): ArrayBuffer;
    write(offset: number, byteLength: number, buffer: ArrayBuffer | ArrayBufferView): void;
    readonly byteLength: number;
    readonly blockSize: number;
  }
  export default Flash;
}
