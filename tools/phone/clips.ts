/**
 * `sealbell phone clips|fetch|watch`: this phone's view of its doorbells' clips on the
 * relay. A fetched clip is checked end to end before the video is written: the device's
 * signature on the manifest (with the key learnt at setup or endorsed by the account),
 * the payload hash, and every chunk as it decrypts with this phone's identity.
 */
import path from 'node:path';
import { SealbellError } from '../../src/errors.js';
import { checkClip } from '../clip-check.js';
import { RelayApiError, type ClipInfo, type Following, type PhoneClient } from '../relay/phone-client.js';
import { phoneLogin } from './relay-sync.js';
import { listDevices, readDevice, readPhone, type DeviceRecord } from './state.js';

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
  for (const id of devicesOf(dir, deviceId)) out.push({ deviceId: id, clips: await new DeviceFetcher(dir, id).clips() });
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

export interface FetchOptions {
  /** write the decrypted video here */
  out?: string;
  /** where the .age and manifest go (default <dir>/clips) */
  keepDir?: string;
  /**
   * the account history identity (unlocked with the passphrase), and any earlier ones: opens
   * clips from before this phone joined
   */
  history?: string | string[];
}

/** One doorbell's clips through one login: what `fetch`, `watch` and the demo use for each clip. */
export class DeviceFetcher {
  private client: PhoneClient | undefined;
  private readonly device: DeviceRecord;

  constructor(
    private readonly dir: string,
    readonly deviceId: string,
  ) {
    this.device = readDevice(dir, deviceId);
  }

  async clips(): Promise<ClipInfo[]> {
    return this.call((c) => c.clips());
  }

  /** Downloads the clip, checks signature and payload hash, decrypts it (and with `out` writes the video, seekable). */
  async fetch(clip: string, o: FetchOptions = {}): Promise<FetchedClip> {
    const phone = readPhone(this.dir);
    const identities = [phone.identity, ...(phone.previous ?? []), ...(o.history === undefined ? [] : [o.history].flat())];
    const pub = this.device.publicKeyText;
    const got = await this.call((c) => c.download(clip, o.keepDir ?? path.join(this.dir, 'clips'), { devicePub: pub }));
    const { opened } = checkClip({ age: got.age, manifest: got.manifest!, signature: got.signature! }, pub, { identities, out: o.out, seekable: true });
    return { deviceId: this.deviceId, clip, frames: opened!.frames, age: got.age, out: o.out };
  }

  /** Calls the relay with this phone's session, logging in (again, once a session has expired) as needed. */
  async call<T>(fn: (c: PhoneClient) => Promise<T>): Promise<T> {
    if (this.client) {
      try {
        return await fn(this.client);
      } catch (e) {
        if (!(e instanceof RelayApiError && e.status === 401)) throw e;
      }
    }
    this.client = await phoneLogin(this.dir, this.deviceId);
    return fn(this.client);
  }
}

/** Finds the clip on this phone's doorbells, downloads it, checks it and (with `out`) writes the video. */
export async function phoneFetch(a: FetchOptions & { dir: string; clip: string; deviceId?: string }): Promise<FetchedClip> {
  for (const id of devicesOf(a.dir, a.deviceId)) {
    try {
      return await new DeviceFetcher(a.dir, id).fetch(a.clip, a);
    } catch (e) {
      if (!(e instanceof RelayApiError && e.code === 'UNKNOWN_CLIP')) throw e;
    }
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
    const fetcher = new DeviceFetcher(a.dir, id);
    follows.push(
      await fetcher.call((c) => c.follow((e) => {
        if (e.state !== 'verified') return;
        fetcher.fetch(e.clip).then(
          (r) => a.onClip(r, e.clip),
          (err) => a.onClip(err instanceof SealbellError ? err : new SealbellError('FETCH', (err as Error).message), e.clip),
        );
      })),
    );
  }
  return {
    close: () => follows.forEach((f) => f.close()),
    closed: Promise.all(follows.map((f) => f.closed)).then(() => {}),
  };
}
