// Issue 16, item 3: retention and deletion the owner controls, and the operator's quota, with
// the real relay on loopback, a hosted doorbell set up by its owner's phone, and the relay's
// clock moved by the test where ages matter.
//
// test/relay-postgres-suite.test.ts runs this file again with the store in PostgreSQL and two
// relay processes on it: the doorbell uploads to relay A, the owner's phone talks to relay B
// (its deletions, retention and listings go through B; A must see them: the quota A counts,
// the doorbell it tells that space was freed).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { keyIdHex, signingKeyFromSeed } from '../src/minisign.js';
import { utf8Decode } from '../src/bytes.js';
import { NodeDoorbell } from '../hosts/node/doorbell.js';
import { startRelay, type Relay } from '../tools/relay/server.js';
import { newToken } from '../tools/relay/tokens.js';
import { provision } from '../tools/provision.js';
import { phoneInit, phoneSetup } from '../tools/phone/index.js';
import { unlockAccount, type AccountKeys } from '../tools/phone/state.js';
import { authorityDevices, postOwnerRequest } from '../tools/relay/phone-client.js';
import { registerOnRelay } from '../tools/phone/relay-sync.js';
import { phoneClips, phoneFetch } from '../tools/phone/clips.js';
import { phoneDeleteClips } from '../tools/phone/owner-requests.js';
import { signOwnerRequest, toWire, type OwnerRequest } from '../tools/owner-request.js';
import { tempDir } from './helpers.js';
import { ok, sealbell } from './cli-helpers.js';
import { allFiles, expectApiError, movePhoneToRelay, startSecondRelay, testDbFor } from './relay-helpers.js';

const DAY = 86_400_000;

interface Env {
  /** the doorbell's relay */
  relay: Relay;
  /** the phone's relay: on PostgreSQL another relay process on the same database, else the same one */
  phoneRelay: Relay;
  stored: StoredPeek;
  dataDir: string;
  device: NodeDoorbell;
  deviceId: string;
  phoneDir: string;
  keys: AccountKeys;
  /** the account passphrase (the commands read it from $SEALBELL_PASSPHRASE) */
  passphrase: string;
  relayLog: string[];
  adminToken: string;
  /** the relay's clock runs this far ahead of the wall clock */
  clock: { offset: number };
  clip(): Promise<string>;
  close(): Promise<void>;
}

/** A doorbell set up by its owner's phone on a relay whose clock the test moves. */
async function setUp(name: string, o: { quotaBytes?: number; retentionIntervalMs?: number } = {}): Promise<Env> {
  const dir = tempDir(name);
  const at = (...p: string[]) => path.join(dir, ...p);
  const adminToken = newToken();
  const clock = { offset: 0 };
  const relayLog: string[] = [];
  const dataDir = at('relay');
  const db = await testDbFor(dataDir);
  const options = { port: 0, host: '127.0.0.1', adminToken, now: () => Date.now() + clock.offset, quotaBytes: o.quotaBytes, retentionIntervalMs: o.retentionIntervalMs, log: (l: string) => relayLog.push(l) };
  const relay = await startRelay({ ...options, dataDir, db });
  const second = await startSecondRelay(dataDir, options);
  const phoneRelay = second ?? relay;
  const stored = db ? new PgPeek(db) : new SqlitePeek(dataDir);
  const factory = await provision({ out: at('factory') });
  const device = new NodeDoorbell({ state: at('device'), verifier: factory.verifierRecord, fps: 5, clipSeconds: 1, simulatedStart: Date.now() });
  device.boot();
  const setupUrl = await device.setupUrl();
  const phoneDir = at('phone-1');
  const account = phoneInit(phoneDir, { name: 'phone 1', logN: 10 });
  const keys = unlockAccount(phoneDir, account.passphrase);
  const setup = await phoneSetup({ dir: phoneDir, endpoint: setupUrl!, code: factory.manualCode, wifi: { ssid: 'test', password: 'retention test pass' }, relayUrl: relay.url, account: keys });
  const deviceId = setup.deviceId;
  await registerOnRelay({ dir: phoneDir, deviceId, adminToken, account: keys });
  await device.until(async () => (await authorityDevices(relay.url, keyIdHex(keys.authority.keyId))).includes(deviceId), 'the doorbell connects');
  if (second) movePhoneToRelay(phoneDir, deviceId, second.url);
  const pool = device.app.doorbell.pool;
  await device.runUntil(() => pool.available === pool.size, 'clip headers prepared');
  /** Presses the button, records 1 s and waits until the relay has it (unless over the quota). */
  const clip = async (): Promise<string> => {
    await device.run(500);
    const id = device.press();
    assert.ok(id, 'the press started a clip');
    await device.runUntil(() => !device.app.doorbell.recording, 'the clip records');
    return id;
  };
  const close = async () => {
    await device.stop();
    await second?.close();
    await relay.close();
    await stored.close();
  };
  return { relay, phoneRelay, stored, dataDir, device, deviceId, phoneDir, keys, passphrase: account.passphrase, relayLog, adminToken, clock, clip, close };
}

type ClipRowSeen = { state: string; reason: string | null; segments: number; bytes: number; manifest: Uint8Array | null };

/** What the relay stores, looked at directly (and edited, as a hostile operator would): SQLite and its files, or PostgreSQL. */
interface StoredPeek {
  clipRow(device: string, clip: string): Promise<ClipRowSeen | undefined>;
  segmentRows(device: string, clip: string): Promise<number>;
  /** the clip's event notice rows (its sealed poster) */
  eventRows(device: string, clip: string): Promise<number>;
  /** Samples of a clip's ciphertext as the relay stored it: 64 bytes from each segment. */
  ciphertextSamples(device: string, clip: string): Promise<Buffer[]>;
  /** True when the relay still holds one of the samples: in a file of its (SQLite), in a row (PostgreSQL). */
  holds(samples: Buffer[]): Promise<boolean>;
  /** One statement, `?` for each parameter. */
  run(sql: string, ...params: unknown[]): Promise<void>;
  firstOwnerRequest(device: string): Promise<{ request: Uint8Array; signature: string }>;
  close(): Promise<void>;
}

class SqlitePeek implements StoredPeek {
  constructor(private readonly dataDir: string) {}

  private with<T>(fn: (d: Database.Database) => T): T {
    const d = new Database(path.join(this.dataDir, 'relay.sqlite'), { fileMustExist: true });
    try {
      return fn(d);
    } finally {
      d.close();
    }
  }

  async clipRow(device: string, clip: string) {
    return this.with((d) => d.prepare('SELECT state, reason, segments, bytes, manifest FROM clips WHERE device = ? AND clip = ?').get(device, clip) as ClipRowSeen | undefined);
  }

  async segmentRows(device: string, clip: string) {
    return this.with((d) => (d.prepare('SELECT COUNT(*) AS n FROM segments WHERE device = ? AND clip = ?').get(device, clip) as { n: number }).n);
  }

  async eventRows(device: string, clip: string) {
    return this.with((d) => (d.prepare('SELECT COUNT(*) AS n FROM events WHERE device = ? AND clip = ?').get(device, clip) as { n: number }).n);
  }

  async ciphertextSamples(device: string, clip: string) {
    const rows = this.with((d) => d.prepare('SELECT size, log, offset FROM segments WHERE device = ? AND clip = ?').all(device, clip) as { size: number; log: number; offset: number }[]);
    return rows.map((r) => {
      const fd = fs.openSync(path.join(this.dataDir, 'segments', `${String(r.log).padStart(8, '0')}.log`), 'r');
      try {
        const b = Buffer.alloc(Math.min(64, r.size));
        fs.readSync(fd, b, 0, b.length, r.offset + Math.max(0, r.size - 64));
        return b;
      } finally {
        fs.closeSync(fd);
      }
    });
  }

  async holds(samples: Buffer[]) {
    return allFiles(this.dataDir).some((f) => samples.some((s) => fs.readFileSync(f).includes(s)));
  }

  async run(sql: string, ...params: unknown[]) {
    this.with((d) => d.prepare(sql).run(...params));
  }

  async firstOwnerRequest(device: string) {
    return this.with((d) => d.prepare('SELECT request, signature FROM owner_requests WHERE device = ? ORDER BY epoch LIMIT 1').get(device) as { request: Uint8Array; signature: string });
  }

  async close() {}
}

class PgPeek implements StoredPeek {
  private readonly pool: pg.Pool;

  constructor(url: string) {
    this.pool = new pg.Pool({ connectionString: url, max: 2 });
  }

  private async all<T>(sql: string, params: unknown[]): Promise<T[]> {
    let n = 0;
    return (await this.pool.query(sql.replace(/\?/g, () => `$${++n}`), params)).rows as T[];
  }

  async clipRow(device: string, clip: string) {
    const [r] = await this.all<ClipRowSeen & { segments: number; bytes: string }>('SELECT state, reason, segments, bytes, manifest FROM clips WHERE device = ? AND clip = ?', [device, clip]);
    return r && { ...r, bytes: Number(r.bytes) };
  }

  async segmentRows(device: string, clip: string) {
    return Number((await this.all<{ n: string }>('SELECT COUNT(*) AS n FROM segments WHERE device = ? AND clip = ?', [device, clip]))[0].n);
  }

  async eventRows(device: string, clip: string) {
    return Number((await this.all<{ n: string }>('SELECT COUNT(*) AS n FROM events WHERE device = ? AND clip = ?', [device, clip]))[0].n);
  }

  async ciphertextSamples(device: string, clip: string) {
    return (await this.all<{ data: Buffer }>('SELECT data FROM segments WHERE device = ? AND clip = ?', [device, clip])).map((r) => r.data.subarray(Math.max(0, r.data.length - 64)));
  }

  /** Any row of the relay's (segments, events, clips…): the bytes of every table, searched. */
  async holds(samples: Buffer[]) {
    for (const s of samples) {
      const hit = await this.all('SELECT 1 FROM segments WHERE position($1::bytea IN data) > 0 LIMIT 1', [s]);
      if (hit.length) return true;
    }
    return false;
  }

  async run(sql: string, ...params: unknown[]) {
    await this.all(sql, params);
  }

  async firstOwnerRequest(device: string) {
    return (await this.all<{ request: Uint8Array; signature: string }>('SELECT request, signature FROM owner_requests WHERE device = ? ORDER BY epoch LIMIT 1', [device]))[0];
  }

  async close() {
    await this.pool.end();
  }
}

describe('retention and deletion the owner controls (issue 16)', function () {
  this.timeout(240_000);

  describe('owner deletion and hidden clips', function () {
    let env: Env;
    before(async () => {
      env = await setUp('retention-delete');
    });
    after(async () => env?.close());
    afterEach(function () {
      if (this.currentTest?.state === 'failed' && process.env.DEBUG_RETENTION) console.log(env.relayLog.slice(-40).join('\n'));
    });

    it('`phone delete` removes a clip from disk and database; phones do not report it, but do report a clip the relay drops on its own', async () => {
      const first = await env.clip();
      await env.device.drain(180_000);
      assert.deepEqual((await phoneClips(env.phoneDir))[0].notices, []); // the phone's chain now holds clip 1
      const second = await env.clip();
      const third = await env.clip();
      await env.device.drain(180_000);
      const samples = await env.stored.ciphertextSamples(env.deviceId, second);
      assert.ok(samples.length >= 2 && (await env.stored.holds(samples)), 'the clip is stored before');
      assert.equal(await env.stored.eventRows(env.deviceId, second), 1, 'with its event notice (the sealed poster)');

      const said = ok(await sealbell(['phone', 'delete', '--dir', env.phoneDir, '--device', env.deviceId, second], { env: { SEALBELL_PASSPHRASE: env.passphrase } }));
      assert.match(said, new RegExp(`^doorbell ${env.deviceId}: 1 clip\\(s\\) deleted at the relay, [1-9][0-9]* bytes \\(signed request epoch 1\\)$`, 'm'));
      await env.phoneRelay.sweepRetention(); // waits for the scrub too
      const row = (await env.stored.clipRow(env.deviceId, second))!;
      assert.deepEqual({ state: row.state, segments: row.segments, bytes: row.bytes, manifest: row.manifest }, { state: 'deleted', segments: 0, bytes: 0, manifest: null });
      assert.equal(await env.stored.segmentRows(env.deviceId, second), 0);
      assert.equal(await env.stored.eventRows(env.deviceId, second), 0, 'the event notice goes with the clip');
      assert.ok(!(await env.stored.holds(samples)), 'no file (no row) of the relay holds the deleted ciphertext');
      assert.ok(env.relayLog.some((l) => l.includes(`device ${env.deviceId}: the owner deleted 1 clip(s)`)), 'the relay logs the deletion');

      // The phone, whose chain stops at clip 1, fetches 3 after the owner's deletion of 2: no gap.
      const fetched = await phoneFetch({ dir: env.phoneDir, clip: third });
      assert.deepEqual([fetched.seq, fetched.notices], [3, []]);
      // Its listing says the same.
      const listing = (await phoneClips(env.phoneDir))[0];
      assert.deepEqual(listing.notices, []);
      assert.deepEqual(listing.clips.filter((c) => c.seq !== undefined).map((c) => [c.seq, c.clip]), [[1, first], [3, third]]);
      assert.equal(listing.clips.find((c) => c.clip === second)?.state, 'deleted');
      // A phone listing afresh sees no gap either.
      fs.rmSync(path.join(env.phoneDir, 'devices', env.deviceId, 'clip-chain.json'));
      assert.deepEqual((await phoneClips(env.phoneDir))[0].notices, []);

      // The relay drops clip 4 without any request (a hostile operator edits its database): reported.
      const fourth = await env.clip();
      await env.clip();
      await env.device.drain(180_000);
      await env.stored.run('DELETE FROM segments WHERE device = ? AND clip = ?', env.deviceId, fourth);
      await env.stored.run('DELETE FROM clips WHERE device = ? AND clip = ?', env.deviceId, fourth);
      const after = (await phoneClips(env.phoneDir))[0];
      assert.deepEqual(after.notices.map((n) => n.code), ['CLIPS_MISSING']);
      assert.match(after.notices[0].message, new RegExp(`^clip 4 of doorbell ${env.deviceId} are missing at the relay`));
    });

    it('unsigned, forged, replayed, misdirected and mismatched requests are refused with clear codes, and change nothing', async () => {
      const clip = await env.clip();
      await env.device.drain(180_000);
      const url = env.phoneRelay.url;
      const dev = env.deviceId;
      const req = (epoch: number, over: Partial<OwnerRequest> = {}): OwnerRequest =>
        ({ v: 1, type: 'delete', device: dev, epoch, time: Date.now(), clips: [{ clip, seq: null, manifest: null }], ...over }) as OwnerRequest;
      const signed = signOwnerRequest(req(100), env.keys.authority);
      // unsigned
      await expectApiError(postOwnerRequest(url, dev, { request: utf8Decode(signed.bytes), signature: '' }), 403, 'REQUEST_SIGNATURE');
      // signed by another key (what a relay or anyone without the account authority can make)
      const forger = signingKeyFromSeed(new Uint8Array(32).fill(7));
      await expectApiError(postOwnerRequest(url, dev, toWire(signOwnerRequest(req(100), forger))), 403, 'REQUEST_SIGNATURE');
      // altered after signing
      await expectApiError(postOwnerRequest(url, dev, { request: utf8Decode(signed.bytes).replace('"epoch":100', '"epoch":101'), signature: signed.signature }), 403, 'REQUEST_SIGNATURE');
      // for another doorbell
      await expectApiError(postOwnerRequest(url, dev, toWire(signOwnerRequest(req(100, { device: '0123456789ABCDEF' }), env.keys.authority))), 400, 'REQUEST_DEVICE');
      // not canonical
      await expectApiError(postOwnerRequest(url, dev, { request: utf8Decode(signed.bytes) + ' ', signature: signed.signature }), 400, 'REQUEST_FORMAT');
      // naming another manifest than the clip's
      const wrong = signOwnerRequest(req(100, { clips: [{ clip, seq: 99, manifest: 'ab'.repeat(32) }] }), env.keys.authority);
      await expectApiError(postOwnerRequest(url, dev, toWire(wrong)), 409, 'REQUEST_MISMATCH');
      assert.equal((await env.stored.clipRow(dev, clip))!.state, 'verified', 'nothing was deleted');
      // a replay of a request the relay accepted before (epoch 1, the first deletion)
      const accepted = await env.stored.firstOwnerRequest(dev);
      await expectApiError(postOwnerRequest(url, dev, toWire({ bytes: new Uint8Array(accepted.request), signature: accepted.signature })), 409, 'REQUEST_REPLAYED');
      assert.equal((await env.stored.clipRow(dev, clip))!.state, 'verified', 'nothing was deleted');
      assert.ok(env.relayLog.some((l) => /refused POST .*owner-requests from .*: 409 REQUEST_REPLAYED/.test(l)), 'refusals are logged');
    });
  });

  describe('retention by age, on the relay\'s clock', function () {
    let env: Env;
    before(async () => {
      env = await setUp('retention-age', { retentionIntervalMs: Number(process.env.SWEEP_MS ?? 60_000) });
    });
    after(async () => env?.close());

    it('clips older than the owner\'s retention expire from disk and database; phones accept that, but report an expiry the retention does not allow', async () => {
      const old1 = await env.clip();
      const old2 = await env.clip();
      await env.device.drain(180_000);
      assert.deepEqual((await phoneClips(env.phoneDir))[0].notices, []);
      const samples = [...(await env.stored.ciphertextSamples(env.deviceId, old1)), ...(await env.stored.ciphertextSamples(env.deviceId, old2))];
      const usage = await sealbell(['phone', 'retention', '--dir', env.phoneDir, '--device', env.deviceId], { env: { SEALBELL_PASSPHRASE: env.passphrase } });
      assert.notEqual(usage.status, 0);
      assert.match(usage.stderr, /needs --days N, --max-mb M or both/);
      const said = ok(await sealbell(['phone', 'retention', '--dir', env.phoneDir, '--device', env.deviceId, '--days', '7'], { env: { SEALBELL_PASSPHRASE: env.passphrase } }));
      assert.match(said, /: the relay keeps clips for 7 day\(s\) \(signed request epoch 1\)$/m);
      await env.phoneRelay.sweepRetention();
      assert.equal((await env.stored.clipRow(env.deviceId, old1))!.state, 'verified', 'nothing is 7 days old yet');

      env.clock.offset = 8 * DAY; // 8 days later, for the relay and the doorbell
      env.device.jumpClock(8 * DAY);
      const fresh = await env.clip();
      await env.device.drain(180_000);
      await env.relay.sweepRetention();
      for (const c of [old1, old2]) {
        const row = (await env.stored.clipRow(env.deviceId, c))!;
        assert.deepEqual([row.state, row.segments, row.bytes, await env.stored.segmentRows(env.deviceId, c), await env.stored.eventRows(env.deviceId, c)], ['expired', 0, 0, 0, 0]);
        assert.ok(row.manifest, 'the signed manifest stays, for phones to check the expiry');
      }
      assert.equal((await env.stored.clipRow(env.deviceId, fresh))!.state, 'verified');
      assert.ok(!(await env.stored.holds(samples)), 'the expired ciphertext is gone from the relay\'s files (rows)');
      assert.ok(env.relayLog.some((l) => l.includes(`device ${env.deviceId}: 2 clip(s) expired under the owner's retention`)));

      // A phone whose chain is from before, 8 days on too: clips 1 and 2 expired as the owner asked.
      fs.rmSync(path.join(env.phoneDir, 'devices', env.deviceId, 'clip-chain.json'));
      const later = () => Date.now() + 8 * DAY;
      const listing = (await phoneClips(env.phoneDir, undefined, later))[0];
      assert.deepEqual(listing.notices, []);
      assert.deepEqual(listing.clips.map((c) => [c.seq, c.state]), [[1, 'expired'], [2, 'expired'], [3, 'verified']]);

      // The relay marks the fresh clip expired on its own: the retention does not allow it yet.
      await env.stored.run("UPDATE clips SET state = 'expired' WHERE device = ? AND clip = ?", env.deviceId, fresh);
      const hostile = (await phoneClips(env.phoneDir, undefined, later))[0];
      assert.deepEqual(hostile.notices.map((n) => n.code), ['CLIP_EXPIRED_EARLY']);
      assert.match(hostile.notices[0].message, /^clip 3 \(.*\) of doorbell .* was deleted by the relay as expired, but no retention the owner signed allows it yet/);
    });
  });

  describe('the operator\'s quota', function () {
    let env: Env;
    before(async () => {
      env = await setUp('retention-quota', { quotaBytes: 600 * 1024 });
    });
    after(async () => env?.close());

    it('uploads beyond the quota are refused (QUOTA_EXCEEDED), the doorbell keeps them in its spool, and they arrive once the owner frees space', async () => {
      const clips: string[] = [];
      // Clips until one does not fit: the relay refuses its segments and the doorbell keeps it.
      const uplink = () => env.device.app.uplink!;
      for (let i = 0; i < 12 && uplink().stats.quotaRefusals === 0; i++) {
        clips.push(await env.clip());
        await env.device.until(() => env.device.spoolEmpty || uplink().stats.quotaRefusals > 0, 'the clip is stored or refused');
      }
      assert.ok(uplink().stats.quotaRefusals > 0, 'the relay refused an upload');
      assert.ok(!env.device.spoolEmpty, 'the refused clip waits in the spool');
      const waiting = clips[clips.length - 1];
      assert.notEqual((await env.stored.clipRow(env.deviceId, waiting))?.state, 'verified');
      assert.ok(env.device.logs.some((l) => l.startsWith('uplink: the relay refuses uploads: QUOTA_EXCEEDED')), env.device.logs.slice(-5).join('\n'));
      assert.ok(env.relayLog.some((l) => l.includes(`device ${env.deviceId}: uploads refused: QUOTA_EXCEEDED`)));
      const metrics = await (await fetch(`${env.relay.url}/metrics`, { headers: { authorization: `Bearer ${env.adminToken}` } })).text();
      assert.match(metrics, /sealbell_relay_refusals_total\{reason="QUOTA_EXCEEDED"\} [1-9]/);

      // The owner deletes the oldest clips: the relay says so at once, and the spool empties.
      await phoneDeleteClips({ dir: env.phoneDir, deviceId: env.deviceId, account: env.keys, clips: clips.slice(0, -1) });
      await env.device.drain(180_000);
      assert.equal((await env.stored.clipRow(env.deviceId, waiting))!.state, 'verified');
      assert.ok(env.device.logs.includes('uplink: the relay has space again: sending what the spool keeps'));
      const after = await (await fetch(`${env.phoneRelay.url}/metrics`, { headers: { authorization: `Bearer ${env.adminToken}` } })).text();
      assert.match(after, new RegExp(`sealbell_relay_clips_deleted_total\\{reason="owner"\\} ${clips.length - 1}\\b`));
      assert.deepEqual((await phoneClips(env.phoneDir))[0].notices, []);
    });
  });
});
