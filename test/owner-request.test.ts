// Owner requests (retention, deletion): the format and its vectors (docs/relay-api.md), what
// retention expires, how phones judge expiries and deletions in the clip chain, and a deletion
// that a crash interrupts before its bytes were scrubbed.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { hexToBytes, utf8Decode, utf8ToBytes } from '../src/bytes.js';
import { signingKeyFromSeed } from '../src/minisign.js';
import type { ClipManifest } from '../src/clip/manifest.js';
import {
  encodeOwnerRequest,
  parseOwnerRequest,
  signOwnerRequest,
  verifyOwnerRequest,
  type RetentionRequest,
} from '../tools/owner-request.js';
import { expiring } from '../tools/relay/retention.js';
import { RelayStore, type ClipRow } from '../tools/relay/store.js';
import { GroupCommit } from '../tools/relay/group-commit.js';
import { SegmentScrubber } from '../tools/relay/deletions.js';
import { expiryAllowed } from '../tools/phone/owner-requests.js';
import { observeDeleted, observeManifest } from '../tools/phone/clip-chain.js';
import { errorCode, requireTool, ROOT, run, tempDir } from './helpers.js';

const SEED = '4eae1df94f604a37b2dd07f8764de008fdf60481fe4f5d64082a45dd0e24f559';
const DEVICE = '0123456789ABCDEF';
const DAY = 86_400_000;

function docVectors(): { authority: string; requests: { request: string; signature: string }[] } {
  const doc = fs.readFileSync(path.join(ROOT, 'docs', 'relay-api.md'), 'utf8');
  const m = /<!-- owner-request-vectors -->\s*```json\n([\s\S]*?)\n```/.exec(doc);
  assert.ok(m, 'docs/relay-api.md has an owner-request-vectors block');
  return JSON.parse(m[1]) as never;
}

describe('owner requests (retention and deletion)', function () {
  const authority = signingKeyFromSeed(hexToBytes(SEED));

  it('the documented vectors: canonical bytes, the same signature when signed again, and stock minisign verifies them', () => {
    requireTool('minisign');
    const v = docVectors();
    const dir = tempDir('owner-request');
    fs.writeFileSync(path.join(dir, 'authority.pub'), v.authority);
    assert.equal(v.requests.length, 2);
    for (const [i, w] of v.requests.entries()) {
      const r = parseOwnerRequest(utf8ToBytes(w.request));
      assert.equal(utf8Decode(encodeOwnerRequest(r)), w.request);
      assert.equal(signOwnerRequest(r, authority).signature, w.signature);
      assert.deepEqual(verifyOwnerRequest(utf8ToBytes(w.request), w.signature, authority.publicKey, DEVICE).request, r);
      fs.writeFileSync(path.join(dir, `r${i}.json`), w.request);
      fs.writeFileSync(path.join(dir, `r${i}.json.minisig`), w.signature);
      const out = run('minisign', ['-V', '-p', path.join(dir, 'authority.pub'), '-m', path.join(dir, `r${i}.json`)]);
      assert.match(out, new RegExp(`Trusted comment: sealbell owner-request v1 ${r.type} device ${DEVICE} epoch ${r.epoch}`));
    }
  });

  it('refuses every other byte form, other keys, altered requests and other doorbells', () => {
    const [ret, del] = docVectors().requests;
    const bad = [
      ret.request.replace(',"epoch"', ', "epoch"'),
      ret.request.replace('"v":1,"type":"retention"', '"type":"retention","v":1'),
      ret.request.replace('"maxBytes":1073741824', '"maxBytes":1000'),
      ret.request.replace('"maxAgeDays":30', '"maxAgeDays":30.0'),
      ret.request.replace('"epoch":1', '"epoch":0'),
      ret.request.replace('"type":"retention"', '"type":"purge"'),
      del.request.replace('"clip":"20270115T081500Z-d4e5f6"', '"clip":"20270115T080000Z-a1b2c3"'),
      del.request.replace('"seq":null,"manifest":null', '"seq":3,"manifest":null'),
      del.request.replace(DEVICE, DEVICE.toLowerCase()),
    ];
    for (const b of bad) assert.equal(errorCode(() => parseOwnerRequest(utf8ToBytes(b))), 'REQUEST_FORMAT', b);
    const other = signingKeyFromSeed(new Uint8Array(32).fill(9));
    assert.equal(errorCode(() => verifyOwnerRequest(utf8ToBytes(ret.request), ret.signature, other.publicKey, DEVICE)), 'REQUEST_SIGNATURE');
    assert.equal(errorCode(() => verifyOwnerRequest(utf8ToBytes(ret.request), '', authority.publicKey, DEVICE)), 'REQUEST_SIGNATURE');
    assert.equal(errorCode(() => verifyOwnerRequest(utf8ToBytes(ret.request.replace('"maxAgeDays":30', '"maxAgeDays":31')), ret.signature, authority.publicKey, DEVICE)), 'REQUEST_SIGNATURE');
    // The delete request's signature on the retention request: its trusted comment names another request.
    assert.equal(errorCode(() => verifyOwnerRequest(utf8ToBytes(ret.request), del.signature, authority.publicKey, DEVICE)), 'REQUEST_SIGNATURE');
    assert.equal(errorCode(() => verifyOwnerRequest(utf8ToBytes(ret.request), ret.signature, authority.publicKey, 'FEDCBA9876543210')), 'REQUEST_DEVICE');
  });

  it('retention expires by age from the signed end, and the oldest beyond the size, never a clip still arriving', () => {
    const row = (clip: string, state: ClipRow['state'], bytes: number, end?: number): ClipRow => ({
      device: DEVICE,
      clip,
      epoch: 1,
      state,
      reason: null,
      segments: 1,
      bytes,
      manifest: end === undefined ? null : utf8ToBytes(JSON.stringify({ end })),
      signature: null,
      created: 0,
      updated: 10 * DAY,
    });
    const policy = (maxAgeDays: number | null, maxBytes: number | null): RetentionRequest => ({ v: 1, type: 'retention', device: DEVICE, epoch: 4, time: 0, maxAgeDays, maxBytes });
    const rows = [row('c1', 'incomplete', 3 << 20), row('c2', 'receiving', 3 << 20), row('c3', 'rejected', 3 << 20), row('c4', 'receiving', 3 << 20), row('c0', 'deleted', 0)];
    // By size (5 MiB): the oldest go until 5 MiB or less remain; a clip still arriving stays.
    assert.deepEqual(expiring(rows, policy(null, 5 << 20), 11 * DAY).map((d) => [d.clip, d.reason]), [['c1', 'retention 4 size'], ['c3', 'retention 4 size']]);
    // By age: `updated` for clips without a manifest; nothing arriving; never a clip already gone.
    assert.deepEqual(expiring(rows, policy(1, null), 11 * DAY).map((d) => d.clip), ['c1', 'c3']);
    assert.deepEqual(expiring(rows, policy(2, null), 11 * DAY), []);
  });

  it('phones accept an expiry only when a retention the owner signed allows it, while it was the newest', () => {
    const m = { end: 10 * DAY, payloadSize: 1 << 20 } as ClipManifest;
    const week: RetentionRequest = { v: 1, type: 'retention', device: DEVICE, epoch: 1, time: 0, maxAgeDays: 7, maxBytes: null };
    const month: RetentionRequest = { ...week, epoch: 2, time: 12 * DAY, maxAgeDays: 30 };
    assert.equal(expiryAllowed(m, [week], 0, 18 * DAY), true);
    assert.equal(expiryAllowed(m, [week], 0, 16 * DAY), false); // 6 days old
    // The owner raised it to 30 days on day 12, before the clip was 7 days old: not allowed on day 18.
    assert.equal(expiryAllowed(m, [week, month], 0, 18 * DAY), false);
    const small: RetentionRequest = { ...week, maxAgeDays: null, maxBytes: 3 << 20 };
    assert.equal(expiryAllowed(m, [small], 2 << 20, 11 * DAY), false); // 3 MiB in all: within the limit
    assert.equal(expiryAllowed(m, [small], (2 << 20) + 1, 11 * DAY), true);
  });

  it('an owner-signed deletion is no gap in the clip chain; one reported missing before is put down to the owner', () => {
    const manifest = (seq: number, prev: string): { m: ClipManifest; bytes: Uint8Array } => {
      const m = { v: 1, clip: `c${seq}`, device: DEVICE, epoch: 1, roster: '1'.repeat(64), seq, prev, start: 0, end: 0, frames: 1, payloadSize: 1, payloadSha256: '0'.repeat(64), dropped: [] } as ClipManifest;
      return { m, bytes: utf8ToBytes(JSON.stringify(m) + '\n') };
    };
    const one = manifest(1, '0'.repeat(64));
    let s = observeManifest(undefined, one.m, one.bytes).state;
    const two = manifest(2, s.hash);
    const twoHash = observeManifest(s, two.m, two.bytes).state.hash;
    const d = observeDeleted(s, { seq: 2, hash: twoHash, clip: 'c2', epoch: 5 }, DEVICE);
    assert.deepEqual(d.notices, []);
    const three = manifest(3, twoHash);
    assert.deepEqual(observeManifest(d.state, three.m, three.bytes).notices, []);
    // The other order: clip 3 first (2 reported missing), then the owner's deletion of 2.
    const late = observeManifest(s, three.m, three.bytes);
    assert.deepEqual(late.notices.map((n) => n.code), ['CLIPS_MISSING']);
    s = late.state;
    const explained = observeDeleted(s, { seq: 2, hash: twoHash, clip: 'c2', epoch: 5 }, DEVICE);
    assert.deepEqual(explained.notices.map((n) => n.code), ['CLIPS_DELETED']);
    assert.deepEqual(explained.state!.missing, []);
  });

  it('a crash after the deletion committed, before its bytes were scrubbed: the next start scrubs them and removes a log nothing needs', async () => {
    const dataDir = tempDir('deletion-crash');
    // Logs of ~100 KB: each segment has a log of its own.
    let store = new RelayStore(dataDir, { logFileBytes: 100_000 });
    let commits = new GroupCommit(store);
    const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);
    store.createClip(DEVICE, 'gone', 1, 0);
    store.createClip(DEVICE, 'kept', 1, 0);
    await Promise.all([commits.put(DEVICE, 'gone', 0, bytes(60_000, 0xaa)), commits.put(DEVICE, 'gone', 1, bytes(60_000, 0xab))]);
    await commits.put(DEVICE, 'kept', 0, bytes(60_000, 0xcc));
    const logs = () => fs.readdirSync(path.join(dataDir, 'segments')).sort();
    assert.deepEqual(logs(), ['00000001.log', '00000002.log', '00000003.log']);
    // The deletion commits (as ClipDeleter does first) and the process dies before any scrub.
    store.unsynced(() => store.deleteClips(DEVICE, [{ clip: 'gone', state: 'deleted', reason: 'owner 1', keepManifest: false }], undefined, 1));
    await commits.syncWal();
    await commits.close();
    await store.close();
    const holds = (fill: number) => logs().some((f) => fs.readFileSync(path.join(dataDir, 'segments', f)).includes(Buffer.from(bytes(1000, fill))));
    assert.ok(holds(0xaa) && holds(0xab), 'not scrubbed yet');

    store = new RelayStore(dataDir, { logFileBytes: 100_000 });
    commits = new GroupCommit(store);
    const scrubber = new SegmentScrubber({ store, commits, log: () => {} });
    scrubber.scrub();
    await scrubber.idle();
    assert.ok(!holds(0xaa) && !holds(0xab), 'the deleted ciphertext is gone');
    assert.ok(holds(0xcc), 'the other clip is intact');
    assert.deepEqual(logs(), ['00000003.log'], 'logs 1 and 2 held only the deleted clip');
    assert.deepEqual(store.freedSegments(10), []);
    assert.equal(store.clip(DEVICE, 'gone')!.state, 'deleted');
    assert.deepEqual(store.segments(DEVICE, 'gone'), []);
    assert.deepEqual(store.readSegment(DEVICE, 'kept', 0), bytes(60_000, 0xcc));
    await commits.close();
    await store.close();
  });
});
