/**
 * An in-memory relay for testing the uplink core without a network: it speaks
 * the real wire format (src/uplink/wire.ts), and delivers every event through a
 * queue the test flushes, as a host would (never inside connect or send). No Node
 * APIs: the XS conformance entry (test/xs/uplink-core.ts) uses it too.
 */
import { decodeSegmentFrame, encodeControl, parseDeviceMessage, type RelayMessage } from '../src/uplink/wire.js';
import type { UplinkConnect, UplinkSocketEvents } from '../src/uplink/socket.js';
import { concatBytes, equalBytes } from '../src/bytes.js';
import { encodeUpdateMessage, parseUpdateDeviceMessage, type UpdateDeviceMessage, type UpdateRelayMessage } from '../src/uplink/update-wire.js';

interface Conn {
  events: UplinkSocketEvents;
  open: boolean;
}

export class FakeRelay {
  /** `${clip}#${index}` → bytes */
  readonly segments = new Map<string, Uint8Array>();
  readonly clips = new Map<string, { epoch: number | undefined; closed?: string; segments?: number }>();
  /** refuse connections (the relay is down) */
  up = true;
  /** acknowledge segments (false: hold the acks in `pendingAcks`) */
  ackSegments = true;
  /** the device id the relay knows the credential as */
  device = 'DEVICE0000000001';
  window = 16;
  stored = 0;
  duplicates = 0;
  connects = 0;
  /** most segments received on one connection and not yet acknowledged */
  maxUnacked = 0;
  /** every control message received, in order */
  readonly control: string[] = [];
  pendingAcks: string[] = [];
  /** firmware update messages from the device (src/uplink/update-wire.ts); without it they are ignored */
  onUpdate: ((m: UpdateDeviceMessage) => void) | undefined;
  /** clip ids to answer with a clip-level error */
  readonly refuse = new Set<string>();
  /** over the operator's quota: segments are answered with `quota` (not stored, not final) */
  quotaFull = false;
  private conn: Conn | undefined;
  private readonly queue: (() => void)[] = [];

  readonly connect: UplinkConnect = (events) => {
    this.connects++;
    const conn: Conn = { events, open: false };
    if (!this.up) {
      this.queue.push(() => events.onClose(1006, ''));
    } else {
      this.dropConnection();
      this.conn = conn;
      this.queue.push(() => {
        conn.open = true;
        events.onOpen();
        this.reply(conn, { t: 'hello', v: 1, device: this.device, window: this.window });
      });
    }
    return {
      send: (data) => {
        const copy = typeof data === 'string' ? data : data.slice();
        this.queue.push(() => this.receive(conn, copy));
      },
      close: () => {
        this.queue.push(() => this.closeConn(conn, 1000));
      },
    };
  };

  /** Runs queued events until none are left. */
  flush(): void {
    for (let guard = 0; this.queue.length && guard < 1_000_000; guard++) this.queue.shift()!();
  }

  /** The connection drops (e.g. the relay restarts). */
  dropConnection(): void {
    const c = this.conn;
    this.conn = undefined;
    this.pendingAcks = [];
    if (c) this.queue.push(() => this.closeConn(c, 1006));
  }

  /** Sends the device a roster update, as the relay does when a phone publishes one. */
  pushRoster(bundle: string): void {
    if (this.conn) this.reply(this.conn, { t: 'roster', bundle });
  }

  /** Offers a new window on the open connection (a later hello), as a relay does when many devices connect. */
  offerWindow(window: number): void {
    this.window = window;
    if (this.conn) this.reply(this.conn, { t: 'hello', v: 1, device: this.device, window });
  }

  /** Sends the device a firmware update message. */
  sendUpdate(m: UpdateRelayMessage): void {
    const c = this.conn;
    const text = encodeUpdateMessage(m);
    if (c) this.queue.push(() => c.open && c.events.onMessage(text));
  }

  /** Sends the device a connection-level error (no clip), as an older relay does for a message type it does not know. */
  sendError(code: string, message: string): void {
    if (this.conn) this.reply(this.conn, { t: 'error', code, message });
  }

  /** Space was freed under the quota: tells the device (`quota-ok`). */
  quotaOk(): void {
    this.quotaFull = false;
    if (this.conn) this.reply(this.conn, { t: 'quota-ok' });
  }

  /** Sends the held acknowledgements. */
  releaseAcks(): void {
    const c = this.conn;
    const acks = this.pendingAcks;
    this.pendingAcks = [];
    if (c) for (const a of acks) this.queue.push(() => c.open && c.events.onMessage(a));
  }

  /** The stored .age bytes of a clip (segments 0, 1, … up to the first gap). */
  age(clip: string): Uint8Array {
    const parts: Uint8Array[] = [];
    for (let i = 0; this.segments.has(`${clip}#${i}`); i++) parts.push(this.segments.get(`${clip}#${i}`)!);
    return concatBytes(...parts);
  }

  private closeConn(c: Conn, code: number): void {
    if (!c.open && code !== 1006) return;
    const wasOpen = c.open;
    c.open = false;
    if (this.conn === c) this.conn = undefined;
    if (wasOpen || code === 1006) c.events.onClose(code, '');
  }

  private reply(c: Conn, m: RelayMessage): void {
    const text = encodeControl(m);
    this.queue.push(() => c.open && c.events.onMessage(text));
  }

  private receive(c: Conn, data: Uint8Array | string): void {
    if (!c.open || this.conn !== c) return;
    if (typeof data === 'string') return this.receiveControl(c, data);
    const f = decodeSegmentFrame(data);
    if (this.refuse.has(f.clipId)) return this.reply(c, { t: 'error', code: 'SEGMENT_CONFLICT', message: 'refused', clip: f.clipId, seg: f.index });
    if (this.quotaFull && !this.segments.has(`${f.clipId}#${f.index}`)) {
      return this.reply(c, { t: 'quota', clip: f.clipId, seg: f.index, code: 'QUOTA_EXCEEDED', message: 'over quota' });
    }
    const key = `${f.clipId}#${f.index}`;
    const have = this.segments.get(key);
    if (have) {
      if (!equalBytes(have, f.bytes)) throw new Error(`conflicting bytes for ${key}`);
      this.duplicates++;
    } else {
      this.segments.set(key, f.bytes.slice());
      this.stored++;
    }
    const ack = encodeControl({ t: 'ack', clip: f.clipId, seg: f.index });
    if (this.ackSegments) this.queue.push(() => c.open && c.events.onMessage(ack));
    else {
      this.pendingAcks.push(ack);
      this.maxUnacked = Math.max(this.maxUnacked, this.pendingAcks.length);
    }
  }

  private receiveControl(c: Conn, text: string): void {
    this.control.push(text);
    const update = parseUpdateDeviceMessage(text);
    if (update) return this.onUpdate?.(update);
    const m = parseDeviceMessage(text);
    if (m.t === 'roster' || m.t === 'roster-refused') return;
    if (m.t === 'begin') {
      if (!this.clips.has(m.clip)) this.clips.set(m.clip, { epoch: m.epoch });
      return;
    }
    const clip = this.clips.get(m.clip) ?? { epoch: undefined };
    this.clips.set(m.clip, clip);
    if (m.t === 'end') {
      clip.closed = 'verified';
      clip.segments = m.segments;
    } else clip.closed ??= 'incomplete';
    this.reply(c, { t: 'ack', clip: m.clip, close: clip.closed === 'verified' ? 'verified' : 'incomplete' });
  }
}
