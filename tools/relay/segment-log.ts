/**
 * Segment ciphertext as append-only log files: <data>/segments/<n>.log, n =
 * 1, 2, … (8 digits), a new one begun when the current one would pass
 * LOG_FILE_BYTES. A segment is a byte range of one log; its database row
 * (RelayStore, `segments.log` and `.offset`) is what makes it count.
 *
 * Appends are positional writes started as segments arrive (those that
 * arrive in the same turn of the event loop go out as one writev); a
 * group commit then flushes each log it wrote to with ONE fdatasync (and the
 * `segments` folder once, when a log is new) before committing the rows. A
 * crash in between leaves bytes past the last committed row: on start the
 * current log is cut back to its last committed byte, and nothing else ever
 * pointed at them.
 */
import fs from 'node:fs';
import { privateDir } from '../../hosts/node/kv-store.js';
import fsp from 'node:fs/promises';
import path from 'node:path';

/** A log is closed and the next one begun beyond this size. */
export const LOG_FILE_BYTES = 1 << 30;

export interface LogPlace {
  log: number;
  offset: number;
}

interface OpenLog {
  id: number;
  fh: Promise<fsp.FileHandle>;
  /** next append offset */
  size: number;
  /** the folder entry is not yet flushed */
  fresh: boolean;
  /** no more appends: close once its last batch is flushed */
  retired: boolean;
  /** appends not yet flushed */
  unflushed: number;
  /** appends of this turn of the event loop, not yet handed to the file: contiguous from queued[0].offset */
  queued: { bytes: Uint8Array; offset: number; done: (e?: Error) => void }[];
}

export class SegmentLog {
  readonly dir: string;
  private current: OpenLog | undefined;
  private readonly open = new Map<number, OpenLog>();
  private writeScheduled = false;

  /** `committedEnd(log)`: the end of the last committed segment in that log (0 if none). */
  constructor(
    dataDir: string,
    committedEnd: (log: number) => number,
    private readonly logBytes = LOG_FILE_BYTES,
  ) {
    this.dir = path.resolve(dataDir, 'segments');
    privateDir(this.dir);
    const last = Math.max(0, ...fs.readdirSync(this.dir).map(logNumber).filter((n): n is number => n !== undefined));
    if (last > 0) {
      const end = committedEnd(last);
      fs.truncateSync(this.logPath(last), end); // drop what a crash left uncommitted
      this.current = this.track({ id: last, fh: fsp.open(this.logPath(last), 'r+'), size: end, fresh: false, retired: false, unflushed: 0, queued: [] });
    }
  }

  logPath(log: number): string {
    return logPath(this.dir, log);
  }

  /** Reserves the segment's place and starts writing it (not flushed); `written` settles when the bytes are in the file. */
  append(bytes: Uint8Array): { place: LogPlace; written: Promise<void> } {
    let log = this.current;
    if (!log || (log.size > 0 && log.size + bytes.length > this.logBytes)) {
      if (log) log.retired = true;
      const id = (log?.id ?? 0) + 1;
      log = this.current = this.track({ id, fh: fsp.open(this.logPath(id), 'wx', 0o600), size: 0, fresh: true, retired: false, unflushed: 0, queued: [] });
    }
    const offset = log.size;
    log.size += bytes.length;
    log.unflushed++;
    const queue = log.queued;
    const written = new Promise<void>((resolve, reject) => queue.push({ bytes, offset, done: (e) => (e ? reject(e) : resolve()) }));
    if (!this.writeScheduled) {
      this.writeScheduled = true;
      setImmediate(() => this.writeQueued());
    }
    return { place: { log: log.id, offset }, written };
  }

  /** One writev per log for what arrived since the last call. */
  private writeQueued(): void {
    this.writeScheduled = false;
    for (const log of this.open.values()) {
      const batch = log.queued;
      if (batch.length === 0) continue;
      log.queued = [];
      const settle = (e?: Error) => batch.forEach((q) => q.done(e));
      log.fh
        .then(async (fh) => {
          let buffers = batch.map((q) => q.bytes);
          let position = batch[0].offset;
          while (buffers.length > 0) {
            let n = (await fh.writev(buffers, position)).bytesWritten;
            position += n;
            // a short write: go on from where it stopped
            while (buffers.length > 0 && n >= buffers[0].length) n -= buffers.shift()!.length;
            if (n > 0) buffers[0] = buffers[0].subarray(n);
          }
        })
        .then(() => settle(), (e: Error) => settle(e));
    }
  }

  /**
   * Makes the appends at `places` durable: one fdatasync per log written to
   * (and the folder once for a new log); then closes full logs with nothing
   * left to flush.
   */
  async flush(places: LogPlace[]): Promise<void> {
    const touched = [...new Set(places.map((p) => p.log))].map((id) => this.open.get(id)!);
    await Promise.all(touched.map(async (l) => (await l.fh).datasync()));
    if (touched.some((l) => l.fresh)) {
      const dh = await fsp.open(this.dir, 'r');
      try {
        await dh.sync();
      } finally {
        await dh.close();
      }
      for (const l of touched) l.fresh = false;
    }
    for (const p of places) this.open.get(p.log)!.unflushed--;
    for (const l of touched) {
      if (!l.retired || l.unflushed > 0) continue;
      this.open.delete(l.id);
      await (await l.fh).close();
    }
  }

  /** True while the log takes appends or has appends not yet flushed: it must not be removed. */
  isOpen(log: number): boolean {
    return this.open.has(log);
  }

  /** Reads a committed segment (synchronously: 64 KiB at most). */
  read(place: LogPlace, size: number): Uint8Array {
    return readLogBytes(this.dir, place, size);
  }

  /** The same, off the event loop. */
  async readAsync(place: LogPlace, size: number): Promise<Uint8Array> {
    const out = new Uint8Array(size);
    const fh = await fsp.open(this.logPath(place.log), 'r');
    try {
      let off = 0;
      while (off < size) {
        const { bytesRead } = await fh.read(out, off, size - off, place.offset + off);
        if (bytesRead === 0) throw new Error(`segment log ${place.log} ends before its committed data`);
        off += bytesRead;
      }
    } finally {
      await fh.close();
    }
    return out;
  }

  async close(): Promise<void> {
    const logs = [...this.open.values()];
    this.open.clear();
    this.current = undefined;
    await Promise.all(logs.map(async (l) => (await l.fh.catch(() => undefined))?.close()));
  }

  private track(l: OpenLog): OpenLog {
    l.fh.catch(() => {}); // a failed open is reported by the writes that need it
    this.open.set(l.id, l);
    return l;
  }
}

const logPath = (dir: string, log: number) => path.join(dir, `${String(log).padStart(8, '0')}.log`);

/** `size` bytes at `place` in the logs under `dir` (<data>/segments). */
export function readLogBytes(dir: string, place: LogPlace, size: number): Uint8Array {
  const out = new Uint8Array(size);
  const fd = fs.openSync(logPath(dir, place.log), 'r');
  try {
    let off = 0;
    while (off < size) {
      const n = fs.readSync(fd, out, off, size - off, place.offset + off);
      if (n === 0) throw new Error(`segment log ${place.log} ends before its committed data`);
      off += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return out;
}

function logNumber(name: string): number | undefined {
  const m = /^(\d{8})\.log$/.exec(name);
  return m ? Number(m[1]) : undefined;
}
