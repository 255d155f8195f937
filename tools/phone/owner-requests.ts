/**
 * `sealbell phone retention` and `sealbell phone delete`: the owner's signed requests about a
 * doorbell's clips at the relay (format: tools/owner-request.ts), and what phones make of them
 * when they judge the clip chain: a clip the owner deleted, or one that expired under a
 * retention the owner signed, is no gap; a clip the relay dropped on its own still is.
 */
import fs from 'node:fs';
import path from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '../../src/bytes.js';
import { SealbellError } from '../../src/errors.js';
import type { ClipManifest } from '../../src/clip/manifest.js';
import { writeFileAtomic } from '../../hosts/node/kv-store.js';
import { maxAgeMs, signOwnerRequest, toWire, verifyOwnerRequest, type DeletedClip, type OwnerRequest, type RetentionRequest } from '../owner-request.js';
import { postOwnerRequest, RelayApiError, type PhoneClient } from '../relay/phone-client.js';
import type { AccountKeys } from './state.js';
import { readAuthorityPub, readDevice } from './state.js';
import { DeviceFetcher } from './clips.js';

/** Clocks differ: an expiry up to this much early is not reported. */
export const EXPIRY_SLACK_MS = 10 * 60_000;

/** What the owner's signed requests say about a doorbell's clips. */
export interface OwnerEvidence {
  /** clips the owner deleted that had a signed manifest: chain number, manifest hash */
  deleted: { seq: number; hash: string; clip: string; epoch: number }[];
  /** retention policies, oldest first */
  policies: RetentionRequest[];
  /** the highest epoch seen (signed or not: the next request must be above it) */
  lastEpoch: number;
}

const NONE: OwnerEvidence = { deleted: [], policies: [], lastEpoch: 0 };

/** The relay's list of requests, each checked with the account authority this phone holds; others are ignored. */
export async function ownerEvidence(dir: string, deviceId: string, call: <T>(fn: (c: PhoneClient) => Promise<T>) => Promise<T>): Promise<OwnerEvidence> {
  let listed;
  try {
    listed = await call((c) => c.ownerRequests());
  } catch (e) {
    if (e instanceof RelayApiError && e.code === 'NOT_FOUND') return NONE; // a relay from before owner requests
    throw e;
  }
  let authority: Uint8Array;
  try {
    authority = readAuthorityPub(dir);
  } catch {
    return { ...NONE, lastEpoch: listed.epoch };
  }
  const out: OwnerEvidence = { deleted: [], policies: [], lastEpoch: listed.epoch };
  for (const w of listed.requests) {
    let r: OwnerRequest;
    try {
      r = verifyOwnerRequest(utf8ToBytes(w.request), w.signature, authority, deviceId).request;
    } catch {
      continue; // not the owner's word: proves nothing
    }
    if (r.type === 'retention') out.policies.push(r);
    else for (const c of r.clips) if (c.seq !== null && c.manifest !== null) out.deleted.push({ seq: c.seq, hash: c.manifest, clip: c.clip, epoch: r.epoch });
  }
  out.policies.sort((a, b) => a.epoch - b.epoch);
  return out;
}

/**
 * Whether an expired clip's going is one the owner's retention allows: under some policy, by
 * age (its end plus the age limit had passed while that policy was the newest, give or take
 * EXPIRY_SLACK_MS), or by size (it and the later clips' signed payloads exceed the size limit).
 * `laterBytes`: the payload sizes of the signed clips after it that the phone knows.
 */
export function expiryAllowed(m: ClipManifest, policies: RetentionRequest[], laterBytes: number, now: number): boolean {
  return policies.some((p, i) => {
    const until = i + 1 < policies.length ? policies[i + 1].time : now;
    const age = maxAgeMs(p);
    if (age !== null && m.end + age <= until + EXPIRY_SLACK_MS) return true;
    return p.maxBytes !== null && m.payloadSize + laterBytes > p.maxBytes;
  });
}

// --- signing and sending ---------------------------------------------------------------------

const epochPath = (dir: string, deviceId: string) => path.join(dir, 'devices', deviceId, 'owner-epoch.json');

/** The next epoch: above what the relay accepted and what this phone signed before. */
function nextEpoch(dir: string, deviceId: string, relayEpoch: number): number {
  let mine = 0;
  try {
    mine = (JSON.parse(fs.readFileSync(epochPath(dir, deviceId), 'utf8')) as { epoch: number }).epoch;
  } catch {
    // first request from this phone
  }
  return Math.max(relayEpoch, Number.isSafeInteger(mine) ? mine : 0) + 1;
}

async function send(dir: string, deviceId: string, r: OwnerRequest, account: AccountKeys): Promise<Record<string, unknown>> {
  const signed = signOwnerRequest(r, account.authority);
  writeFileAtomic(epochPath(dir, deviceId), JSON.stringify({ epoch: r.epoch }) + '\n');
  return postOwnerRequest(readDevice(dir, deviceId).relayUrl, deviceId, toWire(signed));
}

/** `phone retention`: keep the doorbell's clips at most `days` days and `maxBytes` in all (null: no limit). */
export async function phoneSetRetention(a: { dir: string; deviceId: string; account: AccountKeys; days: number | null; maxBytes: number | null; now?: number }): Promise<RetentionRequest> {
  if (a.days === null && a.maxBytes === null) throw new SealbellError('USAGE', 'give --days N, --max-mb M or both');
  const fetcher = new DeviceFetcher(a.dir, a.deviceId);
  const { epoch } = await fetcher.call((c) => c.ownerRequests());
  const r: RetentionRequest = { v: 1, type: 'retention', device: a.deviceId, epoch: nextEpoch(a.dir, a.deviceId, epoch), time: a.now ?? Date.now(), maxAgeDays: a.days, maxBytes: a.maxBytes };
  await send(a.dir, a.deviceId, r, a.account);
  return r;
}

/**
 * `phone delete`: deletes clips at the relay. Each clip with a signed manifest is named with its
 * chain number and manifest hash (checked here with the doorbell's key), so phones see the
 * deletion as the owner's, not as a clip the relay hid.
 */
export async function phoneDeleteClips(a: { dir: string; deviceId: string; account: AccountKeys; clips: string[]; now?: number }): Promise<{ epoch: number; deleted: string[]; unknown: string[]; bytes: number }> {
  if (a.clips.length === 0) throw new SealbellError('USAGE', 'name the clips to delete');
  const fetcher = new DeviceFetcher(a.dir, a.deviceId);
  const { epoch } = await fetcher.call((c) => c.ownerRequests());
  const clips: DeletedClip[] = [];
  for (const clip of a.clips) {
    let info;
    try {
      info = await fetcher.call((c) => c.clip(clip));
    } catch (e) {
      if (e instanceof RelayApiError && e.code === 'UNKNOWN_CLIP') throw new SealbellError('UNKNOWN_CLIP', `doorbell ${a.deviceId} has no clip ${clip} at the relay`);
      throw e;
    }
    if (info.state === 'verified' || info.state === 'expired') {
      const { m, bytes } = await fetcher.manifestOf(clip);
      clips.push({ clip, seq: m.seq, manifest: bytesToHex(sha256(bytes)) });
    } else clips.push({ clip, seq: null, manifest: null });
  }
  const r: OwnerRequest = { v: 1, type: 'delete', device: a.deviceId, epoch: nextEpoch(a.dir, a.deviceId, epoch), time: a.now ?? Date.now(), clips };
  const answer = (await send(a.dir, a.deviceId, r, a.account)) as { deleted: string[]; unknown: string[]; bytes: number };
  return { epoch: r.epoch, deleted: answer.deleted, unknown: answer.unknown, bytes: answer.bytes };
}
