/**
 * The relay's side of one device's uplink connection (docs/relay-api.md,
 * "Uplink"). Each segment is stored once and acknowledged only when durable
 * (GroupCommit: the batch holding it is flushed and committed); a repeat is
 * acknowledged again (idempotent). Messages are handled in the order they
 * came: segments do not wait for each other (so a window of them shares a
 * batch), but a clip-closing message waits until the segments before it are
 * stored. Errors about one clip are answered without closing; a malformed or
 * oversized message gets an error message and a close code, and changes
 * nothing stored.
 */
import type WebSocket from 'ws';
import { SealbellError } from '../../src/errors.js';
import {
  decodeEventFrame,
  decodeSegmentFrame,
  FRAME_EVENT,
  MAX_EVENT_FRAME_BYTES,
  encodeControl,
  manifestBytes,
  MAX_CONTROL_BYTES,
  MAX_FRAME_BYTES,
  parseDeviceMessage,
  PROTOCOL_VERSION,
  type DeviceMessage,
  type RelayMessage,
} from '../../src/uplink/wire.js';
import { isLiveFrame, parseLiveDeviceMessage, type LiveRelayMessage } from '../../src/uplink/live-wire.js';
import { encodeUpdateMessage, parseUpdateDeviceMessage, type UpdateRelayMessage } from '../../src/uplink/update-wire.js';
import type { RelayUpdates } from './updates.js';
import type { RelaySettings } from './settings.js';
import { encodeSettingsMessage, parseSettingsDeviceMessage, type SettingsRelayMessage } from '../../src/uplink/settings-wire.js';
import { checkFinishedClip } from './clip-check.js';
import type { LiveHub } from './live.js';
import type { ClipEvents } from './clip-events.js';
import type { ClipRow, DeviceRow } from './store.js';
import type { RelayStoreApi } from './store-api.js';
import type { GroupCommit } from './group-commit.js';
import type { RelayMetrics } from './metrics.js';
import type { RelayRosters } from './rosters.js';
import type { QuotaBook } from './quota.js';
import { base64 } from '@scure/base';
import { randomBytes } from 'node:crypto';
import { decodePublicKey, verify } from '../../src/minisign.js';
import { eventComment } from '../../src/event/event.js';
import type { RelayPush } from './push.js';

export const CLOSE = {
  BAD_INPUT: 4400,
  TOO_LARGE: 4413,
  REPLACED: 4409,
  INTERNAL: 1011,
  GOING_AWAY: 1001,
} as const;

export interface DeviceSessionContext {
  store: RelayStoreApi;
  /** where segments are written (shared by every session: that is what batches them) */
  commits: GroupCommit;
  metrics: RelayMetrics;
  /** the operator's quota per account (tools/relay/quota.ts) */
  quota?: QuotaBook;
  events: ClipEvents;
  rosters: RelayRosters;
  log: (line: string) => void;
  /** live view: frames and messages of the device's live sessions go here */
  live?: LiveHub;
  /** firmware updates (tools/relay/updates.ts) */
  updates?: RelayUpdates;
  /** signed settings (tools/relay/settings.ts) */
  settings?: RelaySettings;
  /** Web Push to the roster's phones when an event notice arrives (tools/relay/push.ts) */
  push?: RelayPush;
  window: number;
  maxSegmentsPerClip: number;
  stats: { segmentsStored: number; duplicateSegments: number };
}

/**
 * Each device's window when `devices` are connected: the relay's in-flight
 * budget shared out, at least 1 and at most the relay's window. Fewer
 * segments in flight is what keeps acknowledgements quick when many doorbells
 * upload at once: a device's wait is about what is in flight ahead of it
 * divided by the relay's throughput.
 */
export function sharedWindow(budget: number, max: number, devices: number): number {
  return Math.max(1, Math.min(max, Math.floor(budget / Math.max(1, devices))));
}

export class DeviceSession {
  private closed = false;
  /** messages are handled one after another, in the order they came */
  private queue: Promise<void> = Promise.resolve();
  /** segments being stored, not yet acknowledged */
  private readonly storing = new Set<Promise<void>>();
  /** the window last offered in a hello */
  private offered = 0;
  /** segments were refused for the account's quota since space was last freed */
  private overQuota = false;
  /** settings messages being handled (settings.ts), in order */
  private settingsQueue: Promise<void> = Promise.resolve();

  constructor(
    private readonly ws: WebSocket,
    private readonly device: DeviceRow,
    private readonly ctx: DeviceSessionContext,
  ) {}

  start(window: number): void {
    this.offerWindow(window);
  }

  /**
   * Offers the device a window: in the first hello, and again (a later hello)
   * when it changes. Devices take it from then on; older ones keep their first.
   * What is enforced stays `ctx.window`, so a shrink never refuses segments
   * already on their way.
   */
  offerWindow(window: number): void {
    if (window === this.offered) return;
    this.offered = window;
    this.send({ t: 'hello', v: PROTOCOL_VERSION, device: this.device.id, window });
  }

  /** Closes with a final error message. */
  close(code: number, errorCode: string, message: string): void {
    if (this.closed) return;
    this.ctx.metrics.refused(errorCode);
    this.send({ t: 'error', code: errorCode, message });
    this.closed = true;
    this.ws.close(code, errorCode);
  }

  onMessage(data: Buffer, isBinary: boolean): void {
    if (this.closed) return;
    // Live view is not stored: it does not queue behind the disk.
    if (isBinary && isLiveFrame(data)) return this.guard(() => this.onLiveFrame(data));
    if (!isBinary && this.guard(() => this.onLiveControl(data))) return;
    if (!isBinary && this.guard(() => this.onUpdateControl(data))) return;
    // An event notice rings the phones: it does not wait behind the clips' storage either.
    if (isBinary && data[0] === FRAME_EVENT) return void this.guardAsync(() => this.onEvent(data));
    if (!isBinary && this.guard(() => this.onSettingsControl(data))) return;
    const received = performance.now();
    this.queue = this.queue.then(() => {
      if (this.closed) return;
      if (isBinary) return this.guardAsync(() => this.onSegment(data, received));
      return this.guardAsync(() => this.onControl(data));
    });
  }

  private guard<T>(fn: () => T): T | undefined {
    try {
      return fn();
    } catch (e) {
      this.internalError(e as Error);
      return undefined;
    }
  }

  private async guardAsync(fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (e) {
      this.internalError(e as Error);
    }
  }

  /** Only a fault of ours gets here (storage, a bug): say so without details and hang up. */
  private internalError(e: Error): void {
    this.ctx.log(`relay: device ${this.device.id}: internal error: ${e.message}`);
    this.close(CLOSE.INTERNAL, 'INTERNAL', 'the relay failed to handle the message');
  }

  /** A roster update a phone published: the device checks it and answers with what it holds. */
  pushRoster(bundle: Uint8Array): void {
    this.send({ t: 'roster', bundle: base64.encode(bundle) });
  }

  /** A live request or stop for the device (tools/relay/live.ts). */
  sendLive(m: LiveRelayMessage): void {
    if (!this.closed && this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(m));
  }

  private onLiveFrame(data: Buffer): void {
    try {
      this.ctx.live?.fromDevice(this.device.id, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    } catch (e) {
      this.close(CLOSE.BAD_INPUT, 'BAD_FRAME', (e as Error).message);
    }
  }

  /** True when the text was a live message (handled here). */
  private onLiveControl(data: Buffer): boolean {
    let m;
    try {
      m = parseLiveDeviceMessage(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    } catch (e) {
      this.close(CLOSE.BAD_INPUT, 'BAD_MESSAGE', (e as Error).message);
      return true;
    }
    if (!m) return false;
    this.ctx.live?.deviceMessage(this.device.id, m);
    return true;
  }

  /** A firmware update message for the device (tools/relay/updates.ts). */
  sendUpdate = (m: UpdateRelayMessage): void => {
    if (!this.closed && this.ws.readyState === this.ws.OPEN) this.ws.send(encodeUpdateMessage(m));
  };

  /** Signed settings for the device (tools/relay/settings.ts). */
  sendSettings = (m: SettingsRelayMessage): void => {
    if (!this.closed && this.ws.readyState === this.ws.OPEN) this.ws.send(encodeSettingsMessage(m));
  };

  /** True when the text was a settings message (handled here). */
  private onSettingsControl(data: Buffer): boolean {
    let m;
    try {
      m = parseSettingsDeviceMessage(data.toString('utf8'));
    } catch (e) {
      this.close(CLOSE.BAD_INPUT, 'BAD_MESSAGE', (e as Error).message);
      return true;
    }
    if (!m) return false;
    // One after another, in the order they came (each reads and writes the store).
    const settings = this.ctx.settings;
    if (settings) this.settingsQueue = this.settingsQueue.then(() => this.guardAsync(() => settings.fromDevice(this.device.id, m, this.sendSettings, Date.now())));
    return true;
  }

  /** True when the text was a firmware update message (handled here). */
  private onUpdateControl(data: Buffer): boolean {
    let m;
    try {
      m = parseUpdateDeviceMessage(data.toString('utf8'));
    } catch (e) {
      this.close(CLOSE.BAD_INPUT, 'BAD_MESSAGE', (e as Error).message);
      return true;
    }
    if (!m) return false;
    this.ctx.updates?.fromDevice(this.device.id, m, this.sendUpdate, Date.now()).catch((e: Error) => this.ctx.log(`relay: device ${this.device.id}: update message failed: ${e.message}`));
    return true;
  }

  private send(m: RelayMessage): void {
    if (!this.closed && this.ws.readyState === this.ws.OPEN) this.ws.send(encodeControl(m));
  }

  private clipError(clip: string, code: string, message: string, seg?: number): void {
    this.ctx.metrics.refused(code);
    this.send(seg === undefined ? { t: 'error', code, message, clip } : { t: 'error', code, message, clip, seg });
  }

  private async onSegment(data: Buffer, received: number): Promise<void> {
    if (data.length > MAX_FRAME_BYTES) {
      return this.close(CLOSE.TOO_LARGE, 'TOO_LARGE', `a segment frame may be at most ${MAX_FRAME_BYTES} bytes`);
    }
    let frame;
    try {
      frame = decodeSegmentFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    } catch (e) {
      return this.close(CLOSE.BAD_INPUT, 'BAD_FRAME', (e as Error).message);
    }
    const { clipId, index, bytes } = frame;
    const row = await this.ctx.store.clip(this.device.id, clipId);
    if (!row) return this.clipError(clipId, 'UNKNOWN_CLIP', 'send "begin" for the clip before its segments', index);
    if (index >= this.ctx.maxSegmentsPerClip) {
      return this.clipError(clipId, 'SEGMENT_LIMIT', `a clip may have at most ${this.ctx.maxSegmentsPerClip} segments`, index);
    }
    if (row.state !== 'receiving') {
      // A late repeat of a segment the relay already has is fine; anything new is not.
      const have = await this.ctx.store.segment(this.device.id, clipId, index);
      if (!have) return this.clipError(clipId, 'CLIP_CLOSED', `the clip is already ${row.state}`, index);
    }
    // A device keeps at most `window` segments unacknowledged; more is a device ignoring the protocol.
    if (this.storing.size >= this.ctx.window) {
      return this.close(CLOSE.BAD_INPUT, 'WINDOW', `at most ${this.ctx.window} segments may be unacknowledged`);
    }
    // Over the operator's quota: not stored, and not final — the device keeps it and sends it again later.
    // (On PostgreSQL the commit admits it, or answers `quota`: quota.ts.)
    const quota = this.ctx.quota;
    let counted = 0;
    if (quota?.quotaBytes !== undefined && !quota.atCommit && !(await this.ctx.store.segment(this.device.id, clipId, index))) {
      if (!(await quota.admit(this.device.id, bytes.length))) return await this.refuseForQuota(clipId, index, quota.quotaBytes);
      counted = bytes.length;
    }
    const stored = this.ctx.commits.put(this.device.id, clipId, index, bytes).then(
      (result) => {
        if (result !== 'stored') quota?.release(this.device.id, counted);
        if (result === 'quota') return this.refuseForQuota(clipId, index, quota?.quotaBytes ?? 0).catch((e: Error) => this.internalError(e));
        if (result === 'conflict') {
          return this.clipError(clipId, 'SEGMENT_CONFLICT', `segment ${index} was already stored with different bytes`, index);
        }
        if (result === 'stored') {
          this.ctx.stats.segmentsStored++;
          this.ctx.metrics.segmentStored(bytes.length);
        } else this.ctx.stats.duplicateSegments++;
        this.ctx.metrics.acknowledged(performance.now() - received);
        this.send({ t: 'ack', clip: clipId, seg: index });
      },
      (e: Error) => {
        quota?.release(this.device.id, counted);
        this.internalError(e);
      },
    );
    this.storing.add(stored);
    void stored.finally(() => this.storing.delete(stored));
  }

  private async refuseForQuota(clip: string, seg: number, quotaBytes: number): Promise<void> {
    this.ctx.metrics.refused('QUOTA_EXCEEDED');
    // Set before the wait below: several segments of a batch are refused at once, and the line is logged once.
    const first = !this.overQuota;
    this.overQuota = true;
    if (first) this.ctx.log(`relay: device ${this.device.id}: uploads refused: QUOTA_EXCEEDED (the account keeps ${await this.ctx.quota!.accountBytes(this.device.id)} of ${quotaBytes} bytes)`);
    this.send({ t: 'quota', clip, seg, code: 'QUOTA_EXCEEDED', message: `the account's doorbells keep as much as this relay allows (${quotaBytes} bytes): keep the segment and send it when space is freed` });
  }

  /** Space was freed in the device's account: if it was refused for the quota, it may send again. */
  quotaFreed(): void {
    if (!this.overQuota) return;
    this.overQuota = false;
    this.ctx.log(`relay: device ${this.device.id}: space freed under the quota; uploads resume`);
    this.send({ t: 'quota-ok' });
  }

  /**
   * A clip's sealed event notice (docs/event-format.md): checked against the device's key (the
   * relay cannot read it, but it stores nothing the device did not sign), stored once under a
   * fresh random reference, pushed to the roster's phones, then acknowledged once durable.
   */
  private async onEvent(data: Buffer): Promise<void> {
    if (data.length > MAX_EVENT_FRAME_BYTES) {
      return this.close(CLOSE.TOO_LARGE, 'TOO_LARGE', `an event frame may be at most ${MAX_EVENT_FRAME_BYTES} bytes`);
    }
    let frame;
    try {
      frame = decodeEventFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    } catch (e) {
      return this.close(CLOSE.BAD_INPUT, 'BAD_FRAME', (e as Error).message);
    }
    const device = this.device.id;
    const { clipId, sealed, signature } = frame;
    let signed = false;
    try {
      signed = verify(sealed, signature, decodePublicKey(this.device.public_key)) === eventComment(clipId, device);
    } catch {
      signed = false;
    }
    if (!signed) {
      this.ctx.metrics.refused('EVENT_SIGNATURE');
      return this.send({ t: 'ack', clip: clipId, event: 'refused', code: 'EVENT_SIGNATURE' });
    }
    const put = await this.ctx.store.putEvent(device, clipId, randomBytes(16).toString('hex'), sealed, signature, Date.now());
    if (put.result === 'conflict') {
      this.ctx.metrics.refused('EVENT_CONFLICT');
      return this.send({ t: 'ack', clip: clipId, event: 'refused', code: 'EVENT_CONFLICT' });
    }
    if (put.result === 'stored') {
      // Readable at once (the row is committed); the push need not wait for the fsync.
      this.ctx.events.emit({ t: 'event', device, ref: put.ref });
      void this.ctx.push?.notify(device, put.ref);
    }
    await this.ctx.commits.syncWal();
    this.send({ t: 'ack', clip: clipId, event: 'stored' });
  }

  /** Waits until every segment received so far is stored (or failed). */
  private async segmentsStored(): Promise<void> {
    await Promise.all([...this.storing]);
  }

  private async onControl(data: Buffer): Promise<void> {
    if (data.length > MAX_CONTROL_BYTES) {
      return this.close(CLOSE.TOO_LARGE, 'TOO_LARGE', `a control message may be at most ${MAX_CONTROL_BYTES} bytes`);
    }
    let m: DeviceMessage;
    try {
      m = parseDeviceMessage(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    } catch (e) {
      const code = e instanceof SealbellError ? e.code : 'BAD_MESSAGE';
      if (code === 'WIRE_TYPE') return this.send({ t: 'error', code: 'UNKNOWN_TYPE', message: (e as Error).message });
      return this.close(CLOSE.BAD_INPUT, code === 'BAD_ID' ? 'BAD_ID' : 'BAD_MESSAGE', (e as Error).message);
    }
    const now = Date.now();
    const device = this.device.id;
    switch (m.t) {
      case 'roster': {
        let pending: Uint8Array | undefined;
        try {
          pending = await this.ctx.rosters.held(this.device, m, now);
        } catch (e) {
          const code = e instanceof SealbellError ? e.code : 'ROSTER_FORMAT';
          this.ctx.log(`relay: device ${device}: roster refused: ${code}`);
          return this.send({ t: 'error', code, message: `the relay does not accept this roster: ${(e as Error).message}` });
        }
        if (pending) this.pushRoster(pending);
        return;
      }
      case 'roster-refused':
        return await this.ctx.rosters.refused(device, m.code);
      case 'begin':
        // No acknowledgement answers "begin": the row becomes durable with the next segment batch.
        if (await this.ctx.store.createClip(device, m.clip, m.epoch, now)) {
          this.ctx.events.emit({ t: 'clip', device, clip: m.clip, state: 'receiving' });
        }
        return;
      case 'end': {
        await this.segmentsStored();
        if (this.closed) return;
        const row = await this.ctx.store.clip(device, m.clip);
        if (!row) return this.clipError(m.clip, 'UNKNOWN_CLIP', 'no such clip');
        if (row.state !== 'receiving') return this.ackClose(row);
        const verdict = await checkFinishedClip(this.ctx.store, this.device, m.clip, m.segments, manifestBytes(m.manifest), m.signature);
        if (this.closed) return;
        let dropped: string[] = [];
        if (verdict.ok) {
          await this.ctx.store.closeClip(device, m.clip, 'verified', null, now, { manifest: manifestBytes(m.manifest), signature: m.signature });
          this.ctx.log(`relay: device ${device}: clip ${m.clip} verified (${m.segments} segments)`);
          dropped = await this.ctx.store.markDropped(device, verdict.manifest.dropped, now);
        } else {
          this.ctx.log(`relay: device ${device}: clip ${m.clip} rejected: ${verdict.code}: ${verdict.message}`);
          await this.ctx.store.closeClip(device, m.clip, 'rejected', verdict.code, now);
        }
        await this.ctx.commits.syncWal(); // the close is acknowledged only once durable
        for (const id of dropped) this.ctx.events.emit({ t: 'clip', device, clip: id, state: 'dropped', reason: 'spool full' });
        return await this.closedClip(device, m.clip);
      }
      case 'incomplete': {
        await this.segmentsStored();
        if (this.closed) return;
        await this.ctx.store.createClip(device, m.clip, null, now);
        const row = (await this.ctx.store.clip(device, m.clip))!;
        if (row.state === 'receiving') await this.ctx.store.closeClip(device, m.clip, 'incomplete', m.reason, now);
        await this.ctx.commits.syncWal();
        if (row.state !== 'receiving') return this.ackClose(row);
        this.ctx.log(`relay: device ${device}: clip ${m.clip} incomplete (${m.reason})`);
        return await this.closedClip(device, m.clip);
      }
    }
  }

  private async closedClip(device: string, clip: string): Promise<void> {
    const row = (await this.ctx.store.clip(device, clip))!;
    this.ctx.events.emit({ t: 'clip', device, clip, state: row.state, ...(row.reason ? { reason: row.reason } : {}) });
    this.ackClose(row);
  }

  private ackClose(row: ClipRow): void {
    const state = row.state === 'verified' || row.state === 'rejected' ? row.state : 'incomplete';
    this.send(
      state === 'rejected' && row.reason
        ? { t: 'ack', clip: row.clip, close: state, code: row.reason }
        : { t: 'ack', clip: row.clip, close: state },
    );
  }
}
