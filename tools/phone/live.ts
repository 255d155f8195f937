/**
 * `sealbell phone live --seconds S --out FILE`: watch the doorbell live for S
 * seconds and write the decrypted frames to FILE (.mkv Matroska, or .mjpeg).
 *
 *   await phoneLive({ dir, seconds: 10, out: 'live.mkv' })
 *
 * The phone logs in to the relay as for clips, asks for live view, checks the
 * device's signed opening and opens each record (replayed, reordered and forged
 * records are dropped and counted: `dropped` in the result).
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../hosts/node/kv-store.js';
import { decodePublicKey } from '../../src/minisign.js';
import { nobleAead, systemRandom } from '../../src/crypto/noble.js';
import { SealbellError } from '../../src/errors.js';
import type { Random } from '../../src/host.js';
import type { LiveStats } from '../../src/live/opener.js';
import { PhoneClient, phoneAuthKeyFromSeed } from '../relay/phone-client.js';
import { LiveReceiver } from './live-receiver.js';
import { LiveFile } from './live-file.js';
import { listDevices, readDevice, readPhone } from './state.js';

export interface WatchLiveOptions {
  client: PhoneClient;
  /** the phone's AGE-SECRET-KEY-1… */
  identity: string;
  /** device.pub text */
  devicePub: string;
  /** how long to watch; then the phone leaves (the device ends the session) */
  seconds: number;
  /** the phone leaves now, as when its seconds are up (tests watch for some frames, not some time) */
  leave?: AbortSignal;
  onFrame?: (frame: { ctr: number; time: number; data: Uint8Array }) => void;
  /** the opening was checked: the session's video size and start */
  onOpen?: (info: { width: number; height: number; start: number; session: string }) => void;
  random?: Random;
  /** the phone's clock (default Date.now): signed into the request, checked against the doorbell's */
  now?: () => number;
}

export interface LiveResult {
  session: string | undefined;
  frames: number;
  /** records dropped and flagged by the replay window, by reason, and counters never seen */
  dropped: Omit<LiveStats, 'frames'>;
  /** 'seconds' when the phone left after its time; else the device's end reason */
  ended: string;
  width: number;
  height: number;
}

/** Watches one live session over `client`; rejects with a SealbellError when refused or cut off. */
export function watchLive(o: WatchLiveOptions): Promise<LiveResult> {
  const receiver = new LiveReceiver({
    aead: nobleAead,
    random: o.random ?? systemRandom,
    identity: o.identity,
    devicePublicKey: decodePublicKey(o.devicePub).publicKey,
    device: o.client.device,
    authSecretKey: o.client.authKey.secretKey,
    now: o.now,
    onFrame: (f) => o.onFrame?.(f),
  });
  const ws = o.client.liveSocket();
  let status: number | undefined;
  let timedOut = false;
  let opened = false;
  return new Promise((resolve, reject) => {
    const leave = () => {
      timedOut = true;
      ws.close(1000, 'enough');
    };
    const timer = setTimeout(leave, o.seconds * 1000);
    o.leave?.addEventListener('abort', leave, { once: true });
    ws.on('unexpected-response', (_req, res) => {
      status = res.statusCode;
      res.resume();
      ws.terminate();
    });
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => {
      const buf = data as Buffer;
      const reply = receiver.handle(isBinary ? new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength) : buf.toString('utf8'));
      if (reply) ws.send(reply);
      if (!opened && receiver.opener) {
        opened = true;
        const i = receiver.opener.info;
        o.onOpen?.({ width: i.width, height: i.height, start: i.start, session: i.session });
      }
      if (receiver.state === 'failed') ws.close(1000);
    });
    ws.on('close', (code, reason) => {
      clearTimeout(timer);
      if (status !== undefined) return reject(new SealbellError(status === 403 ? 'LIVE_FORBIDDEN' : 'LIVE_REFUSED', `the relay refused live view: HTTP ${status}`));
      if (!timedOut) receiver.closed(code, reason.toString());
      if (receiver.state === 'failed' && !(timedOut && receiver.error?.code === 'LIVE_CUT')) return reject(receiver.error);
      const { frames, ...dropped } = receiver.opener?.stats ?? { frames: 0, skipped: 0, replayed: 0, late: 0, stale: 0, forged: 0, closed: 0 };
      const info = receiver.opener?.info;
      resolve({ session: receiver.session, frames, dropped, ended: receiver.endReason ?? (timedOut ? 'seconds' : 'closed'), width: info?.width ?? 0, height: info?.height ?? 0 });
    });
  });
}

export interface PhoneLiveOptions {
  /** the phone's folder (tools/phone/state.ts) */
  dir: string;
  /** which doorbell (default: the only one this phone knows) */
  deviceId?: string;
  seconds: number;
  /** .mkv (Matroska) or .mjpeg */
  out: string;
  log?: (line: string) => void;
  random?: Random;
  now?: () => number;
}

/** One live session this phone asked for, as kept in devices/<ID>/live-sessions.json. */
export interface LiveSessionRecord {
  session: string;
  /** when the phone asked (its clock, ms since the Unix epoch) */
  time: number;
  frames: number;
  ended: string;
}

const LIVE_LOG_LENGTH = 20;

/**
 * Keeps the phone's recent live sessions per doorbell (the newest 20), for the owner to look
 * back on (a `phone status` command would list them; there is none yet).
 */
export function recordLiveSession(dir: string, deviceId: string, r: LiveSessionRecord): void {
  const file = path.join(dir, 'devices', deviceId, 'live-sessions.json');
  writeFileAtomic(file, JSON.stringify([...readLiveSessions(dir, deviceId), r].slice(-LIVE_LOG_LENGTH), null, 2) + '\n');
}

export function readLiveSessions(dir: string, deviceId: string): LiveSessionRecord[] {
  try {
    const list = JSON.parse(fs.readFileSync(path.join(dir, 'devices', deviceId, 'live-sessions.json'), 'utf8')) as unknown;
    return Array.isArray(list) ? (list as LiveSessionRecord[]) : [];
  } catch {
    return []; // none yet (or unreadable: it is a convenience record, started afresh)
  }
}

/** `sealbell phone live`: watch for `seconds`, decrypted frames into `out`. */
export async function phoneLive(o: PhoneLiveOptions): Promise<LiveResult & { out: string }> {
  const phone = readPhone(o.dir);
  const devices = listDevices(o.dir);
  const deviceId = o.deviceId ?? (devices.length === 1 ? devices[0] : undefined);
  if (!deviceId) throw new SealbellError('PHONE_STATE', devices.length ? `this phone knows ${devices.length} doorbells: say which (${devices.join(', ')})` : 'this phone knows no doorbell yet');
  const device = readDevice(o.dir, deviceId);
  const client = await PhoneClient.login(device.relayUrl, deviceId, phoneAuthKeyFromSeed(phone.auth.secretKey));
  const file = new LiveFile(o.out);
  const startedAt = (o.now ?? Date.now)();
  try {
    const result = await watchLive({
      client,
      identity: phone.identity,
      devicePub: device.publicKeyText,
      seconds: o.seconds,
      random: o.random,
      now: o.now,
      onOpen: (i) => {
        file.begin(i.width, i.height, i.start);
        o.log?.(`live: session ${i.session} open, ${i.width}×${i.height}`);
      },
      onFrame: (f) => file.frame(f.data, f.time),
    });
    o.log?.(`live: ${result.frames} frames written to ${o.out} (ended: ${result.ended})`);
    recordLiveSession(o.dir, deviceId, { session: result.session ?? '', time: startedAt, frames: result.frames, ended: result.ended });
    return { ...result, out: o.out };
  } finally {
    file.close();
  }
}
