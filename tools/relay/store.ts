/**
 * What the relay keeps: metadata in SQLite (<data>/relay.sqlite, WAL, fsync on
 * every commit), segment ciphertext in append-only logs (SegmentLog; relays
 * before it kept one file per segment, BlobFiles, still read). Nothing here can be
 * decrypted by the relay: segments are age ciphertext, manifests are signed
 * metadata, escrow and roster blobs are opaque; device credentials, phone
 * sessions and escrow write tokens are kept as SHA-256 only.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import { privateDir } from '../../hosts/node/kv-store.js';
import { BlobFiles } from './blob-files.js';
import { SegmentLog } from './segment-log.js';

/** `deleted`: by the owner's signed request; `expired`: by the owner's signed retention (tools/relay/retention.ts). */
export type ClipState = 'receiving' | 'verified' | 'rejected' | 'incomplete' | 'dropped' | 'deleted' | 'expired';

export interface DeviceRow {
  id: string;
  credential_sha256: string;
  public_key: string;
  created: number;
}

export interface ClipRow {
  device: string;
  clip: string;
  epoch: number | null;
  state: ClipState;
  /** rejected: the failed check's code; incomplete: interrupted | overflow */
  reason: string | null;
  /** segments stored */
  segments: number;
  bytes: number;
  manifest: Uint8Array | null;
  signature: string | null;
  created: number;
  updated: number;
}

export interface SegmentRow {
  idx: number;
  size: number;
  sha256: string;
}

/** The roster a device told the relay it holds (checked: authority signature and device acknowledgement). */
export interface HeldRosterRow {
  device: string;
  /** the account authority's minisign key id, 16 hex digits */
  authority_id: string;
  authority: Uint8Array;
  epoch: number;
  bundle: Uint8Array;
  ack: string;
  updated: number;
}

/** A sealed event notice (docs/event-format.md): ciphertext and the device's signature. */
export interface EventRow {
  device: string;
  clip: string;
  /** the opaque reference a push carries */
  ref: string;
  sealed: Uint8Array;
  signature: string;
  created: number;
}

/** A phone's Web Push subscription for one device (RFC 8030 endpoint, RFC 8291 keys). */
export interface PushSubscriptionRow {
  device: string;
  endpoint: string;
  /** the phone's auth key (base64), which must stay in the device's roster */
  phone: string;
  p256dh: string;
  auth: string;
  created: number;
}

export type PutSegmentResult = 'stored' | 'duplicate' | 'conflict';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS devices (
  id TEXT PRIMARY KEY,
  credential_sha256 TEXT NOT NULL UNIQUE,
  public_key TEXT NOT NULL,
  created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS phone_keys (
  device TEXT NOT NULL,
  public_key TEXT NOT NULL,
  PRIMARY KEY (device, public_key)
);
CREATE TABLE IF NOT EXISTS clips (
  device TEXT NOT NULL,
  clip TEXT NOT NULL,
  epoch INTEGER,
  state TEXT NOT NULL,
  reason TEXT,
  segments INTEGER NOT NULL DEFAULT 0,
  bytes INTEGER NOT NULL DEFAULT 0,
  manifest BLOB,
  signature TEXT,
  created INTEGER NOT NULL,
  updated INTEGER NOT NULL,
  PRIMARY KEY (device, clip)
);
CREATE TABLE IF NOT EXISTS segments (
  device TEXT NOT NULL,
  clip TEXT NOT NULL,
  idx INTEGER NOT NULL,
  size INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  log INTEGER,
  offset INTEGER,
  PRIMARY KEY (device, clip, idx)
);
CREATE TABLE IF NOT EXISTS rosters (
  device TEXT PRIMARY KEY,
  epoch INTEGER NOT NULL,
  blob BLOB NOT NULL,
  updated INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS held_rosters (
  device TEXT PRIMARY KEY,
  authority_id TEXT NOT NULL,
  authority BLOB NOT NULL,
  epoch INTEGER NOT NULL,
  bundle BLOB NOT NULL,
  ack TEXT NOT NULL,
  updated INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS held_rosters_by_authority ON held_rosters (authority_id);
CREATE TABLE IF NOT EXISTS endorsements (
  device TEXT PRIMARY KEY,
  signature TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
  device TEXT NOT NULL,
  clip TEXT NOT NULL,
  ref TEXT NOT NULL UNIQUE,
  sealed BLOB NOT NULL,
  signature TEXT NOT NULL,
  created INTEGER NOT NULL,
  PRIMARY KEY (device, clip)
);
CREATE TABLE IF NOT EXISTS push_subscriptions (
  device TEXT NOT NULL,
  endpoint TEXT NOT NULL,
  phone TEXT NOT NULL,
  p256dh TEXT NOT NULL,
  auth TEXT NOT NULL,
  created INTEGER NOT NULL,
  PRIMARY KEY (device, endpoint)
);
CREATE TABLE IF NOT EXISTS escrow (
  account TEXT PRIMARY KEY,
  write_sha256 TEXT NOT NULL,
  blob BLOB NOT NULL,
  updated INTEGER NOT NULL
);
`;

/** Retention and deletion (tools/relay/retention.ts, deletions.ts): the owner's signed requests, and segments to scrub. */
const OWNER_SCHEMA = `
CREATE TABLE IF NOT EXISTS owner_requests (
  device TEXT NOT NULL,
  epoch INTEGER NOT NULL,
  type TEXT NOT NULL,
  request BLOB NOT NULL,
  signature TEXT NOT NULL,
  received INTEGER NOT NULL,
  PRIMARY KEY (device, epoch)
);
CREATE TABLE IF NOT EXISTS freed_segments (
  id INTEGER PRIMARY KEY,
  device TEXT NOT NULL,
  clip TEXT NOT NULL,
  idx INTEGER NOT NULL,
  log INTEGER,
  offset INTEGER,
  size INTEGER NOT NULL
);
`;

/** Phone login (tools/relay/phone-auth.ts): outstanding challenges and sessions, as SHA-256 only. */
const PHONE_LOGIN_SCHEMA = `
CREATE TABLE IF NOT EXISTS phone_challenges (
  sha256 TEXT PRIMARY KEY,
  device TEXT NOT NULL,
  source TEXT NOT NULL,
  expires INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS phone_challenges_by_source ON phone_challenges (source, expires);
CREATE INDEX IF NOT EXISTS phone_challenges_by_expiry ON phone_challenges (expires);
CREATE TABLE IF NOT EXISTS phone_sessions (
  token_sha256 TEXT PRIMARY KEY,
  device TEXT NOT NULL,
  public_key TEXT NOT NULL,
  expires INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS phone_sessions_by_device ON phone_sessions (device);
CREATE INDEX IF NOT EXISTS phone_sessions_by_expiry ON phone_sessions (expires);
`;

interface SessionSqlRow {
  token_sha256: string;
  device: string;
  public_key: string;
  expires: number;
}

const sessionOf = (r: SessionSqlRow) => ({ tokenSha256: r.token_sha256, device: r.device, publicKey: r.public_key, expires: r.expires });

export interface OwnerRequestRow {
  device: string;
  epoch: number;
  type: 'retention' | 'delete';
  request: Uint8Array;
  signature: string;
  received: number;
}

/** A deleted segment whose bytes are still to be overwritten (log place) or unlinked (a file of its own). */
export interface FreedSegmentRow {
  id: number;
  device: string;
  clip: string;
  idx: number;
  log: number | null;
  offset: number | null;
  size: number;
}

/** One clip to delete: its new state and reason; `keepManifest` keeps the signed manifest (an expiry phones check). */
export interface ClipDeletion {
  clip: string;
  state: 'deleted' | 'expired';
  reason: string;
  keepManifest: boolean;
  /**
   * Leave the clip as it is if it is already deleted or expired (a retention sweep: another relay
   * process's sweep may have expired it since this one listed the clips); it is then not among
   * the clips the deletion returns, so only the process that expired it logs and counts it.
   */
  unlessGone?: boolean;
}

export class RelayStore {
  /** segments stored by relays before the segment log: one file each */
  readonly blobs: BlobFiles;
  readonly segmentLog: SegmentLog;
  private readonly db: Database.Database;
  private wal: Promise<fsp.FileHandle> | undefined;
  private readonly statements = new Map<string, Database.Statement>();

  /** A prepared statement, prepared once per SQL text (preparing costs more than running a small one). */
  private stmt(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) this.statements.set(sql, (st = this.db.prepare(sql)));
    return st;
  }

  /** `logFileBytes`: where a new segment log begins (tests make it small). */
  constructor(
    readonly dataDir: string,
    o: { logFileBytes?: number } = {},
  ) {
    privateDir(dataDir);
    this.blobs = new BlobFiles(dataDir);
    // Made 0600 before SQLite opens it: SQLite gives its -wal and -shm files the database's mode.
    const file = path.join(dataDir, 'relay.sqlite');
    fs.closeSync(fs.openSync(file, 'a', 0o600));
    fs.chmodSync(file, 0o600);
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // An acknowledgement tells the device it may delete its copy: commits must be durable.
    this.db.pragma('synchronous = FULL');
    this.db.exec(SCHEMA);
    this.db.exec(OWNER_SCHEMA);
    this.db.exec(PHONE_LOGIN_SCHEMA);
    // Deleted rows (manifests of deleted clips) are overwritten in the database file, not left in free pages.
    this.db.pragma('secure_delete = ON');
    // A data folder from before the segment log: its rows (log NULL) name a file each.
    const columns = (this.stmt('PRAGMA table_info(segments)').all() as { name: string }[]).map((c) => c.name);
    if (!columns.includes('log')) this.db.exec('ALTER TABLE segments ADD COLUMN log INTEGER; ALTER TABLE segments ADD COLUMN offset INTEGER;');
    this.db.exec('CREATE INDEX IF NOT EXISTS segments_by_log ON segments (log, offset)');
    const end = this.stmt('SELECT MAX(offset + size) AS end FROM segments WHERE log = ?');
    this.segmentLog = new SegmentLog(dataDir, (log) => (end.get(log) as { end: number | null }).end ?? 0, o.logFileBytes);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
    await this.segmentLog.close();
    await (await this.wal?.catch(() => undefined))?.close();
  }

  /**
   * Runs `fn`'s writes without SQLite's fsync on commit (synchronous = NORMAL:
   * still atomic, and WAL frames reach the disk in order), so the event loop
   * does not wait on the disk. Nothing written so is durable, nor may be
   * reported as stored, until a syncWal() begun after it has resolved.
   */
  unsynced<T>(fn: () => T): T {
    this.db.pragma('synchronous = NORMAL');
    try {
      return fn();
    } finally {
      this.db.pragma('synchronous = FULL');
    }
  }

  /** Makes every commit so far durable: one fdatasync of the WAL file, off the event loop. */
  async syncWal(): Promise<void> {
    // The WAL file exists from the first commit and keeps its inode while the database is open.
    this.wal ??= fsp.open(path.join(this.dataDir, 'relay.sqlite-wal'), 'r+');
    await (await this.wal).datasync();
  }

  // --- devices and phone keys ----------------------------------------------------------

  /** False when the device id or the credential is already registered. */
  addDevice(id: string, credentialSha256: string, publicKey: string, now: number): boolean {
    const r = this.db
      .prepare('INSERT OR IGNORE INTO devices (id, credential_sha256, public_key, created) VALUES (?, ?, ?, ?)')
      .run(id, credentialSha256, publicKey, now);
    return r.changes === 1;
  }

  device(id: string): DeviceRow | undefined {
    return this.stmt('SELECT * FROM devices WHERE id = ?').get(id) as DeviceRow | undefined;
  }

  deviceByCredential(credentialSha256: string): DeviceRow | undefined {
    return this.stmt('SELECT * FROM devices WHERE credential_sha256 = ?').get(credentialSha256) as DeviceRow | undefined;
  }

  setPhoneKeys(device: string, keys: string[]): void {
    this.db.transaction(() => {
      this.stmt('DELETE FROM phone_keys WHERE device = ?').run(device);
      const insert = this.stmt('INSERT OR IGNORE INTO phone_keys (device, public_key) VALUES (?, ?)');
      for (const k of keys) insert.run(device, k);
    })();
  }

  phoneKeys(device: string): string[] {
    return (this.stmt('SELECT public_key FROM phone_keys WHERE device = ? ORDER BY public_key').all(device) as { public_key: string }[]).map(
      (r) => r.public_key,
    );
  }

  // --- clips and segments ----------------------------------------------------------------

  clip(device: string, clip: string): ClipRow | undefined {
    return this.stmt('SELECT * FROM clips WHERE device = ? AND clip = ?').get(device, clip) as ClipRow | undefined;
  }

  listClips(device: string): ClipRow[] {
    return this.stmt('SELECT * FROM clips WHERE device = ? ORDER BY clip').all(device) as ClipRow[];
  }

  /** True if the clip is new; an existing clip is left as it is. */
  createClip(device: string, clip: string, epoch: number | null, now: number): boolean {
    const r = this.db
      .prepare("INSERT OR IGNORE INTO clips (device, clip, epoch, state, created, updated) VALUES (?, ?, ?, 'receiving', ?, ?)")
      .run(device, clip, epoch, now, now);
    return r.changes === 1;
  }

  segment(device: string, clip: string, idx: number): SegmentRow | undefined {
    return this.stmt('SELECT idx, size, sha256 FROM segments WHERE device = ? AND clip = ? AND idx = ?').get(device, clip, idx) as
      | SegmentRow
      | undefined;
  }

  segments(device: string, clip: string): SegmentRow[] {
    return this.stmt('SELECT idx, size, sha256 FROM segments WHERE device = ? AND clip = ? ORDER BY idx').all(device, clip) as SegmentRow[];
  }

  /**
   * Records segments whose bytes are already written and flushed (GroupCommit),
   * in one transaction. Call it inside unsynced() and follow with syncWal().
   */
  commitSegments(rows: { device: string; clip: string; idx: number; size: number; sha256: string; log: number; offset: number }[], now: number): void {
    const insert = this.stmt('INSERT INTO segments (device, clip, idx, size, sha256, log, offset) VALUES (?, ?, ?, ?, ?, ?, ?)');
    const count = this.stmt('UPDATE clips SET segments = segments + 1, bytes = bytes + ?, updated = ? WHERE device = ? AND clip = ?');
    this.db.transaction(() => {
      for (const r of rows) {
        insert.run(r.device, r.clip, r.idx, r.size, r.sha256, r.log, r.offset);
        count.run(r.size, now, r.device, r.clip);
      }
    })();
  }

  /** A cheap read that fails when the database does (the health check). */
  check(): void {
    this.stmt('SELECT 1').get();
  }

  /** A stored segment's bytes. */
  readSegment(device: string, clip: string, idx: number): Uint8Array {
    const row = this.segmentPlace(device, clip, idx);
    if (row.log === null || row.offset === null) return this.blobs.readSegment(device, clip, idx);
    return this.segmentLog.read({ log: row.log, offset: row.offset }, row.size);
  }

  /** The same, off the event loop. */
  async readSegmentAsync(device: string, clip: string, idx: number): Promise<Uint8Array> {
    const row = this.segmentPlace(device, clip, idx);
    if (row.log === null || row.offset === null) return this.blobs.readSegment(device, clip, idx);
    return this.segmentLog.readAsync({ log: row.log, offset: row.offset }, row.size);
  }

  private segmentPlace(device: string, clip: string, idx: number): { size: number; log: number | null; offset: number | null } {
    const row = this.stmt('SELECT size, log, offset FROM segments WHERE device = ? AND clip = ? AND idx = ?').get(device, clip, idx) as
      | { size: number; log: number | null; offset: number | null }
      | undefined;
    if (!row) throw new Error(`no segment ${idx} of clip ${clip}`);
    return row;
  }

  /** The stored segments 0, 1, 2, … up to the first gap. */
  contiguousSegments(device: string, clip: string): SegmentRow[] {
    const out: SegmentRow[] = [];
    for (const s of this.segments(device, clip)) {
      if (s.idx !== out.length) break;
      out.push(s);
    }
    return out;
  }

  closeClip(
    device: string,
    clip: string,
    state: Exclude<ClipState, 'receiving'>,
    reason: string | null,
    now: number,
    signed?: { manifest: Uint8Array; signature: string },
  ): void {
    this.db
      .prepare('UPDATE clips SET state = ?, reason = ?, manifest = ?, signature = ?, updated = ? WHERE device = ? AND clip = ?')
      .run(state, reason, signed?.manifest ?? null, signed?.signature ?? null, now, device, clip);
  }

  /**
   * A verified manifest lists clips the device dropped from a full spool: a clip
   * still `receiving` will never be finished, and one the relay never heard of is
   * listed so phones see the gap. Returns the ids whose state changed.
   */
  markDropped(device: string, ids: string[], now: number): string[] {
    const changed: string[] = [];
    this.db.transaction(() => {
      for (const id of ids) {
        const r1 = this.db
          .prepare("UPDATE clips SET state = 'dropped', reason = 'spool full', updated = ? WHERE device = ? AND clip = ? AND state = 'receiving'")
          .run(now, device, id);
        const r2 = this.db
          .prepare("INSERT OR IGNORE INTO clips (device, clip, epoch, state, reason, created, updated) VALUES (?, ?, NULL, 'dropped', 'spool full', ?, ?)")
          .run(device, id, now, now);
        if (r1.changes || r2.changes) changed.push(id);
      }
    })();
    return changed;
  }

  // --- rosters and escrow ------------------------------------------------------------

  roster(device: string): { epoch: number; blob: Uint8Array } | undefined {
    return this.stmt('SELECT epoch, blob FROM rosters WHERE device = ?').get(device) as { epoch: number; blob: Uint8Array } | undefined;
  }

  /** Stores a roster update if its epoch is higher than the stored one; returns the epoch now stored. */
  putRoster(device: string, epoch: number, blob: Uint8Array, now: number): { stored: boolean; epoch: number } {
    return this.db.transaction(() => {
      const current = this.roster(device);
      if (current && current.epoch >= epoch) return { stored: false, epoch: current.epoch };
      this.db
        .prepare('INSERT INTO rosters (device, epoch, blob, updated) VALUES (?, ?, ?, ?) ON CONFLICT(device) DO UPDATE SET epoch = excluded.epoch, blob = excluded.blob, updated = excluded.updated')
        .run(device, epoch, blob, now);
      return { stored: true, epoch };
    })();
  }

  deleteRoster(device: string, epoch: number): void {
    this.stmt('DELETE FROM rosters WHERE device = ? AND epoch <= ?').run(device, epoch);
  }

  heldRoster(device: string): HeldRosterRow | undefined {
    return this.stmt('SELECT * FROM held_rosters WHERE device = ?').get(device) as HeldRosterRow | undefined;
  }

  /** Records the device's roster and makes its phones (and the authority) the ones allowed to log in, in one transaction. */
  setHeldRoster(row: HeldRosterRow, phoneKeys: string[]): void {
    this.db.transaction(() => {
      this.db
        .prepare(
          'INSERT INTO held_rosters (device, authority_id, authority, epoch, bundle, ack, updated) VALUES (@device, @authority_id, @authority, @epoch, @bundle, @ack, @updated) ' +
            'ON CONFLICT(device) DO UPDATE SET authority_id = excluded.authority_id, authority = excluded.authority, epoch = excluded.epoch, bundle = excluded.bundle, ack = excluded.ack, updated = excluded.updated',
        )
        .run(row);
      this.setPhoneKeys(row.device, phoneKeys);
      this.deleteRoster(row.device, row.epoch);
    })();
  }

  devicesOfAuthority(authorityId: string): string[] {
    return (this.stmt('SELECT device FROM held_rosters WHERE authority_id = ? ORDER BY device').all(authorityId) as { device: string }[]).map((r) => r.device);
  }

  // --- event notices and push subscriptions ---------------------------------------------

  /** Stores a clip's event once: 'stored', 'duplicate' (the same bytes again) or 'conflict'. */
  putEvent(device: string, clip: string, ref: string, sealed: Uint8Array, signature: string, now: number): { result: 'stored' | 'duplicate' | 'conflict'; ref: string } {
    const r = this.stmt('INSERT OR IGNORE INTO events (device, clip, ref, sealed, signature, created) VALUES (?, ?, ?, ?, ?, ?)').run(device, clip, ref, sealed, signature, now);
    if (r.changes === 1) return { result: 'stored', ref };
    const have = this.stmt('SELECT ref, sealed, signature FROM events WHERE device = ? AND clip = ?').get(device, clip) as { ref: string; sealed: Buffer; signature: string };
    const same = Buffer.compare(have.sealed, Buffer.from(sealed)) === 0 && have.signature === signature;
    return { result: same ? 'duplicate' : 'conflict', ref: have.ref };
  }

  eventByRef(device: string, ref: string): EventRow | undefined {
    const row = this.stmt('SELECT * FROM events WHERE device = ? AND ref = ?').get(device, ref) as (EventRow & { sealed: Buffer }) | undefined;
    return row ? { ...row, sealed: new Uint8Array(row.sealed) } : undefined;
  }

  eventByClip(device: string, clip: string): EventRow | undefined {
    const row = this.stmt('SELECT * FROM events WHERE device = ? AND clip = ?').get(device, clip) as (EventRow & { sealed: Buffer }) | undefined;
    return row ? { ...row, sealed: new Uint8Array(row.sealed) } : undefined;
  }

  /** Adds or replaces (same device and endpoint) a subscription. */
  putSubscription(s: PushSubscriptionRow): void {
    this.stmt(
      'INSERT INTO push_subscriptions (device, endpoint, phone, p256dh, auth, created) VALUES (?, ?, ?, ?, ?, ?) ' +
        'ON CONFLICT(device, endpoint) DO UPDATE SET phone = excluded.phone, p256dh = excluded.p256dh, auth = excluded.auth, created = excluded.created',
    ).run(s.device, s.endpoint, s.phone, s.p256dh, s.auth, s.created);
  }

  subscriptions(device: string): PushSubscriptionRow[] {
    return this.stmt('SELECT * FROM push_subscriptions WHERE device = ? ORDER BY created').all(device) as PushSubscriptionRow[];
  }

  deleteSubscription(device: string, endpoint: string): boolean {
    return this.stmt('DELETE FROM push_subscriptions WHERE device = ? AND endpoint = ?').run(device, endpoint).changes === 1;
  }

  endorsement(device: string): string | undefined {
    return (this.stmt('SELECT signature FROM endorsements WHERE device = ?').get(device) as { signature: string } | undefined)?.signature;
  }

  setEndorsement(device: string, signature: string): void {
    this.stmt('INSERT INTO endorsements (device, signature) VALUES (?, ?) ON CONFLICT(device) DO UPDATE SET signature = excluded.signature').run(device, signature);
  }

  escrow(account: string): { write_sha256: string; blob: Uint8Array } | undefined {
    return this.stmt('SELECT write_sha256, blob FROM escrow WHERE account = ?').get(account) as { write_sha256: string; blob: Uint8Array } | undefined;
  }

  deleteEscrow(account: string): void {
    this.db.prepare('DELETE FROM escrow WHERE account = ?').run(account);
  }

  putEscrow(account: string, writeSha256: string, blob: Uint8Array, now: number): void {
    this.db
      .prepare('INSERT INTO escrow (account, write_sha256, blob, updated) VALUES (?, ?, ?, ?) ON CONFLICT(account) DO UPDATE SET blob = excluded.blob, updated = excluded.updated')
      .run(account, writeSha256, blob, now);
  }

  // --- retention and deletion (tools/relay/retention.ts, deletions.ts) -----------------------

  ownerRequests(device: string): OwnerRequestRow[] {
    return this.stmt('SELECT * FROM owner_requests WHERE device = ? ORDER BY epoch').all(device) as OwnerRequestRow[];
  }

  lastOwnerEpoch(device: string): number {
    return (this.stmt('SELECT MAX(epoch) AS e FROM owner_requests WHERE device = ?').get(device) as { e: number | null }).e ?? 0;
  }

  /** Each device's newest retention request. */
  retentionPolicies(): OwnerRequestRow[] {
    return this.stmt(
      "SELECT r.* FROM owner_requests r JOIN (SELECT device, MAX(epoch) AS epoch FROM owner_requests WHERE type = 'retention' GROUP BY device) n ON r.device = n.device AND r.epoch = n.epoch",
    ).all() as OwnerRequestRow[];
  }

  /**
   * In ONE transaction: records the owner's request (if given), and for each clip drops its
   * segment rows (their places go to freed_segments, to be scrubbed), its counts and, unless
   * kept, its manifest and signature; sets its state. Returns the bytes each clip held, or
   * undefined (and changes nothing) when the request's epoch is not above every accepted one.
   * Call it inside unsynced() and make it durable with a WAL flush.
   */
  deleteClips(device: string, clips: ClipDeletion[], request: Omit<OwnerRequestRow, 'device'> | undefined, now: number): Map<string, number> | undefined {
    const freed = new Map<string, number>();
    let replayed = false;
    this.db.transaction(() => {
      if (request && request.epoch <= this.lastOwnerEpoch(device)) {
        replayed = true; // not above every accepted request: nothing changes
        return;
      }
      if (request) {
        this.stmt('INSERT INTO owner_requests (device, epoch, type, request, signature, received) VALUES (?, ?, ?, ?, ?, ?)').run(
          device,
          request.epoch,
          request.type,
          request.request,
          request.signature,
          request.received,
        );
      }
      for (const c of clips) {
        const row = this.clip(device, c.clip);
        if (!row || (c.unlessGone && (row.state === 'deleted' || row.state === 'expired'))) continue;
        this.stmt('INSERT INTO freed_segments (device, clip, idx, log, offset, size) SELECT device, clip, idx, log, offset, size FROM segments WHERE device = ? AND clip = ?').run(device, c.clip);
        this.stmt('DELETE FROM segments WHERE device = ? AND clip = ?').run(device, c.clip);
        // its event notice is ciphertext of the clip's poster: it goes with the clip
        this.stmt('DELETE FROM events WHERE device = ? AND clip = ?').run(device, c.clip);
        this.stmt(
          'UPDATE clips SET state = ?, reason = ?, segments = 0, bytes = 0, manifest = CASE WHEN ? THEN manifest END, signature = CASE WHEN ? THEN signature END, updated = ? WHERE device = ? AND clip = ?',
        ).run(c.state, c.reason, c.keepManifest ? 1 : 0, c.keepManifest ? 1 : 0, now, device, c.clip);
        freed.set(c.clip, row.bytes);
      }
    })();
    return replayed ? undefined : freed;
  }

  /** Deleted or expired clips that still have segment rows (a batch committed them after the deletion). */
  strayDeletedClips(): ClipRow[] {
    return this.stmt("SELECT * FROM clips WHERE state IN ('deleted', 'expired') AND segments > 0").all() as ClipRow[];
  }

  freedSegments(limit: number): FreedSegmentRow[] {
    return this.stmt('SELECT * FROM freed_segments ORDER BY log, offset LIMIT ?').all(limit) as FreedSegmentRow[];
  }

  forgetFreed(ids: number[]): void {
    const del = this.stmt('DELETE FROM freed_segments WHERE id = ?');
    this.db.transaction(() => ids.forEach((id) => del.run(id)))();
  }

  /** True while some segment row (or a segment still to scrub) is in this log. */
  logInUse(log: number): boolean {
    return !!this.stmt('SELECT 1 FROM segments WHERE log = ? UNION ALL SELECT 1 FROM freed_segments WHERE log = ? LIMIT 1').get(log, log);
  }

  /** Ciphertext bytes stored per device (the quota's count). */
  bytesByDevice(): { device: string; bytes: number }[] {
    return this.stmt('SELECT device, SUM(bytes) AS bytes FROM clips GROUP BY device').all() as { device: string; bytes: number }[];
  }

  /** Ciphertext bytes these devices keep together (an account's). */
  bytesOf(devices: string[]): number {
    if (devices.length === 0) return 0;
    return (this.db.prepare(`SELECT COALESCE(SUM(bytes), 0) AS n FROM clips WHERE device IN (${devices.map(() => '?').join(', ')})`).get(...devices) as { n: number }).n;
  }

  /** The account a device belongs to: the authority (key id) of the roster it holds. */
  authorityOf(device: string): string | undefined {
    return (this.stmt('SELECT authority_id FROM held_rosters WHERE device = ?').get(device) as { authority_id: string } | undefined)?.authority_id;
  }

  // --- phone login (phone-auth.ts) -------------------------------------------------------
  // Written without SQLite's fsync (unsynced): a login does not wait on the disk, and a
  // session lost in a power cut only means logging in again.

  putChallenge(c: { sha256: string; device: string; source: string; expires: number }, limits: { perSource: number; total: number }, now: number): 'stored' | 'source' | 'full' {
    return this.unsynced(() =>
      this.db.transaction(() => {
        const mine = (this.stmt('SELECT COUNT(*) AS n FROM phone_challenges WHERE source = ? AND expires >= ?').get(c.source, now) as { n: number }).n;
        if (mine >= limits.perSource) return 'source' as const;
        const all = (this.stmt('SELECT COUNT(*) AS n FROM phone_challenges WHERE expires >= ?').get(now) as { n: number }).n;
        if (all >= limits.total) return 'full' as const;
        this.stmt('INSERT OR REPLACE INTO phone_challenges (sha256, device, source, expires) VALUES (?, ?, ?, ?)').run(c.sha256, c.device, c.source, c.expires);
        return 'stored' as const;
      })(),
    );
  }

  takeChallenge(sha256: string): { sha256: string; device: string; source: string; expires: number } | undefined {
    return this.unsynced(
      () => this.stmt('DELETE FROM phone_challenges WHERE sha256 = ? RETURNING sha256, device, source, expires').get(sha256) as
        | { sha256: string; device: string; source: string; expires: number }
        | undefined,
    );
  }

  putPhoneSession(s: { tokenSha256: string; device: string; publicKey: string; expires: number }, max: number, now: number): boolean {
    return this.unsynced(() =>
      this.db.transaction(() => {
        if ((this.stmt('SELECT COUNT(*) AS n FROM phone_sessions WHERE expires >= ?').get(now) as { n: number }).n >= max) return false;
        this.stmt('INSERT INTO phone_sessions (token_sha256, device, public_key, expires) VALUES (?, ?, ?, ?)').run(s.tokenSha256, s.device, s.publicKey, s.expires);
        return true;
      })(),
    );
  }

  phoneSession(tokenSha256: string) {
    const r = this.stmt('SELECT * FROM phone_sessions WHERE token_sha256 = ?').get(tokenSha256) as SessionSqlRow | undefined;
    return r && sessionOf(r);
  }

  phoneSessionsOf(device: string) {
    return (this.stmt('SELECT * FROM phone_sessions WHERE device = ?').all(device) as SessionSqlRow[]).map(sessionOf);
  }

  deletePhoneSession(tokenSha256: string): void {
    this.unsynced(() => this.stmt('DELETE FROM phone_sessions WHERE token_sha256 = ?').run(tokenSha256));
  }

  sweepPhoneLogins(now: number): void {
    this.unsynced(() =>
      this.db.transaction(() => {
        this.stmt('DELETE FROM phone_challenges WHERE expires < ?').run(now);
        this.stmt('DELETE FROM phone_sessions WHERE expires < ?').run(now);
      })(),
    );
  }
}
