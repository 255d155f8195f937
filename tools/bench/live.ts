/**
 * Live-view latency on loopback: capture → decrypted frame at the phone, with the
 * real relay in between. The doorbell is the app (src/app on the Node host, the real
 * clock: a frame every 1000/fps ms of wall-clock time, sealed by its LiveSessions and
 * sent by its Uplink over the device's own WebSocket client); the phone (PhoneClient and
 * the live receiver) logs in, asks, checks the signed opening and opens each
 * record. Frames are SVGA JPEGs from the hosted simulator's camera, encoded
 * beforehand: a real camera hands over a finished JPEG, so encoding is not timed.
 * Everything runs in this one process, so the figure includes sharing its event
 * loop between doorbell, relay and phone.
 *
 *   live_latency_ms_median / _p95 / _max   per frame, from the capture instant to the
 *                                          decrypted JPEG in the phone's hands
 *   live_latency_budget_ms                 one frame interval + 50 ms (the aim)
 *
 * and, under XS, what the device's JavaScript pays (meter units):
 *
 *   xs_live_session_start                  one opening: X25519 stanza + Ed25519 signature
 *   xs_live_record_small_frame / _large    sealing a 1,000- / 65,000-byte frame as a record,
 *                                          native AEAD (tools/xs-native), host buffers
 *   xs_live_record_units_per_frame_byte    their difference per byte: JS work that grows
 *                                          with the frame (0: every byte is native work)
 *
 * Standalone: `node dist/tools/bench/live.js` prints the figures as JSON.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { NodeDoorbell } from '../../hosts/node/doorbell.js';
import { SyntheticCamera } from '../../hosts/node/camera.js';
import { startRelay } from '../relay/server.js';
import { newDeviceCredential } from '../relay/owner-client.js';
import { quantile, startBenchDoorbell } from './bench-doorbell.js';
import { watchLive } from '../phone/live.js';

export interface LiveLatencyOptions {
  /** frames per second (default 10) */
  fps?: number;
  /** seconds watched (default 6) */
  seconds?: number;
  width?: number;
  height?: number;
}

export interface LiveLatency {
  live_fps: number;
  live_frames: number;
  live_frame_bytes_mean: number;
  live_latency_ms_median: number;
  live_latency_ms_p95: number;
  live_latency_ms_max: number;
  live_latency_budget_ms: number;
  live_within_budget: boolean;
}

const round = (x: number) => Math.round(x * 100) / 100;

/** The camera for the bench: a few real frames, each with its capture number after the JPEG's end, and when it was captured. */
class TimedCamera {
  readonly captured = new Map<number, number>();
  bytes = 0;
  constructor(private readonly frames: Uint8Array[], readonly width: number, readonly height: number) {}
  capture(n: number): Uint8Array {
    const jpeg = this.frames[n % this.frames.length];
    const out = new Uint8Array(jpeg.length + 4);
    out.set(jpeg);
    new DataView(out.buffer).setUint32(jpeg.length, n); // after EOI: a decoder ignores it
    this.captured.set(n, performance.now());
    this.bytes += out.length;
    return out;
  }
}

export async function benchLiveLatency(o: LiveLatencyOptions = {}): Promise<LiveLatency> {
  const fps = o.fps ?? 10;
  const interval = 1000 / fps;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sealbell-live-bench-'));
  const adminToken = newDeviceCredential();
  const relay = await startRelay({ port: 0, host: '127.0.0.1', dataDir, adminToken });
  const synthetic = new SyntheticCamera({ width: o.width ?? 800, height: o.height ?? 600 });
  const camera = new TimedCamera(Array.from({ length: 10 }, (_, n) => synthetic.capture(n, Date.now())), synthetic.width, synthetic.height);
  let doorbell: NodeDoorbell | undefined;
  try {
    const bell = await startBenchDoorbell(relay, adminToken, dataDir, { camera, fps, app: { liveMaxDuration: 600_000 } });
    doorbell = bell.doorbell;
    const { identity, phoneIdentity, client } = bell;

    const latencies: number[] = [];
    let frames = 0;
    await watchLive({
      client,
      identity: phoneIdentity,
      devicePub: identity.publicKeyText,
      seconds: (o.seconds ?? 6) + 0.5,
      onFrame: (f) => {
        const n = new DataView(f.data.buffer, f.data.byteOffset, f.data.byteLength).getUint32(f.data.byteLength - 4);
        const t = camera.captured.get(n);
        frames++;
        if (t !== undefined) latencies.push(performance.now() - t);
      },
    });
    latencies.sort((a, b) => a - b);
    if (latencies.length === 0) throw new Error('no live frame reached the phone');
    const budget = interval + 50;
    return {
      live_fps: fps,
      live_frames: frames,
      live_frame_bytes_mean: Math.round(camera.bytes / Math.max(1, camera.captured.size)),
      live_latency_ms_median: round(quantile(latencies, 0.5)),
      live_latency_ms_p95: round(quantile(latencies, 0.95)),
      live_latency_ms_max: round(latencies[latencies.length - 1]),
      live_latency_budget_ms: budget,
      live_within_budget: quantile(latencies, 0.95) <= budget,
    };
  } finally {
    await doorbell?.stop();
    await relay.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

// `node dist/tools/bench/live.js`
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await benchLiveLatency(), null, 2));
}


/**
 * XS meter units for starting one live session on the device (X25519 stanza + Ed25519 signature),
 * and for checking the phone's signed request before it (one Ed25519 verification), the dispatch
 * baseline subtracted.
 */
export async function xsLiveStartCost(root: string): Promise<{ xs_live_session_start: number; xs_live_request_check: number }> {
  const { measure } = await import('../xs/run.js');
  const m = await measure('tools/bench/xs-live-entry.ts', ['noop', 'start', 'check_request'], { root, arg: 0, runs: 3, warmup: 2, allowVariance: true });
  // (noble keeps small caches, so runs differ by ~0.1 %: the median is reported)
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const noop = median(m.noop.computeRuns);
  return { xs_live_session_start: median(m.start.computeRuns) - noop, xs_live_request_check: median(m.check_request.computeRuns) - noop };
}

/**
 * XS meter units for sealing one frame as a live record on the device, for a small and a
 * large frame (tools/bench/xs-live-record-entry.ts), with the device's native AEAD in the
 * xsnap-sealbell worker (tools/xs-native) and host buffers: the per-byte sealing runs in C,
 * off the meter, so units that grow with the frame are JavaScript work per byte.
 */
export async function xsLiveRecordCost(root: string): Promise<Record<string, number | string>> {
  const { nativeWorker } = await import('./xs-stream.js');
  const { bin, why } = await nativeWorker(root);
  if (!bin) return { xs_live_record_units_per_frame_byte: `not measured: ${why}` };
  const { openXs } = await import('../xs/run.js');
  const s = await openXs('tools/bench/xs-live-record-entry.ts', { root, bin });
  try {
    const units = async (op: string) => (await s.call(op)).meter.compute;
    const median = async (op: string) => {
      const runs: number[] = [];
      for (let i = 0; i < 5; i++) runs.push(await units(op));
      return runs.sort((a, b) => a - b)[2];
    };
    // warm-up, then the medians of five, the dispatch baseline subtracted
    for (const op of ['noop', 'frame_small', 'frame_large']) await units(op);
    const noop = await median('noop');
    const small = (await median('frame_small')) - noop;
    const large = (await median('frame_large')) - noop;
    const bytes = (await s.call('frame_bytes')).value as { small: number; large: number };
    const heap = (await s.call('frame_large_heap')).value as { chunks: number; slots: number };
    return {
      xs_live_record_small_frame: small,
      xs_live_record_large_frame: large,
      // JS work that grows with the frame: ~0 when every byte is handled natively
      xs_live_record_units_per_frame_byte: +((large - small) / (bytes.large - bytes.small)).toFixed(4),
      // XS heap one 65,000-byte frame's record allocates (garbage included): chunk bytes, slots
      xs_live_record_heap: `${heap.chunks} chunk bytes + ${heap.slots} slots`,
    };
  } finally {
    await s.close();
  }
}
