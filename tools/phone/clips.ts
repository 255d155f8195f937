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
import { observeDeleted, observeManifest, readChain, writeChain, type ChainNotice, type ChainVerdict, type RosterKnowledge } from './clip-chain.js';
import { expiryAllowed, ownerEvidence, type OwnerEvidence } from './owner-requests.js';
import { phoneLogin } from './relay-sync.js';
import { showEvent, type ShownEvent } from './events.js';
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
  /** why this doorbell's clips could not be listed (the others are listed all the same) */
  error?: Error;
}

function devicesOf(dir: string, deviceId?: string): string[] {
  const ids = deviceId ? [deviceId] : listDevices(dir);
  if (ids.length === 0) throw new SealbellError('PHONE_STATE', 'this phone knows no doorbell yet: run phone setup or phone enroll');
  return ids;
}

/** `now`: the phone's clock, which judges expiries against the owner's retention (tests move it). */
export async function phoneClips(dir: string, deviceId?: string, now: () => number = Date.now): Promise<DeviceClips[]> {
  const out: DeviceClips[] = [];
  for (const id of devicesOf(dir, deviceId)) {
    try {
      out.push({ deviceId: id, ...(await new DeviceFetcher(dir, id, now).checkedClips()) });
    } catch (e) {
      out.push({ deviceId: id, clips: [], notices: [], error: e as Error });
    }
  }
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
    private readonly now: () => number = Date.now,
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
    const notices = await this.observeAccounted(listed, 0, Infinity);
    listed.sort((a, b) => (a.seq ?? Infinity) - (b.seq ?? Infinity));
    return { clips: listed, notices };
  }

  /**
   * Runs the signed manifests of the listed clips (verified, and expired ones, which keep theirs)
   * and the owner's signed deletions through the chain in seq order, for seqs in (after, before):
   * an owner's deletion or an expiry the owner's retention allows is no gap; a clip the relay
   * dropped without either still is, and an expiry the retention does not allow is reported.
   */
  private async observeAccounted(listed: ListedClip[], after: number, before: number): Promise<ChainNotice[]> {
    const signed: { info: ListedClip; m: ClipManifest; bytes: Uint8Array }[] = [];
    for (const info of listed) {
      if (info.state !== 'verified' && info.state !== 'expired') continue;
      const { m, bytes } = await this.manifestOf(info.clip);
      info.seq = m.seq;
      signed.push({ info, m, bytes });
    }
    const evidence: OwnerEvidence = await ownerEvidence(this.dir, this.deviceId, (fn) => this.call(fn));
    type Step = { seq: number; run: () => ChainNotice[] };
    const steps: Step[] = [];
    const now = this.now();
    for (const { info, m, bytes } of signed) {
      const later = signed.filter((x) => x.m.seq > m.seq).reduce((n, x) => n + x.m.payloadSize, 0);
      steps.push({
        seq: m.seq,
        run: () => {
          const notices = this.observe(m, bytes).notices;
          if (info.state === 'expired' && !expiryAllowed(m, evidence.policies, later, now)) {
            notices.push({ code: 'CLIP_EXPIRED_EARLY', message: `clip ${m.seq} (${m.clip}) of doorbell ${m.device} was deleted by the relay as expired, but no retention the owner signed allows it yet` });
          }
          return notices;
        },
      });
    }
    for (const d of evidence.deleted) {
      steps.push({
        seq: d.seq,
        run: () => {
          const v = observeDeleted(readChain(this.dir, this.deviceId), d, this.deviceId);
          if (v.state) writeChain(this.dir, v.state);
          return v.notices;
        },
      });
    }
    const notices: ChainNotice[] = [];
    for (const step of steps.filter((x) => x.seq > after && x.seq < before).sort((a, b) => a.seq - b.seq)) notices.push(...step.run());
    return notices;
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

  /** Downloads the clip, checks signature and payload hash, decrypts it (and with `out` writes the video, seekable). */
  async fetch(clip: string, o: FetchOptions = {}): Promise<FetchedClip> {
    const phone = readPhone(this.dir);
    const identities = [phone.identity, ...(phone.previous ?? []), ...(o.history === undefined ? [] : [o.history].flat())];
    const pub = this.device.publicKeyText;
    const got = await this.call((c) => c.download(clip, o.keepDir ?? path.join(this.dir, 'clips'), { devicePub: pub }));
    const { opened, manifest } = checkClip({ age: got.age, manifest: got.manifest!, signature: got.signature! }, pub, { identities, out: o.out, seekable: true });
    // A gap before this clip: the owner's deletions and allowed expiries in it are no gap (verified
    // clips in it are left to be fetched, so `watch` still reports them as new).
    const chain = readChain(this.dir, this.deviceId);
    const early = chain && manifest.seq > chain.seq + 1 ? await this.observeAccounted((await this.clips()).filter((c) => c.state === 'expired'), chain.seq, manifest.seq) : [];
    const v = this.observe(manifest, new Uint8Array(fs.readFileSync(got.manifest!)), stanzaCount(got.age));
    return { deviceId: this.deviceId, clip, frames: opened!.frames, age: got.age, out: o.out, seq: manifest.seq, isNew: v.isNew, notices: [...early, ...v.notices] };
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
  const ids = devicesOf(a.dir, a.deviceId);
  let unreachable: Error | undefined;
  for (const id of ids) {
    try {
      return await new DeviceFetcher(a.dir, id).fetch(a.clip, a);
    } catch (e) {
      if (e instanceof RelayApiError && e.code === 'UNKNOWN_CLIP') continue;
      // With one doorbell, its error is the answer; with several, another may hold the clip.
      if (ids.length === 1 || !isUnreachable(e)) throw e;
      unreachable = e as Error;
    }
  }
  if (unreachable) throw unreachable;
  throw new SealbellError('UNKNOWN_CLIP', `no doorbell of this phone has a clip ${a.clip}`);
}

/** A network failure (relay down, connection reset): worth trying again later, unlike a refusal. */
export function isUnreachable(e: unknown): boolean {
  const code = (e as { cause?: { code?: string } }).cause?.code ?? (e as { code?: string }).code;
  if (e instanceof RelayApiError) return (e.code === 'FOLLOW_FAILED' && e.status === 0) || e.status >= 500 || e.status === 429;
  // fetch() reports every network failure as TypeError "fetch failed" with the reason as its cause.
  return (e instanceof TypeError && e.message === 'fetch failed') || ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET'].includes(code ?? '');
}

export interface Watching {
  close(): void;
  /** resolves when closed; rejects when no doorbell can be watched any more */
  closed: Promise<void>;
}

export interface WatchOptions {
  dir: string;
  deviceId?: string;
  onClip: (r: FetchedClip | SealbellError, clip: string) => void;
  /** a doorbell's connection news: lost, retrying, back, or given up */
  onStatus?: (deviceId: string, message: string) => void;
  /** each event notice (someone rang, motion) as it arrives, checked and opened; or why it was refused */
  onEvent?: (r: ShownEvent | SealbellError, deviceId: string) => void;
  /** the doorbells' names for event lines (default "Doorbell <first 4 digits>") */
  names?: Record<string, string>;
  /** where event posters are written (default <dir>/events) */
  posterDir?: string;
  /** wait before reconnect attempt n (1, 2, …); default 1 s doubling to 30 s */
  backoffMs?: (attempt: number) => number;
}

const defaultBackoff = (attempt: number) => Math.min(30_000, 1000 * 2 ** (attempt - 1));

/**
 * Fetches (and checks) every clip that becomes verified from now on; `onClip` per clip or
 * failure. Each doorbell is followed on its own: when its relay goes away the watch says
 * so, reconnects with backoff and catches up on the clips it missed meanwhile. A doorbell
 * whose relay refuses this phone (not a network failure) is given up with a message; the
 * watch ends with an error only when every doorbell is given up.
 */
export async function phoneWatch(a: WatchOptions): Promise<Watching> {
  const ids = devicesOf(a.dir, a.deviceId);
  const watches = ids.map((id) => new DeviceWatch(a.dir, id, a));
  await Promise.all(watches.map((w) => w.started));
  return {
    close: () => watches.forEach((w) => w.close()),
    closed: Promise.allSettled(watches.map((w) => w.done)).then((results) => {
      const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed.length === watches.length) {
        throw failed.length === 1 ? failed[0].reason : new SealbellError('WATCH_FAILED', `none of the ${watches.length} doorbells can be watched`);
      }
    }),
  };
}

/** One doorbell's follow loop. */
class DeviceWatch {
  private readonly fetcher: DeviceFetcher;
  /** verified clips already there or fetched: never fetched again after a reconnect */
  private readonly seen = new Set<string>();
  private following: Following | undefined;
  /** clips are fetched one after another */
  private queue = Promise.resolve();
  private stopped = false;
  private wake: (() => void) | undefined;
  readonly done: Promise<void>;
  /** settles once the first connection is made or given up (or the relay is found down) */
  readonly started: Promise<void>;
  private markStarted!: () => void;

  constructor(
    private readonly dir: string,
    private readonly deviceId: string,
    private readonly o: WatchOptions,
  ) {
    this.fetcher = new DeviceFetcher(dir, deviceId);
    this.started = new Promise((resolve) => (this.markStarted = resolve));
    this.done = this.run();
    this.done.catch(() => {}).finally(() => this.markStarted());
  }

  close(): void {
    this.stopped = true;
    this.following?.close();
    this.wake?.();
  }

  private status(message: string): void {
    this.o.onStatus?.(this.deviceId, message);
  }

  private async run(): Promise<void> {
    let attempt = 0;
    let connectedBefore = false;
    while (!this.stopped) {
      try {
        const catchUp = connectedBefore;
        // What is already there when we first connect is not "new" (listing also tells a relay that
        // is down most clearly); after an outage it is what was missed.
        const before = await this.fetcher.clips();
        if (!catchUp) for (const c of before) if (c.state === 'verified') this.seen.add(c.clip);
        this.following = await this.fetcher.call((c) => c.follow((e) => (e.t === 'clip' ? e.state === 'verified' && this.fetchOnce(e.clip) : this.eventOnce(e.ref))));
        if (this.stopped) this.following.close();
        // Listed again once following: a clip verified in between is fetched too (`seen` keeps each single).
        for (const c of await this.fetcher.clips()) if (c.state === 'verified') this.fetchOnce(c.clip);
        if (catchUp) this.status('reconnected to the relay; watching again');
        attempt = 0;
        connectedBefore = true;
        this.markStarted();
        const { code } = await this.following.closed;
        this.following = undefined;
        if (this.stopped) return;
        this.status(`lost the relay (connection closed${code === 1006 ? '' : `, ${code}`}); reconnecting`);
      } catch (e) {
        this.following?.close();
        this.following = undefined;
        if (this.stopped) return;
        if (!isUnreachable(e)) {
          this.status(`giving up: ${(e as Error).message}`);
          throw e;
        }
        attempt++;
        const wait = (this.o.backoffMs ?? defaultBackoff)(attempt);
        this.status(`cannot reach the relay (${reasonOf(e)}); trying again in ${Math.round(wait / 1000)} s`);
        this.markStarted();
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, wait);
          this.wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
    }
  }

  /**
   * An event notice: fetched at once (not behind clip downloads), checked and opened. Refusals
   * (forged, replayed, stale, not for this phone) are reported with their code.
   */
  private eventOnce(ref: string): void {
    const onEvent = this.o.onEvent;
    if (!onEvent) return;
    void (async () => {
      try {
        const { sealed, signature } = await this.fetcher.call((c) => c.event(ref));
        onEvent(await showEvent({ dir: this.dir, deviceId: this.deviceId, sealed, signature, name: this.o.names?.[this.deviceId], posterDir: this.o.posterDir }), this.deviceId);
      } catch (err) {
        onEvent(err instanceof SealbellError ? err : new SealbellError('EVENT_FETCH', (err as Error).message), this.deviceId);
      }
    })();
  }

  /**
   * Fetches a verified clip once. An event or a listing is only a hint: the clip is new when its
   * signed manifest is one this phone has not seen (a replayed event of an old clip is ignored), and
   * the chain names clips missing before it. One clip at a time, so the chain moves in order.
   */
  private fetchOnce(clip: string): void {
    if (this.seen.has(clip)) return;
    this.seen.add(clip);
    this.queue = this.queue.then(async () => {
      try {
        const { m, bytes } = await this.fetcher.manifestOf(clip);
        if (!this.fetcher.peek(m, bytes).isNew) return;
        this.o.onClip(await this.fetcher.fetch(clip), clip);
      } catch (err) {
        // A clip that failed for want of the relay is tried again after reconnecting.
        if (isUnreachable(err)) this.seen.delete(clip);
        this.o.onClip(err instanceof SealbellError ? err : new SealbellError('FETCH', (err as Error).message), clip);
      }
    });
  }
}

/** A short why for a network failure: the system's code when there is one. */
export function reasonOf(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? (e as { code?: string }).code ?? (e as Error).message;
}
