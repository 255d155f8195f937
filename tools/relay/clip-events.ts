/** Clip state changes and event notices, fanned out to the phones following a device. */
import type { ClipState } from './store.js';

export type ClipEvent =
  | {
      t: 'clip';
      device: string;
      clip: string;
      state: ClipState;
      reason?: string;
    }
  /** a sealed event notice arrived: fetch it by `ref` (GET /v1/devices/:device/events/:ref) */
  | { t: 'event'; device: string; ref: string };

export class ClipEvents {
  private readonly listeners = new Map<string, Set<(e: ClipEvent) => void>>();
  /** also told of every event emitted here: the other relay processes (relay-peers.ts) */
  forward: ((e: ClipEvent) => void) | undefined;

  subscribe(device: string, fn: (e: ClipEvent) => void): () => void {
    let set = this.listeners.get(device);
    if (!set) this.listeners.set(device, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.listeners.delete(device);
    };
  }

  emit(e: ClipEvent): void {
    this.deliver(e);
    this.forward?.(e);
  }

  /** To this process's followers only (an event another relay process emitted). */
  deliver(e: ClipEvent): void {
    for (const fn of this.listeners.get(e.device) ?? []) fn(e);
  }
}
