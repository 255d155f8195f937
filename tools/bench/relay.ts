/**
 * Relay ingest on loopback: a device's spool holds a few MB of sealed clips
 * (sealed beforehand, so sealing is not timed); the real uplink core sends them
 * over `ws` to the real relay, which stores and fsyncs each segment before
 * acknowledging it and verifies each clip against its manifest.
 *
 *   relay_ingest_mb_per_s          sealed payload MB (10^6 bytes) acknowledged per second
 *   wire_overhead_bytes_per_chunk  bytes the device wrote to TCP beyond the sealed payload, per
 *                                  segment: frame headers, WebSocket framing and masking, the
 *                                  upgrade request, begin/end messages (manifests, signatures)
 *
 * Standalone: `node dist/tools/bench/relay.js` prints both.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Doorbell } from '../../src/device/doorbell.js';
import { loadOrCreateIdentity } from '../../src/device/identity.js';
import { nobleBackend, systemRandom } from '../../src/crypto/noble.js';
import { generateIdentity, identityToRecipient } from '../../src/age/x25519.js';
import { Spool } from '../../src/uplink/spool.js';
import { MemorySpoolStorage } from '../../src/uplink/storage.js';
import { Uplink } from '../../src/uplink/uplink.js';
import { MemoryKeyValueStore } from '../../src/memory-store.js';
import { wsUplinkConnect, type WsUplinkSocket } from '../../hosts/node/uplink-socket.js';
import { startRelay } from '../relay/server.js';
import { newDeviceCredential, registerDevice } from '../relay/owner-client.js';

const CLIPS = 4;
const FRAMES_PER_CLIP = 100;
const FRAME_BYTES = 20_000; // 4 × 2 MB ≈ 8 MB sealed

export async function relayBench(): Promise<{ relay_ingest_mb_per_s: number; wire_overhead_bytes_per_chunk: number }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sealbell-relay-bench-'));
  const adminToken = newDeviceCredential();
  const relay = await startRelay({ port: 0, host: '127.0.0.1', dataDir, adminToken });
  try {
    const identity = loadOrCreateIdentity(new MemoryKeyValueStore(), systemRandom);
    const credential = newDeviceCredential();
    await registerDevice(relay.url, adminToken, { credential, publicKey: identity.publicKeyText });

    const spool = new Spool({ storage: new MemorySpoolStorage(), capacity: 64 << 20 });
    const doorbell = new Doorbell({ backend: nobleBackend, random: systemRandom, identity, sink: spool, width: 640, height: 480, clipDuration: 600_000 });
    doorbell.setRecipients({ epoch: 1, recipients: [identityToRecipient(generateIdentity(systemRandom))] });
    const frame = systemRandom(FRAME_BYTES);
    frame[0] = 0xff;
    frame[1] = 0xd8;
    const t0 = Date.now();
    for (let c = 0; c < CLIPS; c++) {
      const start = t0 + c * 1_000_000;
      doorbell.press(start);
      for (let i = 1; i <= FRAMES_PER_CLIP; i++) doorbell.frame(frame, start + i * 40);
      doorbell.finishClip();
    }

    const sockets: WsUplinkSocket[] = [];
    const uplink = new Uplink({
      spool,
      connect: wsUplinkConnect({ url: relay.uplinkUrl, credential, onSocket: (s) => sockets.push(s) }),
      random: systemRandom,
      deviceId: identity.deviceId,
      window: 16,
    });
    const began = performance.now();
    uplink.start(Date.now());
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        uplink.tick(Date.now());
        if (spool.empty) {
          clearInterval(timer);
          resolve();
        } else if (performance.now() - began > 120_000) {
          clearInterval(timer);
          reject(new Error('the relay did not take the clips within 120 s'));
        }
      }, 5);
    });
    const seconds = (performance.now() - began) / 1000;
    uplink.stop();
    const written = sockets.reduce((n, s) => n + s.bytesWritten, 0);
    return {
      relay_ingest_mb_per_s: +(uplink.stats.payloadBytes / 1e6 / seconds).toFixed(2),
      wire_overhead_bytes_per_chunk: +((written - uplink.stats.payloadBytes) / uplink.stats.segmentsSent).toFixed(1),
    };
  } finally {
    await relay.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const r = await relayBench();
  console.log(`relay ingest (loopback, fsync per segment): ${r.relay_ingest_mb_per_s.toFixed(1)} MB/s`);
  console.log(`wire overhead: ${r.wire_overhead_bytes_per_chunk.toFixed(1)} bytes per 64 KiB chunk beyond the sealed payload`);
}
