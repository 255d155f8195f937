/**
 * The doorbell's update state machine (src/update/updater.ts) on the Node host's A/B slots
 * (hosts/node/ota-flash.ts): what installs, what is refused (each with its own code, the
 * running firmware untouched), power cuts at every step, and a trial that fails going back.
 */
import assert from 'node:assert/strict';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '../src/bytes.js';
import { FAILED_KEY, SECURITY_KEY, TRYING_KEY } from '../src/update/updater.js';
import { SetupMode } from '../src/setup/setup-mode.js';
import path from 'node:path';
import { PowerCut } from '../hosts/node/ota-flash.js';
import { FileFlashArea } from '../hosts/node/flash-file.js';
import { FlashSpoolStorage, recommendedCapacity } from '../src/uplink/flash-spool.js';
import { Spool } from '../src/uplink/spool.js';
import { errorCode, MemoryStore, seededRandom, tempDir } from './helpers.js';
import { bootUpdater, FACTORY, feed, image, release, seedKey, type Release } from './update-fixtures.js';

const hex = (b: Uint8Array) => bytesToHex(sha256(b));

/** Installs `r` and restarts into it: returns the next boot. */
function installAndRestart(dir: string, store: MemoryStore, r: Release) {
  const { updater } = bootUpdater(dir, store);
  assert.equal(feed(updater, r), 'installed');
  return bootUpdater(dir, store);
}

/** Boots `dir` into `r` validly (installed, self-test passed). */
function runValid(dir: string, store: MemoryStore, r: Release): void {
  const next = installAndRestart(dir, store, r);
  next.updater.selfTest('store', 0);
  next.updater.selfTest('relay', 0);
  assert.equal(next.flash.runningState(), 'valid');
}

describe('firmware update on the device (A/B slots)', () => {
  it('an update signed by the release key and authorized by the owner installs, boots on trial and is marked valid after its self-test', () => {
    const dir = tempDir('ota');
    const store = new MemoryStore();
    const r = release(image('v1.1'), { version: '1.1.0', security: 2 });
    const first = bootUpdater(dir, store);
    assert.equal(first.flash.firmware.version, FACTORY.version);
    assert.equal(first.updater.recordedSecurity, 1, 'the factory image records its security version');
    assert.equal(feed(first.updater, r), 'installed');
    assert.equal(first.updater.recordedSecurity, 1, 'not before the new image is valid');

    const second = bootUpdater(dir, store);
    assert.equal(second.flash.firmware.version, '1.1.0');
    assert.equal(second.flash.runningState(), 'trial');
    assert.deepEqual(second.flash.image(second.flash.running), r.image);
    second.updater.selfTest('store', 0);
    assert.equal(second.flash.runningState(), 'trial', 'reaching the relay is part of the self-test');
    assert.equal(second.updater.recordedSecurity, 1);
    second.updater.selfTest('relay', 0);
    assert.equal(second.flash.runningState(), 'valid');
    assert.equal(second.updater.recordedSecurity, 2);

    const third = bootUpdater(dir, store);
    assert.equal(third.flash.firmware.version, '1.1.0');
    assert.equal(third.flash.runningState(), 'valid');
  });

  it('the offer of the running image is UPDATE_CURRENT; an update resumes from the offset it reached', () => {
    const dir = tempDir('ota');
    const store = new MemoryStore();
    const r = release(image('v1.1'), { security: 2 });
    runValid(dir, store, r);
    const { updater } = bootUpdater(dir, store);
    assert.equal(errorCode(() => updater.offer(r.offer)), 'UPDATE_CURRENT');
    const r2 = release(image('v1.2', 50_000), { version: '1.2.0', security: 2 });
    const { id } = updater.offer(r2.offer);
    assert.equal(updater.data(id, 0, r2.image.subarray(0, 16384)), 16384);
    // the connection drops; the relay offers again: the doorbell asks from where it stopped
    assert.equal(updater.offer(r2.offer).offset, 16384);
    assert.equal(errorCode(() => updater.data(id, 0, r2.image.subarray(0, 16384))), 'UPDATE_OFFSET');
    let at: number | 'installed' = 16384;
    while (typeof at === 'number') at = updater.data(id, at, r2.image.subarray(at, at + 16384));
    assert.equal(at, 'installed');
  });

  describe('refusals: each with its own code, the running firmware untouched', () => {
    const img = image('evil', 30_000);
    const other = seedKey('someone else');
    const base = release(img, { security: 3 });
    const cases: [string, string, (r: Release) => Release | 'feed-truncated' | 'feed-corrupted' | 'feed-long'][] = [
      ['signed by another release key', 'UPDATE_RELEASE_SIGNATURE', () => release(img, { security: 3 }, { releaseKey: other })],
      ['a release signature from another release', 'UPDATE_RELEASE_SIGNATURE', (r) => ({ ...r, offer: { ...r.offer, releaseSignature: release(image('x'), { security: 3 }).offer.releaseSignature } })],
      ['no owner authorization', 'UPDATE_NO_AUTHORIZATION', (r) => ({ ...r, offer: { release: r.offer.release, releaseSignature: r.offer.releaseSignature } })],
      ['authorized by another account', 'UPDATE_AUTHORIZATION', () => release(img, { security: 3 }, { authority: other })],
      ['authorized for another doorbell', 'UPDATE_OTHER_DEVICE', () => release(img, { security: 3 }, { device: '0123456789ABCDEF' })],
      ['authorized for another release', 'UPDATE_OTHER_RELEASE', (r) => {
        const o = release(image('other release'), { security: 3 });
        return { ...r, offer: { ...r.offer, authorization: o.offer.authorization, authorizationSignature: o.offer.authorizationSignature } };
      }],
      ['built for another board', 'UPDATE_BOARD', () => release(img, { security: 3, board: 'esp32_cam' })],
      ['a lower security version than recorded', 'UPDATE_DOWNGRADE', () => release(img, { security: 1 })],
      ['an image larger than a slot', 'UPDATE_TOO_LARGE', () => release(image('big', 300_000), { security: 3 })],
      ['a corrupted image', 'UPDATE_IMAGE_HASH', () => 'feed-corrupted'],
      ['a truncated image', 'UPDATE_IMAGE_SIZE', () => 'feed-truncated'],
      ['an image longer than its release says', 'UPDATE_IMAGE_SIZE', () => 'feed-long'],
    ];
    for (const [what, code, make] of cases) {
      it(`${what}: ${code}`, () => {
        const dir = tempDir('ota');
        const store = new MemoryStore();
        runValid(dir, store, release(image('v2'), { version: '2.0.0', security: 2 }));
        const { flash, updater } = bootUpdater(dir, store);
        const running = flash.running;
        const before = flash.image(running);
        const made = make(base);
        const got = errorCode(() => {
          if (made === 'feed-corrupted') {
            const bad = img.slice();
            bad[12_345] ^= 1;
            feed(updater, base, bad);
          } else if (made === 'feed-truncated') {
            const { id } = updater.offer(base.offer);
            updater.data(id, 0, img.subarray(0, 20_000));
            updater.end(id);
          } else if (made === 'feed-long') {
            const { id } = updater.offer(base.offer);
            updater.data(id, 0, img.subarray(0, 20_000));
            updater.data(id, 20_000, new Uint8Array(10_001));
          } else feed(updater, made);
        });
        assert.equal(got, code);
        assert.equal(updater.state, 'idle');
        assert.equal(flash.bootSlot, running, 'the boot slot is unchanged');
        assert.deepEqual(flash.image(running), before, 'the running image is untouched');
        const after = bootUpdater(dir, store);
        assert.equal(after.flash.firmware.version, '2.0.0');
        assert.equal(after.flash.runningState(), 'valid');
        assert.equal(after.updater.recordedSecurity, 2);
      });
    }
  });

  it('a power cut at every step of writing and switching leaves a bootable doorbell (old or new firmware, whole) with its spool intact', () => {
    const v2 = release(image('v2', 50_000), { version: '2.0.0', security: 2 });
    const v3 = release(image('v3', 45_000), { version: '3.0.0', security: 3 });
    const clipIds = ['20261203T070000Z-abcdef', '20261203T070100Z-abcdef'];
    const segment = (c: number, i: number) => image(`spool ${c}/${i}`, i === 2 ? 1234 : 65_552);
    /** The state folder's spool (hosts/node: DIR/spool.flash) with two clips the relay has not acknowledged. */
    const openSpool = (dir: string) => {
      const flash = new FileFlashArea(path.join(dir, 'spool.flash'), 1 << 20);
      return { flash, spool: new Spool({ storage: new FlashSpoolStorage(flash), capacity: recommendedCapacity(flash.byteLength, flash.blockSize) }) };
    };
    const spoolHolds = (dir: string, what: string) => {
      const { flash, spool } = openSpool(dir);
      try {
        assert.deepEqual(spool.clips().map((c) => c.id), clipIds, `the spool's clips after ${what}`);
        for (const [c, id] of clipIds.entries()) for (let i = 0; i < 3; i++) assert.deepEqual(spool.readSegment(id, i), segment(c, i), `${what}: clip ${c} segment ${i}`);
      } finally {
        flash.close();
      }
    };
    /** The whole update, v2 → v3 and its first valid boot, cutting at step `n` (0: no cut). */
    const attempt = (n: number) => {
      const state = tempDir('ota-cut');
      const dir = path.join(state, 'ota');
      const store = new MemoryStore();
      runValid(dir, store, v2);
      const { flash, spool } = openSpool(state);
      for (const [c, id] of clipIds.entries()) {
        spool.begin(id, 1);
        for (let i = 0; i < 3; i++) spool.segment(id, i, segment(c, i));
      }
      flash.close();
      let step = 0;
      const steps: string[] = [];
      const cut = (what: string) => {
        steps.push(what);
        return ++step === n;
      };
      let wasCut: string | undefined;
      try {
        const a = bootUpdater(dir, store, cut);
        assert.equal(feed(a.updater, v3), 'installed');
        const b = bootUpdater(dir, store, cut);
        b.updater.selfTest('store', 0);
        b.updater.selfTest('relay', 0);
      } catch (e) {
        if (!(e instanceof PowerCut)) throw e;
        wasCut = e.message;
      }
      // The next boot (no more cuts), and the one after a self-test, must run whole firmware.
      for (let boot = 0; boot < 2; boot++) {
        const { flash, updater } = bootUpdater(dir, store);
        const fw = flash.firmware;
        assert.ok(fw.version === '2.0.0' || fw.version === '3.0.0', `boots ${fw.version} after ${wasCut}`);
        assert.equal(hex(flash.image(flash.running)), fw.sha256, `the running slot holds the whole ${fw.version} image (cut: ${wasCut})`);
        assert.ok(updater.recordedSecurity <= fw.security, 'the security version never passes the firmware that runs');
        spoolHolds(state, `${wasCut ?? 'no cut'}, boot ${boot}`);
        updater.selfTest('store', 0);
        updater.selfTest('relay', 0);
      }
      return { steps, wasCut };
    };
    const full = attempt(0);
    assert.equal(full.wasCut, undefined);
    assert.ok(full.steps.length >= 6, `steps: ${full.steps.join(', ')}`);
    for (let n = 1; n <= full.steps.length; n++) assert.equal(attempt(n).wasCut, `power cut: ${full.steps[n - 1]}`);
  });

  it('a new image whose self-test fails (the relay never reached) rolls back at its deadline; one that restarts on trial rolls back at the next boot', () => {
    const dir = tempDir('ota');
    const store = new MemoryStore();
    runValid(dir, store, release(image('v2'), { version: '2.0.0', security: 2 }));
    const bad = release(image('v3 broken'), { version: '3.0.0', security: 5 });

    const trial = installAndRestart(dir, store, bad);
    assert.equal(trial.flash.firmware.version, '3.0.0');
    trial.updater.selfTest('store', 1000);
    assert.equal(trial.updater.tick(1000 + 9 * 60_000), undefined);
    assert.equal(trial.updater.tick(1000 + 10 * 60_000), 'restart');
    const back = bootUpdater(dir, store);
    assert.equal(back.flash.firmware.version, '2.0.0');
    assert.equal(back.flash.runningState(), 'valid');
    assert.equal(back.updater.recordedSecurity, 2, 'the failed image never raised the security version');

    // a trial that crashes (restarts before marking itself valid): the bootloader goes back
    const bad2 = release(image('v3.1 broken'), { version: '3.1.0', security: 5 });
    const crash = installAndRestart(dir, store, bad2);
    assert.equal(crash.flash.runningState(), 'trial');
    assert.equal(errorCode(() => crash.updater.offer(bad2.offer)), 'UPDATE_BUSY', 'no update while on trial');
    const after = bootUpdater(dir, store);
    assert.equal(after.flash.firmware.version, '2.0.0');
    assert.equal(after.flash.slots[crash.flash.running].state, 'aborted');
    assert.equal(after.updater.recordedSecurity, 2);
  });

  it('a release whose trial failed is refused when offered again (UPDATE_ROLLED_BACK); another release still installs', () => {
    const dir = tempDir('ota');
    const store = new MemoryStore();
    runValid(dir, store, release(image('v2'), { version: '2.0.0', security: 2 }));
    const bad = release(image('v3 broken'), { version: '3.0.0', security: 3 });
    installAndRestart(dir, store, bad); // on trial; it restarts before passing
    const back = bootUpdater(dir, store);
    assert.equal(back.flash.firmware.version, '2.0.0');
    assert.equal(errorCode(() => back.updater.offer(bad.offer)), 'UPDATE_ROLLED_BACK');
    assert.equal(feed(back.updater, release(image('v3 fixed'), { version: '3.0.1', security: 3 })), 'installed');
  });

  it('a power cut between marking the new firmware valid and clearing its note does not count as a failed trial', () => {
    const dir = tempDir('ota');
    const store = new MemoryStore();
    const r = release(image('v2'), { version: '2.0.0', security: 2 });
    const trial = installAndRestart(dir, store, r);
    assert.ok(store.get(TRYING_KEY));
    trial.flash.markValid(); // …and the power goes before the Updater clears update.trying
    const next = bootUpdater(dir, store);
    assert.equal(next.flash.firmware.version, '2.0.0');
    assert.equal(store.get(TRYING_KEY), undefined);
    assert.equal(store.get(FAILED_KEY), undefined);
    assert.equal(next.updater.recordedSecurity, 2);
  });

  it('a factory reset keeps the recorded security version (a new owner cannot authorize a downgrade)', () => {
    const store = new MemoryStore();
    runValid(tempDir('ota'), store, release(image('v2'), { security: 5 }));
    new SetupMode({ store, random: seededRandom('update/reset'), log: () => {} }).factoryReset();
    assert.deepEqual(store.get(SECURITY_KEY), new Uint8Array([0, 0, 0, 5]));
  });

  it('the recorded security version is a 4-byte big-endian number under update.security', () => {
    const store = new MemoryStore();
    runValid(tempDir('ota'), store, release(image('v2'), { security: 0x01020304 }));
    assert.deepEqual(store.get(SECURITY_KEY), new Uint8Array([1, 2, 3, 4]));
  });
});
