// Sealing memory is bounded by the chunk size, not the clip length: a 10-minute
// clip holds at most one chunk in its one chunk buffer (frames are sealed into it
// as they arrive; there is no plaintext buffer), and chunks leave as they fill.
import assert from 'node:assert/strict';
import { Doorbell } from '../src/device/doorbell.js';
import { loadOrCreateIdentity } from '../src/device/identity.js';
import { nobleBackend } from '../src/crypto/noble.js';
import { generateIdentity, identityToRecipient } from '../src/age/x25519.js';
import { CHUNK_SIZE, SEALED_CHUNK_SIZE } from '../src/age/stream.js';
import type { ClipSink } from '../src/host.js';
import { mkvFramePrefix } from '../src/clip/mkv.js';
import { MemoryStore, fakeFrame, seededRandom } from './helpers.js';

describe('sealing a long clip', function () {
  it('10 simulated minutes at 10 fps hold at most one chunk, in one buffer, and chunks leave as they fill', function () {
    const random = seededRandom('memory');
    const allocations: number[] = [];
    let sealedBytes = 0;
    let segments = 0;
    let ended = false;
    const sink: ClipSink = {
      begin() {},
      segment(_id, index, bytes) {
        assert.equal(index, segments++);
        assert.ok(bytes.length <= SEALED_CHUNK_SIZE || index === 0);
        if (index > 0) sealedBytes += bytes.length;
      },
      end() {
        ended = true;
      },
    };
    const doorbell = new Doorbell({
      backend: nobleBackend,
      random,
      identity: loadOrCreateIdentity(new MemoryStore(), random),
      sink,
      width: 800,
      height: 600,
      clipDuration: 600_000,
      maxClipDuration: 600_000,
      alloc: (n) => {
        allocations.push(n);
        return new Uint8Array(n);
      },
    });
    doorbell.setRecipients({ epoch: 1, recipients: [identityToRecipient(generateIdentity(random))] });
    const t0 = 1_800_000_000_000;
    doorbell.press(t0);
    const frame = fakeFrame(1, 10_000);
    let written = 0;
    let maxHeld = 0;
    for (let i = 1; i <= 6000; i++) {
      doorbell.frame(frame, t0 + i * 100);
      written += mkvFramePrefix(i * 100, frame.length).length + frame.length;
      const held = doorbell.currentClip!.buffered;
      maxHeld = Math.max(maxHeld, held);
      // everything written is either sealed and handed to the sink already, or in the one buffer
      assert.ok(written - (sealedBytes - 16 * (segments - 1)) <= CHUNK_SIZE + 200, `frame ${i}: sealing lags`);
    }
    doorbell.tick(t0 + 600_001);
    assert.ok(ended, 'the clip ended after 10 minutes');
    assert.ok(maxHeld <= CHUNK_SIZE, `held ${maxHeld} bytes of the chunk in progress`);
    // one chunk buffer (ciphertext‖tag) for the whole clip, through the host's Alloc; no plaintext buffer
    assert.deepEqual(allocations, [SEALED_CHUNK_SIZE]);
    assert.ok(segments > 900, `${segments} segments`);
  });
});
