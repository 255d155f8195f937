/**
 * Connections to the relay's uplink from Node.
 *
 * `wsClientConnect`: what the hosted doorbell uses, the device's own WebSocket
 * client (src/net/ws-client.ts) over Node sockets.
 *
 * `wsUplinkConnect`: a WebSocket from the `ws` package, for relay tests and
 * benchmarks that stand in for many doorbells at once. It carries the device credential as a bearer token on the
 * upgrade request. A refused upgrade (e.g. 401) is reported as close code
 * 4000 + status, as src/uplink/socket.ts specifies.
 */
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import type { Random } from '../../src/host.js';
import type { UplinkEndpoint } from '../../src/uplink/relay-url.js';
import { WsClient } from '../../src/net/ws-client.js';
import { openTcp } from './tcp-stream.js';
import type { UplinkConnect, UplinkSocket, UplinkSocketEvents } from '../../src/uplink/socket.js';

export interface WsUplinkOptions {
  /** the relay's uplink endpoint, e.g. ws://127.0.0.1:8080/v1/uplink */
  url: string;
  /** the device credential (never logged) */
  credential: string;
  /** ms to wait for the upgrade (default 15 000) */
  handshakeTimeout?: number;
  /** called with each socket made, e.g. to watch its byte counts */
  onSocket?: (socket: WsUplinkSocket) => void;
}

export class WsUplinkSocket implements UplinkSocket {
  private readonly ws: WebSocket;
  private tcp: Socket | undefined;
  private httpStatus: number | undefined;

  constructor(o: WsUplinkOptions, events: UplinkSocketEvents) {
    this.ws = new WebSocket(o.url, {
      headers: { authorization: `Bearer ${o.credential}` },
      handshakeTimeout: o.handshakeTimeout ?? 15_000,
      perMessageDeflate: false, // sealed chunks do not compress
      maxPayload: 1 << 20,
    });
    this.ws.on('upgrade', (res) => {
      this.tcp = res.socket as Socket;
    });
    this.ws.on('unexpected-response', (_req, res) => {
      this.httpStatus = res.statusCode;
      res.resume();
      this.ws.terminate();
    });
    this.ws.on('open', () => events.onOpen());
    this.ws.on('message', (data, isBinary) => {
      const buf = data as Buffer;
      events.onMessage(isBinary ? new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength) : buf.toString('utf8'));
    });
    this.ws.on('error', () => {}); // always followed by 'close'
    this.ws.on('close', (code, reason) => {
      if (this.httpStatus !== undefined) events.onClose(4000 + this.httpStatus, `HTTP ${this.httpStatus}`);
      else events.onClose(code, reason.toString('utf8'));
    });
  }

  send(data: Uint8Array | string): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(data);
  }

  close(code = 1000, reason = ''): void {
    if (this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
    else this.ws.close(code, reason);
  }

  /** Drops the connection at once, with no close handshake (a crash, a pulled plug). */
  terminate(): void {
    this.ws.terminate();
  }

  /** Bytes queued, not yet handed to TCP: live view skips frames while the connection is backed up. */
  get buffered(): number {
    return this.ws.bufferedAmount;
  }

  /** Bytes this connection has written to TCP (the upgrade request included). */
  get bytesWritten(): number {
    return this.tcp?.bytesWritten ?? 0;
  }
}

export function wsUplinkConnect(o: WsUplinkOptions): UplinkConnect {
  return (events) => {
    const socket = new WsUplinkSocket(o, events);
    o.onSocket?.(socket);
    return socket;
  };
}

/** The device's uplink connector: its WebSocket client over Node sockets, the credential as bearer token. */
export function wsClientConnect(random: Random, onClient?: (c: WsClient) => void): (endpoint: UplinkEndpoint, credential: string, relayCa?: Uint8Array) => UplinkConnect {
  return (endpoint, credential, relayCa) => (events) => {
    const client = new WsClient(
      { path: endpoint.path, hostHeader: endpoint.hostHeader, headers: { authorization: `Bearer ${credential}` }, random, defer: (fn) => setImmediate(fn) },
      events,
      openTcp({ host: endpoint.host, port: endpoint.port, secure: endpoint.secure, ca: relayCa }),
    );
    onClient?.(client);
    return client;
  };
}
