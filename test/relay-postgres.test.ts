/**
 * Several relay processes on one PostgreSQL database (`sealbell relay --db
 * postgres://…`, docs/relay-operations.md). A throwaway PostgreSQL server
 * (test/pg-cluster.ts) and two relay processes of their own (`sealbell relay`,
 * as an operator runs them) share it:
 *
 * - a doorbell on relay A, its phones on relay B: clips arrive, list and open,
 *   follow events arrive, the owner's roster update reaches the doorbell (and
 *   takes the removed phone's access away at B), live view works through the
 *   hop from B to A;
 * - phone sessions and login challenges are in the database: a phone that logs
 *   in at A uses its session at B (clips, follow, live view), a challenge A
 *   issued is answered at B (once), and a phone the owner removes at A loses
 *   its session at both while its follow socket on B is closed (4401);
 * - relay A killed with SIGKILL mid-upload: every segment a doorbell saw
 *   acknowledged is in the database bit for bit, and the doorbell carries on
 *   through relay B (a failover proxy in front of both stands in for the
 *   operator's load balancer) until its clip is whole.
 *
 *   SEED=<seed> npx mocha dist/test/relay-postgres.test.js   replays the kill point
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import WebSocket from 'ws';
import { loadOrCreateIdentity } from '../src/device/identity.js';
import { newDeviceCredential, registerDevice } from '../tools/relay/owner-client.js';
import { PhoneClient, publishRoster } from '../tools/relay/phone-client.js';
import { startRelayProcess, type RelayProcess } from '../tools/bench/relay-process.js';
import { SEALED_CHUNK_SIZE, WireDoorbell } from '../tools/bench/wire-doorbell.js';
import { ADMIN_TOKEN, drive, expectApiError } from './relay-helpers.js';
import { alice, bob, liveSetUp, rosterBundle, rosterOf, watch } from './live-helpers.js';
import { opens } from './setup-fixtures.js';
import { eventually } from './cli-helpers.js';
import type { RecordedClip } from './helpers.js';
import { MemoryStore, tempDir } from './helpers.js';
import { prng, seededRandom } from './seeded.js';
import { startPgCluster, type PgCluster } from './pg-cluster.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { authMessage } from '../tools/relay/phone-auth.js';
import { relayJson } from '../tools/relay/client-http.js';
import { tokenHash } from '../tools/relay/tokens.js';

const portOf = (url: string) => Number(new URL(url).port);

/** A TCP proxy that sends each new connection to the first of `targets` that accepts it (a load balancer's failover). */
async function failoverProxy(targets: number[]): Promise<{ url: string; uplinkUrl: string; close: () => void }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    client.pause();
    sockets.add(client);
    client.on('error', () => {});
    const attempt = (i: number) => {
      if (i >= targets.length) return client.destroy();
      const upstream = net.connect(targets[i], '127.0.0.1');
      upstream.once('error', () => attempt(i + 1));
      upstream.once('connect', () => {
        sockets.add(upstream);
        upstream.on('error', () => {});
        upstream.on('close', () => client.destroy());
        client.on('close', () => upstream.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    attempt(0);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    uplinkUrl: `ws://127.0.0.1:${port}/v1/uplink`,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/** The HTTP status a WebSocket upgrade is answered with (101 when it opens). */
function upgradeStatus(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('open', () => {
      resolve(101);
      ws.terminate();
    });
    ws.once('error', (e) => reject(e));
  });
}

describe('relay on PostgreSQL: two relay processes on one database', function () {
  this.timeout(300_000);
  let cluster: PgCluster;
  const relays: RelayProcess[] = [];
  const startRelayOn = async (db: string) => {
    const r = await startRelayProcess(tempDir('relay-pg'), ADMIN_TOKEN, 60_000, ['--db', db]);
    relays.push(r);
    return r;
  };

  before(async () => {
    cluster = await startPgCluster();
  });
  afterEach(async () => {
    await Promise.all(relays.splice(0).map((r) => r.kill()));
  });
  after(async () => {
    await cluster?.stop();
  });

  it('a doorbell on relay A, its phones on relay B: clips, follow events, roster updates and live view all work', async () => {
    const db = await cluster.createDatabase('two_relays');
    const [a, b] = [await startRelayOn(db), await startRelayOn(db)];
    const env = await liveSetUp('pg/two-relays', { relay: { url: a.url, uplinkUrl: a.uplinkUrl, port: portOf(a.url) }, phones: [alice, bob] });
    const { dev, clock } = env;
    try {
      // Follow on B; the doorbell records on A.
      const phone = await PhoneClient.login(b.url, dev.id, alice.auth);
      const events: string[] = [];
      const following = await phone.follow((e) => (e.t === 'clip' ? events.push(`${e.clip} ${e.state}`) : undefined));
      const id = dev.recordClip(clock.now, 20);
      await drive(clock, [dev], () => events.includes(`${id} verified`), { what: 'the follow event at relay B' });
      assert.deepEqual(events, [`${id} receiving`, `${id} verified`]);
      following.close();
      // Listed, downloaded and opened through B.
      const listed = await phone.clips();
      assert.deepEqual(
        listed.map((c) => [c.clip, c.state]),
        [[id, 'verified']],
      );
      const dir = tempDir('phone-pg');
      const got = await phone.download(id, dir, { devicePub: dev.identity.publicKeyText });
      assert.equal(got.checked, true);
      const age = new Uint8Array(fs.readFileSync(got.age));
      assert.deepEqual(age, dev.sealedAge(id));
      const clip = { age, manifest: new Uint8Array(fs.readFileSync(got.manifest!)), signature: fs.readFileSync(got.signature!, 'utf8') } as unknown as RecordedClip;
      assert.equal(opens(clip, alice.identity, dev.identity.publicKeyText), true, 'alice opens the clip she fetched from B');

      // Live view: the phone's socket on B, the doorbell's uplink on A.
      const live = await watch({ ...env, relay: { ...env.relay, url: b.url } }, alice, { frames: 3 });
      assert.equal(live.error, undefined, String(live.error));
      assert.ok(live.frames.length >= 3, `${live.frames.length} live frames through the hop`);

      // The hop endpoint is for relay processes only: a phone session or a guessed secret is refused.
      for (const token of [(phone as unknown as { token: string }).token, 'not-the-relay-secret-0123456789abcdefghijkl']) {
        const status = await upgradeStatus(`${a.url.replace(/^http/, 'ws')}/v1/internal/live/${dev.id}`, {
          authorization: `Bearer ${token}`,
          'sealbell-phone': Buffer.from(alice.auth.publicKey).toString('base64'),
        });
        assert.equal(status, 401, 'a hop without the relay processes\' secret');
      }

      // The owner removes bob at B; the doorbell on A takes the update, and bob is out at both.
      const r1 = rosterOf(dev.id, 1, [alice, bob]);
      const epoch = await publishRoster(b.url, dev.id, rosterBundle(rosterOf(dev.id, 2, [alice], r1)));
      assert.equal(epoch, 2);
      await drive(clock, [dev], () => env.rosters.load()?.roster.epoch === 2, { what: 'the roster update reaching the doorbell on A' });
      const owner = await PhoneClient.login(b.url, dev.id, alice.auth);
      await eventually('B says the doorbell holds epoch 2', async () => {
        dev.uplink.tick(clock.now);
        return (await owner.heldRoster()).epoch === 2;
      });
      await expectApiError(PhoneClient.login(b.url, dev.id, bob.auth), 403, 'PHONE_NOT_ALLOWED');
      await expectApiError(PhoneClient.login(a.url, dev.id, bob.auth), 403, 'PHONE_NOT_ALLOWED');
    } finally {
      dev.uplink.stop();
    }
  });

  it('phone sessions work at every process: a login at A is used at B (clips, follow, live), a challenge from A is answered at B, a phone removed at A loses its session at both and its follow socket on B closes', async () => {
    const db = await cluster.createDatabase('sessions');
    const [a, b] = [await startRelayOn(db), await startRelayOn(db)];
    const env = await liveSetUp('pg/sessions', { relay: { url: a.url, uplinkUrl: a.uplinkUrl, port: portOf(a.url) }, phones: [alice, bob] });
    const { dev, clock } = env;
    const sql = new pg.Client({ connectionString: db });
    await sql.connect();
    try {
      // alice logs in at A; her next requests reach B (a load balancer without sticky sessions).
      const atA = await PhoneClient.login(a.url, dev.id, alice.auth);
      const atB = atA.at(b.url);
      const events: string[] = [];
      const following = await atB.follow((e) => (e.t === 'clip' ? events.push(`${e.clip} ${e.state}`) : undefined));
      const id = dev.recordClip(clock.now, 20);
      await drive(clock, [dev], () => events.includes(`${id} verified`), { what: 'the follow event at relay B, on a session made at A' });
      following.close();
      assert.deepEqual(
        (await atB.clips()).map((c) => [c.clip, c.state]),
        [[id, 'verified']],
      );
      const live = await watch({ ...env, relay: { ...env.relay, url: b.url } }, alice, { frames: 3, client: atB });
      assert.equal(live.error, undefined, String(live.error));
      assert.ok(live.frames.length >= 3, `${live.frames.length} live frames at B on a session made at A`);
      // The database keeps SHA-256 of the token, never the token.
      const token = (atA as unknown as { token: string }).token;
      const rows = (await sql.query('SELECT * FROM phone_sessions')).rows as Record<string, unknown>[];
      assert.ok(rows.some((r) => r.token_sha256 === tokenHash(token)));
      assert.ok(!JSON.stringify(rows).includes(token), 'no session token in the database');

      // A challenge A issued, answered at B (signed for B's origin, as a phone does for the relay it posts to); used up there.
      const base = `v1/devices/${dev.id}/auth`;
      const { challenge } = await relayJson<{ challenge: string }>(a.url, `${base}/challenge`, { method: 'POST' });
      const signature = ed25519.sign(authMessage(new Uint8Array(Buffer.from(challenge, 'base64')), new URL(b.url).origin), alice.auth.secretKey);
      const answer = { challenge, publicKey: Buffer.from(alice.auth.publicKey).toString('base64'), signature: Buffer.from(signature).toString('base64') };
      const { token: fromB } = await relayJson<{ token: string }>(b.url, `${base}/session`, { method: 'POST', json: answer });
      assert.equal((await relayJson<{ clips: unknown[] }>(a.url, `v1/devices/${dev.id}/clips`, { token: fromB })).clips.length, 1, 'the session made at B works at A');
      await expectApiError(relayJson(b.url, `${base}/session`, { method: 'POST', json: answer }), 401, 'BAD_CHALLENGE');
      await expectApiError(relayJson(a.url, `${base}/session`, { method: 'POST', json: answer }), 401, 'BAD_CHALLENGE');

      // bob logs in at B and follows there; the owner removes him with a roster update published at A.
      const bobB = await PhoneClient.login(b.url, dev.id, bob.auth);
      const bobA = bobB.at(a.url);
      assert.equal((await bobA.clips()).length, 1);
      const bobFollowing = await bobB.follow(() => {});
      const r1 = rosterOf(dev.id, 1, [alice, bob]);
      assert.equal(await publishRoster(a.url, dev.id, rosterBundle(rosterOf(dev.id, 2, [alice], r1))), 2);
      const closed = await bobFollowing.closed;
      assert.equal(closed.code, 4401, 'bob\'s follow socket on B is closed when A takes his phone out');
      await expectApiError(bobA.clips(), 401, 'UNAUTHENTICATED');
      await expectApiError(bobB.clips(), 401, 'UNAUTHENTICATED');
      const bobKey = Buffer.from(bob.auth.publicKey).toString('base64');
      assert.equal((await sql.query('SELECT COUNT(*)::int AS n FROM phone_sessions WHERE public_key = $1', [bobKey])).rows[0].n, 0, 'his sessions are deleted');
      // alice stays in, at both.
      assert.equal((await atA.clips()).length, 1);
      assert.equal((await atB.clips()).length, 1);
    } finally {
      dev.uplink.stop();
      await sql.end();
    }
  });

  it('relay A killed with SIGKILL mid-upload: nothing acknowledged is lost, and the doorbell carries on through relay B', async () => {
    const seed = process.env.SEED ?? randomBytes(6).toString('hex');
    console.log(`      seed ${seed} (replay: SEED=${seed})`);
    const rand = prng(Number.parseInt(seed.slice(0, 8), 16) || 1);
    const db = await cluster.createDatabase('failover');
    const [a, b] = [await startRelayOn(db), await startRelayOn(db)];
    const proxy = await failoverProxy([portOf(a.url), portOf(b.url)]);
    const SEGMENTS = 120;
    const segment = (clip: string, index: number) => seededRandom(`${seed}/${clip}/${index}`)(SEALED_CHUNK_SIZE);
    const identity = loadOrCreateIdentity(new MemoryStore(), seededRandom(`${seed}/doorbell`));
    const credential = newDeviceCredential();
    await registerDevice(a.url, ADMIN_TOKEN, { credential, publicKey: identity.publicKeyText });
    const acked = new Set<number>();
    const killAfter = 1 + rand.int(SEGMENTS / 2);
    let acks = 0;
    try {
      const first = await new WireDoorbell({
        uplinkUrl: proxy.uplinkUrl,
        credential,
        window: 8,
        segment,
        onAck: (_clip, index) => {
          acked.add(index);
          if (++acks === killAfter) a.child.kill('SIGKILL');
        },
      }).stream('clip-1', SEGMENTS);
      await a.exited;
      assert.equal(a.child.signalCode, 'SIGKILL');
      assert.equal(first.end, 'closed', 'relay A was killed before the doorbell finished');
      const pool = new pg.Pool({ connectionString: db });
      try {
        const stored = async () =>
          new Map(
            ((await pool.query("SELECT idx, data FROM segments WHERE clip = 'clip-1'")).rows as { idx: number; data: Buffer }[]).map((r) => [r.idx, r.data]),
          );
        const afterKill = await stored();
        for (const idx of acked) {
          assert.ok(afterKill.has(idx), `acknowledged segment ${idx} is not in the database after the kill (seed ${seed})`);
          assert.deepEqual(new Uint8Array(afterKill.get(idx)!), segment('clip-1', idx), `segment ${idx} differs (seed ${seed})`);
        }
        // The doorbell reconnects (to the same address) and resumes from its first unacknowledged segment: B takes it.
        let from = 0;
        while (acked.has(from)) from++;
        const second = await new WireDoorbell({ uplinkUrl: proxy.uplinkUrl, credential, window: 8, segment, onAck: (_c, i) => acked.add(i) }).stream(
          'clip-1',
          SEGMENTS - from,
          from,
        );
        assert.equal(second.end, 'done', 'relay B took the rest of the clip');
        const all = await stored();
        assert.equal(all.size, SEGMENTS);
        for (let i = 0; i < SEGMENTS; i++) assert.deepEqual(new Uint8Array(all.get(i)!), segment('clip-1', i), `segment ${i} (seed ${seed})`);
        const row = (await pool.query("SELECT segments, bytes FROM clips WHERE clip = 'clip-1'")).rows[0] as { segments: number; bytes: string };
        assert.deepEqual([row.segments, Number(row.bytes)], [SEGMENTS, SEGMENTS * SEALED_CHUNK_SIZE], 'the clip counts each segment once');
      } finally {
        await pool.end();
      }
    } finally {
      proxy.close();
    }
  });
});
