/**
 * Store keys → ESP32 NVS keys. NVS keys are at most 15 characters; the core's
 * keys are longer ("identity.ed25519") and free-form. Every store key becomes a
 * *name* of at most 13 characters, and each value lives in two NVS entries
 * `<name>#0` and `<name>#1` (see kv-store.ts), so every NVS key fits in 15.
 *
 * - a key of 1–13 characters from [A-Za-z0-9._-] is its own name;
 * - any other key becomes its first 6 safe characters, `~`, and 6 base32
 *   characters of its SHA-256 (30 bits). Names of the first kind never contain
 *   `~`, so the two kinds cannot collide; two long keys collide only if they
 *   share the 6-character prefix and the 30-bit hash.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
export const NVS_KEY_MAX = 15;
export const NAME_MAX = NVS_KEY_MAX - 2;
const PREFIX = 6;
const HASH_CHARS = NAME_MAX - PREFIX - 1;
const SAFE = /^[A-Za-z0-9._-]+$/;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
function base32(bytes, chars) {
    let out = '';
    let acc = 0;
    let bits = 0;
    for (let i = 0; out.length < chars; i++) {
        acc = (acc << 8) | bytes[i];
        bits += 8;
        while (bits >= 5 && out.length < chars) {
            bits -= 5;
            out += BASE32[(acc >> bits) & 31];
        }
        acc &= (1 << bits) - 1;
    }
    return out;
}
/** The NVS name (≤ 13 characters) for a store key. */
export function nvsName(key) {
    if (key.length === 0)
        throw new RangeError('store key is empty');
    if (key.length <= NAME_MAX && SAFE.test(key))
        return key;
    const prefix = key.slice(0, PREFIX).replace(/[^A-Za-z0-9._-]/g, '_');
    return `${prefix}~${base32(sha256(utf8ToBytes(key)), HASH_CHARS)}`;
}
/** The NVS key of one of the two slots holding a value. */
export function slotKey(name, slot) {
    return `${name}#${slot}`;
}
//# sourceMappingURL=nvs-keys.js.map