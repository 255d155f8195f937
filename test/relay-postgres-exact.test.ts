/**
 * Several relay processes on one PostgreSQL database, where each used to act on what it alone
 * had seen (issue 16, docs/relay-operations.md "Several relays on PostgreSQL"):
 *
 * - the operator's quota: two `sealbell relay --db … --quota-mb 1` processes, two doorbells of
 *   one account (their held rosters name one account authority), one on each, both uploading
 *   at once more than the account may keep. Each process used to count from its own memory and
 *   admit up to the quota by itself (twice the quota in all); now the commit that stores a
 *   segment admits it, under a lock on the account every process takes: the account keeps at
 *   most the quota (exactly as many whole segments as fit), every segment is either
 *   acknowledged and stored bit for bit or refused with QUOTA_EXCEEDED, and the processes'
 *   /metrics count each refusal once;
 * - retention: both processes sweep, and both may list a clip as due before either expires
 *   it. Only the one that expires it logs and counts it: once with the two sweeps held until
 *   both have listed the clips (the interleaving that used to log it twice), and once with two
 *   relays sweeping at the same moment.
 *
 * No sleeps: every wait is for an event (an answer, both sweeps having listed).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { loadOrCreateIdentity } from '../src/device/identity.js';
import { signingKeyFromSeed } from '../src/minisign.js';
import { newDeviceCredential, registerDevice } from '../tools/relay/owner-client.js';
import { startRelayProcess, type RelayProcess } from '../tools/bench/relay-process.js';
import { SEALED_CHUNK_SIZE, WireDoorbell } from '../tools/bench/wire-doorbell.js';
import { signOwnerRequest } from '../tools/owner-request.js';
import { PgRelayStore } from '../tools/relay/pg-store.js';
import { GroupCommit } from '../tools/relay/group-commit.js';
import { ClipDeleter } from '../tools/relay/deletions.js';
import { RetentionSweeper } from '../tools/relay/retention.js';
import { RelayMetrics } from '../tools/relay/metrics.js';
import { startRelay, type Relay } from '../tools/relay/server.js';
import { ADMIN_TOKEN } from './relay-helpers.js';
import { MemoryStore, tempDir } from './helpers.js';
import { seededRandom } from './seeded.js';
import { startPgCluster, type PgCluster } from './pg-cluster.js';

const DAY = 86_400_000;
const MiB = 1024 * 1024;

/** What /metrics says for one series (0 when absent). */
async function metric(url: string, series: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

const metricIn = (m: RelayMetrics, series: string): number => {
  const line = m.render().split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
};

/** A retention of one day for `device`, signed by a throwaway account authority, as the relay keeps it. */
function retentionRow(device: string, time: number) {
  const signed = signOwnerRequest({ v: 1, type: 'retention', device, epoch: 1, time, maxAgeDays: 1, maxBytes: null }, signingKeyFromSeed(randomBytes(32)));
  return { bytes: Buffer.from(signed.bytes), signature: signed.signature };
}

/** A doorbell's retention of one day, a clip three days old (expired under it) with one segment of `size` bytes, and a fresh one (kept). */
async function seedRetention(sql: pg.Client, device: string, now: number, size: number): Promise<void> {
  const r = retentionRow(device, now - 10 * DAY);
  await sql.query("INSERT INTO owner_requests (device, epoch, type, request, signature, received) VALUES ($1, 1, 'retention', $2, $3, $4)", [device, r.bytes, r.signature, now - 10 * DAY]);
  const data = randomBytes(size);
  for (const [clip, at] of [
    ['clip-old', now - 3 * DAY],
    ['clip-new', now],
  ] as const) {
    await sql.query("INSERT INTO clips (device, clip, epoch, state, segments, bytes, created, updated) VALUES ($1, $2, 1, 'incomplete', 1, $3, $4, $4)", [device, clip, size, at]);
    await sql.query('INSERT INTO segments (device, clip, idx, size, sha256, data) VALUES ($1, $2, 0, $3, $4, $5)', [device, clip, size, createHash('sha256').update(data).digest('hex'), data]);
  }
}

const EXPIRED = /clip\(s\) expired under the owner's retention/;

describe('relay on PostgreSQL: the quota and retention are exact across relay processes', function () {
  this.timeout(300_000);
  let cluster: PgCluster;
  const processes: RelayProcess[] = [];
  const relays: Relay[] = [];
  const clients: pg.Client[] = [];
  const sqlOn = async (db: string) => {
    const c = new pg.Client({ connectionString: db });
    await c.connect();
    clients.push(c);
    return c;
  };

  before(async () => {
    cluster = await startPgCluster();
  });
  afterEach(async () => {
    await Promise.all(processes.splice(0).map((r) => r.kill()));
    await Promise.all(relays.splice(0).map((r) => r.close()));
    await Promise.all(clients.splice(0).map((c) => c.end()));
  });
  after(async () => {
    await cluster?.stop();
  });

  it('two processes admitting uploads to one account at once: the account keeps at most its quota, every other segment is refused with QUOTA_EXCEEDED', async () => {
    const db = await cluster.createDatabase('quota_two_relays');
    for (let i = 0; i < 2; i++) processes.push(await startRelayProcess(tempDir('relay-pg-quota'), ADMIN_TOKEN, 60_000, ['--db', db, '--quota-mb', '1']));
    const [a, b] = processes;
    const sql = await sqlOn(db);
    // Two doorbells of one account: each holds a roster of the same account authority (as the relay records a checked one).
    const doorbells = [];
    for (const [i, relay] of [a, b].entries()) {
      const identity = loadOrCreateIdentity(new MemoryStore(), seededRandom(`quota/doorbell-${i}`));
      const credential = newDeviceCredential();
      const id = await registerDevice(relay.url, ADMIN_TOKEN, { credential, publicKey: identity.publicKeyText });
      await sql.query("INSERT INTO held_rosters (device, authority_id, authority, epoch, bundle, ack, updated) VALUES ($1, '0123456789ABCDEF', $2, 1, '\\x00', 'ack', 0)", [
        id,
        Buffer.alloc(32),
      ]);
      doorbells.push({ id, credential, relay });
    }
    // Each uploads 16 segments, as much as the whole quota: the account can keep 15 of the 32.
    const SEGMENTS = 16;
    const fits = Math.floor(MiB / SEALED_CHUNK_SIZE);
    assert.equal(fits, 15);
    const segment = (clip: string, index: number) => seededRandom(`quota/${clip}/${index}`)(SEALED_CHUNK_SIZE);
    const codes: string[] = [];
    const results = await Promise.all(
      doorbells.map((d, i) =>
        new WireDoorbell({ uplinkUrl: d.relay.uplinkUrl, credential: d.credential, window: 8, segment, onQuota: (_clip, _seg, code) => codes.push(code) }).stream(`clip-${i}`, SEGMENTS),
      ),
    );
    for (const r of results) assert.equal(r.end, 'done', 'every segment was acknowledged or refused');
    const acked = results.reduce((n, r) => n + r.acked.length, 0);
    const refused = results.reduce((n, r) => n + r.refused.length, 0);
    assert.equal(acked + refused, 2 * SEGMENTS);
    assert.equal(acked, fits, `the account keeps exactly the segments that fit (${results.map((r) => r.acked.length).join(' + ')} acknowledged)`);
    assert.ok(codes.length === refused && codes.every((c) => c === 'QUOTA_EXCEEDED'), `refusals: ${codes.join(', ')}`);

    // What the database holds: the acknowledged segments, bit for bit, and nothing over the quota.
    const total = Number((await sql.query('SELECT COALESCE(SUM(bytes), 0)::bigint AS n FROM clips')).rows[0].n);
    assert.ok(total <= MiB, `the account keeps ${total} bytes, over its quota of ${MiB}`);
    assert.equal(total, fits * SEALED_CHUNK_SIZE);
    for (const [i, r] of results.entries()) {
      const rows = (await sql.query('SELECT idx, data FROM segments WHERE device = $1 ORDER BY idx', [doorbells[i].id])).rows as { idx: number; data: Buffer }[];
      assert.deepEqual(
        rows.map((row) => row.idx),
        [...r.acked].sort((x, y) => x - y),
        `doorbell ${i}: the stored segments are the acknowledged ones`,
      );
      for (const row of rows) assert.deepEqual(new Uint8Array(row.data), segment(`clip-${i}`, row.idx));
    }
    // Each process counts the refusals it sent, once each.
    const counted = (await metric(a.url, 'sealbell_relay_refusals_total{reason="QUOTA_EXCEEDED"}')) + (await metric(b.url, 'sealbell_relay_refusals_total{reason="QUOTA_EXCEEDED"}'));
    assert.equal(counted, refused);
  });

  it('retention: both processes list a due clip before either expires it; only the one that expires it logs and counts it', async () => {
    const db = await cluster.createDatabase('retention_once');
    const now = Date.now();
    const device = '00112233445566AA';
    const sql = await sqlOn(db);
    const stores: PgRelayStore[] = [];
    try {
      for (let i = 0; i < 2; i++) stores.push(await PgRelayStore.open(db, tempDir('relay-pg-sweep')));
      await seedRetention(sql, device, now, 5000);
      // Each sweep waits, once it has listed the doorbell's clips, until the other has too.
      let listed = 0;
      let bothListed!: () => void;
      const both = new Promise<void>((resolve) => (bothListed = resolve));
      const logs: string[][] = [[], []];
      const metrics = [new RelayMetrics(() => 0), new RelayMetrics(() => 0)];
      const sweepers = stores.map((store, i) => {
        const gated: PgRelayStore = Object.create(store);
        gated.listClips = async (d: string) => {
          const rows = await store.listClips(d);
          if (++listed === 2) bothListed();
          await both;
          return rows;
        };
        const log = (l: string) => logs[i].push(l);
        const deleter = new ClipDeleter({ store: gated, commits: new GroupCommit(gated), log });
        return new RetentionSweeper({ store: gated, deleter, metrics: metrics[i], log, now: () => now });
      });
      for (const s of sweepers) s.sweep();
      await Promise.all(sweepers.map((s) => s.done()));
      assert.equal(listed, 2, 'both sweeps listed the clips before either expired one');
      const lines = logs.flat();
      assert.deepEqual(lines.filter((l) => /internal error/.test(l)), []);
      assert.deepEqual(
        lines.filter((l) => EXPIRED.test(l)),
        [`relay: device ${device}: 1 clip(s) expired under the owner's retention (epoch 1), 5000 bytes deleted`],
      );
      assert.equal(metricIn(metrics[0], 'sealbell_relay_clips_deleted_total{reason="retention"}') + metricIn(metrics[1], 'sealbell_relay_clips_deleted_total{reason="retention"}'), 1);
      assert.equal(metricIn(metrics[0], 'sealbell_relay_bytes_deleted_total{reason="retention"}') + metricIn(metrics[1], 'sealbell_relay_bytes_deleted_total{reason="retention"}'), 5000);
      const rows = (await sql.query('SELECT clip, state, segments, bytes FROM clips ORDER BY clip')).rows;
      assert.deepEqual(rows, [
        { clip: 'clip-new', state: 'incomplete', segments: 1, bytes: '5000' },
        { clip: 'clip-old', state: 'expired', segments: 0, bytes: '0' },
      ]);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('retention: two relays sweeping at the same moment log and count one expiry once between them', async () => {
    const db = await cluster.createDatabase('retention_two_relays');
    const now = Date.now();
    const logs: string[][] = [[], []];
    for (let i = 0; i < 2; i++) {
      relays.push(
        await startRelay({ port: 0, host: '127.0.0.1', dataDir: tempDir('relay-pg-retention'), adminToken: ADMIN_TOKEN, db, now: () => now, retentionIntervalMs: 3_600_000, log: (l) => logs[i].push(l) }),
      );
    }
    // Each swept once at its start; the doorbell's retention and clips come after.
    await Promise.all(relays.map((r) => r.sweepRetention()));
    const device = '00112233445566BB';
    await seedRetention(await sqlOn(db), device, now, 7000);
    await Promise.all(relays.map((r) => r.sweepRetention()));
    const lines = logs.flat().filter((l) => EXPIRED.test(l));
    assert.deepEqual(lines, [`relay: device ${device}: 1 clip(s) expired under the owner's retention (epoch 1), 7000 bytes deleted`]);
    let clips = 0;
    let bytes = 0;
    for (const r of relays) {
      clips += await metric(r.url, 'sealbell_relay_clips_deleted_total{reason="retention"}');
      bytes += await metric(r.url, 'sealbell_relay_bytes_deleted_total{reason="retention"}');
    }
    assert.deepEqual([clips, bytes], [1, 7000]);
  });
});
