/**
 * A sliding replay window over record counters (as in SRTP, RFC 3711 §3.3.2, and
 * SFrame, RFC 9605 §4.4.3): the highest counter accepted and a bitmap of the 64
 * counters below it. Live view only plays forward, so anything at or below the
 * highest counter is dropped; the window tells a replay (seen before) from a
 * late record (never seen) while it is recent enough to know.
 */
export const WINDOW_SIZE = 64;

export type WindowVerdict = 'new' | 'replayed' | 'late' | 'stale';

export class ReplayWindow {
  /** highest accepted counter; -1 before the first */
  top = -1;
  /** bit i set: counter top - i was accepted (or seen late) */
  private bits = 0n;

  /** Where `ctr` stands, without changing anything (check before spending work on the record). */
  check(ctr: number): WindowVerdict {
    if (ctr > this.top) return 'new';
    const back = this.top - ctr;
    if (back >= WINDOW_SIZE) return 'stale';
    return (this.bits >> BigInt(back)) & 1n ? 'replayed' : 'late';
  }

  /** Marks an authenticated record as seen; moves the window forward for a new one. Returns how many counters were skipped. */
  accept(ctr: number): number {
    if (ctr > this.top) {
      const shift = ctr - this.top;
      const skipped = this.top < 0 ? ctr : shift - 1;
      this.bits = shift >= WINDOW_SIZE ? 1n : ((this.bits << BigInt(shift)) | 1n) & ((1n << BigInt(WINDOW_SIZE)) - 1n);
      this.top = ctr;
      return skipped;
    }
    const back = this.top - ctr;
    if (back < WINDOW_SIZE) this.bits |= 1n << BigInt(back);
    return 0;
  }
}
