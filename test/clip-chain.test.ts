// The clip chain (docs/clip-format.md, "The clip chain"): the doorbell numbers and links its
// manifests across reboots, and a phone judging only signed manifests tells a clip hidden at
// the relay from one the doorbell dropped, a replay from a new clip, and a fork.
import assert from 'node:assert/strict';
import { Doorbell } from '../src/device/doorbell.js';
import { loadOrCreateIdentity, wipeIdentity } from '../src/device/identity.js';
import { nobleBackend } from '../src/crypto/noble.js';
import { decodeManifest, type ClipManifest } from '../src/clip/manifest.js';
import { CHAIN_KEY, ZERO_HASH } from '../src/clip/chain.js';
import { generateIdentity, identityToRecipient } from '../src/age/x25519.js';
import { rosterHash } from '../src/roster/roster-hash.js';
import { manifestHash, observeManifest, type ChainState } from '../tools/phone/clip-chain.js';
import { MemorySink, MemoryStore, seededRandom } from './helpers.js';

const SEED = 'clip chain test';
const recipient = identityToRecipient(generateIdentity(seededRandom(SEED)));
const ROSTER = rosterHash(new TextEncoder().encode('roster epoch 2'));

/** A doorbell on `store`; each clip() records one and returns its manifest bytes. */
function bell(store: MemoryStore, dropped: string[][] = [], seed = SEED) {
  const random = seededRandom(seed);
  const sink = new MemorySink();
  const d = new Doorbell({
    backend: nobleBackend, random, identity: loadOrCreateIdentity(store, random), sink, store, width: 16, height: 8,
    takeDropped: () => dropped.shift() ?? [],
  });
  d.setRecipients({ epoch: 2, recipients: [recipient], roster: ROSTER });
  let t = Date.UTC(2026, 11, 1);
  return {
    clip(): Uint8Array {
      t += 60_000;
      const id = d.press(t);
      d.frame(Uint8Array.of(0xff, 0xd8, 0xff, 0xd9), t + 10);
      d.finishClip();
      return sink.clips.get(id)!.manifest;
    },
  };
}

function run(manifests: Uint8Array[], start?: ChainState) {
  let state = start;
  const out: { isNew: boolean; codes: string[]; messages: string[] }[] = [];
  for (const bytes of manifests) {
    const v = observeManifest(state, decodeManifest(bytes), bytes);
    state = v.state;
    out.push({ isNew: v.isNew, codes: v.notices.map((n) => n.code), messages: v.notices.map((n) => n.message) });
  }
  return { out, state };
}

describe('clip chain', function () {
  it('numbers manifests from 1, links each to the previous one, and names the roster', function () {
    const b = bell(new MemoryStore());
    const [a, c] = [b.clip(), b.clip()];
    const m1 = decodeManifest(a);
    const m2 = decodeManifest(c);
    assert.deepEqual([m1.seq, m1.prev, m2.seq, m2.prev], [1, ZERO_HASH, 2, manifestHash(a)]);
    assert.equal(m2.roster, ROSTER);
  });

  it('goes on after a reboot (same store), and starts again at 1 after a factory reset', function () {
    const store = new MemoryStore();
    const before = bell(store).clip();
    const after = decodeManifest(bell(store).clip()); // a new Doorbell: a reboot
    assert.deepEqual([after.seq, after.prev], [2, manifestHash(before)]);
    wipeIdentity(store); // factory reset: a new identity (the old chain record is another device's)
    assert.ok(store.get(CHAIN_KEY));
    const reset = decodeManifest(bell(store, [], `${SEED} after reset`).clip());
    assert.notEqual(reset.device, after.device);
    assert.deepEqual([reset.seq, reset.prev], [1, ZERO_HASH]);
  });

  it('a phone reports clips hidden at the relay when the next clip arrives, naming the doorbell', function () {
    const b = bell(new MemoryStore());
    const all = Array.from({ length: 6 }, () => b.clip());
    const m: ClipManifest = decodeManifest(all[5]);
    const { out } = run([all[0], all[1], all[5]]); // the relay hid 3, 4 and 5
    assert.deepEqual(out.map((o) => o.codes), [[], [], ['CLIPS_MISSING']]);
    assert.match(out[2].messages[0], new RegExp(`^clips 3–5 of doorbell ${m.device} are missing at the relay`));
  });

  it('tells clips the doorbell dropped (named in the next manifest) from clips the relay hid', function () {
    const b = bell(new MemoryStore(), [[], [], [], ['20261201T000300Z-aaaaaa']]);
    const all = Array.from({ length: 4 }, () => b.clip());
    // Clip 3 was dropped by the doorbell's full spool and reported in manifest 4: nothing is hidden.
    assert.deepEqual(run([all[0], all[1], all[3]]).out[2].codes, ['CLIPS_DROPPED']);
    // Clips 2 and 3 missing, one reported dropped: the other was hidden by the relay.
    const r = run([all[0], all[3]]).out[1];
    assert.deepEqual(r.codes, ['CLIPS_DROPPED', 'CLIPS_MISSING']);
    assert.match(r.messages[1], /^clip 2 of doorbell/);
  });

  it('a drop reported a clip late: the clip reported missing is put down to the doorbell', function () {
    // Clip 2 is dropped from the spool after clip 3 was signed: manifest 4 reports it.
    const b = bell(new MemoryStore(), [[], [], [], ['20261201T000200Z-bbbbbb']]);
    const all = Array.from({ length: 4 }, () => b.clip());
    const { out, state } = run([all[0], all[2], all[3]]);
    assert.deepEqual(out.map((o) => o.codes), [[], ['CLIPS_MISSING'], ['CLIPS_DROPPED']]);
    assert.match(out[2].messages[0], /clip\(s\) 2, reported missing before, were not hidden by the relay/);
    assert.deepEqual(state!.missing, []);
  });

  it('a replayed manifest is not new; a hidden clip arriving late is', function () {
    const b = bell(new MemoryStore());
    const all = Array.from({ length: 3 }, () => b.clip());
    const { out } = run([all[0], all[2], all[0], all[2], all[1], all[1]]);
    assert.deepEqual(out.map((o) => o.isNew), [true, true, false, false, true, false]);
    assert.deepEqual(out[4].codes, []);
  });

  it('two different manifests with one number are a fork', function () {
    // Two doorbells from the same seed and store contents: one key, two histories.
    const store = new MemoryStore();
    const first = bell(store).clip();
    const twin = new MemoryStore();
    twin.set('identity.ed25519', store.get('identity.ed25519')!);
    const b1 = bell(store);
    const b2 = bell(twin);
    b2.clip(); // twin: seq 1 again with another manifest
    const forked = b2.clip(); // seq 2, prev ≠ first's hash
    const { out } = run([first, b1.clip(), forked]);
    assert.deepEqual(out[2].codes, ['CLIP_FORK']);
  });

  it('a clip sealed to an older roster epoch than earlier clips is reported', function () {
    const store = new MemoryStore();
    const b = bell(store);
    const one = b.clip();
    const m = decodeManifest(one);
    const { state } = run([one]);
    const older = { ...m, seq: 2, prev: manifestHash(one), epoch: 1 };
    const v = observeManifest(state, older, new TextEncoder().encode('x'), { hashes: new Map(), ackedEpoch: 2 });
    assert.deepEqual(v.notices.map((n) => n.code), ['ROSTER_ROLLBACK']);
    const foreign = observeManifest(state, { ...m, seq: 2, prev: manifestHash(one), roster: 'ab'.repeat(32) }, new TextEncoder().encode('y'), { hashes: new Map([[2, ROSTER]]) });
    assert.deepEqual(foreign.notices.map((n) => n.code), ['ROSTER_MISMATCH']);
  });
});
