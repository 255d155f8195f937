/**
 * A KeyValueStore in RAM: for tests, vectors and benchmarks on any host (it is
 * plain ES, so XS entries can use it too). It copies values in, as a real store would.
 */
import type { KeyValueStore } from './host.js';

export class MemoryKeyValueStore implements KeyValueStore {
  readonly map = new Map<string, Uint8Array>();
  get(key: string): Uint8Array | undefined {
    return this.map.get(key);
  }
  set(key: string, value: Uint8Array): void {
    this.map.set(key, value.slice());
  }
  delete(key: string): void {
    this.map.delete(key);
  }
}
