/**
 * The phone's end of a live-view socket (docs/relay-api.md, "Live view"),
 * without any platform code: `sealbell phone live` (Node, tools/phone/live.ts)
 * and the web app (browser, web/app/live.ts) both feed it the socket's
 * messages. It sends one start message carrying 16 fresh random bytes, signed with
 * the phone's roster auth key together with its clock and the session id, checks
 * the device's signed opening against them, then opens records as they come
 * (src/live/opener.ts) and hands on frames; dropped records are counted and
 * reported, never shown.
 */
import type { Aead, Random } from '../../src/crypto/backend.js';
import { base64 } from '@scure/base';
import { SealbellError } from '../../src/errors.js';
import { openLiveSession, type LiveEvent, type LiveOpener } from '../../src/live/opener.js';
import { decodeLiveFrame } from '../../src/uplink/live-wire.js';
import { signLiveRequest } from '../../src/live/request.js';

export interface LiveReceiverOptions {
  aead: Aead;
  random: Random;
  /** the phone's AGE-SECRET-KEY-1… */
  identity: string;
  /** the device's Ed25519 public key */
  devicePublicKey: Uint8Array;
  device: string;
  onFrame: (frame: { ctr: number; time: number; data: Uint8Array }, receiver: LiveReceiver) => void;
  onDropped?: (event: Extract<LiveEvent, { t: 'dropped' }>) => void;
  /** the phone's roster auth key (Ed25519 secret seed): the request is signed with it */
  authSecretKey: Uint8Array;
  /** the phone's clock, ms since the Unix epoch (default Date.now): the device checks it is near its own */
  now?: () => number;
}

export type LiveState = 'connecting' | 'waiting' | 'open' | 'ended' | 'failed';

export class LiveReceiver {
  readonly request: Uint8Array;
  state: LiveState = 'connecting';
  session: string | undefined;
  opener: LiveOpener | undefined;
  /** why the session ended: the device's end reason, or the relay's */
  endReason: string | undefined;
  error: SealbellError | undefined;

  constructor(private readonly o: LiveReceiverOptions) {
    this.request = o.random(16);
  }

  /** Handles one socket message. Returns a text message to send, if any. Never throws. */
  handle(data: string | Uint8Array): string | undefined {
    try {
      return typeof data === 'string' ? this.text(data) : this.binary(data);
    } catch (e) {
      this.fail(e instanceof SealbellError ? e : new SealbellError('LIVE_PROTOCOL', (e as Error).message));
      return undefined;
    }
  }

  /** The socket closed. Without an end record first, the stream was cut off on the way. */
  closed(code: number, reason: string): void {
    if (this.state === 'ended' || this.state === 'failed') return;
    if (this.opener?.closed) this.state = 'ended';
    else this.fail(new SealbellError('LIVE_CUT', `the live stream stopped without the device's end record (close ${code}${reason ? ` ${reason}` : ''})`));
  }

  /** The signed request for the relay's session id (src/live/request.ts). */
  private startMessage(session: string): string {
    const time = (this.o.now ?? Date.now)();
    const signature = signLiveRequest({ device: this.o.device, session, request: this.request, time }, this.o.authSecretKey);
    return JSON.stringify({ t: 'start', request: base64.encode(this.request), time, signature: base64.encode(signature) });
  }

  private text(text: string): string | undefined {
    const m = JSON.parse(text) as { t?: string; session?: string; code?: string; message?: string; reason?: string };
    switch (m.t) {
      case 'hello':
        if (this.state !== 'connecting') throw new SealbellError('LIVE_PROTOCOL', 'a second hello');
        this.session = String(m.session);
        this.state = 'waiting';
        return this.startMessage(this.session);
      case 'end':
        this.endReason = String(m.reason);
        if (this.opener?.closed) this.state = 'ended';
        return undefined;
      case 'error':
        this.fail(new SealbellError(/^[A-Z][A-Z0-9_]*$/.test(String(m.code)) ? String(m.code) : 'LIVE_REFUSED', String(m.message ?? 'refused')));
        return undefined;
      default:
        return undefined;
    }
  }

  private binary(frame: Uint8Array): undefined {
    const f = decodeLiveFrame(frame);
    if (f.session !== this.session) throw new SealbellError('LIVE_PROTOCOL', 'a frame of another session');
    if (f.kind === 'opening') {
      if (this.state !== 'waiting') throw new SealbellError('LIVE_PROTOCOL', 'a second opening');
      this.opener = openLiveSession(f.bytes, { aead: this.o.aead, identity: this.o.identity, devicePublicKey: this.o.devicePublicKey, device: this.o.device, request: this.request });
      this.state = 'open';
      return undefined;
    }
    if (!this.opener) throw new SealbellError('LIVE_PROTOCOL', 'a record before the opening');
    const e = this.opener.open(f.bytes);
    if (e.t === 'frame') this.o.onFrame(e, this);
    else if (e.t === 'dropped') this.o.onDropped?.(e);
    else {
      this.endReason = e.reason;
      this.state = 'ended';
    }
    return undefined;
  }

  private fail(e: SealbellError): void {
    if (this.state === 'failed') return;
    this.error = e;
    this.state = 'failed';
  }
}
