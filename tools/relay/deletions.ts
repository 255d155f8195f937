/**
 * Deleting clips at the relay (an owner's signed request, or an expiry under the owner's
 * signed retention): crash-safe and off the event loop.
 *
 * 1. One SQLite transaction drops the clips' segment rows (their log places move to the
 *    `freed_segments` journal in the same transaction), their counts and, for an owner's
 *    deletion, their manifests; made durable with one WAL flush off the event loop. From
 *    then on nothing reads the bytes, and a crash leaves either all of it or none of it.
 * 2. The scrubber then overwrites each freed range of the segment logs with zeros (positional
 *    writes and one fdatasync per log, on libuv's thread pool), unlinks segment files of
 *    relays from before the segment log, removes a log file no row needs any more (not the
 *    one being appended to, nor one a batch still writes to), and only then forgets the journal rows. A crash in between
 *    scrubs again at the next start: overwriting zeros with zeros is harmless.
 *
 * A log that still holds live segments keeps its size (its deleted ranges are zeros); the
 * space comes back when its last segment goes (retention by age empties old logs whole).
 *
 * On PostgreSQL (pg-store.ts) step 1 is one transaction that deletes the segment rows with
 * their bytes; there is no log to scrub (`scrubber` is not given): the bytes stay in dead row
 * versions until vacuum reuses their space (docs/relay-operations.md).
 */
import fsp from 'node:fs/promises';
import type { GroupCommit } from './group-commit.js';
import type { ClipDeletion, FreedSegmentRow, OwnerRequestRow, RelayStore } from './store.js';
import type { RelayStoreApi } from './store-api.js';

const SCRUB_BATCH = 512;
const ZEROS = new Uint8Array(128 * 1024);

export interface DeleterOptions {
  store: RelayStoreApi;
  commits: GroupCommit;
  /** overwrites the deleted segments' bytes (the SQLite store's segment log); none on PostgreSQL */
  scrubber?: SegmentScrubber;
  log: (line: string) => void;
  /** bytes a device no longer holds (the quota's count) */
  freed?: (device: string, bytes: number) => void;
}

export class ClipDeleter {
  constructor(private readonly o: DeleterOptions) {}

  /**
   * Deletes the clips (and records the owner's request with them), durably: resolves once the
   * deletion is committed and flushed. Returns the bytes each clip held, or undefined when the
   * request's epoch is not above every accepted one (nothing changed). The bytes on disk are
   * scrubbed right after (`idle()` waits for that).
   */
  async delete(device: string, clips: ClipDeletion[], request: Omit<OwnerRequestRow, 'device'> | undefined, now: number): Promise<Map<string, number> | undefined> {
    const freed = await this.o.store.deleteClips(device, clips, request, now);
    if (!freed) return undefined;
    await this.o.commits.syncWal();
    const total = [...freed.values()].reduce((a, b) => a + b, 0);
    if (total > 0) this.o.freed?.(device, total);
    this.o.scrubber?.scrub();
    return freed;
  }

  /** Resolves when no scrub is running or due. */
  async idle(): Promise<void> {
    await this.o.scrubber?.idle();
  }
}

/** Overwrites deleted segments in the SQLite store's segment log (steps 2 above). */
export class SegmentScrubber {
  private scrubbing: Promise<void> | undefined;
  private again = false;

  constructor(private readonly o: { store: RelayStore; commits: GroupCommit; log: (line: string) => void }) {}

  /** Starts scrubbing what the journal holds (at start: what a crash left). */
  scrub(): void {
    if (this.scrubbing) {
      this.again = true;
      return;
    }
    this.scrubbing = this.scrubAll()
      .catch((e: Error) => this.o.log(`relay: internal error: scrubbing deleted segments: ${e.message}`))
      .finally(() => {
        this.scrubbing = undefined;
        if (this.again) {
          this.again = false;
          this.scrub();
        }
      });
  }

  /** Resolves when no scrub is running or due. */
  async idle(): Promise<void> {
    while (this.scrubbing) await this.scrubbing;
  }

  private async scrubAll(): Promise<void> {
    const { store } = this.o;
    for (;;) {
      const rows = store.freedSegments(SCRUB_BATCH);
      if (rows.length === 0) return;
      const byLog = new Map<number, FreedSegmentRow[]>();
      for (const r of rows) {
        if (r.log === null || r.offset === null) await unlinkQuietly(store.blobs.segmentPath(r.device, r.clip, r.idx));
        else byLog.set(r.log, [...(byLog.get(r.log) ?? []), r]);
      }
      for (const [log, ranges] of byLog) await zeroRanges(store.segmentLog.logPath(log), ranges);
      store.unsynced(() => store.forgetFreed(rows.map((r) => r.id)));
      for (const log of byLog.keys()) {
        if (!store.segmentLog.isOpen(log) && !this.o.commits.usesLog(log) && !store.logInUse(log)) await unlinkQuietly(store.segmentLog.logPath(log));
      }
    }
  }
}

/** Overwrites each range with zeros and flushes the file once. A log already removed is fine. */
async function zeroRanges(file: string, ranges: FreedSegmentRow[]): Promise<void> {
  let fh;
  try {
    fh = await fsp.open(file, 'r+');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  try {
    const size = (await fh.stat()).size;
    for (const r of ranges) {
      let at = r.offset!;
      const end = Math.min(r.offset! + r.size, size); // never lengthen the file
      while (at < end) at += (await fh.write(ZEROS, 0, Math.min(ZEROS.length, end - at), at)).bytesWritten;
    }
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

async function unlinkQuietly(file: string): Promise<void> {
  try {
    await fsp.unlink(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}
