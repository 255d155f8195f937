/**
 * Sends what the spool holds to the relay as soon as it exists, and removes
 * each segment from the spool only when the relay acknowledges it.
 *
 * - Idempotent: the relay keys segments by (clip id, index) and acknowledges a
 *   repeat of what it already has, so after any reconnect or reboot the uplink
 *   simply resends everything still unacknowledged — a retry never duplicates.
 * - Bounded: at most `window` segments (and clip-closing messages) in flight.
 * - Order: oldest clip first, segments in order; a clip's `end` only after all
 *   its segments are acknowledged, so the relay can check the clip whole.
 * - Reconnects with exponential backoff and jitter (from the injected Random),
 *   so a fleet that lost the relay together does not come back in lockstep.
 *
 * It owns no timers: the host calls `tick(now)` (at least by `nextWakeup()`),
 * and reports socket events through the callbacks of `connect`.
 */
import { base64 } from '@scure/base';
import type { Log, Random } from '../host.js';
import { SealbellError } from '../errors.js';
import type { ClipClose, Spool } from './spool.js';
import type { UplinkConnect, UplinkSocket } from './socket.js';
import {
  encodeControl,
  encodeEventFrame,
  encodeSegmentFrame,
  manifestText,
  parseRelayMessage,
  PROTOCOL_VERSION,
  type DeviceMessage,
  type RelayMessage,
} from './wire.js';
import { encodeLiveFrame, liveRequestOf, parseLiveRelayMessage, type LiveHandler, type LiveKind } from './live-wire.js';
import { encodeUpdateMessage, parseUpdateRelayMessage, type UpdateDeviceMessage, type UpdateRelayMessage } from './update-wire.js';
import { encodeSettingsMessage, parseSettingsRelayMessage, type SettingsDeviceMessage, type SettingsRelayMessage } from './settings-wire.js';

/** Firmware updates over this connection (src/update/update-link.ts). */
export interface UpdateHandler {
  /** each hello: the relay is reached */
  connected(send: (m: UpdateDeviceMessage) => void, now: number): void;
  message(m: UpdateRelayMessage, send: (m: UpdateDeviceMessage) => void): void;
  disconnected(): void;
}

/** Signed settings over this connection (src/settings/device-settings.ts). */
export interface SettingsHandler {
  /** each hello: tells the relay what the doorbell runs */
  connected(send: (m: SettingsDeviceMessage) => void): void;
  message(m: SettingsRelayMessage, send: (m: SettingsDeviceMessage) => void): void;
}

/**
 * The device's roster, as the uplink sees it: told to the relay after every hello
 * (so the relay lets exactly the roster's phones in), and updated from it.
 */
export interface RosterLink {
  /** the roster the device holds now, or undefined before setup */
  held(): { bundle: Uint8Array; authority: Uint8Array; ack: string } | undefined;
  /** checks and takes an update from the relay; throws a SealbellError when refused */
  update(bundle: Uint8Array): void;
}

export interface UplinkOptions {
  spool: Spool;
  /** live view requests arrive here (src/live/sessions.ts); without it they are ignored */
  live?: LiveHandler;
  /** roster updates over this connection (optional: tests of the clip path leave it out) */
  roster?: RosterLink;
  /** firmware updates over this connection (optional) */
  update?: UpdateHandler;
  /** signed settings over this connection (optional) */
  settings?: SettingsHandler;
  connect: UplinkConnect;
  random: Random;
  /** when given, the relay's hello must name this device */
  deviceId?: string;
  log?: Log;
  /** messages awaiting acknowledgement at most (default 8: 512 KiB of chunks) */
  window?: number;
  /** first reconnect delay, ms (default 1000); doubles per failed attempt */
  initialBackoff?: number;
  /** longest reconnect delay, ms (default 60 000) */
  maxBackoff?: number;
  /** no acknowledgement for this long while something is in flight: reconnect (default 30 000 ms) */
  ackTimeout?: number;
  /** no hello this long after connecting: give up on the attempt (default 15 000 ms) */
  connectTimeout?: number;
  /** the relay refused a segment for its quota: send segments again after this long at the latest (default 60 000 ms), or when it says space was freed */
  quotaRetry?: number;
}

export type UplinkState = 'stopped' | 'waiting' | 'connecting' | 'ready';

export interface UplinkStats {
  connects: number;
  segmentsSent: number;
  segmentsAcked: number;
  /** binary frame bytes sent */
  frameBytes: number;
  /** payload bytes within them */
  payloadBytes: number;
  /** segments the relay refused for its quota (kept in the spool, sent again later) */
  quotaRefusals: number;
}

const CLOSE_KEY = 'close';
const EVENT_KEY = 'event';


/** What a refused upgrade with HTTP 401 means to the owner: the doorbell is set up but not registered. */
const NOT_REGISTERED = 'the relay does not know this doorbell yet (HTTP 401): waiting for the owner\'s phone to register it (sealbell phone register); trying again';
export class Uplink {
  readonly stats: UplinkStats = { connects: 0, segmentsSent: 0, segmentsAcked: 0, frameBytes: 0, payloadBytes: 0, quotaRefusals: 0 };
  private readonly spool: Spool;
  private readonly log: Log;
  private readonly maxWindow: number;
  private window: number;
  private state_: UplinkState = 'stopped';
  private socket: UplinkSocket | undefined;
  /** bumped per connection: events of an older socket are ignored */
  private generation = 0;
  private now = 0;
  private retryAt: number | undefined;
  private failures = 0;
  private connectStarted = 0;
  private lastProgress = 0;
  /** `${clip}#${index}` or `${clip}#close` */
  private readonly inFlight = new Set<string>();
  /** clips announced with `begin` on this connection */
  private readonly announced = new Set<string>();
  private pumping = false;
  private pumpAgain = false;
  /** the relay refused a segment for its quota: no segment is sent before this time (or its `quota-ok`) */
  private heldUntil: number | undefined;

  constructor(private readonly o: UplinkOptions) {
    this.spool = o.spool;
    this.log = o.log ?? (() => {});
    this.maxWindow = Math.max(1, o.window ?? 8);
    this.window = this.maxWindow;
    this.spool.onChange = () => this.pump();
  }

  get state(): UplinkState {
    return this.state_;
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** Starts connecting now. */
  start(now: number): void {
    if (this.state_ !== 'stopped') return;
    this.state_ = 'waiting';
    this.retryAt = now;
    this.tick(now);
  }

  /** Closes the connection and stops reconnecting (e.g. before a reboot). */
  stop(): void {
    this.generation++;
    const s = this.socket;
    this.socket = undefined;
    this.state_ = 'stopped';
    this.inFlight.clear();
    this.o.live?.onLiveDisconnect();
    s?.close(1000, 'device stopping');
  }

  /** Time passes: reconnects when due, notices stalled connections, sends what is pending. */
  tick(now: number): void {
    this.now = now;
    switch (this.state_) {
      case 'waiting':
        this.retryAt ??= now + this.backoffDelay();
        if (now >= this.retryAt) this.openConnection();
        break;
      case 'connecting':
        if (now - this.connectStarted >= (this.o.connectTimeout ?? 15_000)) this.fail('no hello from the relay in time');
        break;
      case 'ready':
        if (this.inFlight.size > 0 && now - this.lastProgress >= (this.o.ackTimeout ?? 30_000)) this.fail('no acknowledgement from the relay in time');
        else {
          if (this.heldUntil !== undefined && now >= this.heldUntil) this.heldUntil = undefined;
          this.pump();
        }
        break;
    }
  }

  /** When the relay must have answered (its hello, or an acknowledgement) before this uplink gives up on it; undefined: nothing awaited. */
  relayDeadline(): number | undefined {
    if (this.state_ === 'connecting') return this.connectStarted + (this.o.connectTimeout ?? 15_000);
    if (this.state_ === 'ready' && this.inFlight.size > 0) return this.lastProgress + (this.o.ackTimeout ?? 30_000);
    return undefined;
  }

  /** When `tick` should be called next at the latest (undefined: only on events). */
  nextWakeup(): number | undefined {
    switch (this.state_) {
      case 'waiting':
        return this.retryAt ?? this.now;
      case 'connecting':
        return this.connectStarted + (this.o.connectTimeout ?? 15_000);
      case 'ready': {
        const ack = this.inFlight.size > 0 ? this.lastProgress + (this.o.ackTimeout ?? 30_000) : undefined;
        return ack === undefined ? this.heldUntil : this.heldUntil === undefined ? ack : Math.min(ack, this.heldUntil);
      }
      default:
        return undefined;
    }
  }

  // --- connection -----------------------------------------------------------------------

  private openConnection(): void {
    const generation = ++this.generation;
    const live = () => generation === this.generation;
    // A new connection knows nothing of the old one: announce every clip and resend everything unacknowledged.
    this.inFlight.clear();
    this.announced.clear();
    this.state_ = 'connecting';
    this.connectStarted = this.now;
    this.retryAt = undefined;
    this.stats.connects++;
    try {
      this.socket = this.o.connect({
        onOpen: () => {},
        onMessage: (data) => {
          if (live()) this.onMessage(data);
        },
        onClose: (code, reason) => {
          if (live()) this.closed(closeReason(code, reason));
        },
      });
    } catch (e) {
      this.closed(`could not connect: ${(e as Error).message}`);
    }
  }

  /** Gives up on the current connection; the next tick schedules a retry. */
  private fail(why: string): void {
    const s = this.socket;
    this.closed(why);
    s?.close(4000, why.slice(0, 100));
  }

  private closed(why: string): void {
    this.generation++;
    this.o.live?.onLiveDisconnect();
    this.o.update?.disconnected();
    this.socket = undefined;
    this.inFlight.clear();
    this.announced.clear();
    this.heldUntil = undefined; // a new connection tries again
    if (this.state_ === 'stopped') return;
    this.state_ = 'waiting';
    this.retryAt = undefined; // set from the next tick's time
    this.failures++;
    this.log(`uplink: ${why}`);
  }

  /** Exponential, capped, with "equal jitter": between half and all of the nominal delay. */
  private backoffDelay(): number {
    const initial = this.o.initialBackoff ?? 1000;
    const nominal = Math.min(this.o.maxBackoff ?? 60_000, initial * 2 ** Math.min(Math.max(this.failures - 1, 0), 30));
    const r = this.o.random(4);
    const u = (r[0] * 2 ** 24 + r[1] * 2 ** 16 + r[2] * 2 ** 8 + r[3]) / 2 ** 32;
    return Math.round(nominal / 2 + (u * nominal) / 2);
  }

  // --- messages from the relay -------------------------------------------------------------

  private onMessage(data: Uint8Array | string): void {
    if (typeof data !== 'string') return this.fail('the relay sent a binary message');
    let live;
    try {
      live = parseLiveRelayMessage(data);
    } catch (e) {
      return this.fail(`unreadable message from the relay: ${(e as Error).message}`);
    }
    if (live) return this.onLive(live);
    let update;
    try {
      update = parseUpdateRelayMessage(data);
    } catch (e) {
      return this.fail(`unreadable message from the relay: ${(e as Error).message}`);
    }
    if (update) {
      if (this.state_ === 'ready') this.o.update?.message(update, this.sendUpdate);
      return;
    }
    let settings;
    try {
      settings = parseSettingsRelayMessage(data);
    } catch (e) {
      return this.fail(`unreadable message from the relay: ${(e as Error).message}`);
    }
    if (settings) {
      if (this.state_ === 'ready') this.o.settings?.message(settings, this.sendSettings);
      return;
    }
    let m: RelayMessage;
    try {
      m = parseRelayMessage(data);
    } catch (e) {
      if (e instanceof SealbellError && e.code === 'WIRE_TYPE') return; // newer relay: not for us
      return this.fail(`unreadable message from the relay: ${(e as Error).message}`);
    }
    switch (m.t) {
      case 'hello':
        return this.hello(m);
      case 'ack':
        if (this.state_ !== 'ready') return;
        if ('event' in m) {
          if (this.inFlight.delete(`${m.clip}#${EVENT_KEY}`)) this.progress();
          if (m.event === 'refused') this.log(`uplink: the relay refused the event of clip ${m.clip} (${m.code ?? 'no reason'})`);
          this.spool.ackEvent(m.clip);
        } else if ('seg' in m) {
          if (this.inFlight.delete(`${m.clip}#${m.seg}`)) this.progress();
          if (this.spool.ackSegment(m.clip, m.seg)) this.stats.segmentsAcked++;
        } else {
          if (this.inFlight.delete(`${m.clip}#${CLOSE_KEY}`)) this.progress();
          if (m.close === 'rejected') this.log(`uplink: the relay rejected clip ${m.clip} (${m.code ?? 'no reason'})`);
          this.spool.ackClose(m.clip);
        }
        return this.pump();
      case 'roster':
        return this.rosterUpdate(m.bundle);
      case 'quota':
        return this.quotaRefused(m);
      case 'quota-ok':
        if (this.heldUntil !== undefined) this.log('uplink: the relay has space again: sending what the spool keeps');
        this.heldUntil = undefined;
        return this.pump();
      case 'error':
        // A relay that predates a message type (firmware updates) says so: nothing is wrong.
        if (m.code === 'UNKNOWN_TYPE' && m.clip === undefined) return;
        if (m.clip === undefined) return this.fail(`the relay reports ${m.code}: ${m.message}`);
        // An error about one clip is final for that clip (retrying cannot change the answer).
        for (const key of [...this.inFlight]) if (key.startsWith(`${m.clip}#`)) this.inFlight.delete(key);
        this.spool.abandon(m.clip, `the relay reports ${m.code}: ${m.message}`);
        return this.pump();
    }
  }

  private hello(m: Extract<RelayMessage, { t: 'hello' }>): void {
    // A later hello on a ready connection changes the window only: a busy relay shares its in-flight budget out.
    if (this.state_ === 'ready') {
      this.window = Math.min(this.maxWindow, m.window);
      return this.pump();
    }
    if (this.state_ !== 'connecting') return;
    if (m.v !== PROTOCOL_VERSION) return this.fail(`the relay speaks protocol ${m.v}, not ${PROTOCOL_VERSION}`);
    if (this.o.deviceId !== undefined && m.device !== this.o.deviceId) {
      return this.fail(`the relay knows this credential as device ${m.device}, not ${this.o.deviceId}`);
    }
    this.state_ = 'ready';
    this.log('uplink: connected to the relay');
    this.window = Math.min(this.maxWindow, m.window);
    this.lastProgress = this.now;
    if (this.spool.empty) this.failures = 0;
    this.tellRoster();
    this.o.update?.connected(this.sendUpdate, this.now);
    this.o.settings?.connected(this.sendSettings);
    this.pump();
  }

  private readonly sendUpdate = (m: UpdateDeviceMessage): void => {
    if (this.state_ === 'ready') this.socket?.send(encodeUpdateMessage(m));
  };

  private readonly sendSettings = (m: SettingsDeviceMessage): void => {
    if (this.state_ === 'ready') this.socket?.send(encodeSettingsMessage(m));
  };

  private tellRoster(): void {
    const held = this.o.roster?.held();
    if (held) this.sendControl({ t: 'roster', bundle: base64.encode(held.bundle), authority: base64.encode(held.authority), ack: held.ack });
  }

  private rosterUpdate(text: string): void {
    if (!this.o.roster || this.state_ !== 'ready') return;
    try {
      this.o.roster.update(base64.decode(text));
    } catch (e) {
      const code = e instanceof SealbellError ? e.code : 'ROSTER_FORMAT';
      this.log(`uplink: roster update refused: ${code}`);
      return this.sendControl({ t: 'roster-refused', code, message: (e as Error).message.slice(0, 200) });
    }
    this.tellRoster();
  }

  /** Not stored, not final: the segment stays in the spool; segments wait for the relay's `quota-ok` or `quotaRetry`. */
  private quotaRefused(m: Extract<RelayMessage, { t: 'quota' }>): void {
    if (this.state_ !== 'ready') return;
    this.inFlight.delete(`${m.clip}#${m.seg}`);
    this.stats.quotaRefusals++;
    if (this.heldUntil === undefined) {
      this.log(`uplink: the relay refuses uploads: ${m.code}: ${m.message}; ${this.spool.clips().length} clip(s) wait in the spool`);
    }
    this.heldUntil = this.now + (this.o.quotaRetry ?? 60_000);
  }

  private progress(): void {
    this.lastProgress = this.now;
    this.failures = 0;
  }

  // --- sending -----------------------------------------------------------------------------

  /** Sends what is pending, up to the window. Re-entrant calls (a send that is answered at once) are folded. */
  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        this.pumpOnce();
      } while (this.pumpAgain);
    } finally {
      this.pumping = false;
    }
  }

  private pumpOnce(): void {
    for (const clip of this.spool.clips()) {
      if (!this.socket || this.state_ !== 'ready' || this.inFlight.size >= this.window) return;
      if (!this.announced.has(clip.id) && clip.epoch !== undefined) {
        this.announced.add(clip.id);
        this.sendControl({ t: 'begin', clip: clip.id, epoch: clip.epoch });
      }
      // The event notice goes ahead of the clip's remaining segments: it is what rings the phones.
      if (clip.event && !this.inFlight.has(`${clip.id}#${EVENT_KEY}`)) {
        if (this.inFlight.size >= this.window) return;
        let frame: Uint8Array | undefined;
        try {
          const ev = this.spool.readEvent(clip.id);
          frame = encodeEventFrame(clip.id, ev.sealed, ev.signature);
        } catch (e) {
          this.log(`uplink: cannot send the event of clip ${clip.id}: ${(e as Error).message}`);
          this.spool.ackEvent(clip.id);
        }
        if (frame) {
          this.inFlightAdd(`${clip.id}#${EVENT_KEY}`);
          this.socket.send(frame);
        }
      }
      for (const index of this.heldUntil === undefined ? clip.segments : []) {
        if (!this.socket || this.inFlight.size >= this.window) return;
        const key = `${clip.id}#${index}`;
        if (this.inFlight.has(key)) continue;
        let bytes: Uint8Array;
        try {
          bytes = this.o.spool.readSegment(clip.id, index);
        } catch (e) {
          this.log(`uplink: cannot read segment ${index} of clip ${clip.id}: ${(e as Error).message}`);
          this.spool.abandon(clip.id, 'unreadable spool record');
          break;
        }
        const frame = encodeSegmentFrame(clip.id, index, bytes);
        this.inFlightAdd(key);
        this.stats.segmentsSent++;
        this.stats.frameBytes += frame.length;
        this.stats.payloadBytes += bytes.length;
        this.socket.send(frame);
      }
      if (clip.closed && clip.segments.length === 0 && this.socket) {
        const key = `${clip.id}#${CLOSE_KEY}`;
        if (this.inFlight.has(key) || this.inFlight.size >= this.window) continue;
        let close: ClipClose;
        try {
          close = this.spool.readClose(clip.id);
        } catch (e) {
          this.log(`uplink: cannot read how clip ${clip.id} ended: ${(e as Error).message}`);
          this.spool.abandon(clip.id, 'unreadable spool record');
          continue;
        }
        this.inFlightAdd(key);
        this.sendControl(
          close.kind === 'end'
            ? { t: 'end', clip: clip.id, segments: close.segments, manifest: manifestText(close.manifest), signature: close.signature }
            : { t: 'incomplete', clip: clip.id, reason: close.reason },
        );
      }
    }
  }

  private inFlightAdd(key: string): void {
    if (this.inFlight.size === 0) this.lastProgress = this.now;
    this.inFlight.add(key);
  }

  // --- live view (src/uplink/live-wire.ts) ---------------------------------------------

  private onLive(m: NonNullable<ReturnType<typeof parseLiveRelayMessage>>): void {
    if (this.state_ !== 'ready' || !this.o.live) return;
    if (m.t === 'live') this.o.live.onLiveRequest(liveRequestOf(m), this.now);
    else this.o.live.onLiveStop(m.session);
  }

  /** Sends a live opening or record now (no spool: a frame that cannot go now is worth nothing later). */
  sendLive(session: string, kind: LiveKind, bytes: Uint8Array): void {
    if (this.socket && this.state_ === 'ready') this.socket.send(encodeLiveFrame(kind, session, bytes));
  }

  refuseLive(session: string, code: string, message: string): void {
    if (this.state_ === 'ready') this.socket?.send(JSON.stringify({ t: 'live-refused', session, code, message: message.slice(0, 500) }));
  }

  endLive(session: string, reason: string): void {
    if (this.state_ === 'ready') this.socket?.send(JSON.stringify({ t: 'live-end', session, reason }));
  }

  private sendControl(m: DeviceMessage): void {
    this.socket?.send(encodeControl(m));
  }
}

/** What a closed connection means, for the log: refusals of the upgrade come as 4000 + HTTP status. */
function closeReason(code: number, reason: string): string {
  if (code === 4401) return NOT_REGISTERED;
  if (code === 4403) return 'the relay refuses this doorbell (403); trying again';
  return `closed (${code}${reason ? ` ${reason}` : ''})`;
}
