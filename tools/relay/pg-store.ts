/**
 * What the relay keeps, in PostgreSQL (`sealbell relay --db postgres://…`), for
 * several relay processes sharing one database (docs/relay-operations.md). The
 * same tables as the SQLite store (store.ts); segment ciphertext is kept in the
 * database too (`segments.data`, bytea): every relay process reads what any of
 * them stored, a backup of the database is a backup of everything, and one
 * commit makes a segment's bytes and its row durable together.
 *
 * Every call is asynchronous (node-postgres): nothing here blocks the event
 * loop. Writes commit with PostgreSQL's synchronous_commit (the default: on),
 * so a resolved write is durable and sync() has nothing to do.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { commitFailed, type CommitOutcome, type RelayStoreApi, type SegmentIngest, type SettingsEntry, type StagedSegment, type UpdateEntry, type VapidKeys, type ChallengeRow, type PhoneSessionRow } from './store-api.js';
import type { ClipDeletion, ClipRow, ClipState, DeviceRow, EventRow, HeldRosterRow, OwnerRequestRow, PushSubscriptionRow, SegmentRow } from './store.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS devices (
  id TEXT PRIMARY KEY,
  credential_sha256 TEXT NOT NULL UNIQUE,
  public_key TEXT NOT NULL,
  created BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS phone_keys (
  device TEXT NOT NULL,
  public_key TEXT NOT NULL,
  PRIMARY KEY (device, public_key)
);
CREATE TABLE IF NOT EXISTS clips (
  device TEXT NOT NULL,
  clip TEXT NOT NULL,
  epoch BIGINT,
  state TEXT NOT NULL,
  reason TEXT,
  segments INTEGER NOT NULL DEFAULT 0,
  bytes BIGINT NOT NULL DEFAULT 0,
  manifest BYTEA,
  signature TEXT,
  created BIGINT NOT NULL,
  updated BIGINT NOT NULL,
  PRIMARY KEY (device, clip)
);
CREATE TABLE IF NOT EXISTS segments (
  device TEXT NOT NULL,
  clip TEXT NOT NULL,
  idx INTEGER NOT NULL,
  size INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  data BYTEA NOT NULL,
  PRIMARY KEY (device, clip, idx)
);
CREATE TABLE IF NOT EXISTS rosters (
  device TEXT PRIMARY KEY,
  epoch BIGINT NOT NULL,
  blob BYTEA NOT NULL,
  updated BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS held_rosters (
  device TEXT PRIMARY KEY,
  authority_id TEXT NOT NULL,
  authority BYTEA NOT NULL,
  epoch BIGINT NOT NULL,
  bundle BYTEA NOT NULL,
  ack TEXT NOT NULL,
  updated BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS held_rosters_by_authority ON held_rosters (authority_id);
CREATE TABLE IF NOT EXISTS endorsements (
  device TEXT PRIMARY KEY,
  signature TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS escrow (
  account TEXT PRIMARY KEY,
  write_sha256 TEXT NOT NULL,
  blob BYTEA NOT NULL,
  updated BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
  device TEXT NOT NULL,
  clip TEXT NOT NULL,
  ref TEXT NOT NULL UNIQUE,
  sealed BYTEA NOT NULL,
  signature TEXT NOT NULL,
  created BIGINT NOT NULL,
  PRIMARY KEY (device, clip)
);
CREATE TABLE IF NOT EXISTS push_subscriptions (
  device TEXT NOT NULL,
  endpoint TEXT NOT NULL,
  phone TEXT NOT NULL,
  p256dh TEXT NOT NULL,
  auth TEXT NOT NULL,
  created BIGINT NOT NULL,
  PRIMARY KEY (device, endpoint)
);
CREATE TABLE IF NOT EXISTS vapid_keys (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  public_key TEXT NOT NULL,
  private_key TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS device_settings (
  device TEXT NOT NULL,
  name TEXT NOT NULL,
  value BYTEA NOT NULL,
  PRIMARY KEY (device, name)
);
CREATE TABLE IF NOT EXISTS owner_requests (
  device TEXT NOT NULL,
  epoch BIGINT NOT NULL,
  type TEXT NOT NULL,
  request BYTEA NOT NULL,
  signature TEXT NOT NULL,
  received BIGINT NOT NULL,
  PRIMARY KEY (device, epoch)
);
CREATE INDEX IF NOT EXISTS clips_gone_with_segments ON clips (state) WHERE state IN ('deleted', 'expired') AND segments > 0;
CREATE TABLE IF NOT EXISTS device_updates (
  device TEXT NOT NULL,
  name TEXT NOT NULL,
  value BYTEA NOT NULL,
  PRIMARY KEY (device, name)
);
CREATE TABLE IF NOT EXISTS phone_challenges (
  sha256 TEXT PRIMARY KEY,
  device TEXT NOT NULL,
  source TEXT NOT NULL,
  expires BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS phone_challenges_by_source ON phone_challenges (source, expires);
CREATE INDEX IF NOT EXISTS phone_challenges_by_expiry ON phone_challenges (expires);
CREATE TABLE IF NOT EXISTS phone_sessions (
  token_sha256 TEXT PRIMARY KEY,
  device TEXT NOT NULL,
  public_key TEXT NOT NULL,
  expires BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS phone_sessions_by_device ON phone_sessions (device);
CREATE INDEX IF NOT EXISTS phone_sessions_by_expiry ON phone_sessions (expires);
CREATE TABLE IF NOT EXISTS relay_nodes (
  id TEXT PRIMARY KEY,
  internal_url TEXT NOT NULL,
  started BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS device_presence (
  device TEXT PRIMARY KEY,
  node TEXT NOT NULL,
  since BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS relay_secret (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  secret TEXT NOT NULL
);
`;

/** Serialises schema creation between relay processes starting at once (CREATE … IF NOT EXISTS races otherwise). */
const SCHEMA_LOCK = 0x5ea1be11;

/** BIGINT (int8) as a JS number: every value the relay keeps (ms times, epochs, byte counts) is below 2^53. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as pg.CustomTypesConfig['getTypeParser'],
};

export function poolFor(url: string, max = 10): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max, types, application_name: 'sealbell-relay' });
  // An idle client whose server went away: the next query reports it; do not crash the relay.
  pool.on('error', () => {});
  return pool;
}

const buf = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));

class PgSegmentIngest implements SegmentIngest {
  constructor(private readonly store: PgRelayStore) {}

  existing(device: string, clip: string, idx: number): Promise<SegmentRow | undefined> {
    return this.store.segment(device, clip, idx);
  }

  /** Nothing to write yet: the bytes go in the batch's one statement. */
  stage(_seg: StagedSegment, bytes: Uint8Array): { written: Promise<void>; handle: unknown } {
    return { written: Promise.resolve(), handle: bytes };
  }

  /**
   * One statement, so one transaction and one durable commit, for the whole
   * batch: its rows with their bytes, and each clip's counts. A segment another
   * relay process stored meanwhile (a device that moved) is left as it is.
   *
   * With a quota, the same statement runs in a transaction that first admits
   * the batch's segments (admitUnderQuota): what is refused is not stored.
   */
  async commit(batch: { seg: StagedSegment; handle: unknown }[], now: number): Promise<CommitOutcome | void> {
    const quota = this.store.quotaAtCommit;
    try {
      if (quota === undefined) return await insertSegments(this.store.pool, batch, now);
      return await this.store.tx(async (c) => {
        const overQuota = await admitUnderQuota(c, batch, quota);
        const refused = new Set(overQuota);
        const admitted = batch.filter((_b, i) => !refused.has(i));
        if (admitted.length) await insertSegments(c, admitted, now);
        return { overQuota };
      });
    } catch (e) {
      // A commit whose answer was lost (the connection dropped) may or may not have happened; a
      // resend finds the row if it did, so nothing acknowledged is lost either way.
      throw commitFailed(e, false);
    }
  }
}

/** The first key of the advisory locks that serialise admissions to one account (the second: a hash of the account). */
const QUOTA_LOCK = 0x5eb0;

/** An account's lock key: 32 bits of SHA-256 of `a:<authority>` (doorbells of one account authority) or `d:<device>` (a doorbell without a roster). */
const accountLockKey = (account: string): number => createHash('sha256').update(account).digest().readInt32BE(0);

/** Each device's account: its held roster's authority, else the device alone. */
async function accountsOf(c: pg.PoolClient, devices: string[]): Promise<Map<string, string>> {
  const rows = (await c.query('SELECT d.device, h.authority_id FROM unnest($1::text[]) AS d(device) LEFT JOIN held_rosters h ON h.device = d.device', [devices])).rows as {
    device: string;
    authority_id: string | null;
  }[];
  return new Map(rows.map((r) => [r.device, r.authority_id === null ? `d:${r.device}` : `a:${r.authority_id}`]));
}

/**
 * The operator's quota, exact across relay processes: inside the batch's transaction, locks each
 * account the batch's segments belong to (pg_advisory_xact_lock, in one order, held until the
 * commit), reads what each account keeps now (every earlier admission to it is committed: it
 * held the lock until then), and admits the segments in order while they fit. Returns the
 * positions refused. The locks wait only for other batches to the same accounts. (A roster that
 * moves a doorbell to another account mid-batch adds a lock out of order; should two batches then
 * deadlock, PostgreSQL fails one: its doorbells are disconnected (INTERNAL) and send again, nothing
 * acknowledged is lost.)
 */
async function admitUnderQuota(c: pg.PoolClient, batch: { seg: StagedSegment }[], quota: number): Promise<number[]> {
  const devices = [...new Set(batch.map((b) => b.seg.device))];
  const locked = new Set<number>();
  let accounts = await accountsOf(c, devices);
  for (;;) {
    const keys = [...new Set([...accounts.values()].map(accountLockKey))].filter((k) => !locked.has(k)).sort((a, b) => a - b);
    if (keys.length === 0) break;
    for (const k of keys) {
      await c.query('SELECT pg_advisory_xact_lock($1, $2)', [QUOTA_LOCK, k]);
      locked.add(k);
    }
    // Read again under the locks: a roster may have moved a doorbell to another account meanwhile (then that one is locked too).
    accounts = await accountsOf(c, devices);
  }
  const authorities = [...new Set([...accounts.values()].filter((a) => a.startsWith('a:')).map((a) => a.slice(2)))];
  const lone = [...accounts.values()].filter((a) => a.startsWith('d:')).map((a) => a.slice(2));
  // One statement, so one snapshot of every account's clips.
  const rows = (
    await c.query(
      `SELECT m.account, COALESCE(SUM(c.bytes), 0)::bigint AS bytes
       FROM (SELECT 'a:' || authority_id AS account, device FROM held_rosters WHERE authority_id = ANY($1::text[])
             UNION ALL SELECT 'd:' || d, d FROM unnest($2::text[]) AS d) m
       LEFT JOIN clips c ON c.device = m.device
       GROUP BY m.account`,
      [authorities, lone],
    )
  ).rows as { account: string; bytes: number }[];
  const used = new Map(rows.map((r) => [r.account, r.bytes]));
  const refused: number[] = [];
  batch.forEach((b, i) => {
    const account = accounts.get(b.seg.device)!;
    const now = used.get(account) ?? 0;
    if (now + b.seg.size > quota) refused.push(i);
    else used.set(account, now + b.seg.size);
  });
  return refused;
}

/** The batch's rows with their bytes, and each clip's counts: one statement. */
async function insertSegments(q: pg.Pool | pg.PoolClient, batch: { seg: StagedSegment; handle: unknown }[], now: number): Promise<void> {
  await q.query(
    `WITH ins AS (
       INSERT INTO segments (device, clip, idx, size, sha256, data)
       SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::text[], $6::bytea[])
       ON CONFLICT DO NOTHING RETURNING device, clip, size)
     UPDATE clips c SET segments = c.segments + a.n, bytes = c.bytes + a.b, updated = $7
     FROM (SELECT device, clip, count(*)::int AS n, sum(size)::bigint AS b FROM ins GROUP BY device, clip) a
     WHERE c.device = a.device AND c.clip = a.clip`,
    [
      batch.map((b) => b.seg.device),
      batch.map((b) => b.seg.clip),
      batch.map((b) => b.seg.idx),
      batch.map((b) => b.seg.size),
      batch.map((b) => b.seg.sha256),
      batch.map((b) => buf(b.handle as Uint8Array)),
      now,
    ],
  );
}

export class PgRelayStore implements RelayStoreApi {
  readonly kind = 'postgres';
  readonly ingest: SegmentIngest;

  private constructor(
    readonly pool: pg.Pool,
    readonly dataDir: string,
    /** the operator's quota, admitted in each batch's transaction (admitUnderQuota) */
    readonly quotaAtCommit: number | undefined,
  ) {
    this.ingest = new PgSegmentIngest(this);
  }

  /** Connects and creates the tables if they are not there. */
  static async open(url: string, dataDir: string, o: { quotaBytes?: number } = {}): Promise<PgRelayStore> {
    const pool = poolFor(url);
    const c = await pool.connect().catch(async (e: Error) => {
      await pool.end();
      throw new Error(`cannot reach the PostgreSQL database: ${e.message}`);
    });
    try {
      await c.query('SELECT pg_advisory_lock($1)', [SCHEMA_LOCK]);
      try {
        await c.query(SCHEMA);
      } finally {
        await c.query('SELECT pg_advisory_unlock($1)', [SCHEMA_LOCK]);
      }
    } finally {
      c.release();
    }
    return new PgRelayStore(pool, dataDir, o.quotaBytes);
  }

  private closed = false;
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  async sync(): Promise<void> {}

  async check(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  private async one<T>(sql: string, params: unknown[]): Promise<T | undefined> {
    return (await this.pool.query(sql, params)).rows[0] as T | undefined;
  }

  private async all<T>(sql: string, params: unknown[]): Promise<T[]> {
    return (await this.pool.query(sql, params)).rows as T[];
  }

  /** Runs `fn` in one transaction on one connection. */
  async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const r = await fn(c);
      await c.query('COMMIT');
      return r;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      c.release();
    }
  }

  // --- devices and phone keys ----------------------------------------------------------

  async addDevice(id: string, credentialSha256: string, publicKey: string, now: number): Promise<boolean> {
    const r = await this.pool.query('INSERT INTO devices (id, credential_sha256, public_key, created) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [
      id,
      credentialSha256,
      publicKey,
      now,
    ]);
    return r.rowCount === 1;
  }

  device(id: string) {
    return this.one<DeviceRow>('SELECT * FROM devices WHERE id = $1', [id]);
  }

  deviceByCredential(credentialSha256: string) {
    return this.one<DeviceRow>('SELECT * FROM devices WHERE credential_sha256 = $1', [credentialSha256]);
  }

  async setPhoneKeys(device: string, keys: string[]): Promise<void> {
    await this.tx((c) => replacePhoneKeys(c, device, keys));
  }

  async phoneKeys(device: string): Promise<string[]> {
    return (await this.all<{ public_key: string }>('SELECT public_key FROM phone_keys WHERE device = $1 ORDER BY public_key', [device])).map((r) => r.public_key);
  }

  // --- clips and segments ----------------------------------------------------------------

  clip(device: string, clip: string) {
    return this.one<ClipRow>('SELECT * FROM clips WHERE device = $1 AND clip = $2', [device, clip]);
  }

  listClips(device: string) {
    return this.all<ClipRow>('SELECT * FROM clips WHERE device = $1 ORDER BY clip', [device]);
  }

  async createClip(device: string, clip: string, epoch: number | null, now: number): Promise<boolean> {
    const r = await this.pool.query(
      "INSERT INTO clips (device, clip, epoch, state, created, updated) VALUES ($1, $2, $3, 'receiving', $4, $4) ON CONFLICT DO NOTHING",
      [device, clip, epoch, now],
    );
    return r.rowCount === 1;
  }

  segment(device: string, clip: string, idx: number) {
    return this.one<SegmentRow>('SELECT idx, size, sha256 FROM segments WHERE device = $1 AND clip = $2 AND idx = $3', [device, clip, idx]);
  }

  segments(device: string, clip: string) {
    return this.all<SegmentRow>('SELECT idx, size, sha256 FROM segments WHERE device = $1 AND clip = $2 ORDER BY idx', [device, clip]);
  }

  async contiguousSegments(device: string, clip: string): Promise<SegmentRow[]> {
    const out: SegmentRow[] = [];
    for (const s of await this.segments(device, clip)) {
      if (s.idx !== out.length) break;
      out.push(s);
    }
    return out;
  }

  async readSegment(device: string, clip: string, idx: number): Promise<Uint8Array> {
    const row = await this.one<{ data: Buffer }>('SELECT data FROM segments WHERE device = $1 AND clip = $2 AND idx = $3', [device, clip, idx]);
    if (!row) throw new Error(`no segment ${idx} of clip ${clip}`);
    return row.data;
  }

  async closeClip(
    device: string,
    clip: string,
    state: Exclude<ClipState, 'receiving'>,
    reason: string | null,
    now: number,
    signed?: { manifest: Uint8Array; signature: string },
  ): Promise<void> {
    await this.pool.query('UPDATE clips SET state = $1, reason = $2, manifest = $3, signature = $4, updated = $5 WHERE device = $6 AND clip = $7', [
      state,
      reason,
      signed ? buf(signed.manifest) : null,
      signed?.signature ?? null,
      now,
      device,
      clip,
    ]);
  }

  markDropped(device: string, ids: string[], now: number): Promise<string[]> {
    return this.tx(async (c) => {
      const changed: string[] = [];
      for (const id of ids) {
        const r1 = await c.query("UPDATE clips SET state = 'dropped', reason = 'spool full', updated = $1 WHERE device = $2 AND clip = $3 AND state = 'receiving'", [
          now,
          device,
          id,
        ]);
        const r2 = await c.query(
          "INSERT INTO clips (device, clip, epoch, state, reason, created, updated) VALUES ($1, $2, NULL, 'dropped', 'spool full', $3, $3) ON CONFLICT DO NOTHING",
          [device, id, now],
        );
        if (r1.rowCount || r2.rowCount) changed.push(id);
      }
      return changed;
    });
  }

  // --- rosters and escrow ------------------------------------------------------------

  roster(device: string) {
    return this.one<{ epoch: number; blob: Uint8Array }>('SELECT epoch, blob FROM rosters WHERE device = $1', [device]);
  }

  /** Stores a roster update if its epoch is higher than the stored one (one statement: safe between processes). */
  async putRoster(device: string, epoch: number, blob: Uint8Array, now: number): Promise<{ stored: boolean; epoch: number }> {
    const r = await this.pool.query(
      'INSERT INTO rosters (device, epoch, blob, updated) VALUES ($1, $2, $3, $4) ON CONFLICT (device) DO UPDATE SET epoch = excluded.epoch, blob = excluded.blob, updated = excluded.updated WHERE rosters.epoch < excluded.epoch',
      [device, epoch, buf(blob), now],
    );
    if (r.rowCount === 1) return { stored: true, epoch };
    return { stored: false, epoch: (await this.roster(device))?.epoch ?? epoch };
  }

  async deleteRoster(device: string, epoch: number): Promise<void> {
    await this.pool.query('DELETE FROM rosters WHERE device = $1 AND epoch <= $2', [device, epoch]);
  }

  heldRoster(device: string) {
    return this.one<HeldRosterRow>('SELECT * FROM held_rosters WHERE device = $1', [device]);
  }

  async setHeldRoster(row: HeldRosterRow, phoneKeys: string[]): Promise<void> {
    await this.tx(async (c) => {
      await c.query(
        'INSERT INTO held_rosters (device, authority_id, authority, epoch, bundle, ack, updated) VALUES ($1, $2, $3, $4, $5, $6, $7) ' +
          'ON CONFLICT (device) DO UPDATE SET authority_id = excluded.authority_id, authority = excluded.authority, epoch = excluded.epoch, bundle = excluded.bundle, ack = excluded.ack, updated = excluded.updated',
        [row.device, row.authority_id, buf(row.authority), row.epoch, buf(row.bundle), row.ack, row.updated],
      );
      await replacePhoneKeys(c, row.device, phoneKeys);
      await c.query('DELETE FROM rosters WHERE device = $1 AND epoch <= $2', [row.device, row.epoch]);
    });
  }

  async devicesOfAuthority(authorityId: string): Promise<string[]> {
    return (await this.all<{ device: string }>('SELECT device FROM held_rosters WHERE authority_id = $1 ORDER BY device', [authorityId])).map((r) => r.device);
  }

  async endorsement(device: string): Promise<string | undefined> {
    return (await this.one<{ signature: string }>('SELECT signature FROM endorsements WHERE device = $1', [device]))?.signature;
  }

  async setEndorsement(device: string, signature: string): Promise<void> {
    await this.pool.query('INSERT INTO endorsements (device, signature) VALUES ($1, $2) ON CONFLICT (device) DO UPDATE SET signature = excluded.signature', [device, signature]);
  }

  escrow(account: string) {
    return this.one<{ write_sha256: string; blob: Uint8Array }>('SELECT write_sha256, blob FROM escrow WHERE account = $1', [account]);
  }

  async deleteEscrow(account: string): Promise<void> {
    await this.pool.query('DELETE FROM escrow WHERE account = $1', [account]);
  }

  async putEscrow(account: string, writeSha256: string, blob: Uint8Array, now: number): Promise<void> {
    await this.pool.query(
      'INSERT INTO escrow (account, write_sha256, blob, updated) VALUES ($1, $2, $3, $4) ON CONFLICT (account) DO UPDATE SET blob = excluded.blob, updated = excluded.updated',
      [account, writeSha256, buf(blob), now],
    );
  }

  // --- event notices and push subscriptions ---------------------------------------------

  async putEvent(device: string, clip: string, ref: string, sealed: Uint8Array, signature: string, now: number): Promise<{ result: 'stored' | 'duplicate' | 'conflict'; ref: string }> {
    const r = await this.pool.query('INSERT INTO events (device, clip, ref, sealed, signature, created) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING', [
      device,
      clip,
      ref,
      buf(sealed),
      signature,
      now,
    ]);
    if (r.rowCount === 1) return { result: 'stored', ref };
    const have = await this.one<{ ref: string; sealed: Buffer; signature: string }>('SELECT ref, sealed, signature FROM events WHERE device = $1 AND clip = $2', [device, clip]);
    if (!have) throw new Error('the event could not be stored (its reference is taken)');
    const same = Buffer.compare(have.sealed, buf(sealed)) === 0 && have.signature === signature;
    return { result: same ? 'duplicate' : 'conflict', ref: have.ref };
  }

  async eventByRef(device: string, ref: string): Promise<EventRow | undefined> {
    const row = await this.one<EventRow & { sealed: Buffer }>('SELECT * FROM events WHERE device = $1 AND ref = $2', [device, ref]);
    return row ? { ...row, sealed: new Uint8Array(row.sealed) } : undefined;
  }

  async eventByClip(device: string, clip: string): Promise<EventRow | undefined> {
    const row = await this.one<EventRow & { sealed: Buffer }>('SELECT * FROM events WHERE device = $1 AND clip = $2', [device, clip]);
    return row ? { ...row, sealed: new Uint8Array(row.sealed) } : undefined;
  }

  async putSubscription(s: PushSubscriptionRow): Promise<void> {
    await this.pool.query(
      'INSERT INTO push_subscriptions (device, endpoint, phone, p256dh, auth, created) VALUES ($1, $2, $3, $4, $5, $6) ' +
        'ON CONFLICT (device, endpoint) DO UPDATE SET phone = excluded.phone, p256dh = excluded.p256dh, auth = excluded.auth, created = excluded.created',
      [s.device, s.endpoint, s.phone, s.p256dh, s.auth, s.created],
    );
  }

  subscriptions(device: string) {
    return this.all<PushSubscriptionRow>('SELECT * FROM push_subscriptions WHERE device = $1 ORDER BY created', [device]);
  }

  async deleteSubscription(device: string, endpoint: string): Promise<boolean> {
    return (await this.pool.query('DELETE FROM push_subscriptions WHERE device = $1 AND endpoint = $2', [device, endpoint])).rowCount === 1;
  }

  /** The first relay process's keys are everyone's (a subscription made through one is pushed to by any). */
  async vapidKeys(make: () => VapidKeys): Promise<VapidKeys> {
    const k = make();
    await this.pool.query('INSERT INTO vapid_keys (id, public_key, private_key) VALUES (1, $1, $2) ON CONFLICT DO NOTHING', [k.publicKey, k.privateKey]);
    const row = (await this.one<{ public_key: string; private_key: string }>('SELECT public_key, private_key FROM vapid_keys WHERE id = 1', []))!;
    return { publicKey: row.public_key, privateKey: row.private_key };
  }

  // --- signed settings ------------------------------------------------------------------

  async settingsEntry(device: string, name: SettingsEntry): Promise<Uint8Array | undefined> {
    return (await this.one<{ value: Buffer }>('SELECT value FROM device_settings WHERE device = $1 AND name = $2', [device, name]))?.value;
  }

  async putSettingsEntry(device: string, name: SettingsEntry, bytes: Uint8Array): Promise<void> {
    await this.pool.query('INSERT INTO device_settings (device, name, value) VALUES ($1, $2, $3) ON CONFLICT (device, name) DO UPDATE SET value = excluded.value', [
      device,
      name,
      buf(bytes),
    ]);
  }

  async deleteSettingsEntry(device: string, name: SettingsEntry): Promise<void> {
    await this.pool.query('DELETE FROM device_settings WHERE device = $1 AND name = $2', [device, name]);
  }

  // --- retention, deletion and the quota -------------------------------------------------------

  ownerRequests(device: string) {
    return this.all<OwnerRequestRow>('SELECT * FROM owner_requests WHERE device = $1 ORDER BY epoch', [device]);
  }

  async lastOwnerEpoch(device: string): Promise<number> {
    return (await this.one<{ e: number | null }>('SELECT MAX(epoch) AS e FROM owner_requests WHERE device = $1', [device]))?.e ?? 0;
  }

  retentionPolicies() {
    return this.all<OwnerRequestRow>(
      "SELECT DISTINCT ON (device) * FROM owner_requests WHERE type = 'retention' ORDER BY device, epoch DESC",
      [],
    );
  }

  /**
   * One transaction, the device's requests serialised between relay processes (a lock on
   * the device): the epoch check, the request, each clip's segments (their rows and bytes
   * go), counts, state. The deleted bytes stay in PostgreSQL's dead row versions until
   * vacuum reuses their space (docs/relay-operations.md).
   */
  deleteClips(device: string, clips: ClipDeletion[], request: Omit<OwnerRequestRow, 'device'> | undefined, now: number): Promise<Map<string, number> | undefined> {
    return this.tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [DEVICE_LOCK, device]);
      if (request) {
        const last = ((await c.query('SELECT MAX(epoch) AS e FROM owner_requests WHERE device = $1', [device])).rows[0] as { e: number | null }).e ?? 0;
        if (request.epoch <= last) return undefined;
        await c.query('INSERT INTO owner_requests (device, epoch, type, request, signature, received) VALUES ($1, $2, $3, $4, $5, $6)', [
          device,
          request.epoch,
          request.type,
          buf(request.request),
          request.signature,
          request.received,
        ]);
      }
      const freed = new Map<string, number>();
      for (const d of clips) {
        // The row lock also waits for a segment batch committing to this clip right now.
        const row = (await c.query('SELECT bytes, state FROM clips WHERE device = $1 AND clip = $2 FOR UPDATE', [device, d.clip])).rows[0] as
          | { bytes: number; state: ClipState }
          | undefined;
        // A retention sweep's clip another process's sweep expired first (after the lock: its commit is seen): not this one's to count.
        if (!row || (d.unlessGone && (row.state === 'deleted' || row.state === 'expired'))) continue;
        await c.query('DELETE FROM segments WHERE device = $1 AND clip = $2', [device, d.clip]);
        // its event notice is ciphertext of the clip's poster: it goes with the clip
        await c.query('DELETE FROM events WHERE device = $1 AND clip = $2', [device, d.clip]);
        await c.query(
          'UPDATE clips SET state = $1, reason = $2, segments = 0, bytes = 0, manifest = CASE WHEN $3 THEN manifest END, signature = CASE WHEN $3 THEN signature END, updated = $4 WHERE device = $5 AND clip = $6',
          [d.state, d.reason, d.keepManifest, now, device, d.clip],
        );
        freed.set(d.clip, row.bytes);
      }
      return freed;
    });
  }

  strayDeletedClips() {
    return this.all<ClipRow>("SELECT * FROM clips WHERE state IN ('deleted', 'expired') AND segments > 0", []);
  }

  bytesByDevice() {
    return this.all<{ device: string; bytes: number }>('SELECT device, SUM(bytes)::bigint AS bytes FROM clips GROUP BY device', []);
  }

  async bytesOf(devices: string[]): Promise<number> {
    return (await this.one<{ n: number }>('SELECT COALESCE(SUM(bytes), 0)::bigint AS n FROM clips WHERE device = ANY($1::text[])', [devices]))!.n;
  }

  async authorityOf(device: string): Promise<string | undefined> {
    return (await this.one<{ authority_id: string }>('SELECT authority_id FROM held_rosters WHERE device = $1', [device]))?.authority_id;
  }

  // --- phone login challenges and sessions (SHA-256 only), firmware updates ---------------

  async putChallenge(c: ChallengeRow, limits: { perSource: number; total: number }, now: number): Promise<'stored' | 'source' | 'full'> {
    const n = (await this.one<{ mine: number; total: number }>(
      'SELECT COUNT(*) FILTER (WHERE source = $1)::int AS mine, COUNT(*)::int AS total FROM phone_challenges WHERE expires >= $2',
      [c.source, now],
    ))!;
    if (n.mine >= limits.perSource) return 'source';
    if (n.total >= limits.total) return 'full';
    await this.pool.query(
      'INSERT INTO phone_challenges (sha256, device, source, expires) VALUES ($1, $2, $3, $4) ON CONFLICT (sha256) DO UPDATE SET device = excluded.device, source = excluded.source, expires = excluded.expires',
      [c.sha256, c.device, c.source, c.expires],
    );
    return 'stored';
  }

  async takeChallenge(sha256: string): Promise<ChallengeRow | undefined> {
    return this.one<ChallengeRow>('DELETE FROM phone_challenges WHERE sha256 = $1 RETURNING sha256, device, source, expires', [sha256]);
  }

  async putPhoneSession(s: PhoneSessionRow, max: number, now: number): Promise<boolean> {
    const n = (await this.one<{ n: number }>('SELECT COUNT(*)::int AS n FROM phone_sessions WHERE expires >= $1', [now]))!.n;
    if (n >= max) return false;
    await this.pool.query('INSERT INTO phone_sessions (token_sha256, device, public_key, expires) VALUES ($1, $2, $3, $4)', [s.tokenSha256, s.device, s.publicKey, s.expires]);
    return true;
  }

  private static readonly SESSION = 'SELECT token_sha256 AS "tokenSha256", device, public_key AS "publicKey", expires FROM phone_sessions';

  async phoneSession(tokenSha256: string): Promise<PhoneSessionRow | undefined> {
    return this.one<PhoneSessionRow>(`${PgRelayStore.SESSION} WHERE token_sha256 = $1`, [tokenSha256]);
  }

  async phoneSessionsOf(device: string): Promise<PhoneSessionRow[]> {
    return this.all<PhoneSessionRow>(`${PgRelayStore.SESSION} WHERE device = $1`, [device]);
  }

  async deletePhoneSession(tokenSha256: string): Promise<void> {
    await this.pool.query('DELETE FROM phone_sessions WHERE token_sha256 = $1', [tokenSha256]);
  }

  async sweepPhoneLogins(now: number): Promise<void> {
    await this.pool.query('DELETE FROM phone_challenges WHERE expires < $1', [now]);
    await this.pool.query('DELETE FROM phone_sessions WHERE expires < $1', [now]);
  }

  async updateEntry(device: string, name: UpdateEntry): Promise<Uint8Array | undefined> {
    return (await this.one<{ value: Buffer }>('SELECT value FROM device_updates WHERE device = $1 AND name = $2', [device, name]))?.value;
  }

  async updateEntryPiece(device: string, name: UpdateEntry, offset: number, length: number): Promise<Uint8Array | undefined> {
    // substring counts from 1
    const row = await this.one<{ piece: Buffer }>('SELECT substring(value FROM $3::int FOR $4::int) AS piece FROM device_updates WHERE device = $1 AND name = $2', [
      device,
      name,
      offset + 1,
      length,
    ]);
    return row?.piece;
  }

  async putUpdateEntry(device: string, name: UpdateEntry, bytes: Uint8Array): Promise<void> {
    await this.pool.query('INSERT INTO device_updates (device, name, value) VALUES ($1, $2, $3) ON CONFLICT (device, name) DO UPDATE SET value = excluded.value', [
      device,
      name,
      Buffer.from(bytes),
    ]);
  }

  async deleteUpdateEntry(device: string, name: UpdateEntry): Promise<void> {
    await this.pool.query('DELETE FROM device_updates WHERE device = $1 AND name = $2', [device, name]);
  }
}

/** The first key of the advisory lock that serialises one device's owner requests (the second: the device id's hash). */
const DEVICE_LOCK = 0x5ea1;

async function replacePhoneKeys(c: pg.PoolClient, device: string, keys: string[]): Promise<void> {
  await c.query('DELETE FROM phone_keys WHERE device = $1', [device]);
  if (keys.length) await c.query('INSERT INTO phone_keys (device, public_key) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING', [device, keys]);
}
