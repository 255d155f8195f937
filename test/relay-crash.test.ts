/**
 * An acknowledged segment is never lost: the relay runs as `sealbell relay` in
 * a process of its own while 8 doorbells stream into it, and is killed with
 * SIGKILL at a random point (after a seeded random number of acknowledgements:
 * mid-batch, between a file's flush and its commit, wherever the load has it),
 * 20 times, restarted on the same data folder each time. Each doorbell resumes
 * its clip from its first unacknowledged segment, as the real uplink does
 * (resends of what was stored are acknowledged as repeats). After each kill
 * and at the end, every segment any doorbell saw acknowledged is in the
 * relay's database and its file holds exactly the bytes sent.
 *
 *   SEED=<seed> npx mocha dist/test/relay-crash.test.js   replays a run
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { loadOrCreateIdentity } from '../src/device/identity.js';
import { newDeviceCredential, registerDevice } from '../tools/relay/owner-client.js';
import { startRelayProcess, type RelayProcess } from '../tools/bench/relay-process.js';
import { SEALED_CHUNK_SIZE, WireDoorbell } from '../tools/bench/wire-doorbell.js';
import { ADMIN_TOKEN, storedSegments } from './relay-helpers.js';
import { MemoryStore, tempDir } from './helpers.js';
import { prng, seededRandom } from './seeded.js';

const DOORBELLS = 8;
const KILLS = 20;
const SEGMENTS_PER_ROUND = 400; // more than any round gets through before its kill

describe('relay crash safety', function () {
  this.timeout(600_000);

  it('kill -9 under load, 20 times: every acknowledged segment survives, bit for bit', async () => {
    const seed = process.env.SEED ?? randomBytes(6).toString('hex');
    console.log(`      seed ${seed} (replay: SEED=${seed})`);
    const rand = prng(Number.parseInt(seed.slice(0, 8), 16) || 1);
    const dataDir = tempDir('relay-crash');
    const segment = (clip: string, index: number) => seededRandom(`${seed}/${clip}/${index}`)(SEALED_CHUNK_SIZE);
    /** per doorbell: its device row, and the indexes it saw acknowledged */
    const doorbells: { id: string; clip: string; credential: string; acked: Set<number> }[] = [];
    let relay: RelayProcess | undefined;
    try {
      for (let round = 0; round < KILLS; round++) {
        relay = await startRelayProcess(dataDir, ADMIN_TOKEN);
        if (round === 0) {
          for (let n = 0; n < DOORBELLS; n++) {
            const identity = loadOrCreateIdentity(new MemoryStore(), seededRandom(`${seed}/doorbell${n}`));
            const credential = newDeviceCredential();
            await registerDevice(relay.url, ADMIN_TOKEN, { credential, publicKey: identity.publicKeyText });
            doorbells.push({ id: identity.deviceId, clip: `clip-${n}`, credential, acked: new Set() });
          }
        }
        // Kill after this many acknowledgements in the round: a point in the load the seed picks.
        const killAfter = 1 + rand.int(160);
        let acks = 0;
        const current = relay;
        const streams = doorbells.map((d) => {
          const from = firstMissing(d.acked);
          return new WireDoorbell({
            uplinkUrl: current.uplinkUrl,
            credential: d.credential,
            window: 8,
            segment,
            onAck: (_clip, index) => {
              d.acked.add(index);
              if (++acks === killAfter) current.child.kill('SIGKILL');
            },
          }).stream(d.clip, SEGMENTS_PER_ROUND, from);
        });
        const results = await Promise.all(streams);
        assert.ok(acks >= killAfter, `round ${round}: the doorbells ended after ${acks} acknowledgements, before the kill at ${killAfter} (seed ${seed})`);
        assert.ok(results.every((r) => r.end === 'closed'), `round ${round}: the relay was killed before the doorbells finished`);
        await relay.exited;
        assert.equal(relay.child.signalCode, 'SIGKILL');
        checkAcknowledged(dataDir, doorbells, segment, `after kill ${round + 1} (seed ${seed})`);
      }
      // The last kill's data folder opens in a fresh relay, which still serves what it stored.
      relay = await startRelayProcess(dataDir, ADMIN_TOKEN);
      await relay.stop();
      checkAcknowledged(dataDir, doorbells, segment, `at the end (seed ${seed})`);
      const total = doorbells.reduce((n, d) => n + d.acked.size, 0);
      assert.ok(total > KILLS, `only ${total} segments were acknowledged in ${KILLS} rounds`);
    } finally {
      await relay?.kill();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

function firstMissing(s: Set<number>): number {
  let i = 0;
  while (s.has(i)) i++;
  return i;
}

/** Every acknowledged segment has its row, and its file holds exactly the bytes sent. */
function checkAcknowledged(
  dataDir: string,
  doorbells: { id: string; clip: string; acked: Set<number> }[],
  segment: (clip: string, index: number) => Uint8Array,
  when: string,
): void {
  const db = new Database(path.join(dataDir, 'relay.sqlite'), { readonly: true, fileMustExist: true });
  try {
    for (const d of doorbells) {
      const stored = new Map(storedSegments(db, dataDir, d.id, d.clip).map((s) => [s.idx, s.bytes]));
      for (const idx of d.acked) {
        const bytes = stored.get(idx);
        assert.ok(bytes, `${when}: ${d.clip} segment ${idx} was acknowledged but has no row`);
        assert.ok(Buffer.from(bytes).equals(Buffer.from(segment(d.clip, idx))), `${when}: ${d.clip} segment ${idx} differs from what was sent`);
      }
    }
  } finally {
    db.close();
  }
}
