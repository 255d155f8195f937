/**
 * `sealbell phone clips|fetch|watch`: this phone's view of its doorbells' clips on the
 * relay. A fetched clip is checked end to end before the video is written: the device's
 * signature on the manifest (with the key learnt at setup or endorsed by the account),
 * the payload hash, and every chunk as it decrypts with this phone's identity.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SealbellError } from '../../src/errors.js';
import { decodePublicKey } from '../../src/minisign.js';
import { parseHeader, MAX_HEADER_BYTES } from '../../src/age/format.js';
import { verifySignedManifest } from '../../src/clip/signed-manifest.js';
import type { ClipManifest } from '../../src/clip/manifest.js';
import { rosterHash } from '../../src/roster/roster-hash.js';
import type { SignedRoster } from '../../src/roster/roster.js';
import { checkClip } from '../clip-check.js';
import { RelayApiError, type ClipInfo, type Following, type PhoneClient } from '../relay/phone-client.js';
import { observeManifest, readChain, writeChain, type ChainNotice, type ChainVerdict, type RosterKnowledge } from './clip-chain.js';
import { phoneLogin } from './relay-sync.js';
import { listDevices, readAuthorityPub, readDevice, readPhone, readRoster, type DeviceRecord } from './state.js';

/** A listed clip: the relay's metadata, and for a verified clip what its signed manifest says. */
export interface ListedClip extends ClipInfo {
  /** the clip's number in the doorbell's chain (from the signed manifest) */
  seq?: number;
}

export interface DeviceClips {
  deviceId: string;
  /** in chain order (signed seq) where known; the relay's order is not trusted */
  clips: ListedClip[];
  /** missing, dropped or forked clips and roster warnings, each naming the doorbell */
  notices: ChainNotice[];
}

function devicesOf(dir: string, deviceId?: string): string[] {
  const ids = deviceId ? [deviceId] : listDevices(dir);
  if (ids.length === 0) throw new SealbellError('PHONE_STATE', 'this phone knows no doorbell yet: run phone setup or phone enroll');
  return ids;
}

export async function phoneClips(dir: string, deviceId?: string): Promise<DeviceClips[]> {
  const out: DeviceClips[] = [];
  for (const id of devicesOf(dir, deviceId)) out.push({ deviceId: id, ...(await new DeviceFetcher(dir, id).checkedClips()) });
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
  /** its number in the doorbell's clip chain */
  seq: number;
  /** false when this phone had already seen this manifest (e.g. a replayed event) */
  isNew: boolean;
  /** what the clip chain and roster checks found (missing clips before it, an old roster…) */
  notices: ChainNotice[];
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

  /**
   * The relay's listing, each verified clip's signed manifest fetched and run through the chain in
   * seq order: the listing itself is unauthenticated, so a clip it leaves out shows as a gap.
   */
  async checkedClips(): Promise<{ clips: ListedClip[]; notices: ChainNotice[] }> {
    const listed: ListedClip[] = await this.clips();
    const signed: { info: ListedClip; m: ClipManifest; bytes: Uint8Array }[] = [];
    for (const info of listed) {
      if (info.state !== 'verified') continue;
      const { m, bytes } = await this.manifestOf(info.clip);
      info.seq = m.seq;
      signed.push({ info, m, bytes });
    }
    const notices: ChainNotice[] = [];
    for (const { m, bytes } of signed.sort((a, b) => a.m.seq - b.m.seq)) notices.push(...this.observe(m, bytes).notices);
    listed.sort((a, b) => (a.seq ?? Infinity) - (b.seq ?? Infinity));
    return { clips: listed, notices };
  }

  /** The clip's manifest from the relay, checked with the doorbell's key. */
  async manifestOf(clip: string): Promise<{ m: ClipManifest; bytes: Uint8Array }> {
    const { manifest, signature } = await this.call((c) => c.signedManifest(clip));
    const m = verifySignedManifest(manifest, signature, decodePublicKey(this.device.publicKeyText));
    if (m.clip !== clip) throw new SealbellError('MANIFEST_MISMATCH', `the relay served the manifest of clip ${m.clip} for ${clip}`);
    return { m, bytes: manifest };
  }

  /** What the chain makes of this manifest, without recording it (has this phone seen it?). */
  peek(m: ClipManifest, bytes: Uint8Array): ChainVerdict {
    return observeManifest(readChain(this.dir, this.deviceId), m, bytes, this.rosterKnowledge());
  }

  /** Moves this phone's record of the doorbell's clip chain by one signed manifest. */
  observe(m: ClipManifest, bytes: Uint8Array, stanzas?: number): ChainVerdict {
    const r = this.rosterKnowledge();
    const v = observeManifest(readChain(this.dir, this.deviceId), m, bytes, r);
    const roster = this.roster();
    const recipients = roster && roster.roster.epoch === m.epoch && rosterHash(roster.bytes) === m.roster ? roster.roster.phones.length + (roster.roster.history === null ? 0 : 1) : undefined;
    if (stanzas !== undefined && recipients !== undefined && stanzas !== recipients) {
      v.notices.push({
        code: 'ROSTER_MISMATCH',
        message: `clip ${m.clip} of doorbell ${m.device} is sealed to ${stanzas} recipient(s), but its roster (epoch ${m.epoch}) has ${recipients}`,
      });
    }
    writeChain(this.dir, v.state);
    return v;
  }

  /** The roster this phone holds for the doorbell (checked with the account authority), if any. */
  private roster(): SignedRoster | undefined {
    try {
      return readRoster(this.dir, this.deviceId, readAuthorityPub(this.dir));
    } catch {
      return undefined; // a phone without the account's authority key judges only the chain
    }
  }

  private rosterKnowledge(): RosterKnowledge {
    const r = this.roster();
    return { hashes: r ? new Map([[r.roster.epoch, rosterHash(r.bytes)]]) : new Map() };
  }

  /** Downloads the clip, checks signature and payload hash, decrypts it (and with `out` writes the video). */
  async fetch(clip: string, o: FetchOptions = {}): Promise<FetchedClip> {
    const phone = readPhone(this.dir);
    const identities = [phone.identity, ...(phone.previous ?? []), ...(o.history === undefined ? [] : [o.history].flat())];
    const pub = this.device.publicKeyText;
    const got = await this.call((c) => c.download(clip, o.keepDir ?? path.join(this.dir, 'clips'), { devicePub: pub }));
    const { opened, manifest } = checkClip({ age: got.age, manifest: got.manifest!, signature: got.signature! }, pub, { identities, out: o.out });
    const v = this.observe(manifest, new Uint8Array(fs.readFileSync(got.manifest!)), stanzaCount(got.age));
    return { deviceId: this.deviceId, clip, frames: opened!.frames, age: got.age, out: o.out, seq: manifest.seq, isNew: v.isNew, notices: v.notices };
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

/** How many recipient stanzas the .age file's header has. */
function stanzaCount(agePath: string): number | undefined {
  const fd = fs.openSync(agePath, 'r');
  try {
    const buf = new Uint8Array(MAX_HEADER_BYTES);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    return parseHeader(buf.subarray(0, n))?.stanzas.length;
  } finally {
    fs.closeSync(fd);
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

/**
 * Fetches (and checks) every clip that becomes verified from now on; `onClip` per clip or failure.
 * An event is only a hint: a clip is new when its signed manifest is one this phone has not seen
 * (a replayed event of an old clip is ignored), and the chain names clips missing before it.
 */
export async function phoneWatch(a: { dir: string; deviceId?: string; onClip: (r: FetchedClip | SealbellError, clip: string) => void }): Promise<Watching> {
  const follows: Following[] = [];
  for (const id of devicesOf(a.dir, a.deviceId)) {
    const fetcher = new DeviceFetcher(a.dir, id);
    // One clip at a time per doorbell, so the chain moves in the order events arrive.
    let queue = Promise.resolve();
    const handle = async (clip: string): Promise<void> => {
      const { m, bytes } = await fetcher.manifestOf(clip);
      if (!fetcher.peek(m, bytes).isNew) return;
      a.onClip(await fetcher.fetch(clip), clip);
    };
    follows.push(
      await fetcher.call((c) => c.follow((e) => {
        if (e.state !== 'verified') return;
        queue = queue.then(() =>
          handle(e.clip).catch((err) => a.onClip(err instanceof SealbellError ? err : new SealbellError('FETCH', (err as Error).message), e.clip)),
        );
      })),
    );
  }
  return {
    close: () => follows.forEach((f) => f.close()),
    closed: Promise.all(follows.map((f) => f.closed)).then(() => {}),
  };
}
