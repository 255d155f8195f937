/**
 * The embedded store (SQLite and the segment log in the data folder, store.ts)
 * behind the relay's asynchronous store interface (store-api.ts). SQLite calls
 * are quick and local, so they run as they always did; the waits on the disk
 * (the segment log's flush, the WAL's fdatasync) stay off the event loop.
 * Writes a device session makes between segment batches (a clip's begin and
 * close) commit without SQLite's own fsync and become durable with the next
 * sync(), as before.
 */
import { RelayStore } from './store.js';
import type { LogPlace } from './segment-log.js';
import { commitFailed, type RelayStoreApi, type SegmentIngest, type StagedSegment } from './store-api.js';
import type { ClipState, HeldRosterRow } from './store.js';

/** GroupCommit's path into the SQLite store: the segment log, one transaction, one fdatasync of the WAL. */
export class SqliteSegmentIngest implements SegmentIngest {
  constructor(private readonly s: RelayStore) {}

  async existing(device: string, clip: string, idx: number) {
    return this.s.segment(device, clip, idx);
  }

  stage(_seg: StagedSegment, bytes: Uint8Array): { written: Promise<void>; handle: unknown } {
    const { place, written } = this.s.segmentLog.append(bytes);
    return { written, handle: place };
  }

  async commit(batch: { seg: StagedSegment; handle: unknown }[], now: number): Promise<void> {
    try {
      const places = batch.map((b) => b.handle as LogPlace);
      await this.s.segmentLog.flush(places);
      const rows = batch.map((b, i) => ({ ...b.seg, log: places[i].log, offset: places[i].offset }));
      this.s.unsynced(() => this.s.commitSegments(rows, now));
    } catch (e) {
      throw commitFailed(e, false);
    }
    try {
      await this.s.syncWal();
    } catch (e) {
      throw commitFailed(e, true);
    }
  }
}

export class SqliteRelayStore implements RelayStoreApi {
  readonly kind = 'sqlite';
  readonly dataDir: string;
  readonly ingest: SqliteSegmentIngest;
  readonly s: RelayStore;

  constructor(dataDir: string, o: { logFileBytes?: number } = {}) {
    this.s = new RelayStore(dataDir, o);
    this.dataDir = dataDir;
    this.ingest = new SqliteSegmentIngest(this.s);
  }

  close = () => this.s.close();
  sync = () => this.s.syncWal();
  check = async () => this.s.check();

  addDevice = async (id: string, credentialSha256: string, publicKey: string, now: number) => this.s.addDevice(id, credentialSha256, publicKey, now);
  device = async (id: string) => this.s.device(id);
  deviceByCredential = async (c: string) => this.s.deviceByCredential(c);
  setPhoneKeys = async (device: string, keys: string[]) => this.s.setPhoneKeys(device, keys);
  phoneKeys = async (device: string) => this.s.phoneKeys(device);

  clip = async (device: string, clip: string) => this.s.clip(device, clip);
  listClips = async (device: string) => this.s.listClips(device);
  createClip = async (device: string, clip: string, epoch: number | null, now: number) => this.s.unsynced(() => this.s.createClip(device, clip, epoch, now));
  segment = async (device: string, clip: string, idx: number) => this.s.segment(device, clip, idx);
  segments = async (device: string, clip: string) => this.s.segments(device, clip);
  contiguousSegments = async (device: string, clip: string) => this.s.contiguousSegments(device, clip);
  readSegment = (device: string, clip: string, idx: number) => this.s.readSegmentAsync(device, clip, idx);
  closeClip = async (
    device: string,
    clip: string,
    state: Exclude<ClipState, 'receiving'>,
    reason: string | null,
    now: number,
    signed?: { manifest: Uint8Array; signature: string },
  ) => this.s.unsynced(() => this.s.closeClip(device, clip, state, reason, now, signed));
  markDropped = async (device: string, ids: string[], now: number) => this.s.unsynced(() => this.s.markDropped(device, ids, now));

  roster = async (device: string) => this.s.roster(device);
  putRoster = async (device: string, epoch: number, blob: Uint8Array, now: number) => this.s.putRoster(device, epoch, blob, now);
  deleteRoster = async (device: string, epoch: number) => this.s.deleteRoster(device, epoch);
  heldRoster = async (device: string) => this.s.heldRoster(device);
  setHeldRoster = async (row: HeldRosterRow, phoneKeys: string[]) => this.s.setHeldRoster(row, phoneKeys);
  devicesOfAuthority = async (a: string) => this.s.devicesOfAuthority(a);
  endorsement = async (device: string) => this.s.endorsement(device);
  setEndorsement = async (device: string, signature: string) => this.s.setEndorsement(device, signature);
  escrow = async (account: string) => this.s.escrow(account);
  deleteEscrow = async (account: string) => this.s.deleteEscrow(account);
  putEscrow = async (account: string, w: string, blob: Uint8Array, now: number) => this.s.putEscrow(account, w, blob, now);
}
