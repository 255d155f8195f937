/**
 * The relay's write path below the network: the group commit over the
 * segment log (tools/relay/group-commit.ts, segment-log.ts). Segments from
 * many devices share batches, roll over into new log files, and read back
 * exactly after a reopen; bytes a crash left uncommitted are cut off; a data
 * folder from before the segment log (one file per segment) still reads; a
 * store that admits segments against the quota at commit (PostgreSQL) has
 * its refusals passed on, to resends as well.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { RelayStore } from '../tools/relay/store.js';
import { GroupCommit, type BatchReport } from '../tools/relay/group-commit.js';
import type { StagedSegment } from '../tools/relay/store-api.js';
import { seededRandom } from './seeded.js';
import { tempDir } from './helpers.js';

const DEVICES = ['dev-a', 'dev-b', 'dev-c'];

function openStore(dir: string, logFileBytes?: number): RelayStore {
  const store = new RelayStore(dir, { logFileBytes });
  for (const d of DEVICES) {
    store.addDevice(d, `cred-${d}`, `key-${d}`, 0);
    store.createClip(d, 'clip-1', 1, 0);
  }
  return store;
}

describe('relay store: group commit and segment log', function () {
  this.timeout(60_000);

  it('segments from several devices share batches, span log files, and read back exactly after a reopen', async () => {
    const dir = tempDir('relay-store');
    const random = seededRandom('relay-store/roll');
    // logs of 200 KB: three 64 KiB segments each, so 24 segments fill eight logs
    let store = openStore(dir, 200_000);
    const batches: BatchReport[] = [];
    const commits = new GroupCommit(store, (b) => batches.push(b));
    const sent = new Map<string, Uint8Array>();
    const puts: Promise<string>[] = [];
    for (let idx = 0; idx < 8; idx++) {
      for (const d of DEVICES) {
        const bytes = random(65_552 - idx); // sizes differ: offsets must be right, not just aligned
        sent.set(`${d}/${idx}`, bytes);
        puts.push(commits.put(d, 'clip-1', idx, bytes));
      }
    }
    assert.deepEqual(await Promise.all(puts), puts.map(() => 'stored'));
    assert.ok(batches.length < puts.length, `${batches.length} batches for ${puts.length} segments: they were not shared`);
    assert.equal(batches.reduce((n, b) => n + b.segments, 0), puts.length);
    // a repeat is a duplicate, different bytes a conflict: nothing new is written
    assert.equal(await commits.put('dev-a', 'clip-1', 3, sent.get('dev-a/3')!), 'duplicate');
    assert.equal(await commits.put('dev-a', 'clip-1', 3, random(100)), 'conflict');
    await commits.close();
    await store.close();
    const logs = fs.readdirSync(path.join(dir, 'segments')).sort();
    assert.ok(logs.length >= 8, `only ${logs.length} log files`);
    assert.ok(logs.every((l) => fs.statSync(path.join(dir, 'segments', l)).size <= 200_000));

    store = new RelayStore(dir, { logFileBytes: 200_000 });
    for (const [key, bytes] of sent) {
      const [d, idx] = key.split('/');
      assert.deepEqual(store.readSegment(d, 'clip-1', Number(idx)), bytes, key);
    }
    assert.equal(store.clip('dev-b', 'clip-1')!.segments, 8);
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('bytes written but never committed (a crash) are cut off at the next start, and appends go on from there', async () => {
    const dir = tempDir('relay-store');
    const random = seededRandom('relay-store/tail');
    let store = openStore(dir);
    let commits = new GroupCommit(store);
    const kept = random(40_000);
    assert.equal(await commits.put('dev-a', 'clip-1', 0, kept), 'stored');
    await commits.close();
    await store.close();
    // what a crash between the write and the commit leaves: bytes past the last row
    const log = path.join(dir, 'segments', '00000001.log');
    fs.appendFileSync(log, random(30_000));
    assert.equal(fs.statSync(log).size, 70_000);

    store = new RelayStore(dir);
    assert.equal(fs.statSync(log).size, 40_000, 'the uncommitted tail is cut off');
    commits = new GroupCommit(store);
    const next = random(20_000);
    assert.equal(await commits.put('dev-a', 'clip-1', 1, next), 'stored');
    assert.deepEqual(store.readSegment('dev-a', 'clip-1', 0), kept);
    assert.deepEqual(store.readSegment('dev-a', 'clip-1', 1), next);
    assert.equal(fs.statSync(log).size, 60_000);
    await commits.close();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a WAL that fails to flush after a commit: those segments fail, and no segment is taken until a restart (STORE_BROKEN)', async () => {
    const dir = tempDir('relay-store');
    const random = seededRandom('relay-store/broken');
    const store = openStore(dir);
    const commits = new GroupCommit(store);
    assert.equal(await commits.put('dev-a', 'clip-1', 0, random(1000)), 'stored');
    const syncWal = store.syncWal.bind(store);
    store.syncWal = () => Promise.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    await assert.rejects(commits.put('dev-a', 'clip-1', 1, random(1000)), (e: Error & { code?: string }) => e.code === 'EIO');
    assert.equal(commits.lastError?.message, 'EIO: i/o error, fdatasync');
    store.syncWal = syncWal; // the disk "recovers": a retried fsync cannot be trusted, so the store stays refused
    await assert.rejects(commits.put('dev-b', 'clip-1', 0, random(1000)), (e: Error & { code?: string }) => e.code === 'STORE_BROKEN');
    assert.ok(commits.lastError, 'the health check keeps failing');
    await commits.close();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a store that admits at commit (PostgreSQL\'s quota): a refused segment resolves `quota`, so does a resend that waited for it, and only stored segments count as the batch', async () => {
    const random = seededRandom('relay-store/quota');
    const [seg0, seg1] = [random(1000), random(1000)];
    const commitsSeen: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    // Refuses segment 0 whenever it comes, after the gate opens; stores the rest.
    const ingest = {
      existing: async () => undefined,
      stage: (_seg: StagedSegment, bytes: Uint8Array) => ({ written: Promise.resolve(), handle: bytes }),
      commit: async (batch: { seg: StagedSegment }[]) => {
        commitsSeen.push(batch.map((b) => b.seg.idx));
        await gate;
        return { overQuota: batch.flatMap((b, i) => (b.seg.idx === 0 ? [i] : [])) };
      },
    };
    const batches: BatchReport[] = [];
    const commits = new GroupCommit({ ingest, sync: async () => {} }, (b) => batches.push(b));
    const first = commits.put('dev-a', 'clip-1', 0, seg0);
    while (commitsSeen.length === 0) await new Promise((r) => setImmediate(r)); // its batch is committing
    const resend = commits.put('dev-a', 'clip-1', 0, seg0); // waits for the first copy
    const next = commits.put('dev-a', 'clip-1', 1, seg1); // the next batch
    release();
    assert.equal(await first, 'quota');
    assert.equal(await resend, 'quota', 'a resend of a refused segment is refused too, never acknowledged as a repeat');
    assert.equal(await next, 'stored');
    assert.equal(await commits.put('dev-a', 'clip-1', 0, seg0), 'quota', 'sent again later, it goes to the store again');
    assert.deepEqual(commitsSeen, [[0], [1], [0]]);
    assert.deepEqual(
      batches.map((b) => [b.segments, b.bytes]),
      [[1, 1000]],
    );
    await commits.close();
  });

  it('a data folder from before the segment log: its one-file-per-segment rows still read', async () => {
    const dir = tempDir('relay-store');
    const old = seededRandom('relay-store/legacy')(1000);
    // the schema and layout as relays before the segment log wrote them
    const db = new Database(path.join(dir, 'relay.sqlite'));
    db.exec(`CREATE TABLE segments (device TEXT NOT NULL, clip TEXT NOT NULL, idx INTEGER NOT NULL, size INTEGER NOT NULL,
      sha256 TEXT NOT NULL, PRIMARY KEY (device, clip, idx))`);
    db.prepare('INSERT INTO segments (device, clip, idx, size, sha256) VALUES (?, ?, ?, ?, ?)').run('dev-a', 'clip-1', 0, old.length, 'x');
    db.close();
    fs.mkdirSync(path.join(dir, 'clips', 'dev-a', 'clip-1'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'clips', 'dev-a', 'clip-1', '00000000.seg'), old);

    const store = openStore(dir);
    assert.deepEqual(store.readSegment('dev-a', 'clip-1', 0), old);
    const commits = new GroupCommit(store);
    const added = seededRandom('relay-store/legacy-new')(500);
    assert.equal(await commits.put('dev-a', 'clip-1', 1, added), 'stored');
    assert.deepEqual(store.readSegment('dev-a', 'clip-1', 1), added);
    assert.deepEqual(
      store.segments('dev-a', 'clip-1').map((s) => s.idx),
      [0, 1],
    );
    await commits.close();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
