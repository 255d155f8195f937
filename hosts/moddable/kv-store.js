import { nvsName, slotKey } from './nvs-keys.js';
import { crc32 } from '../../src/crc32.js';
const VERSION = 1;
const OVERHEAD = 9;
const PARTS_VERSION = 2;
/** version ‖ generation ‖ parts ‖ length ‖ value CRC ‖ record CRC */
const PARTS_RECORD = 1 + 4 + 1 + 4 + 4 + 4;
const MAX_PARTS = 255;
export function encodeSlot(generation, value) {
    const out = new Uint8Array(value.length + OVERHEAD);
    const view = new DataView(out.buffer);
    out[0] = VERSION;
    view.setUint32(1, generation >>> 0);
    out.set(value, 5);
    view.setUint32(5 + value.length, crc32(out.subarray(0, 5 + value.length)));
    return out;
}
export function decodeSlot(record) {
    if (!(record instanceof ArrayBuffer) || record.byteLength < OVERHEAD)
        return undefined;
    const bytes = new Uint8Array(record);
    const view = new DataView(record);
    const end = bytes.length - 4;
    if (bytes[0] !== VERSION || view.getUint32(end) !== crc32(bytes.subarray(0, end)))
        return undefined;
    return { generation: view.getUint32(1), value: bytes.slice(5, end) };
}
function encodePartsRecord(generation, parts, value) {
    const out = new Uint8Array(PARTS_RECORD);
    const view = new DataView(out.buffer);
    out[0] = PARTS_VERSION;
    view.setUint32(1, generation >>> 0);
    out[5] = parts;
    view.setUint32(6, value.length);
    view.setUint32(10, crc32(value));
    view.setUint32(14, crc32(out.subarray(0, 14)));
    return out;
}
export class PreferenceStore {
    prefs;
    domain;
    maxValueBytes;
    maxTotalBytes;
    constructor(prefs, o = {}) {
        this.prefs = prefs;
        this.domain = o.domain ?? 'sealbell';
        this.maxValueBytes = o.maxValueBytes ?? 4000 - OVERHEAD;
        this.maxTotalBytes = Math.min(o.maxTotalBytes ?? 48 * 1024, (this.maxValueBytes + OVERHEAD) * MAX_PARTS);
        if (this.domain.length === 0 || this.domain.length > 15)
            throw new RangeError('preference domain must be 1–15 characters');
    }
    slots(key) {
        const name = nvsName(key);
        return [this.slot(key, name, 0), this.slot(key, name, 1), name];
    }
    /** One slot's value, whole and checked, or undefined. */
    slot(key, name, i) {
        const record = this.prefs.get(this.domain, slotKey(name, i));
        if (!(record instanceof ArrayBuffer) || new Uint8Array(record)[0] !== PARTS_VERSION)
            return decodeSlot(record);
        const bytes = new Uint8Array(record);
        const view = new DataView(record);
        if (bytes.length !== PARTS_RECORD || view.getUint32(14) !== crc32(bytes.subarray(0, 14)))
            return undefined;
        const parts = bytes[5];
        const length = view.getUint32(6);
        const value = new Uint8Array(length);
        let at = 0;
        for (let p = 0; p < parts; p++) {
            const part = this.prefs.get(this.domain, this.partKey(key, i, p));
            if (!(part instanceof ArrayBuffer) || at + part.byteLength > length)
                return undefined;
            value.set(new Uint8Array(part), at);
            at += part.byteLength;
        }
        if (at !== length || crc32(value) !== view.getUint32(10))
            return undefined;
        return { generation: view.getUint32(1), value };
    }
    /** The NVS key of part `p` of the value in slot `i` of `key`. */
    partKey(key, i, p) {
        return slotKey(nvsName(`${key}\u0000part${i}.${p}`), 0);
    }
    /** Index of the newer valid slot, or -1 when neither is valid. */
    static newest(a, b) {
        if (a && b)
            return b.generation > a.generation ? 1 : 0;
        return a ? 0 : b ? 1 : -1;
    }
    get(key) {
        const [a, b] = this.slots(key);
        const i = PreferenceStore.newest(a, b);
        return i < 0 ? undefined : (i === 0 ? a : b).value;
    }
    set(key, value) {
        if (value.length > this.maxTotalBytes) {
            throw new RangeError(`value for "${key}" is ${value.length} bytes; the store holds at most ${this.maxTotalBytes}`);
        }
        const [a, b, name] = this.slots(key);
        const i = PreferenceStore.newest(a, b);
        const current = i === 0 ? a : i === 1 ? b : undefined;
        const target = i === 0 ? 1 : 0;
        const generation = current ? current.generation + 1 : 1;
        const stale = this.partsIn(key, name, target);
        if (value.length <= this.maxValueBytes) {
            this.prefs.set(this.domain, slotKey(name, target), encodeSlot(generation, value).buffer);
        }
        else {
            // the parts first, then the record that names them: a crash before it leaves the old value current
            const size = this.maxValueBytes + OVERHEAD;
            const parts = Math.ceil(value.length / size);
            for (let p = 0; p < parts; p++)
                this.prefs.set(this.domain, this.partKey(key, target, p), value.slice(p * size, (p + 1) * size).buffer);
            this.prefs.set(this.domain, slotKey(name, target), encodePartsRecord(generation, parts, value).buffer);
            for (let p = parts; p < stale; p++)
                this.prefs.delete(this.domain, this.partKey(key, target, p));
            return;
        }
        for (let p = 0; p < stale; p++)
            this.prefs.delete(this.domain, this.partKey(key, target, p));
    }
    /** How many parts the record in slot `i` names (valid or not), to clean them up. */
    partsIn(key, name, i) {
        const record = this.prefs.get(this.domain, slotKey(name, i));
        return record instanceof ArrayBuffer && record.byteLength === PARTS_RECORD && new Uint8Array(record)[0] === PARTS_VERSION ? new Uint8Array(record)[5] : 0;
    }
    delete(key) {
        const [a, b, name] = this.slots(key);
        // Older slot first: a crash between the two deletes leaves the current value, never an older one.
        const older = PreferenceStore.newest(a, b) === 0 ? 1 : 0;
        for (const i of [older, older === 0 ? 1 : 0]) {
            const parts = this.partsIn(key, name, i);
            this.prefs.delete(this.domain, slotKey(name, i));
            for (let p = 0; p < parts; p++)
                this.prefs.delete(this.domain, this.partKey(key, i, p));
        }
    }
}
//# sourceMappingURL=kv-store.js.map