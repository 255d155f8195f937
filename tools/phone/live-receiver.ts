/**
 * The phone's end of a live-view socket (docs/relay-api.md, "Live view"),
 * without any platform code: `sealbell phone live` (Node, tools/phone/live.ts)
 * and the web app (browser, web/app/live.ts) both feed it the socket's
 * messages. It sends one start message carrying 16 fresh random bytes, signed with
 * the phone's roster auth key together with its clock and the session id, checks
 * the device's signed opening against them, then opens records as they come
 * (src/live/opener.ts) and hands on frames; dropped records are counted and
 * reported, never shown.
 *
 * A phone whose keys work asynchronously (the web app's WebCrypto keys: `sign`, `identityFor`)
 * feeds the messages to `handleAsync`, which handles them one after another.
 */
import type { Aead, Random } from '../../src/crypto/backend.js';
import { base64 } from '@scure/base';
import { SealbellError } from '../../src/errors.js';
import { liveOpeningShares, openLiveSession, type LiveEvent, type LiveOpener } from '../../src/live/opener.js';
import type { IdentityInput } from '../../src/age/recipients.js';
import { decodeLiveFrame } from '../../src/uplink/live-wire.js';
import { liveRequestMessage, signLiveRequest } from '../../src/live/request.js';

export interface LiveReceiverOptions {
  aead: Aead;
  random: Random;
  /** the phone's AGE-SECRET-KEY-1… (or a ready identity) */
  identity?: IdentityInput;
  /** instead of `identity` (handleAsync only): the identity for an opening whose header has these X25519 shares */
  identityFor?: (shares: string[]) => Promise<IdentityInput>;
  /** the device's Ed25519 public key */
  devicePublicKey: Uint8Array;
  device: string;
  onFrame: (frame: { ctr: number; time: number; data: Uint8Array }, receiver: LiveReceiver) => void;
  onDropped?: (event: Extract<LiveEvent, { t: 'dropped' }>) => void;
  /** the phone's roster auth key (Ed25519 secret seed): the request is signed with it */
  authSecretKey?: Uint8Array;
  /** instead of `authSecretKey` (handleAsync only): signs the request with the phone's auth key */
  sign?: (message: Uint8Array) => Promise<Uint8Array>;
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

  private queue: Promise<unknown> = Promise.resolve();
  /** what the asynchronous keys made for the message being handled */
  private signed: Uint8Array | undefined;
  private prepared: IdentityInput | undefined;
  private requestTime = 0;

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

  /**
   * As `handle`, for asynchronous keys: the request is signed and the opening's shares are
   * multiplied before the message is handled. Messages are handled in the order given.
   */
  handleAsync(data: string | Uint8Array): Promise<string | undefined> {
    const run = this.queue.then(async () => {
      try {
        await this.prepare(data);
      } catch (e) {
        this.fail(new SealbellError('LIVE_KEYS', `this phone's keys failed: ${(e as Error).message}`));
        return undefined;
      }
      try {
        return this.handle(data);
      } finally {
        this.signed = undefined;
        this.prepared = undefined;
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** As `closed`, after the messages given to handleAsync before it. */
  closedAsync(code: number, reason: string): Promise<void> {
    const run = this.queue.then(() => this.closed(code, reason));
    this.queue = run;
    return run;
  }

  /** The asynchronous work a message needs: the signed request after the relay's hello, the identity for the opening. */
  private async prepare(data: string | Uint8Array): Promise<void> {
    if (typeof data === 'string') {
      if (!this.o.sign || this.state !== 'connecting') return;
      let m: { t?: string; session?: string };
      try {
        m = JSON.parse(data) as typeof m;
      } catch {
        return; // handle() says what is wrong
      }
      if (m.t !== 'hello') return;
      this.requestTime = (this.o.now ?? Date.now)();
      this.signed = await this.o.sign(liveRequestMessage({ device: this.o.device, session: String(m.session), request: this.request, time: this.requestTime }));
      return;
    }
    if (!this.o.identityFor || this.state !== 'waiting') return;
    let f;
    try {
      f = decodeLiveFrame(data);
    } catch {
      return;
    }
    if (f.kind === 'opening') this.prepared = await this.o.identityFor(liveOpeningShares(f.bytes));
  }

  /** The socket closed. Without an end record first, the stream was cut off on the way. */
  closed(code: number, reason: string): void {
    if (this.state === 'ended' || this.state === 'failed') return;
    if (this.opener?.closed) this.state = 'ended';
    else this.fail(new SealbellError('LIVE_CUT', `the live stream stopped without the device's end record (close ${code}${reason ? ` ${reason}` : ''})`));
  }

  /** The signed request for the relay's session id (src/live/request.ts). */
  private startMessage(session: string): string {
    let time: number;
    let signature: Uint8Array;
    if (this.signed) {
      time = this.requestTime;
      signature = this.signed;
    } else {
      if (!this.o.authSecretKey) throw new SealbellError('LIVE_KEYS', 'no key to sign the live request with (asynchronous keys need handleAsync)');
      time = (this.o.now ?? Date.now)();
      signature = signLiveRequest({ device: this.o.device, session, request: this.request, time }, this.o.authSecretKey);
    }
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
      const identity = this.prepared ?? this.o.identity;
      if (identity === undefined) throw new SealbellError('LIVE_KEYS', 'no identity to open the live session with (asynchronous keys need handleAsync)');
      this.opener = openLiveSession(f.bytes, { aead: this.o.aead, identity, devicePublicKey: this.o.devicePublicKey, device: this.o.device, request: this.request });
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
