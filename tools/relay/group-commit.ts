/**
 * Group commit for uploaded segments: every segment that arrives while the
 * previous batch is being made durable joins the next batch, whichever
 * doorbell sent it. A segment is appended to the segment log as soon as it
 * arrives (a positional write, not flushed, not waited for); the batch then
 * flushes the log with ONE fdatasync, records every segment in ONE SQLite
 * transaction committed without SQLite's own fsync, and makes that durable
 * with ONE fdatasync of the WAL, off the event loop. Only then is each caller's promise resolved, and only then does
 * the device get its acknowledgement. The next batch's log flush runs while
 * this batch's transaction and WAL flush do (two batches at most: one
 * flushing its log, one committing); commits stay in order.
 *
 * Crash safety: log bytes whose row is not committed do not count (the device
 * resends them, and a restart cuts them off), and a committed row's bytes were
 * flushed before the commit. The event loop never waits on the disk: the
 * transaction itself only writes to the WAL.
 *
 * On PostgreSQL (pg-store.ts) the batch is one transaction holding every
 * segment's row and bytes, and its COMMIT (synchronous_commit on) is the one
 * durable write; the store interface's SegmentIngest hides which. With the
 * operator's quota, that transaction also admits the batch's segments against
 * it, serialised per account between relay processes: the refused ones come
 * back as `quota` (pg-store.ts, admitUnderQuota).
 */
import { createHash } from 'node:crypto';
import { SealbellError } from '../../src/errors.js';
import { RelayStore, type PutSegmentResult } from './store.js';
import { SqliteSegmentIngest } from './sqlite-store.js';
import type { CommitOutcome, SegmentIngest } from './store-api.js';
import type { LogPlace } from './segment-log.js';

/**
 * What became of a segment: `stored`, a `duplicate` or `conflict` of one stored before, or
 * `quota`: refused for the operator's quota by a store that admits at commit (PostgreSQL;
 * not stored, not final: the device keeps it and sends it again).
 */
export type SegmentOutcome = PutSegmentResult | 'quota';

/** What a committed batch looked like, for /metrics. */
export interface BatchReport {
  segments: number;
  bytes: number;
  /** time from the batch's start to its commit, ms */
  ms: number;
}

interface Pending {
  device: string;
  clip: string;
  idx: number;
  size: number;
  sha256: string;
  /** what the store stands by for this key: these bytes, or an equal-keyed row already stored */
  stored: { sha256: string; size: number };
  handle: unknown;
  /** the bytes are in the log (not yet flushed) */
  written: Promise<void>;
  done: Promise<SegmentOutcome>;
  resolve: (r: SegmentOutcome) => void;
  reject: (e: Error) => void;
}

const sha256Hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const staged = (p: Pending) => ({ seg: { device: p.device, clip: p.clip, idx: p.idx, size: p.size, sha256: p.sha256 }, handle: p.handle });

export class GroupCommit {
  private next: Pending[] = [];
  private readonly pending = new Map<string, Pending>();
  /** a batch is in its first stage (written, flushed) or waits for the commit stage */
  private front = false;
  /** the batch in its commit stage */
  private back: Promise<void> | undefined;
  /** every batch under way, for close() */
  private readonly batches = new Set<Promise<void>>();
  private closed = false;
  /** the last batch's failure, cleared by the next batch that commits */
  lastError: Error | undefined;
  /**
   * Set when the WAL could not be flushed after a commit: rows exist that may
   * not be durable, and a resend would be acknowledged as a repeat on their
   * word, so no segment is taken until the relay restarts (and SQLite reads
   * back what is really on disk). A failed fsync cannot be trusted to work
   * when retried either.
   */
  private broken: Error | undefined;

  private readonly ingest: SegmentIngest;
  private readonly syncStore: () => Promise<void>;

  /** `store`: the SQLite store itself, or any store behind the interface (store-api.ts). */
  constructor(
    store: RelayStore | { ingest: SegmentIngest; sync(): Promise<void> },
    private readonly onBatch: (b: BatchReport) => void = () => {},
  ) {
    if (store instanceof RelayStore) {
      this.ingest = new SqliteSegmentIngest(store);
      this.syncStore = () => store.syncWal();
    } else {
      this.ingest = store.ingest;
      this.syncStore = () => store.sync();
    }
  }

  /**
   * Stores a segment once; resolves when it is durable. A repeat with the same
   * bytes is a `duplicate` (acknowledge it again), different bytes a `conflict`.
   */
  put(device: string, clip: string, idx: number, bytes: Uint8Array): Promise<SegmentOutcome> {
    if (this.closed) return Promise.reject(new SealbellError('STORE_CLOSING', 'the store is closing'));
    if (this.broken) return Promise.reject(new SealbellError('STORE_BROKEN', `the store failed to flush and needs a restart: ${this.broken.message}`));
    const sha256 = sha256Hex(bytes);
    const key = `${device}/${clip}/${idx}`;
    const same = (s: { sha256: string; size: number }): PutSegmentResult => (s.sha256 === sha256 && s.size === bytes.length ? 'duplicate' : 'conflict');
    const inBatch = this.pending.get(key);
    // A resend while the first copy is still being made durable: answer when it is (refused for the quota: so is the resend).
    if (inBatch) return inBatch.done.then((r) => (r === 'quota' ? 'quota' : same(inBatch.stored)));
    let resolve!: (r: SegmentOutcome) => void;
    let reject!: (e: Error) => void;
    const done = new Promise<SegmentOutcome>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // In the map at once, so that a resend arriving while the store is asked waits for this one.
    const p: Pending = { device, clip, idx, size: bytes.length, sha256, stored: { sha256, size: bytes.length }, handle: undefined, written: Promise.resolve(), done, resolve, reject };
    this.pending.set(key, p);
    this.ingest.existing(device, clip, idx).then(
      (existing) => {
        if (existing) {
          p.stored = existing;
          this.pending.delete(key);
          return resolve(same(existing));
        }
        if (this.closed || this.broken) {
          this.pending.delete(key);
          if (this.broken) return reject(new SealbellError('STORE_BROKEN', `the store failed to flush and needs a restart: ${this.broken.message}`));
          return reject(new SealbellError('STORE_CLOSING', 'the store is closing'));
        }
        const staged = this.ingest.stage({ device, clip, idx, size: bytes.length, sha256 }, bytes);
        p.handle = staged.handle;
        p.written = staged.written;
        staged.written.catch(() => {}); // reported through `done` when its batch runs
        this.next.push(p);
        this.kick();
      },
      (e: Error) => {
        this.pending.delete(key);
        reject(e);
      },
    );
    return done;
  }

  /**
   * Makes every commit so far durable (one fdatasync of the WAL): for other
   * writes made with store.unsynced(), before they are reported. A failure
   * stops the store taking segments (see `broken`).
   */
  async syncWal(): Promise<void> {
    try {
      await this.syncStore();
    } catch (e) {
      this.broken = this.lastError = e as Error;
      throw e;
    }
  }

  /** True while a segment written to this log waits for its batch (its row is not committed yet). */
  usesLog(log: number): boolean {
    // Only the SQLite store's handles are log places (sqlite-store.ts); PostgreSQL has no logs.
    for (const p of this.pending.values()) if ((p.handle as LogPlace | undefined)?.log === log) return true;
    return false;
  }

  /** Waits for every batch queued so far, then refuses new segments. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.batches.size > 0) await Promise.all(this.batches);
  }

  /**
   * Starts the next batch unless one is still in its first stage. With a two-stage ingest
   * (SQLite) a batch's first stage (its log flush) overlaps the commit of the batch before it,
   * so at most two batches run: one preparing, one committing, and commits stay in order.
   */
  private kick(): void {
    if (this.front || this.next.length === 0) return;
    const batch = this.next;
    this.next = [];
    this.front = true;
    const run = this.run(batch).finally(() => {
      this.batches.delete(run);
      this.kick();
    });
    this.batches.add(run);
  }

  private async run(batch: Pending[]): Promise<void> {
    const began = performance.now();
    const ok = await this.prepare(batch);
    while (this.back) await this.back; // the batch before commits first
    const pipelined = this.ingest.prepare !== undefined;
    const back = ok.length > 0 ? this.commit(ok, began) : Promise.resolve();
    this.back = back;
    if (pipelined) {
      this.front = false;
      this.kick();
    }
    try {
      await back;
    } finally {
      if (this.back === back) this.back = undefined;
      if (!pipelined) this.front = false;
    }
  }

  /** The batch's bytes written (and, with a two-stage ingest, flushed); returns those that were. Never throws. */
  private async prepare(batch: Pending[]): Promise<Pending[]> {
    const settled = await Promise.allSettled(batch.map((p) => p.written));
    const ok: Pending[] = [];
    settled.forEach((s, i) => {
      if (s.status === 'rejected') this.fail([batch[i]], s.reason as Error);
      else ok.push(batch[i]);
    });
    if (ok.length === 0 || !this.ingest.prepare) return ok;
    try {
      await this.ingest.prepare(ok.map(staged));
      return ok;
    } catch (e) {
      this.fail(ok, e as Error);
      return [];
    }
  }

  /** Commits a prepared batch and answers its callers. Never throws. */
  private async commit(ok: Pending[], began: number): Promise<void> {
    if (this.broken) return this.fail(ok, new SealbellError('STORE_BROKEN', `the store failed to flush and needs a restart: ${this.broken.message}`));
    let outcome: CommitOutcome | void;
    try {
      outcome = await this.ingest.commit(ok.map(staged), Date.now());
    } catch (e) {
      if ((e as { maybeCommitted?: boolean }).maybeCommitted) this.broken = e as Error;
      return this.fail(ok, e as Error);
    }
    if (!this.broken) this.lastError = undefined;
    const overQuota = new Set(outcome?.overQuota);
    const stored = ok.filter((_p, i) => !overQuota.has(i));
    ok.forEach((p, i) => {
      this.pending.delete(`${p.device}/${p.clip}/${p.idx}`);
      p.resolve(overQuota.has(i) ? 'quota' : 'stored');
    });
    if (stored.length) this.onBatch({ segments: stored.length, bytes: stored.reduce((n, p) => n + p.size, 0), ms: performance.now() - began });
  }

  private fail(ps: Pending[], e: Error): void {
    this.lastError = e;
    for (const p of ps) {
      this.pending.delete(`${p.device}/${p.clip}/${p.idx}`);
      p.reject(e);
    }
  }
}
