/**
 * The spool: a ClipSink that keeps every sealed segment in host storage until
 * the relay has acknowledged it, so nothing is lost to an outage or a reboot.
 *
 * Bounded by `capacity` bytes of records. When a segment does not fit, whole
 * clips are dropped, oldest first, never the clip being recorded: first clips
 * that still hold segment data, then clips that only wait for their manifest to
 * be acknowledged. Dropped ids are kept (as records) until a manifest reports
 * them: the Doorbell's `takeDropped` option takes them for the next clip. If
 * the clip whose manifest reported them is dropped in turn, they are noted again.
 *
 * A clip that alone does not fit (the relay is unreachable and the clip is
 * longer than the spool) keeps its first segments: later segments are not
 * stored, its manifest is discarded (it could never verify against a partial
 * payload), and it is closed as INCOMPLETE "overflow" and reported as dropped in
 * the next manifest. Its first seconds — usually who pressed the button — still
 * reach the relay, flagged as incomplete.
 *
 * After a restart the spool is rebuilt from the records alone. A clip that was
 * being recorded when the device died is closed as INCOMPLETE "interrupted": its
 * segments are uploaded as far as they got, without a manifest; the relay flags
 * it and a phone never treats it as a valid clip (it has no signature, and its
 * payload has no final STREAM chunk, so the age opener reports TRUNCATED).
 *
 * Capacity counts segment, begin and end records. Begin/end records (≤ 17 KiB)
 * are always written, so the spool may exceed `capacity` by one of them until
 * the next segment makes room; DROPPED notes (≤ 66 bytes each) are not counted.
 */
import type { ClipSink } from '../clip/sealer.js';
import type { Log } from '../host.js';
import { decodeManifest, isSafeId } from '../clip/manifest.js';
import { check, SealbellError } from '../errors.js';
import type { SpoolStorage } from './storage.js';
import type { IncompleteReason } from './wire.js';
import {
  decodeRecord,
  encodeBegin,
  decodeEventRecord,
  encodeDropped,
  encodeEnd,
  encodeEvent,
  encodeIncomplete,
  encodeSegment,
  Kind,
  RECORD_HEAD_BYTES,
  SEGMENT_PAYLOAD_OFFSET,
} from './spool-records.js';

/** At most this many dropped ids go into one manifest (the manifest allows 256 and is capped at 16 KiB). */
export const MAX_DROPPED_PER_MANIFEST = 128;

export interface SpoolOptions {
  storage: SpoolStorage;
  /** bytes of records the spool may hold */
  capacity: number;
  log?: Log;
}

/** How a clip was closed, as the uplink tells the relay. */
export type ClipClose =
  | { kind: 'end'; segments: number; manifest: Uint8Array; signature: string }
  | { kind: 'incomplete'; reason: IncompleteReason };

/** What the uplink sees of one clip. */
export interface SpooledClip {
  id: string;
  /** roster epoch (undefined once its BEGIN record has been acknowledged away) */
  epoch: number | undefined;
  /** unacknowledged segment indexes, ascending */
  segments: number[];
  recording: boolean;
  closed: 'end' | 'incomplete' | undefined;
  /** its sealed event notice waits to be sent (docs/event-format.md) */
  event: boolean;
}

export interface SpoolRecovery {
  clips: number;
  segments: number;
  /** clips that were being recorded when the device stopped: closed as incomplete */
  interrupted: string[];
  /** unreadable records, removed */
  corrupt: number;
}

interface ClipEntry {
  id: string;
  epoch: number | undefined;
  begin: { record: number; size: number } | undefined;
  /** index → record id and record size */
  segments: Map<number, { record: number; size: number }>;
  nextIndex: number;
  recording: boolean;
  truncated: boolean;
  close: { record: number; size: number; kind: 'end' | 'incomplete' } | undefined;
  event: { record: number; size: number } | undefined;
  /** record bytes counted against capacity */
  bytes: number;
}

interface DroppedNote {
  clip: string;
  record: number;
  /** the clip's first part is still in the spool (overflow), so recovery must not remove it */
  partial: boolean;
  taken: boolean;
}

export class Spool implements ClipSink {
  /** Called whenever there is something new to send (the uplink sets it). */
  onChange: (() => void) | undefined;
  readonly recovery: SpoolRecovery;
  private readonly storage: SpoolStorage;
  private readonly log: Log;
  /** insertion order = age: oldest first */
  private readonly entries = new Map<string, ClipEntry>();
  private notes: DroppedNote[] = [];
  private used = 0;
  /** clips abandoned while still being recorded: the sealer's further calls are ignored */
  private readonly discarding = new Set<string>();

  constructor(private readonly o: SpoolOptions) {
    check(Number.isSafeInteger(o.capacity) && o.capacity > 0, 'SPOOL_CONFIG', 'spool capacity must be a positive whole number of bytes');
    this.storage = o.storage;
    this.log = o.log ?? (() => {});
    this.recovery = this.recover();
  }

  get capacity(): number {
    return this.o.capacity;
  }

  /** Record bytes held against capacity. */
  get usedBytes(): number {
    return this.used;
  }

  /** True when nothing waits for the relay. */
  get empty(): boolean {
    return this.entries.size === 0;
  }

  // --- ClipSink: the sealer writes here ---------------------------------------------

  begin(clipId: string, epoch: number): void {
    check(isSafeId(clipId), 'BAD_ID', 'clip id is not a safe id');
    check(!this.entries.has(clipId), 'SPOOL_STATE', `clip ${clipId} is already in the spool`);
    const entry: ClipEntry = {
      id: clipId, epoch, begin: undefined, segments: new Map(), nextIndex: 0,
      recording: true, truncated: false, close: undefined, event: undefined, bytes: 0,
    };
    this.entries.set(clipId, entry);
    const rec = encodeBegin(clipId, epoch);
    this.makeRoom(rec.length, clipId);
    entry.begin = { record: this.store(entry, rec), size: rec.length };
    this.changed();
  }

  segment(clipId: string, index: number, bytes: Uint8Array): void {
    if (this.discarding.has(clipId)) return;
    const entry = this.recordingEntry(clipId);
    check(index === entry.nextIndex, 'SPOOL_STATE', `clip ${clipId}: segment ${index} out of order (expected ${entry.nextIndex})`);
    entry.nextIndex++;
    if (entry.truncated) return;
    const rec = encodeSegment(clipId, index, bytes);
    if (!this.makeRoom(rec.length, clipId)) {
      entry.truncated = true;
      this.log(`spool: clip ${clipId} does not fit in the spool (${this.o.capacity} bytes); keeping its first ${index} segments, the rest is lost`);
      return;
    }
    entry.segments.set(index, { record: this.store(entry, rec), size: rec.length });
    this.changed();
  }

  end(clipId: string, manifest: Uint8Array, signature: string): void {
    if (this.discarding.delete(clipId)) return;
    const entry = this.recordingEntry(clipId);
    entry.recording = false;
    if (entry.truncated) {
      // Its manifest cannot verify against the part that was kept: close it as incomplete,
      // report it, and hand back the dropped ids it took so the next manifest carries them.
      this.closeEntry(entry, encodeIncomplete(clipId, 'overflow'), 'incomplete');
      for (const n of this.notes) n.taken = false;
      this.addNote(clipId, true);
    } else {
      this.closeEntry(entry, encodeEnd(clipId, entry.nextIndex, manifest, signature), 'end');
      // The manifest that reports the taken ids is stored now: their notes can go.
      for (const n of this.notes) if (n.taken) this.storage.remove(n.record);
      this.notes = this.notes.filter((n) => !n.taken);
    }
    this.changed();
  }

  /** The clip's event notice: kept like its segments until the relay has it. */
  event(clipId: string, sealed: Uint8Array, signature: string): void {
    if (this.discarding.has(clipId)) return;
    const entry = this.recordingEntry(clipId);
    if (entry.event) return;
    const rec = encodeEvent(clipId, sealed, signature);
    if (!this.makeRoom(rec.length, clipId)) {
      this.log(`spool: the event of clip ${clipId} does not fit in the spool; it is not sent`);
      return;
    }
    entry.event = { record: this.store(entry, rec), size: rec.length };
    this.changed();
  }

  /** The stored event notice of a clip. */
  readEvent(clipId: string): { sealed: Uint8Array; signature: string } {
    const ref = this.entries.get(clipId)?.event;
    if (!ref) throw new SealbellError('SPOOL_STATE', `clip ${clipId} has no event in the spool`);
    const r = decodeEventRecord(this.storage.read(ref.record));
    if (r.clip !== clipId) throw new SealbellError('SPOOL_RECORD', `spool record ${ref.record} is not the event of ${clipId}`);
    return { sealed: r.sealed, signature: r.signature };
  }

  /** The relay has the event (or refused it for good): it leaves the spool. */
  ackEvent(clipId: string): boolean {
    const e = this.entries.get(clipId);
    if (!e?.event) return false;
    this.release(e, e.event.record, e.event.size);
    e.event = undefined;
    return true;
  }

  /**
   * Clip ids dropped since the last manifest, for the Doorbell's `takeDropped`.
   * They stay stored until the next clip's end() makes the report durable, so a
   * crash in between reports them again rather than losing them.
   */
  takeDropped(): string[] {
    const out: string[] = [];
    for (const n of this.notes) {
      if (out.length >= MAX_DROPPED_PER_MANIFEST) break;
      if (!n.taken) {
        n.taken = true;
        out.push(n.clip);
      }
    }
    return out;
  }

  // --- the uplink reads and acknowledges here ----------------------------------------

  /** Every clip with something still to send, oldest first. */
  clips(): SpooledClip[] {
    const out: SpooledClip[] = [];
    for (const e of this.entries.values()) {
      out.push({
        id: e.id,
        epoch: e.begin === undefined ? undefined : e.epoch,
        segments: [...e.segments.keys()].sort((a, b) => a - b),
        recording: e.recording,
        closed: e.close?.kind,
        event: e.event !== undefined,
      });
    }
    return out;
  }

  /** The stored bytes of an unacknowledged segment. */
  readSegment(clipId: string, index: number): Uint8Array {
    const ref = this.entries.get(clipId)?.segments.get(index);
    if (!ref) throw new SealbellError('SPOOL_STATE', `clip ${clipId} has no segment ${index} in the spool`);
    const bytes = this.storage.read(ref.record);
    const r = decodeRecord(bytes, bytes.length);
    if (r.kind !== Kind.Segment || r.clip !== clipId || r.index !== index) {
      throw new SealbellError('SPOOL_RECORD', `spool record ${ref.record} is not segment ${index} of ${clipId}`);
    }
    return bytes.subarray(SEGMENT_PAYLOAD_OFFSET(clipId));
  }

  /** How a closed clip ended: its manifest and signature, or why it is incomplete. */
  readClose(clipId: string): ClipClose {
    const close = this.entries.get(clipId)?.close;
    if (!close) throw new SealbellError('SPOOL_STATE', `clip ${clipId} is not closed`);
    const r = decodeRecord(this.storage.read(close.record), close.size);
    if (r.kind === Kind.End && r.clip === clipId) return { kind: 'end', segments: r.segments, manifest: r.manifest, signature: r.signature };
    if (r.kind === Kind.Incomplete && r.clip === clipId) return { kind: 'incomplete', reason: r.reason };
    throw new SealbellError('SPOOL_RECORD', `spool record ${close.record} does not close ${clipId}`);
  }

  /** The relay has the segment durably. Unknown (already acknowledged, dropped) segments are ignored. */
  ackSegment(clipId: string, index: number): boolean {
    const e = this.entries.get(clipId);
    const ref = e?.segments.get(index);
    if (!e || !ref) return false;
    e.segments.delete(index);
    this.release(e, ref.record, ref.size);
    return true;
  }

  /** The relay has the clip's end (or incomplete) message: the clip leaves the spool. */
  ackClose(clipId: string): boolean {
    const e = this.entries.get(clipId);
    if (!e || !e.close || e.segments.size > 0) return false;
    // BEGIN first, the close record last: a crash in between leaves a clip that still
    // knows how it ended, and resending that to the relay is harmless.
    if (e.begin) this.release(e, e.begin.record, e.begin.size);
    if (e.event) this.release(e, e.event.record, e.event.size);
    this.release(e, e.close.record, e.close.size);
    this.entries.delete(clipId);
    return true;
  }

  /**
   * The relay refused the clip for good (e.g. a conflict): forget it, and report it
   * as dropped. A clip still being recorded stops being stored at once.
   */
  abandon(clipId: string, why: string): void {
    const e = this.entries.get(clipId);
    if (!e) return;
    this.log(`spool: clip ${clipId} abandoned: ${why}`);
    if (e.recording) this.discarding.add(clipId);
    this.drop(e);
  }

  // --- internals ---------------------------------------------------------------------

  private recordingEntry(clipId: string): ClipEntry {
    const e = this.entries.get(clipId);
    check(e && e.recording, 'SPOOL_STATE', `clip ${clipId} is not being recorded`);
    return e;
  }

  private store(e: ClipEntry, rec: Uint8Array): number {
    const id = this.storage.append(rec);
    e.bytes += rec.length;
    this.used += rec.length;
    return id;
  }

  private release(e: ClipEntry, record: number, size: number): void {
    this.storage.remove(record);
    e.bytes -= size;
    this.used -= size;
  }

  private closeEntry(e: ClipEntry, rec: Uint8Array, kind: 'end' | 'incomplete', makeRoom = true): void {
    if (makeRoom) this.makeRoom(rec.length, e.id);
    e.close = { record: this.store(e, rec), size: rec.length, kind };
  }

  /** Drops whole older clips until `size` more bytes fit; false if even that is not enough. */
  private makeRoom(size: number, keep: string): boolean {
    while (this.used + size > this.o.capacity) {
      const victim = this.oldestDroppable(keep);
      if (!victim) return false;
      this.log(`spool: full, dropping clip ${victim.id} (${victim.bytes} bytes not yet uploaded)`);
      this.drop(victim);
    }
    return true;
  }

  private oldestDroppable(keep: string): ClipEntry | undefined {
    let metadataOnly: ClipEntry | undefined;
    for (const e of this.entries.values()) {
      if (e.recording || e.id === keep) continue;
      if (e.segments.size > 0) return e;
      metadataOnly ??= e;
    }
    return metadataOnly;
  }

  /**
   * The notes go first: a crash half-way through a drop finishes it on recovery.
   * A dropped clip's manifest may itself have been the report of earlier drops:
   * those ids are noted again so the next manifest still reports them.
   */
  private drop(e: ClipEntry): void {
    for (const id of this.reportedIn(e)) this.addNote(id, false);
    this.addNote(e.id, false);
    this.removeRecords(e);
  }

  private reportedIn(e: ClipEntry): string[] {
    if (e.close?.kind !== 'end') return [];
    try {
      const close = this.readClose(e.id);
      return close.kind === 'end' ? decodeManifest(close.manifest).dropped : [];
    } catch {
      return []; // an unreadable record: nothing more can be recovered from it
    }
  }

  private removeRecords(e: ClipEntry): void {
    for (const ref of e.segments.values()) this.storage.remove(ref.record);
    if (e.begin) this.storage.remove(e.begin.record);
    if (e.event) this.storage.remove(e.event.record);
    if (e.close) this.storage.remove(e.close.record);
    this.used -= e.bytes;
    this.entries.delete(e.id);
  }

  private addNote(clip: string, partial: boolean): void {
    const existing = this.notes.find((n) => n.clip === clip);
    if (existing && (partial || !existing.partial)) return;
    const record = this.storage.append(encodeDropped(clip, partial));
    if (existing) {
      // The overflowed clip is now dropped whole: the note must say so for recovery.
      this.storage.remove(existing.record);
      existing.record = record;
      existing.partial = false;
      return;
    }
    this.notes.push({ clip, record, partial, taken: false });
  }

  private changed(): void {
    this.onChange?.();
  }

  /** Rebuilds the state from the stored records (see the file comment). */
  private recover(): SpoolRecovery {
    const result: SpoolRecovery = { clips: 0, segments: 0, interrupted: [], corrupt: 0 };
    const entry = (id: string): ClipEntry => {
      let e = this.entries.get(id);
      if (!e) {
        e = { id, epoch: undefined, begin: undefined, segments: new Map(), nextIndex: 0, recording: false, truncated: false, close: undefined, event: undefined, bytes: 0 };
        this.entries.set(id, e);
      }
      return e;
    };
    const discard = (id: number) => {
      this.storage.remove(id);
      result.corrupt++;
    };
    for (const { id, size } of this.storage.list()) {
      let r;
      try {
        let bytes = this.storage.read(id, RECORD_HEAD_BYTES);
        if (bytes[0] === Kind.End && size > bytes.length) bytes = this.storage.read(id);
        r = decodeRecord(bytes, size);
      } catch (err) {
        this.log(`spool: removing unreadable record ${id}: ${(err as Error).message}`);
        discard(id);
        continue;
      }
      if (r.kind === Kind.Dropped) {
        if (this.notes.some((n) => n.clip === r.clip)) discard(id);
        else this.notes.push({ clip: r.clip, record: id, partial: r.partial, taken: false });
        continue;
      }
      const e = entry(r.clip);
      if (r.kind === Kind.Begin) {
        if (e.begin) { discard(id); continue; }
        e.begin = { record: id, size };
        e.epoch = r.epoch;
      } else if (r.kind === Kind.Segment) {
        if (e.segments.has(r.index)) { discard(id); continue; }
        e.segments.set(r.index, { record: id, size });
        e.nextIndex = Math.max(e.nextIndex, r.index + 1);
      } else if (r.kind === Kind.Event) {
        if (e.event) { discard(id); continue; }
        e.event = { record: id, size };
      } else {
        if (e.close) { discard(id); continue; }
        e.close = { record: id, size, kind: r.kind === Kind.End ? 'end' : 'incomplete' };
      }
      e.bytes += size;
      this.used += size;
    }
    // A drop that a crash cut short: its note is stored, so finish removing the clip.
    for (const n of this.notes) {
      const e = this.entries.get(n.clip);
      if (e && !n.partial) this.removeRecords(e);
    }
    for (const e of this.entries.values()) {
      result.clips++;
      result.segments += e.segments.size;
      if (!e.close) {
        this.closeEntry(e, encodeIncomplete(e.id, 'interrupted'), 'incomplete', false);
        result.interrupted.push(e.id);
        this.log(`spool: clip ${e.id} was interrupted at segment ${e.nextIndex}; it will be uploaded as incomplete`);
      }
    }
    return result;
  }
}
