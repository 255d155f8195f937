/**
 * The embedded store (SQLite and the segment log in the data folder, store.ts)
 * behind the relay's asynchronous store interface (store-api.ts). SQLite calls
 * are quick and local, so they run as they always did; the waits on the disk
 * (the segment log's flush, the WAL's fdatasync) stay off the event loop.
 * Writes a device session makes between segment batches (a clip's begin and
 * close) commit without SQLite's own fsync and become durable with the next
 * sync(), as before.
 */
import { randomBytes } from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { RelayStore } from './store.js';
import type { ChallengeRow, PhoneSessionRow } from './store-api.js';
import type { LogPlace } from './segment-log.js';
import { commitFailed, type RelayStoreApi, type SegmentIngest, type SettingsEntry, type StagedSegment, type UpdateEntry, type VapidKeys } from './store-api.js';
import type { ClipDeletion, ClipState, HeldRosterRow, OwnerRequestRow, PushSubscriptionRow } from './store.js';

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

  /** The segments' bytes made durable in their logs, before any row names them. */
  async prepare(batch: { seg: StagedSegment; handle: unknown }[]): Promise<void> {
    try {
      await this.s.segmentLog.flush(batch.map((b) => b.handle as LogPlace));
    } catch (e) {
      throw commitFailed(e, false);
    }
  }

  /** After `prepare`: the rows in one transaction, then one fdatasync of the WAL. */
  async commit(batch: { seg: StagedSegment; handle: unknown }[], now: number): Promise<void> {
    try {
      const places = batch.map((b) => b.handle as LogPlace);
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

  putEvent = async (device: string, clip: string, ref: string, sealed: Uint8Array, signature: string, now: number) =>
    this.s.unsynced(() => this.s.putEvent(device, clip, ref, sealed, signature, now));
  eventByRef = async (device: string, ref: string) => this.s.eventByRef(device, ref);
  eventByClip = async (device: string, clip: string) => this.s.eventByClip(device, clip);
  putSubscription = async (row: PushSubscriptionRow) => this.s.putSubscription(row);
  subscriptions = async (device: string) => this.s.subscriptions(device);
  deleteSubscription = async (device: string, endpoint: string) => this.s.deleteSubscription(device, endpoint);

  /** <data>/vapid.json (0600), as before the store was asynchronous. */
  async vapidKeys(make: () => VapidKeys): Promise<VapidKeys> {
    const file = path.join(this.dataDir, 'vapid.json');
    try {
      const v = JSON.parse(await fsp.readFile(file, 'utf8')) as VapidKeys;
      if (typeof v.publicKey === 'string' && typeof v.privateKey === 'string') return { publicKey: v.publicKey, privateKey: v.privateKey };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`the relay's VAPID keys (${file}) are unreadable: ${(e as Error).message}`);
    }
    const keys = make();
    await writeFileAtomic(file, JSON.stringify({ v: 1, publicKey: keys.publicKey, privateKey: keys.privateKey }) + '\n');
    return keys;
  }

  /** Settings are files under <data>/settings/<device>/, as before the store was asynchronous. */
  private settingsFile(device: string, name: SettingsEntry): string {
    return path.join(this.dataDir, 'settings', device, name);
  }

  async settingsEntry(device: string, name: SettingsEntry): Promise<Uint8Array | undefined> {
    try {
      return new Uint8Array(await fsp.readFile(this.settingsFile(device, name)));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async putSettingsEntry(device: string, name: SettingsEntry, bytes: Uint8Array): Promise<void> {
    const file = this.settingsFile(device, name);
    await fsp.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    await writeFileAtomic(file, bytes);
  }

  async deleteSettingsEntry(device: string, name: SettingsEntry): Promise<void> {
    await fsp.rm(this.settingsFile(device, name), { force: true });
  }

  ownerRequests = async (device: string) => this.s.ownerRequests(device);
  lastOwnerEpoch = async (device: string) => this.s.lastOwnerEpoch(device);
  retentionPolicies = async () => this.s.retentionPolicies();
  deleteClips = async (device: string, clips: ClipDeletion[], request: Omit<OwnerRequestRow, 'device'> | undefined, now: number) =>
    this.s.unsynced(() => this.s.deleteClips(device, clips, request, now));
  strayDeletedClips = async () => this.s.strayDeletedClips();
  bytesByDevice = async () => this.s.bytesByDevice();
  bytesOf = async (devices: string[]) => this.s.bytesOf(devices);
  authorityOf = async (device: string) => this.s.authorityOf(device);

  // Phone sessions live in relay.sqlite: they survive a restart of the relay.
  putChallenge = async (c: ChallengeRow, limits: { perSource: number; total: number }, now: number) => this.s.putChallenge(c, limits, now);
  takeChallenge = async (sha256: string) => this.s.takeChallenge(sha256);
  putPhoneSession = async (row: PhoneSessionRow, max: number, now: number) => this.s.putPhoneSession(row, max, now);
  phoneSession = async (tokenSha256: string) => this.s.phoneSession(tokenSha256);
  phoneSessionsOf = async (device: string) => this.s.phoneSessionsOf(device);
  deletePhoneSession = async (tokenSha256: string) => this.s.deletePhoneSession(tokenSha256);
  sweepPhoneLogins = async (now: number) => this.s.sweepPhoneLogins(now);

  /** Firmware updates are files under <data>/updates/<device>/, as before the store kept them. */
  private updateFile(device: string, name: UpdateEntry): string {
    return path.join(this.dataDir, 'updates', device, name);
  }

  async updateEntry(device: string, name: UpdateEntry): Promise<Uint8Array | undefined> {
    try {
      return new Uint8Array(await fsp.readFile(this.updateFile(device, name)));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async updateEntryPiece(device: string, name: UpdateEntry, offset: number, length: number): Promise<Uint8Array | undefined> {
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(this.updateFile(device, name), 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    try {
      const out = new Uint8Array(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await fh.read(out, got, length - got, offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return out.subarray(0, got);
    } finally {
      await fh.close();
    }
  }

  async putUpdateEntry(device: string, name: UpdateEntry, bytes: Uint8Array): Promise<void> {
    const file = this.updateFile(device, name);
    await fsp.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    await writeFileAtomic(file, bytes);
  }

  async deleteUpdateEntry(device: string, name: UpdateEntry): Promise<void> {
    await fsp.rm(this.updateFile(device, name), { force: true });
  }
}

/** Writes a 0600 file whole or not at all (a temporary file, flushed, renamed over it), off the event loop. */
async function writeFileAtomic(file: string, data: Uint8Array | string): Promise<void> {
  // A name of its own: two writes of the same file may overlap now (the last rename wins).
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fh = await fsp.open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsp.rename(tmp, file);
  // The rename is durable only once the folder's entry is on disk too.
  const dir = await fsp.open(path.dirname(file), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
