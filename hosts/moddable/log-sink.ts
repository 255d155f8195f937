/**
 * A ClipSink that only logs what a clip amounts to: segment sizes and the
 * signed manifest's size. Sealed bytes go nowhere yet.
 *
 * UPLINK SEAM: the spool/uplink replaces this sink in main.ts (`createClipSink`).
 */
import type { ClipSink, Log } from '../../src/host.js';

export interface ClipTotals {
  clipId: string;
  epoch: number;
  segments: number;
  bytes: number;
  manifestBytes: number;
}

export class SizeLogSink implements ClipSink {
  private current: ClipTotals | undefined;
  /** the last finished clip's totals */
  last: ClipTotals | undefined;

  constructor(
    private readonly log: Log,
    /** log every segment (on by default; off keeps the log short for long clips) */
    private readonly perSegment = true,
  ) {}

  begin(clipId: string, epoch: number): void {
    this.current = { clipId, epoch, segments: 0, bytes: 0, manifestBytes: 0 };
    this.log(`sink ${clipId}: begin (roster epoch ${epoch})`);
  }

  segment(clipId: string, index: number, bytes: Uint8Array): void {
    const c = this.current;
    if (!c || c.clipId !== clipId) throw new Error(`sink: segment for ${clipId} outside its clip`);
    c.segments++;
    c.bytes += bytes.length;
    if (this.perSegment) this.log(`sink ${clipId}: segment ${index} ${bytes.length} bytes`);
  }

  end(clipId: string, manifest: Uint8Array, signature: string): void {
    const c = this.current;
    if (!c || c.clipId !== clipId) throw new Error(`sink: end of ${clipId} outside its clip`);
    c.manifestBytes = manifest.length;
    this.current = undefined;
    this.last = c;
    this.log(
      `sink ${clipId}: end, ${c.segments} segments, ${c.bytes} bytes of age file, ` +
        `manifest ${manifest.length} bytes, signature ${signature.length} chars`,
    );
  }
}
