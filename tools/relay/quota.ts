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
 *
 * On PostgreSQL (`quotaAtCommit`, several relay processes) nothing is counted here: the store
 * admits each segment in the transaction that stores it, under a lock on its account that
 * every process's batches take, against the bytes the account keeps in the database then
 * (pg-store.ts, admitUnderQuota). So the quota is exact however many processes take uploads
 * for one account; a refusal comes with the commit (GroupCommit's `quota`) instead of before.
 */
import type { RelayStoreApi } from './store-api.js';

export class QuotaBook {
  private readonly used = new Map<string, number>();

  private constructor(
    private readonly store: RelayStoreApi,
    /** bytes per account; undefined: no quota */
    readonly quotaBytes: number | undefined,
  ) {}

  static async open(store: RelayStoreApi, quotaBytes: number | undefined): Promise<QuotaBook> {
    const q = new QuotaBook(store, quotaBytes);
    if (quotaBytes !== undefined && !q.atCommit) for (const r of await store.bytesByDevice()) q.used.set(r.device, r.bytes);
    return q;
  }

  /** The store admits segments at commit (PostgreSQL): admit() lets every segment through to it, release() has nothing to do. */
  get atCommit(): boolean {
    return this.store.quotaAtCommit !== undefined;
  }

  /** The doorbells that share `device`'s quota. */
  async accountOf(device: string): Promise<string[]> {
    const authority = await this.store.authorityOf(device);
    return authority ? await this.store.devicesOfAuthority(authority) : [device];
  }

  /** Bytes the account of `device` keeps now. */
  async accountBytes(device: string): Promise<number> {
    const account = await this.accountOf(device);
    return this.atCommit ? await this.store.bytesOf(account) : this.sum(account);
  }

  private sum(devices: string[]): number {
    return devices.reduce((n, d) => n + (this.used.get(d) ?? 0), 0);
  }

  /** Counts `bytes` for the device unless that takes its account over the quota. */
  async admit(device: string, bytes: number): Promise<boolean> {
    if (this.quotaBytes === undefined || this.atCommit) return true;
    const account = await this.accountOf(device);
    // From here on synchronous: two segments admitted at once cannot both take the last room.
    if (this.sum(account) + bytes > this.quotaBytes) return false;
    this.used.set(device, (this.used.get(device) ?? 0) + bytes);
    return true;
  }

  /** Bytes the device no longer holds (a repeat or refused segment, a deleted clip). */
  release(device: string, bytes: number): void {
    if (this.quotaBytes === undefined || this.atCommit) return;
    this.used.set(device, Math.max(0, (this.used.get(device) ?? 0) - bytes));
  }
}
