/**
 * Types for hostbuffer.js (native buffers in host memory on Moddable).
 */

/** A zeroed Uint8Array of byteLength bytes over host memory (PSRAM on ESP32 where present); freed, zeroed first, when collected. */
export declare function hostBytes(byteLength: number): Uint8Array<ArrayBuffer>;
export default hostBytes;
