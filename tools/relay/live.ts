/**
 * Live view through the relay (docs/relay-api.md, "Live view"). A phone opens
 * a WebSocket and sends its request; the relay names a session and passes the
 * request down the device's uplink connection; the device's opening and records
 * come back up as binary frames and go to that phone's socket at once, as they
 * are — never stored, never buffered beyond the socket's own send queue. The
 * relay holds no key: what it forwards is sealed to the phone.
 */
import { randomBytes } from 'node:crypto';
import type WebSocket from 'ws';
import { decodeLiveFrame, type LiveDeviceMessage, type LiveRelayMessage } from '../../src/uplink/live-wire.js';
import { decodeBase64 } from './phone-keys.js';

export const LIVE_CLOSE = {
  ENDED: 1000,
  DEVICE_GONE: 4404,
  REFUSED: 4403,
  BAD_INPUT: 4400,
  BUSY: 4429,
} as const;

/** What the hub needs of a device's uplink connection. */
export interface LiveDevicePort {
  sendLive(m: LiveRelayMessage): void;
}

export interface LiveHubOptions {
  /** the device's current uplink connection, if it is connected */
  device: (id: string) => LiveDevicePort | undefined;
  log: (line: string) => void;
  /** live sessions per device at once (default 4) */
  maxPerDevice?: number;
  /** a phone this far behind loses frames instead of queueing them (bytes, default 1 MiB) */
  maxQueued?: number;
  /** sees every byte forwarded to phones (tests: proves the relay handles only sealed records) */
  tap?: (device: string, frame: Uint8Array) => void;
}

export interface LiveStats {
  sessions: number;
  framesForwarded: number;
  bytesForwarded: number;
  /** frames not sent because the phone's socket was too far behind */
  framesDropped: number;
}

interface PhoneLive {
  device: string;
  session: string;
  phone: string;
  ws: WebSocket;
  started: boolean;
  ended: boolean;
}

export class LiveHub {
  readonly stats: LiveStats = { sessions: 0, framesForwarded: 0, bytesForwarded: 0, framesDropped: 0 };
  private readonly live = new Map<string, PhoneLive>();

  constructor(private readonly o: LiveHubOptions) {}

  private key(device: string, session: string): string {
    return `${device}/${session}`;
  }

  /** A logged-in phone of `device` opened the live socket. */
  phoneConnected(ws: WebSocket, device: string, phone: string): void {
    const session = randomBytes(12).toString('hex');
    const p: PhoneLive = { device, session, phone, ws, started: false, ended: false };
    this.live.set(this.key(device, session), p);
    ws.on('message', (data, isBinary) => this.fromPhone(p, data as Buffer, isBinary));
    ws.on('close', () => this.phoneGone(p));
    ws.on('error', () => {});
    ws.send(JSON.stringify({ t: 'hello', v: 1, device, session }));
  }

  private fromPhone(p: PhoneLive, data: Buffer, isBinary: boolean): void {
    if (p.started || p.ended) return this.finish(p, LIVE_CLOSE.BAD_INPUT, 'BAD_MESSAGE', 'the phone sends one start message only');
    let start: { request: string; time: number; signature: string };
    try {
      const m = isBinary || data.length > 1024 ? undefined : (JSON.parse(data.toString('utf8')) as { t?: unknown; request?: unknown; time?: unknown; signature?: unknown });
      if (m?.t !== 'start') throw new Error('expected {"t":"start","request","time","signature"}');
      decodeBase64(m.request, 16, 'request');
      decodeBase64(m.signature, 64, 'signature');
      if (typeof m.time !== 'number' || !Number.isSafeInteger(m.time) || m.time < 0) throw new Error('time must be ms since the Unix epoch');
      // The relay cannot check the signature's meaning (the roster decides): the device does.
      start = { request: m.request as string, time: m.time, signature: m.signature as string };
    } catch (e) {
      return this.finish(p, LIVE_CLOSE.BAD_INPUT, 'BAD_MESSAGE', `malformed start: ${(e as Error).message}`);
    }
    const device = this.o.device(p.device);
    if (!device) return this.finish(p, LIVE_CLOSE.DEVICE_GONE, 'DEVICE_OFFLINE', 'the doorbell is not connected to the relay');
    const running = [...this.live.values()].filter((q) => q.device === p.device && q.started).length;
    if (running >= (this.o.maxPerDevice ?? 4)) return this.finish(p, LIVE_CLOSE.BUSY, 'BUSY', 'too many live sessions for this doorbell');
    p.started = true;
    this.stats.sessions++;
    device.sendLive({ t: 'live', session: p.session, phone: p.phone, ...start });
  }

  /** A binary live frame from a device's uplink: to the phone of its session, at once. */
  fromDevice(device: string, frame: Uint8Array): void {
    const { session } = decodeLiveFrame(frame);
    const p = this.live.get(this.key(device, session));
    if (!p || !p.started || p.ended) return; // the phone already left: drop
    if (p.ws.bufferedAmount > (this.o.maxQueued ?? 1 << 20)) {
      this.stats.framesDropped++;
      return;
    }
    this.o.tap?.(device, frame);
    this.stats.framesForwarded++;
    this.stats.bytesForwarded += frame.length;
    p.ws.send(frame);
  }

  /** live-refused / live-end from the device. */
  deviceMessage(device: string, m: LiveDeviceMessage): void {
    const p = this.live.get(this.key(device, m.session));
    if (!p) return;
    if (m.t === 'live-refused') this.finish(p, LIVE_CLOSE.REFUSED, m.code, m.message);
    else {
      p.ended = true;
      this.send(p, { t: 'end', reason: m.reason });
      this.close(p, LIVE_CLOSE.ENDED, 'ENDED');
    }
  }

  /** The device's uplink connection closed: its sessions end. */
  deviceGone(device: string): void {
    for (const p of [...this.live.values()]) {
      if (p.device === device && p.started) this.finish(p, LIVE_CLOSE.DEVICE_GONE, 'DEVICE_OFFLINE', 'the doorbell disconnected');
    }
  }

  private phoneGone(p: PhoneLive): void {
    this.live.delete(this.key(p.device, p.session));
    if (p.started && !p.ended) {
      p.ended = true;
      this.o.device(p.device)?.sendLive({ t: 'live-stop', session: p.session });
    }
  }

  private finish(p: PhoneLive, close: number, code: string, message: string): void {
    if (p.started && !p.ended) this.o.device(p.device)?.sendLive({ t: 'live-stop', session: p.session });
    p.ended = true;
    this.send(p, { t: 'error', code, message: message.slice(0, 300) });
    this.close(p, close, code);
  }

  private send(p: PhoneLive, m: unknown): void {
    if (p.ws.readyState === p.ws.OPEN) p.ws.send(JSON.stringify(m));
  }

  private close(p: PhoneLive, code: number, reason: string): void {
    this.live.delete(this.key(p.device, p.session));
    if (p.ws.readyState === p.ws.OPEN) p.ws.close(code, reason.slice(0, 100));
  }
}
