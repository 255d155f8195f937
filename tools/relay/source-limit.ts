/**
 * Per-source limits for what anyone may ask without logging in (login challenges,
 * escrow downloads, device keys…): a token bucket per source address, so one
 * client's flood uses up its own allowance and nobody else's. A source is the
 * peer's IP address (behind a reverse proxy every client is the proxy: run the
 * relay where it sees clients' addresses).
 */
import { RelayError } from './errors.js';

export interface SourceLimitOptions {
  /** requests a source may make at once */
  burst: number;
  /** requests per second a source earns back */
  perSecond: number;
  now?: () => number;
  /** sources remembered at most; the idlest are forgotten first (a full bucket is the same as none) */
  maxSources?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class SourceLimit {
  private readonly buckets = new Map<string, Bucket>();
  private readonly now: () => number;

  constructor(private readonly o: SourceLimitOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Takes one request from `source`'s allowance, or 429 SLOW_DOWN. */
  take(source: string): void {
    const now = this.now();
    let b = this.buckets.get(source);
    if (b) {
      b.tokens = Math.min(this.o.burst, b.tokens + ((now - b.at) / 1000) * this.o.perSecond);
      b.at = now;
      this.buckets.delete(source); // re-inserted below: the map stays in least-recently-used order
    } else {
      b = { tokens: this.o.burst, at: now };
    }
    this.buckets.set(source, b);
    this.evict();
    if (b.tokens < 1) throw new RelayError(429, 'SLOW_DOWN', 'too many requests from this address; try again in a few seconds');
    b.tokens -= 1;
  }

  private evict(): void {
    const max = this.o.maxSources ?? 100_000;
    for (const k of this.buckets.keys()) {
      if (this.buckets.size <= max) break;
      this.buckets.delete(k);
    }
  }
}

/** Counts open connections per source; `admit` is false beyond `max` for one source. */
export class SourceConnections {
  private readonly open = new Map<string, number>();

  constructor(private readonly max: number) {}

  admit(source: string): boolean {
    const n = this.open.get(source) ?? 0;
    if (n >= this.max) return false;
    this.open.set(source, n + 1);
    return true;
  }

  release(source: string): void {
    const n = (this.open.get(source) ?? 1) - 1;
    if (n <= 0) this.open.delete(source);
    else this.open.set(source, n);
  }
}
