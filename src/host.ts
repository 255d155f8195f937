/**
 * What a host (hosts/node, hosts/moddable) gives the core. Kept small: the core
 * is driven by the host's events (frames, button, idle time) rather than owning
 * timers, so the same code runs on a device, in the hosted simulator and in tests
 * with a simulated clock.
 */
export type { Aead, CryptoBackend, Random, Sha256 } from './crypto/backend.js';
export type { Alloc } from './age/stream.js';
export type { ClipSink } from './clip/sealer.js';

/** Persistent small values (NVS `preference` on ESP32, a file in the hosted simulator). */
export interface KeyValueStore {
  get(key: string): Uint8Array | undefined;
  /** Durable when it returns: a crash afterwards keeps the new value, a crash during it keeps the old one. */
  set(key: string, value: Uint8Array): void;
  delete(key: string): void;
}

/** Status lines for the owner; never given secrets. */
export type Log = (message: string) => void;
