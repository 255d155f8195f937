/**
 * Globals the core (and noble, at load time) expects that the Moddable runtime
 * lacks: TextEncoder / TextDecoder from the SDK's `text/encoder` and
 * `text/decoder` modules, and crypto.getRandomValues over the platform CSPRNG
 * (native/random.c: esp_fill_random on ESP32, getrandom in the simulator; the
 * SDK's `rng` module is not a CSPRNG).
 *
 * The app's main must import this module FIRST: ES modules run in import
 * order, and noble reads TextEncoder when its modules load.
 */
import SdkTextEncoder from 'text/encoder';
import SdkTextDecoder from 'text/decoder';
import { randomFill } from './native/aead.js';
/** Web Crypto's limit per call. */
const MAX_RANDOM_BYTES = 65536;
export function getRandomValues(array) {
    const a = array;
    if (!(a instanceof Int8Array || a instanceof Uint8Array || a instanceof Uint8ClampedArray ||
        a instanceof Int16Array || a instanceof Uint16Array || a instanceof Int32Array || a instanceof Uint32Array)) {
        throw new TypeError('getRandomValues: an integer typed array is required');
    }
    if (a.byteLength > MAX_RANDOM_BYTES)
        throw new RangeError('getRandomValues: more than 65536 bytes requested');
    randomFill(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    return array;
}
const g = globalThis;
if (typeof g.TextEncoder !== 'function')
    g.TextEncoder = SdkTextEncoder;
if (typeof g.TextDecoder !== 'function')
    g.TextDecoder = SdkTextDecoder;
const c = (g.crypto ??= {});
if (typeof c.getRandomValues !== 'function')
    c.getRandomValues = getRandomValues;
//# sourceMappingURL=globals.js.map