/**
 * KeyValueStore over the Moddable SDK's `preference` module (NVS on ESP32, a
 * JSON file in the simulator). Values are stored as ArrayBuffers.
 *
 * The store promises that a crash during `set` keeps the old value. The SDK's
 * ESP32 `Preference.set` erases the NVS entry before writing the new one, so a
 * value is never rewritten in place: each key has two slots and a write goes to
 * the slot *not* holding the current value, tagged with a generation one
 * higher. Reads take the valid slot with the highest generation. A crash while
 * a slot is written leaves the other slot, which holds the old value.
 *
 * Slot record: version 0x01 ‖ generation (u32 BE) ‖ value ‖ CRC-32 (u32 BE) of
 * everything before it. A record that does not check out is ignored.
 *
 * A value too large for one NVS entry (a post-quantum roster is ~4.4 KB; an entry
 * holds 4,000 bytes) is written in parts, each its own NVS entry named from the key,
 * the slot and the part number, and then the slot record, version 0x02 ‖ generation ‖
 * parts (u8) ‖ length (u32 BE) ‖ CRC-32 of the value ‖ CRC-32 of the record. The
 * parts of the slot being written are not the current value's (those belong to the
 * other slot), so a crash anywhere still leaves the old value whole; a slot whose
 * parts do not add up to its length and CRC is ignored.
 */
import type { KeyValueStore } from '../../src/host.js';
import { nvsName, slotKey } from './nvs-keys.js';
import { crc32 } from '../../src/crc32.js';

/** The part of the SDK's `Preference` this store uses. */
export interface PreferenceLike {
  get(domain: string, key: string): string | boolean | number | ArrayBuffer | undefined;
  set(domain: string, key: string, value: ArrayBuffer): void;
  delete(domain: string, key: string): void;
}

export interface PreferenceStoreOptions {
  /** NVS namespace (≤ 15 characters); default "sealbell" */
  domain?: string;
  /** largest value kept in one NVS entry, in bytes; default 3991 (ESP32 preferences hold at most 4000 bytes per entry) */
  maxValueBytes?: number;
  /** largest value accepted at all (written in parts past maxValueBytes); default 48 KiB */
  maxTotalBytes?: number;
}

const VERSION = 1;
const OVERHEAD = 9;
const PARTS_VERSION = 2;
/** version ‖ generation ‖ parts ‖ length ‖ value CRC ‖ record CRC */
const PARTS_RECORD = 1 + 4 + 1 + 4 + 4 + 4;
const MAX_PARTS = 255;

export function encodeSlot(generation: number, value: Uint8Array): Uint8Array {
  const out = new Uint8Array(value.length + OVERHEAD);
  const view = new DataView(out.buffer);
  out[0] = VERSION;
  view.setUint32(1, generation >>> 0);
  out.set(value, 5);
  view.setUint32(5 + value.length, crc32(out.subarray(0, 5 + value.length)));
  return out;
}

export interface Slot {
  generation: number;
  value: Uint8Array;
}

export function decodeSlot(record: unknown): Slot | undefined {
  if (!(record instanceof ArrayBuffer) || record.byteLength < OVERHEAD) return undefined;
  const bytes = new Uint8Array(record);
  const view = new DataView(record);
  const end = bytes.length - 4;
  if (bytes[0] !== VERSION || view.getUint32(end) !== crc32(bytes.subarray(0, end))) return undefined;
  return { generation: view.getUint32(1), value: bytes.slice(5, end) };
}

function encodePartsRecord(generation: number, parts: number, value: Uint8Array): Uint8Array {
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

export class PreferenceStore implements KeyValueStore {
  readonly domain: string;
  readonly maxValueBytes: number;
  readonly maxTotalBytes: number;

  constructor(
    private readonly prefs: PreferenceLike,
    o: PreferenceStoreOptions = {},
  ) {
    this.domain = o.domain ?? 'sealbell';
    this.maxValueBytes = o.maxValueBytes ?? 4000 - OVERHEAD;
    this.maxTotalBytes = Math.min(o.maxTotalBytes ?? 48 * 1024, (this.maxValueBytes + OVERHEAD) * MAX_PARTS);
    if (this.domain.length === 0 || this.domain.length > 15) throw new RangeError('preference domain must be 1–15 characters');
  }

  private slots(key: string): [Slot | undefined, Slot | undefined, string] {
    const name = nvsName(key);
    return [this.slot(key, name, 0), this.slot(key, name, 1), name];
  }

  /** One slot's value, whole and checked, or undefined. */
  private slot(key: string, name: string, i: 0 | 1): Slot | undefined {
    const record = this.prefs.get(this.domain, slotKey(name, i));
    if (!(record instanceof ArrayBuffer) || new Uint8Array(record)[0] !== PARTS_VERSION) return decodeSlot(record);
    const bytes = new Uint8Array(record);
    const view = new DataView(record);
    if (bytes.length !== PARTS_RECORD || view.getUint32(14) !== crc32(bytes.subarray(0, 14))) return undefined;
    const parts = bytes[5];
    const length = view.getUint32(6);
    const value = new Uint8Array(length);
    let at = 0;
    for (let p = 0; p < parts; p++) {
      const part = this.prefs.get(this.domain, this.partKey(key, i, p));
      if (!(part instanceof ArrayBuffer) || at + part.byteLength > length) return undefined;
      value.set(new Uint8Array(part), at);
      at += part.byteLength;
    }
    if (at !== length || crc32(value) !== view.getUint32(10)) return undefined;
    return { generation: view.getUint32(1), value };
  }

  /** The NVS key of part `p` of the value in slot `i` of `key`. */
  private partKey(key: string, i: 0 | 1, p: number): string {
    return slotKey(nvsName(`${key}\u0000part${i}.${p}`), 0);
  }

  /** Index of the newer valid slot, or -1 when neither is valid. */
  private static newest(a: Slot | undefined, b: Slot | undefined): -1 | 0 | 1 {
    if (a && b) return b.generation > a.generation ? 1 : 0;
    return a ? 0 : b ? 1 : -1;
  }

  get(key: string): Uint8Array | undefined {
    const [a, b] = this.slots(key);
    const i = PreferenceStore.newest(a, b);
    return i < 0 ? undefined : (i === 0 ? a : b)!.value;
  }

  set(key: string, value: Uint8Array): void {
    if (value.length > this.maxTotalBytes) {
      throw new RangeError(`value for "${key}" is ${value.length} bytes; the store holds at most ${this.maxTotalBytes}`);
    }
    const [a, b, name] = this.slots(key);
    const i = PreferenceStore.newest(a, b);
    const current = i === 0 ? a : i === 1 ? b : undefined;
    const target: 0 | 1 = i === 0 ? 1 : 0;
    const generation = current ? current.generation + 1 : 1;
    const stale = this.partsIn(key, name, target);
    if (value.length <= this.maxValueBytes) {
      this.prefs.set(this.domain, slotKey(name, target), encodeSlot(generation, value).buffer as ArrayBuffer);
    } else {
      // the parts first, then the record that names them: a crash before it leaves the old value current
      const size = this.maxValueBytes + OVERHEAD;
      const parts = Math.ceil(value.length / size);
      for (let p = 0; p < parts; p++) this.prefs.set(this.domain, this.partKey(key, target, p), value.slice(p * size, (p + 1) * size).buffer as ArrayBuffer);
      this.prefs.set(this.domain, slotKey(name, target), encodePartsRecord(generation, parts, value).buffer as ArrayBuffer);
      for (let p = parts; p < stale; p++) this.prefs.delete(this.domain, this.partKey(key, target, p));
      return;
    }
    for (let p = 0; p < stale; p++) this.prefs.delete(this.domain, this.partKey(key, target, p));
  }

  /** How many parts the record in slot `i` names (valid or not), to clean them up. */
  private partsIn(key: string, name: string, i: 0 | 1): number {
    const record = this.prefs.get(this.domain, slotKey(name, i));
    return record instanceof ArrayBuffer && record.byteLength === PARTS_RECORD && new Uint8Array(record)[0] === PARTS_VERSION ? new Uint8Array(record)[5] : 0;
  }

  delete(key: string): void {
    const [a, b, name] = this.slots(key);
    // Older slot first: a crash between the two deletes leaves the current value, never an older one.
    const older: 0 | 1 = PreferenceStore.newest(a, b) === 0 ? 1 : 0;
    for (const i of [older, older === 0 ? 1 : 0] as const) {
      const parts = this.partsIn(key, name, i);
      this.prefs.delete(this.domain, slotKey(name, i));
      for (let p = 0; p < parts; p++) this.prefs.delete(this.domain, this.partKey(key, i, p));
    }
  }
}
