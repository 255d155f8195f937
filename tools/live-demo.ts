/**
 * `sealbell demo --live S`: after the clips, phone 1 watches the doorbell live
 * for S seconds through the relay and leaves the decrypted frames in
 * DIR/live.mkv (Matroska/MJPEG, which ffprobe reads). The doorbell runs in real
 * time meanwhile (a frame per frame interval of wall-clock time), so the
 * session looks as it would on a real doorbell.
 *
 *   await demoLive({ doorbell, phoneDir: phoneDirs[0], deviceId, seconds: o.live, out: at('live.mkv'), log });
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { NodeDoorbell } from '../hosts/node/doorbell.js';
import { phoneLive, type LiveResult } from './phone/live.js';

export interface DemoLiveOptions {
  /** a set-up, running doorbell (its uplink connected to the relay) */
  doorbell: NodeDoorbell;
  /** the watching phone's folder */
  phoneDir: string;
  deviceId?: string;
  seconds: number;
  /** e.g. DIR/live.mkv (or .mjpeg) */
  out: string;
  /** frame interval of the doorbell's camera, ms (default 100: 10 fps) */
  frameInterval?: number;
  log?: (line: string) => void;
}

export async function demoLive(o: DemoLiveOptions): Promise<LiveResult & { out: string }> {
  let done = false;
  const watching = phoneLive({ dir: o.phoneDir, deviceId: o.deviceId, seconds: o.seconds, out: o.out, log: o.log, now: () => o.doorbell.now }).finally(() => (done = true));
  const step = o.frameInterval ?? 100;
  const t0 = Date.now();
  for (let k = 1; !done; k++) {
    await o.doorbell.run(step);
    const wait = t0 + k * step - Date.now();
    if (wait > 0) await sleep(wait);
  }
  const result = await watching;
  o.log?.(`live: ${result.frames} frames decrypted at the phone in ${o.seconds} s (${result.dropped.replayed + result.dropped.late + result.dropped.forged} dropped by the replay window) → ${o.out}`);
  return result;
}
