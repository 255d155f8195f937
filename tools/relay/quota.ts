/**
 * The operator's quota per account (`sealbell relay --quota-mb N`): the ciphertext bytes
 * the doorbells of one account may keep at the relay together. An account is the set of
 * doorbells whose held roster the same account authority governs (a doorbell without a
 * roster yet is an account of its own). A segment that would take the account over is
 * refused with QUOTA_EXCEEDED (src/uplink/wire.ts, `quota`): the doorbell keeps it in its
 * spool and sends it again when the relay says space was freed (`quota-ok`) or later.
 *
 * Counted in memory from the clips table at start; a segment counts from the moment it is
 * admitted (so a window of them cannot overshoot together), and stops counting when its
 * clip is deleted or expires.
 */
import type { RelayStore } from './store.js';

export class QuotaBook {
  private readonly used = new Map<string, number>();

  constructor(
    private readonly store: RelayStore,
    /** bytes per account; undefined: no quota */
    readonly quotaBytes: number | undefined,
  ) {
    if (quotaBytes !== undefined) for (const r of store.bytesByDevice()) this.used.set(r.device, r.bytes);
  }

  /** The doorbells that share `device`'s quota. */
  accountOf(device: string): string[] {
    const authority = this.store.authorityOf(device);
    return authority ? this.store.devicesOfAuthority(authority) : [device];
  }

  /** Bytes the account of `device` keeps now. */
  accountBytes(device: string): number {
    return this.accountOf(device).reduce((n, d) => n + (this.used.get(d) ?? 0), 0);
  }

  /** Counts `bytes` for the device unless that takes its account over the quota. */
  admit(device: string, bytes: number): boolean {
    if (this.quotaBytes === undefined) return true;
    if (this.accountBytes(device) + bytes > this.quotaBytes) return false;
    this.used.set(device, (this.used.get(device) ?? 0) + bytes);
    return true;
  }

  /** Bytes the device no longer holds (a repeat or refused segment, a deleted clip). */
  release(device: string, bytes: number): void {
    if (this.quotaBytes === undefined) return;
    this.used.set(device, Math.max(0, (this.used.get(device) ?? 0) - bytes));
  }
}
