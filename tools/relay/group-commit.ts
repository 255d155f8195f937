/**
 * Group commit for uploaded segments: every segment that arrives while the
 * previous batch is being made durable joins the next batch, whichever
 * doorbell sent it. A segment's file is written as soon as it arrives (async,
 * no flush); the batch then flushes all its files together (their fdatasyncs
 * overlap on libuv's thread pool and the kernel folds them into one journal
 * commit), fsyncs each folder that gained an entry once, and records every
 * segment in ONE SQLite transaction. Only then is each caller's promise
 * resolved, and only then does the device get its acknowledgement.
 *
 * Crash safety: a file whose row is not committed does not count (it is
 * overwritten when the device resends), and a committed row's file was flushed
 * before the commit. The event loop is never blocked on the disk except for
 * the one short transaction per batch.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { PutSegmentResult, RelayStore } from './store.js';

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
  /** the file is written (not yet flushed); holds the folders the write created */
  written: Promise<string[]>;
  done: Promise<PutSegmentResult>;
  resolve: (r: PutSegmentResult) => void;
  reject: (e: Error) => void;
}

const sha256Hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export class GroupCommit {
  private next: Pending[] = [];
  private readonly pending = new Map<string, Pending>();
  private running: Promise<void> | undefined;
  private closed = false;
  /** the last batch's failure, cleared by the next batch that commits */
  lastError: Error | undefined;

  constructor(
    private readonly store: RelayStore,
    private readonly onBatch: (b: BatchReport) => void = () => {},
  ) {}

  /**
   * Stores a segment once; resolves when it is durable. A repeat with the same
   * bytes is a `duplicate` (acknowledge it again), different bytes a `conflict`.
   */
  put(device: string, clip: string, idx: number, bytes: Uint8Array): Promise<PutSegmentResult> {
    if (this.closed) return Promise.reject(new Error('the store is closing'));
    const sha256 = sha256Hex(bytes);
    const key = `${device}/${clip}/${idx}`;
    const same = (s: { sha256: string; size: number }): PutSegmentResult => (s.sha256 === sha256 && s.size === bytes.length ? 'duplicate' : 'conflict');
    const inBatch = this.pending.get(key);
    // A resend while the first copy is still being made durable: answer when it is.
    if (inBatch) return inBatch.done.then(() => same(inBatch));
    const existing = this.store.segment(device, clip, idx);
    if (existing) return Promise.resolve(same(existing));
    let resolve!: (r: PutSegmentResult) => void;
    let reject!: (e: Error) => void;
    const done = new Promise<PutSegmentResult>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const written = this.writeFile(device, clip, idx, bytes);
    written.catch(() => {}); // reported through `done` when its batch runs
    const p: Pending = { device, clip, idx, size: bytes.length, sha256, written, done, resolve, reject };
    this.pending.set(key, p);
    this.next.push(p);
    this.kick();
    return done;
  }

  /** Waits for every batch queued so far, then refuses new segments. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.running) await this.running;
  }

  private kick(): void {
    if (this.running || this.next.length === 0) return;
    const batch = this.next;
    this.next = [];
    this.running = this.commit(batch).finally(() => {
      this.running = undefined;
      this.kick();
    });
  }

  /** Writes the file without flushing it; returns the folders it had to create. */
  private async writeFile(device: string, clip: string, idx: number, bytes: Uint8Array): Promise<string[]> {
    const blobs = this.store.blobs;
    const dir = blobs.clipDir(device, clip);
    const first = await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    const fh = await fsp.open(blobs.segmentPath(device, clip, idx), 'w', 0o600);
    try {
      let off = 0;
      while (off < bytes.length) off += (await fh.write(bytes, off, bytes.length - off)).bytesWritten;
    } finally {
      await fh.close();
    }
    // Every folder from the first one created down to the clip's: each needs its parent flushed.
    const created: string[] = [];
    if (first) for (let d = dir; d.length >= first.length; d = path.dirname(d)) created.push(d);
    return created;
  }

  private async commit(batch: Pending[]): Promise<void> {
    const began = performance.now();
    const settled = await Promise.allSettled(batch.map((p) => p.written));
    const ok: Pending[] = [];
    const dirs = new Set<string>();
    settled.forEach((s, i) => {
      const p = batch[i];
      if (s.status === 'rejected') return this.fail([p], s.reason as Error);
      ok.push(p);
      dirs.add(this.store.blobs.clipDir(p.device, p.clip));
      for (const d of s.value) dirs.add(path.dirname(d));
    });
    if (ok.length === 0) return;
    try {
      await Promise.all(ok.map((p) => flush(this.store.blobs.segmentPath(p.device, p.clip, p.idx), 'r+')));
      await Promise.all([...dirs].map((d) => flush(d, 'r')));
      this.store.commitSegments(ok, Date.now());
    } catch (e) {
      return this.fail(ok, e as Error);
    }
    this.lastError = undefined;
    for (const p of ok) {
      this.pending.delete(`${p.device}/${p.clip}/${p.idx}`);
      p.resolve('stored');
    }
    this.onBatch({ segments: ok.length, bytes: ok.reduce((n, p) => n + p.size, 0), ms: performance.now() - began });
  }

  private fail(ps: Pending[], e: Error): void {
    this.lastError = e;
    for (const p of ps) {
      this.pending.delete(`${p.device}/${p.clip}/${p.idx}`);
      p.reject(e);
    }
  }
}

/** fdatasync of a file (data and size) or fsync of a folder (its entries). */
async function flush(p: string, flags: 'r' | 'r+'): Promise<void> {
  const fh = await fsp.open(p, flags);
  try {
    if (flags === 'r+') await fh.datasync();
    else await fh.sync();
  } finally {
    await fh.close();
  }
}
