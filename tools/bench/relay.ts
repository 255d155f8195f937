/**
 * Relay ingest on loopback.
 *
 * One real doorbell (relayBench): a device's spool holds a few MB of sealed
 * clips (sealed beforehand, so sealing is not timed); the real uplink core
 * sends them over `ws` to the real relay, which makes each segment durable
 * (group commit) before acknowledging it and verifies each clip against its
 * manifest.
 *
 *   relay_ingest_mb_per_s          sealed payload MB (10^6 bytes) acknowledged per second
 *   wire_overhead_bytes_per_chunk  bytes the device wrote to TCP beyond the sealed payload, per
 *                                  segment: frame headers, WebSocket framing and masking, the
 *                                  upgrade request, begin/end messages (manifests, signatures)
 *
 * Many doorbells (relayScaleBench): `sealbell relay` in a process of its own,
 * and 1, 10 and 100 load doorbells (tools/bench/wire-doorbell.ts) in this one,
 * each streaming sealed-size 64 KiB chunks as fast as the relay acknowledges
 * them, 8 in flight each (the device's default window). Before each level the
 * disk's own rate is measured in the relay's data folder: 64 KiB files written
 * and fsynced one at a time, what a relay with one fsync per segment could do
 * at best (the median of five passes of 256 files).
 *
 *   disk_fsync_64k_mb_per_s[_1|_10]     the disk, one fsync per 64 KiB file (unsuffixed: before the 100 run)
 *   relay_ingest_mb_per_s_{1,10,100}    aggregate payload MB acknowledged per second, from the first
 *                                       segment sent to the last acknowledgement
 *   relay_ingest_{1,10,100}_vs_disk     the same over the disk's rate measured just before it
 *   relay_ack_p50_ms_{1,10,100}         send → acknowledgement, at the doorbell, median
 *   relay_ack_p99_ms_{1,10,100}         … 99th percentile
 *   relay_recording_*_100               100 doorbells recording rather than catching up: each sends a
 *                                       chunk every 250 ms (≈ 2.1 Mbit/s); aggregate MB/s and ack p50/p99
 *
 * Standalone: `node dist/tools/bench/relay.js` prints them all. The figures are
 * wall-clock: on a busy shared machine they move with the load.
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
import { startRelayProcess } from './relay-process.js';
import { SEALED_CHUNK_SIZE, WireDoorbell } from './wire-doorbell.js';

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

const LEVELS = [1, 10, 100] as const;
/** segments per level, at least SEGMENTS_MIN per doorbell (≈ 84 MB at 1 and 10 doorbells, 157 MB at 100) */
const SEGMENTS_TOTAL = 1280;
const SEGMENTS_MIN = 24;
const LOAD_WINDOW = 8;
const RECORDING_INTERVAL_MS = 250;
const RECORDING_SEGMENTS = 24; // 6 s of recording each

/** MB/s writing 64 KiB files into `dir`, each written, fsynced and closed before the next (and the folder fsynced at the end). */
export function diskFsync64kOnce(dir: string, files = 256): number {
  const d = fs.mkdtempSync(path.join(dir, 'disk-probe-'));
  const chunk = systemRandom(65536);
  try {
    const began = performance.now();
    for (let i = 0; i < files; i++) {
      const fd = fs.openSync(path.join(d, `${i}.seg`), 'w', 0o600);
      try {
        fs.writeSync(fd, chunk);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }
    const dfd = fs.openSync(d, 'r');
    fs.fsyncSync(dfd);
    fs.closeSync(dfd);
    return (files * chunk.length) / 1e6 / ((performance.now() - began) / 1000);
  } finally {
    fs.rmSync(d, { recursive: true, force: true });
  }
}

/**
 * The disk's rate as the median of `passes` probes of 256 files (16 MiB) each: one probe of a
 * third of a second moved by ±30 % from run to run on the same disk.
 */
export function diskFsync64k(dir: string, passes = 5): number {
  const rates = Array.from({ length: passes }, () => diskFsync64kOnce(dir)).sort((a, b) => a - b);
  return rates[Math.floor(passes / 2)];
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/**
 * `o.db`: the relay on PostgreSQL (`--db`) instead of SQLite (the same figures; compare runs, not
 * keys); `o.levels`: fewer doorbell counts; `o.recording: false` leaves out the recording row.
 */
export async function relayScaleBench(o: { db?: string; levels?: readonly number[]; recording?: boolean } = {}): Promise<Record<string, number>> {
  const levels = o.levels ?? LEVELS;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sealbell-relay-scale-'));
  const adminToken = newDeviceCredential();
  const relay = await startRelayProcess(dataDir, adminToken, 60_000, o.db ? ['--db', o.db] : []);
  const figures: Record<string, number> = {};
  try {
    const credentials: string[] = [];
    for (let i = 0; i < Math.max(...levels); i++) {
      const identity = loadOrCreateIdentity(new MemoryKeyValueStore(), systemRandom);
      const credential = newDeviceCredential();
      await registerDevice(relay.url, adminToken, { credential, publicKey: identity.publicKeyText });
      credentials.push(credential);
    }
    const chunk = systemRandom(SEALED_CHUNK_SIZE);
    /** n doorbells stream `perDoorbell` segments each; aggregate MB/s and acknowledgement latencies */
    const run = async (n: number, perDoorbell: number, clip: string, intervalMs?: number) => {
      const results = await Promise.all(
        credentials.slice(0, n).map((credential, i) =>
          new WireDoorbell({
            uplinkUrl: relay.uplinkUrl,
            credential,
            window: LOAD_WINDOW,
            segment: () => chunk,
            pace: intervalMs === undefined ? undefined : { intervalMs, phaseMs: (i * intervalMs) / n },
          }).stream(clip, perDoorbell),
        ),
      );
      if (results.some((r) => r.end !== 'done')) throw new Error(`a doorbell's connection ended before all its segments were acknowledged (${n} doorbells)`);
      // from the first segment sent to the last acknowledgement: connecting is not ingest
      const seconds = (Math.max(...results.map((r) => r.lastAckAt)) - Math.min(...results.map((r) => r.firstSentAt))) / 1000;
      const latencies = results.flatMap((r) => r.latenciesMs).sort((a, b) => a - b);
      return {
        mbps: results.reduce((b, r) => b + r.payloadBytes, 0) / 1e6 / seconds,
        p50: +percentile(latencies, 50).toFixed(1),
        p99: +percentile(latencies, 99).toFixed(1),
      };
    };
    for (const n of levels) {
      const disk = diskFsync64k(dataDir);
      const r = await run(n, Math.max(SEGMENTS_MIN, Math.ceil(SEGMENTS_TOTAL / n)), `bench-${n}`);
      if (n !== 100) figures[`disk_fsync_64k_mb_per_s_${n}`] = +disk.toFixed(1);
      else figures.disk_fsync_64k_mb_per_s = +disk.toFixed(1);
      figures[`relay_ingest_mb_per_s_${n}`] = +r.mbps.toFixed(1);
      figures[`relay_ingest_${n}_vs_disk`] = +(r.mbps / disk).toFixed(2);
      figures[`relay_ack_p50_ms_${n}`] = r.p50;
      figures[`relay_ack_p99_ms_${n}`] = r.p99;
    }
    if (o.recording === false) return figures;
    // 100 doorbells recording at once, each a chunk every 250 ms (≈ 2.1 Mbit/s), their starts spread over 250 ms
    const rec = await run(100, RECORDING_SEGMENTS, 'bench-recording', RECORDING_INTERVAL_MS);
    figures.relay_recording_mb_per_s_100 = +rec.mbps.toFixed(1);
    figures.relay_recording_ack_p50_ms_100 = rec.p50;
    figures.relay_recording_ack_p99_ms_100 = rec.p99;
    return figures;
  } finally {
    await relay.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const r = await relayBench();
  console.log(`relay ingest (loopback, one real doorbell): ${r.relay_ingest_mb_per_s.toFixed(1)} MB/s`);
  console.log(`wire overhead: ${r.wire_overhead_bytes_per_chunk.toFixed(1)} bytes per 64 KiB chunk beyond the sealed payload`);
  for (const [k, v] of Object.entries(await relayScaleBench())) console.log(`${k.padEnd(32)} ${v}`);
}
