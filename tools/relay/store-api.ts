/**
 * What the relay keeps, as the relay's code sees it: one asynchronous interface
 * with two implementations. SqliteRelayStore (sqlite-store.ts) wraps the
 * embedded default, RelayStore (store.ts: SQLite plus the segment log in the
 * data folder); PgRelayStore (pg-store.ts) keeps everything in PostgreSQL, so
 * that several relay processes can share it (docs/relay-operations.md).
 *
 * Every method may touch a database over the network: callers await them and
 * never assume that nothing else changed in between (another relay process
 * may have written).
 */
import type {
  ClipDeletion,
  ClipRow,
  ClipState,
  DeviceRow,
  EventRow,
  HeldRosterRow,
  OwnerRequestRow,
  PushSubscriptionRow,
  PutSegmentResult,
  SegmentRow,
} from './store.js';

export type { ClipDeletion, ClipRow, ClipState, DeviceRow, EventRow, HeldRosterRow, OwnerRequestRow, PushSubscriptionRow, PutSegmentResult, SegmentRow };

/** The relay's VAPID key pair (tools/relay/push.ts): one for every relay process, so any of them can push to any subscription. */
export interface VapidKeys {
  /** base64url, uncompressed P-256 point: what browsers take as applicationServerKey */
  publicKey: string;
  privateKey: string;
}

/** What the relay keeps of a doorbell's signed settings (tools/relay/settings.ts). */
export type SettingsEntry = 'pending.sbt' | 'held.json' | 'refused.json';

/** What the relay keeps of a doorbell's firmware update (tools/relay/updates.ts). */
export type UpdateEntry = 'update.bin' | 'state.json' | 'firmware.json';

/** A phone login challenge outstanding (phone-auth.ts): kept as SHA-256 of the challenge. */
export interface ChallengeRow {
  sha256: string;
  device: string;
  /** the client address that asked for it (its per-source allowance) */
  source: string;
  expires: number;
}

/** A phone's login session (phone-auth.ts): only SHA-256 of its bearer token is kept. */
export interface PhoneSessionRow {
  tokenSha256: string;
  device: string;
  /** the phone's Ed25519 key, base64 */
  publicKey: string;
  expires: number;
}

/** A segment GroupCommit has staged and is about to make durable. */
export interface StagedSegment {
  device: string;
  clip: string;
  idx: number;
  size: number;
  sha256: string;
}

/**
 * Where GroupCommit puts segments: `stage` starts writing one (not durable, not
 * waited for), `commit` makes a batch of staged segments durable and recorded,
 * all at once. A commit that fails with `maybeCommitted` set may have recorded
 * rows that are not durable: the store takes no more segments until restarted.
 */
export interface SegmentIngest {
  existing(device: string, clip: string, idx: number): Promise<SegmentRow | undefined>;
  stage(seg: StagedSegment, bytes: Uint8Array): { written: Promise<void>; handle: unknown };
  /**
   * Optional first stage of a batch's commit, run while the batch before it is still in `commit`
   * (SQLite: flushing the segment logs overlaps the previous batch's WAL flush). A failure here
   * commits nothing.
   */
  prepare?(batch: { seg: StagedSegment; handle: unknown }[]): Promise<void>;
  /** A store that admits segments against the quota at commit (`quotaAtCommit`) says which it refused. */
  commit(batch: { seg: StagedSegment; handle: unknown }[], now: number): Promise<CommitOutcome | void>;
}

/** What a commit did not store: the positions in its batch refused for the operator's quota (not stored, not final). */
export interface CommitOutcome {
  overQuota: number[];
}

/** Marks a commit's failure (the original error, its code kept): `maybeCommitted` as above. */
export function commitFailed(e: unknown, maybeCommitted: boolean): Error & { maybeCommitted: boolean } {
  const err = e instanceof Error ? e : new Error(String(e));
  return Object.assign(err, { maybeCommitted });
}

export interface RelayStoreApi {
  /** `sqlite` or `postgres`, for the log */
  readonly kind: string;
  /** where this process keeps its local files (SQLite: everything; PostgreSQL: the health probe) */
  readonly dataDir: string;
  readonly ingest: SegmentIngest;
  /**
   * Set (to the quota, bytes per account) when the store itself admits each segment against the
   * operator's quota, in the transaction that stores it: exact however many relay processes
   * share the store (PostgreSQL). Unset: the relay counts in memory (QuotaBook; SQLite, one process).
   */
  readonly quotaAtCommit?: number;
  close(): Promise<void>;
  /** Makes every write so far durable (SQLite: one fdatasync of the WAL; PostgreSQL: each commit already is). */
  sync(): Promise<void>;
  /** A cheap read that fails when the database does (the health check). */
  check(): Promise<void>;

  addDevice(id: string, credentialSha256: string, publicKey: string, now: number): Promise<boolean>;
  device(id: string): Promise<DeviceRow | undefined>;
  deviceByCredential(credentialSha256: string): Promise<DeviceRow | undefined>;
  setPhoneKeys(device: string, keys: string[]): Promise<void>;
  phoneKeys(device: string): Promise<string[]>;

  clip(device: string, clip: string): Promise<ClipRow | undefined>;
  listClips(device: string): Promise<ClipRow[]>;
  /** True if the clip is new. Durable only after the next sync() (SQLite) */
  createClip(device: string, clip: string, epoch: number | null, now: number): Promise<boolean>;
  segment(device: string, clip: string, idx: number): Promise<SegmentRow | undefined>;
  segments(device: string, clip: string): Promise<SegmentRow[]>;
  /** The stored segments 0, 1, 2, … up to the first gap. */
  contiguousSegments(device: string, clip: string): Promise<SegmentRow[]>;
  readSegment(device: string, clip: string, idx: number): Promise<Uint8Array>;
  /** Durable only after the next sync() (SQLite) */
  closeClip(
    device: string,
    clip: string,
    state: Exclude<ClipState, 'receiving'>,
    reason: string | null,
    now: number,
    signed?: { manifest: Uint8Array; signature: string },
  ): Promise<void>;
  /** Durable only after the next sync() (SQLite) */
  markDropped(device: string, ids: string[], now: number): Promise<string[]>;

  roster(device: string): Promise<{ epoch: number; blob: Uint8Array } | undefined>;
  putRoster(device: string, epoch: number, blob: Uint8Array, now: number): Promise<{ stored: boolean; epoch: number }>;
  deleteRoster(device: string, epoch: number): Promise<void>;
  heldRoster(device: string): Promise<HeldRosterRow | undefined>;
  setHeldRoster(row: HeldRosterRow, phoneKeys: string[]): Promise<void>;
  devicesOfAuthority(authorityId: string): Promise<string[]>;
  endorsement(device: string): Promise<string | undefined>;
  setEndorsement(device: string, signature: string): Promise<void>;
  escrow(account: string): Promise<{ write_sha256: string; blob: Uint8Array } | undefined>;
  deleteEscrow(account: string): Promise<void>;
  putEscrow(account: string, writeSha256: string, blob: Uint8Array, now: number): Promise<void>;

  // --- event notices and push subscriptions (push.ts) ---------------------------------------

  /** Stores a clip's event once: 'stored', 'duplicate' (the same bytes again) or 'conflict'. Durable only after the next sync() (SQLite) */
  putEvent(device: string, clip: string, ref: string, sealed: Uint8Array, signature: string, now: number): Promise<{ result: 'stored' | 'duplicate' | 'conflict'; ref: string }>;
  eventByRef(device: string, ref: string): Promise<EventRow | undefined>;
  /** the event notice a clip has, if its doorbell sent one (the app's timeline takes its poster from it) */
  eventByClip(device: string, clip: string): Promise<EventRow | undefined>;
  /** Adds or replaces (same device and endpoint) a subscription. */
  putSubscription(s: PushSubscriptionRow): Promise<void>;
  subscriptions(device: string): Promise<PushSubscriptionRow[]>;
  deleteSubscription(device: string, endpoint: string): Promise<boolean>;
  /** The relay's VAPID keys; `make` makes them the first time (the first relay process's are kept). */
  vapidKeys(make: () => VapidKeys): Promise<VapidKeys>;

  // --- signed settings (settings.ts) ----------------------------------------------------------

  settingsEntry(device: string, name: SettingsEntry): Promise<Uint8Array | undefined>;
  /** Replaces the entry whole (SQLite: an atomic file write; PostgreSQL: one row). */
  putSettingsEntry(device: string, name: SettingsEntry, bytes: Uint8Array): Promise<void>;
  deleteSettingsEntry(device: string, name: SettingsEntry): Promise<void>;

  // --- retention, deletion and the quota (owner-api.ts, deletions.ts, retention.ts, quota.ts) ---

  /** Every owner's request accepted for the device, in epoch order. */
  ownerRequests(device: string): Promise<OwnerRequestRow[]>;
  /** The newest accepted request's epoch (0: none). */
  lastOwnerEpoch(device: string): Promise<number>;
  /** Each device's newest retention request. */
  retentionPolicies(): Promise<OwnerRequestRow[]>;
  /**
   * In ONE transaction: records the owner's request (if given) unless its epoch is not above
   * every accepted one (then changes nothing and resolves `undefined`), and for each clip drops
   * its segments, its counts and, unless kept, its manifest; sets its state. Resolves the bytes
   * each clip held (a clip left alone, `unlessGone`, is not in it). Durable only after the next sync() (SQLite).
   */
  deleteClips(device: string, clips: ClipDeletion[], request: Omit<OwnerRequestRow, 'device'> | undefined, now: number): Promise<Map<string, number> | undefined>;
  /** Deleted or expired clips that still have segments (a batch committed them after the deletion). */
  strayDeletedClips(): Promise<ClipRow[]>;
  /** Ciphertext bytes stored per device (the quota's count). */
  bytesByDevice(): Promise<{ device: string; bytes: number }[]>;
  /** Ciphertext bytes these devices keep together (an account's). */
  bytesOf(devices: string[]): Promise<number>;
  /** The account a device belongs to: the authority (key id) of the roster it holds. */
  authorityOf(device: string): Promise<string | undefined>;

  // --- phone login challenges and sessions (phone-auth.ts), firmware updates (updates.ts) ---
  // Kept in the store so that a phone may log in through one relay process and use its
  // session at another, and an update published at one reaches a doorbell on another.

  /**
   * Records a challenge unless its source already has `perSource` unexpired ones ('source')
   * or all sources together `total` ('full'). Across relay processes the counts are read
   * and then written, not locked: processes asking at the same instant may overshoot a
   * little (by at most one each).
   */
  putChallenge(c: ChallengeRow, limits: { perSource: number; total: number }, now: number): Promise<'stored' | 'source' | 'full'>;
  /** Removes the challenge and returns it: a challenge is used once, by whichever process it reaches. */
  takeChallenge(sha256: string): Promise<ChallengeRow | undefined>;
  /** Records a session unless `max` unexpired ones exist (false then). */
  putPhoneSession(s: PhoneSessionRow, max: number, now: number): Promise<boolean>;
  phoneSession(tokenSha256: string): Promise<PhoneSessionRow | undefined>;
  phoneSessionsOf(device: string): Promise<PhoneSessionRow[]>;
  deletePhoneSession(tokenSha256: string): Promise<void>;
  /** Deletes expired challenges and sessions. */
  sweepPhoneLogins(now: number): Promise<void>;

  updateEntry(device: string, name: UpdateEntry): Promise<Uint8Array | undefined>;
  /** `length` bytes of an entry from `offset` (the image, piece by piece); undefined if the entry is gone. */
  updateEntryPiece(device: string, name: UpdateEntry, offset: number, length: number): Promise<Uint8Array | undefined>;
  /** Replaces the entry whole (SQLite: an atomic file write under DATA/updates/<device>/; PostgreSQL: one row). */
  putUpdateEntry(device: string, name: UpdateEntry, bytes: Uint8Array): Promise<void>;
  deleteUpdateEntry(device: string, name: UpdateEntry): Promise<void>;
}
