/**
 * The WebSockets phones hold open (follow, live), by device and phone key, so that a
 * revocation closes a removed phone's sockets at once instead of when they next drop.
 */
import type WebSocket from 'ws';

/** Close code for a socket whose phone was removed from the device's roster. */
export const REVOKED_CLOSE = 4401;

export class PhoneSockets {
  private readonly byDevice = new Map<string, Set<{ key: string; ws: WebSocket }>>();

  /** Tracks `ws`; returns the function that stops tracking it (call it on close). */
  add(device: string, publicKey: string, ws: WebSocket): () => void {
    let set = this.byDevice.get(device);
    if (!set) this.byDevice.set(device, (set = new Set()));
    const entry = { key: publicKey, ws };
    set.add(entry);
    return () => {
      set.delete(entry);
      if (set.size === 0 && this.byDevice.get(device) === set) this.byDevice.delete(device);
    };
  }

  /** Closes every socket of `device` whose phone key `allowed` refuses. */
  async closeUnless(device: string, allowed: (publicKey: string) => Promise<boolean> | boolean): Promise<void> {
    for (const { key, ws } of [...(this.byDevice.get(device) ?? [])]) {
      if (await allowed(key)) continue;
      // Said in the socket's own terms first (live and follow sockets read error messages), then closed.
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ t: 'error', code: 'REVOKED', message: 'this phone was removed from the doorbell\'s roster' }));
      ws.close(REVOKED_CLOSE, 'REVOKED');
    }
  }
}
