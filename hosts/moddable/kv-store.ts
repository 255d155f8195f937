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
  /** largest value accepted, in bytes; default 3991 (ESP32 preferences hold at most 4000 bytes per entry) */
  maxValueBytes?: number;
}

const VERSION = 1;
const OVERHEAD = 9;

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

export class PreferenceStore implements KeyValueStore {
  readonly domain: string;
  readonly maxValueBytes: number;

  constructor(
    private readonly prefs: PreferenceLike,
    o: PreferenceStoreOptions = {},
  ) {
    this.domain = o.domain ?? 'sealbell';
    this.maxValueBytes = o.maxValueBytes ?? 4000 - OVERHEAD;
    if (this.domain.length === 0 || this.domain.length > 15) throw new RangeError('preference domain must be 1–15 characters');
  }

  private slots(key: string): [Slot | undefined, Slot | undefined, string] {
    const name = nvsName(key);
    return [
      decodeSlot(this.prefs.get(this.domain, slotKey(name, 0))),
      decodeSlot(this.prefs.get(this.domain, slotKey(name, 1))),
      name,
    ];
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
    if (value.length > this.maxValueBytes) {
      throw new RangeError(`value for "${key}" is ${value.length} bytes; the store holds at most ${this.maxValueBytes}`);
    }
    const [a, b, name] = this.slots(key);
    const i = PreferenceStore.newest(a, b);
    const current = i === 0 ? a : i === 1 ? b : undefined;
    const target: 0 | 1 = i === 0 ? 1 : 0;
    const record = encodeSlot(current ? current.generation + 1 : 1, value);
    this.prefs.set(this.domain, slotKey(name, target), record.buffer as ArrayBuffer);
  }

  delete(key: string): void {
    const [a, b, name] = this.slots(key);
    // Older slot first: a crash between the two deletes leaves the current value, never an older one.
    const older: 0 | 1 = PreferenceStore.newest(a, b) === 0 ? 1 : 0;
    this.prefs.delete(this.domain, slotKey(name, older));
    this.prefs.delete(this.domain, slotKey(name, older === 0 ? 1 : 0));
  }
}
