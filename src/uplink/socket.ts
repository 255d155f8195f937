/**
 * The connection to the relay, as a host provides it: a WebSocket (`ws` in the
 * hosted simulator, hosts/node/uplink-socket.ts; Moddable's WebSocket client on
 * devices). The host holds the relay URL and the device credential; the core
 * only sends and receives messages.
 */
export interface UplinkSocket {
  /** A binary message (Uint8Array) or a text message (string). Ignored once closing. */
  send(data: Uint8Array | string): void;
  close(code?: number, reason?: string): void;
}

/** What the host reports about one connection. The host never calls these from inside `connect` or `send`. */
export interface UplinkSocketEvents {
  onOpen(): void;
  onMessage(data: Uint8Array | string): void;
  /**
   * Exactly once per connection, also when it never opened. `code` is the WebSocket
   * close code; a refused upgrade is reported as 4000 + the HTTP status (4401: the
   * relay does not accept the device credential).
   */
  onClose(code: number, reason: string): void;
}

/** Opens a new connection to the relay. */
export type UplinkConnect = (events: UplinkSocketEvents) => UplinkSocket;
