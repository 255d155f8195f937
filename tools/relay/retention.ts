/**
 * Applies each doorbell's retention, as its owner signed it (tools/owner-request.ts), on the
 * relay's clock: a clip older than `maxAgeDays` (from its signed manifest's `end`; for a clip
 * without one, from when the relay last heard of it) expires, and while the doorbell's clips
 * hold more than `maxBytes`, the oldest expire. A clip still arriving is left alone.
 *
 * An expired clip loses its ciphertext but keeps its signed manifest and signature (some
 * hundred bytes: times, size, chain number), so phones can check the expiry was one the
 * owner's retention allows (tools/phone/owner-requests.ts) and tell it from a hidden clip.
 *
 * Runs at start, every `intervalMs`, and when the owner sets a new retention; yields to the
 * event loop between doorbells; the deletions themselves are ClipDeleter's.
 */
import { decodeManifest } from '../../src/clip/manifest.js';
import { maxAgeMs, parseOwnerRequest, type RetentionRequest } from '../owner-request.js';
import type { ClipDeleter } from './deletions.js';
import type { RelayMetrics } from './metrics.js';
import type { ClipDeletion, ClipRow } from './store.js';
import type { RelayStoreApi } from './store-api.js';

export interface RetentionOptions {
  store: RelayStoreApi;
  deleter: ClipDeleter;
  metrics: RelayMetrics;
  log: (line: string) => void;
  /** the relay's clock, ms since the Unix epoch */
  now: () => number;
}

const GONE = new Set(['deleted', 'expired']);

/** When a clip ended, as far as the relay can tell: the signed manifest's `end`, else the relay's last word about it. */
function endOf(row: ClipRow): number {
  if (row.state === 'verified' && row.manifest) {
    try {
      return decodeManifest(new Uint8Array(row.manifest)).end;
    } catch {
      // a verified manifest decodes; fall through anyway
    }
  }
  return row.updated;
}

/** The clips `policy` expires now (pure, for tests too). */
export function expiring(rows: ClipRow[], policy: RetentionRequest, now: number): ClipDeletion[] {
  const out: ClipDeletion[] = [];
  const expire = (row: ClipRow, why: 'age' | 'size') =>
    out.push({ clip: row.clip, state: 'expired', reason: `retention ${policy.epoch} ${why}`, keepManifest: row.state === 'verified' && row.manifest !== null });
  const live = rows.filter((r) => !GONE.has(r.state)).sort((a, b) => (a.clip < b.clip ? -1 : a.clip > b.clip ? 1 : 0));
  const maxAge = maxAgeMs(policy);
  const kept: ClipRow[] = [];
  for (const r of live) {
    // A clip still arriving is never expired: its segments are on their way (the owner may delete one stuck so).
    if (r.state !== 'receiving' && maxAge !== null && endOf(r) + maxAge <= now) expire(r, 'age');
    else kept.push(r);
  }
  if (policy.maxBytes !== null) {
    let total = kept.reduce((n, r) => n + r.bytes, 0);
    for (const r of kept) {
      if (total <= policy.maxBytes) break;
      if (r.state === 'receiving') continue; // still arriving: the newest clips, never the oldest to go
      expire(r, 'size');
      total -= r.bytes;
    }
  }
  return out;
}

export class RetentionSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;

  constructor(private readonly o: RetentionOptions) {}

  /** Sweeps now and then every `intervalMs`. */
  start(intervalMs: number): void {
    this.sweep();
    this.timer = setInterval(() => this.sweep(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Starts a sweep (or another after the running one); `done()` waits for it. */
  sweep(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.sweepAll()
      .catch((e: Error) => this.o.log(`relay: internal error: retention: ${e.message}`))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.sweep();
        }
      });
  }

  async done(): Promise<void> {
    while (this.running) await this.running;
    await this.o.deleter.idle();
  }

  private async sweepAll(): Promise<void> {
    // Segments a batch committed for a clip deleted while they were on their way: dropped the same way, state kept.
    for (const r of await this.o.store.strayDeletedClips()) {
      const state = r.state as 'deleted' | 'expired';
      await this.o.deleter.delete(r.device, [{ clip: r.clip, state, reason: r.reason ?? state, keepManifest: r.manifest !== null }], undefined, this.o.now());
    }
    for (const p of await this.o.store.retentionPolicies()) {
      await new Promise((r) => setImmediate(r)); // one doorbell per turn of the event loop
      const policy = parseOwnerRequest(new Uint8Array(p.request)) as RetentionRequest;
      const rows = await this.o.store.listClips(p.device);
      const due = expiring(rows, policy, this.o.now());
      if (due.length === 0) continue;
      // unlessGone: with several relay processes each sweeps; a clip another one expired since this
      // one listed them is left out of `freed`, so only the process that expired a clip logs and counts it.
      const freed = (await this.o.deleter.delete(p.device, due.map((d) => ({ ...d, unlessGone: true })), undefined, this.o.now()))!;
      if (freed.size === 0) continue;
      const bytes = [...freed.values()].reduce((a, b) => a + b, 0);
      this.o.metrics.deleted('retention', freed.size, bytes);
      this.o.log(`relay: device ${p.device}: ${freed.size} clip(s) expired under the owner's retention (epoch ${policy.epoch}), ${bytes} bytes deleted`);
    }
  }
}
