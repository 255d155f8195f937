/**
 * Firmware updates over the uplink core (src/uplink/uplink.ts + src/update/update-link.ts),
 * deterministically against the in-memory relay: the image comes in 16 KiB pieces; a dropped
 * connection resumes from the offset the doorbell reached (never from 0); a relay that predates
 * update messages (it answers UNKNOWN_TYPE) costs the doorbell nothing.
 */
import assert from 'node:assert/strict';
import { base64 } from '@scure/base';
import { utf8Decode } from '../src/bytes.js';
import { Spool } from '../src/uplink/spool.js';
import { MemorySpoolStorage } from '../src/uplink/storage.js';
import { Uplink } from '../src/uplink/uplink.js';
import { UpdateLink } from '../src/update/update-link.js';
import { UPDATE_CHUNK_BYTES } from '../src/update/updater.js';
import { releaseId } from '../src/update/release.js';
import type { UpdateDeviceMessage } from '../src/uplink/update-wire.js';
import { MemoryStore, seededRandom, tempDir } from './helpers.js';
import { FakeRelay } from './uplink-fakes.js';
import { bootUpdater, image, release } from './update-fixtures.js';

function rig(seed: string) {
  const relay = new FakeRelay();
  const dir = tempDir('ota-uplink');
  const store = new MemoryStore();
  const { flash, updater } = bootUpdater(dir, store);
  let installed = 0;
  const link = new UpdateLink({ updater, onInstalled: () => installed++ });
  const uplink = new Uplink({ spool: new Spool({ storage: new MemorySpoolStorage(), capacity: 1 << 20 }), connect: relay.connect, random: seededRandom(seed), update: link });
  let now = 0;
  /** Time passes in 1 s steps, events delivered in between, until `done`. */
  const run = (done: () => boolean, what: string) => {
    for (let i = 0; i < 600 && !done(); i++) {
      uplink.tick((now += 1000));
      relay.flush();
    }
    assert.ok(done(), what);
  };
  return { relay, dir, store, flash, updater, uplink, run, installed: () => installed };
}

describe('firmware updates over the uplink', () => {
  it('the image comes in pieces; a dropped connection resumes from the offset reached, not from 0', () => {
    const { relay, dir, store, uplink, run, installed } = rig('update-uplink');
    const r = release(image('uplink v1.1', 100_000), { version: '1.1.0', security: 2 });
    const offer = {
      t: 'update' as const,
      release: utf8Decode(r.offer.release),
      releaseSignature: r.offer.releaseSignature,
      authorization: utf8Decode(r.offer.authorization!),
      authorizationSignature: r.offer.authorizationSignature!,
    };
    const seen: UpdateDeviceMessage[] = [];
    let served = 0;
    relay.onUpdate = (m) => {
      seen.push(m);
      if (m.t === 'firmware') return relay.sendUpdate(offer);
      if (m.t !== 'update-want') return;
      // the connection drops after the third piece
      if (++served === 4) return relay.dropConnection();
      if (m.offset >= r.image.length) return relay.sendUpdate({ t: 'update-end', release: m.release });
      const data = base64.encode(r.image.subarray(m.offset, m.offset + UPDATE_CHUNK_BYTES));
      relay.sendUpdate({ t: 'update-data', release: m.release, offset: m.offset, data });
    };
    uplink.start(0);
    run(() => installed() === 1, 'the update installs');
    const wants = seen.filter((m) => m.t === 'update-want').map((m) => (m as { offset: number }).offset);
    assert.deepEqual(wants.slice(0, 4), [0, 16384, 32768, 49152]);
    assert.equal(wants[4], 49152, 'after the reconnect it asks again from where it was');
    assert.ok(!wants.slice(1).includes(0), 'never from 0 again');
    assert.equal(seen.filter((m) => m.t === 'firmware').length, 2, 'a firmware report after each hello');
    assert.deepEqual(seen.at(-1), { t: 'update-installed', release: releaseId(r.offer.release) });
    const next = bootUpdater(dir, store);
    assert.equal(next.flash.firmware.version, '1.1.0');
    assert.deepEqual(next.flash.image(next.flash.running), r.image);
  });

  it('a truncated image (the relay ends it early) is refused with UPDATE_IMAGE_SIZE and reported', () => {
    const { relay, flash, uplink, run } = rig('update-uplink-short');
    const r = release(image('uplink short', 40_000), { version: '1.1.0', security: 2 });
    const seen: UpdateDeviceMessage[] = [];
    relay.onUpdate = (m) => {
      seen.push(m);
      if (m.t === 'firmware') {
        return relay.sendUpdate({ t: 'update', release: utf8Decode(r.offer.release), releaseSignature: r.offer.releaseSignature, authorization: utf8Decode(r.offer.authorization!), authorizationSignature: r.offer.authorizationSignature! });
      }
      if (m.t !== 'update-want') return;
      if (m.offset >= 20_000) return relay.sendUpdate({ t: 'update-end', release: m.release });
      relay.sendUpdate({ t: 'update-data', release: m.release, offset: m.offset, data: base64.encode(r.image.subarray(m.offset, Math.min(20_000, m.offset + UPDATE_CHUNK_BYTES))) });
    };
    uplink.start(0);
    run(() => seen.some((m) => m.t === 'update-refused'), 'the doorbell refuses');
    const refused = seen.find((m) => m.t === 'update-refused') as Extract<UpdateDeviceMessage, { t: 'update-refused' }>;
    assert.equal(refused.code, 'UPDATE_IMAGE_SIZE');
    assert.equal(flash.bootSlot, flash.running, 'the boot slot is unchanged');
    assert.equal(uplink.state, 'ready', 'and the connection stays');
  });

  it('a relay that predates update messages answers UNKNOWN_TYPE: the doorbell keeps its connection', () => {
    const { relay, uplink, run } = rig('update-uplink-old');
    relay.onUpdate = () => relay.sendError('UNKNOWN_TYPE', 'unknown control message type "firmware"');
    uplink.start(0);
    run(() => uplink.state === 'ready', 'connected');
    run(() => relay.control.some((c) => c.includes('"t":"firmware"')), 'the firmware report went out');
    for (let i = 0; i < 10; i++) run(() => true, 'time passes');
    assert.equal(uplink.state, 'ready');
    assert.equal(relay.connects, 1, 'no reconnect');
  });
});
