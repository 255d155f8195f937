/**
 * `sealbell phone clips|fetch|watch`: this phone's view of its doorbells' clips on the
 * relay. A fetched clip is checked end to end before the video is written: the device's
 * signature on the manifest (with the key learnt at setup or endorsed by the account),
 * the payload hash, and every chunk as it decrypts with this phone's identity.
 */
import path from 'node:path';
import { SealbellError } from '../../src/errors.js';
import { checkClip } from '../clip-check.js';
import type { ClipInfo, Following } from '../relay/phone-client.js';
import { phoneLogin } from './relay-sync.js';
import { listDevices, readDevice, readPhone } from './state.js';

export interface DeviceClips {
  deviceId: string;
  clips: ClipInfo[];
}

function devicesOf(dir: string, deviceId?: string): string[] {
  const ids = deviceId ? [deviceId] : listDevices(dir);
  if (ids.length === 0) throw new SealbellError('PHONE_STATE', 'this phone knows no doorbell yet: run phone setup or phone enroll');
  return ids;
}

export async function phoneClips(dir: string, deviceId?: string): Promise<DeviceClips[]> {
  const out: DeviceClips[] = [];
  for (const id of devicesOf(dir, deviceId)) out.push({ deviceId: id, clips: await (await phoneLogin(dir, id)).clips() });
  return out;
}

export interface FetchedClip {
  deviceId: string;
  clip: string;
  frames: number;
  /** the .age, manifest and signature as downloaded (in <dir>/clips unless `keepDir`) */
  age: string;
  /** the decrypted video, when `out` was given */
  out?: string;
}

/** Finds the clip on this phone's doorbells, downloads it, checks it and (with `out`) writes the video. */
export async function phoneFetch(a: { dir: string; clip: string; out?: string; deviceId?: string; keepDir?: string; history?: string }): Promise<FetchedClip> {
  // The account history identity (unlocked with the passphrase) opens clips from before this phone joined.
  const identities = [readPhone(a.dir).identity, ...(a.history ? [a.history] : [])];
  for (const id of devicesOf(a.dir, a.deviceId)) {
    const client = await phoneLogin(a.dir, id);
    const listed = (await client.clips()).find((c) => c.clip === a.clip);
    if (!listed) continue;
    const device = readDevice(a.dir, id);
    const got = await client.download(a.clip, a.keepDir ?? path.join(a.dir, 'clips'), { devicePub: device.publicKeyText });
    const { opened } = checkClip({ age: got.age, manifest: got.manifest!, signature: got.signature! }, device.publicKeyText, { identities, out: a.out });
    return { deviceId: id, clip: a.clip, frames: opened!.frames, age: got.age, out: a.out };
  }
  throw new SealbellError('UNKNOWN_CLIP', `no doorbell of this phone has a clip ${a.clip}`);
}

export interface Watching {
  close(): void;
  closed: Promise<void>;
}

/** Fetches (and checks) every clip that becomes verified from now on; `onClip` per clip or failure. */
export async function phoneWatch(a: { dir: string; deviceId?: string; onClip: (r: FetchedClip | SealbellError, clip: string) => void }): Promise<Watching> {
  const follows: Following[] = [];
  for (const id of devicesOf(a.dir, a.deviceId)) {
    const client = await phoneLogin(a.dir, id);
    follows.push(
      await client.follow((e) => {
        if (e.state !== 'verified') return;
        phoneFetch({ dir: a.dir, clip: e.clip, deviceId: id }).then(
          (r) => a.onClip(r, e.clip),
          (err) => a.onClip(err instanceof SealbellError ? err : new SealbellError('FETCH', (err as Error).message), e.clip),
        );
      }),
    );
  }
  return {
    close: () => follows.forEach((f) => f.close()),
    closed: Promise.all(follows.map((f) => f.closed)).then(() => {}),
  };
}
