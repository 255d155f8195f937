/**
 * The phone's view of a doorbell's clip chain (docs/clip-format.md, "The clip chain").
 * Only signed manifests move it — never what the relay says about a clip — so a
 * relay that hides a clip is caught when the next one arrives, a replayed event is
 * not taken for a new clip, and a clip sealed to an old or foreign roster is named.
 *
 * Kept per doorbell in devices/<ID>/clip-chain.json (0600, written atomically).
 */
import fs from 'node:fs';
import path from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '../../src/bytes.js';
import { writeFileAtomic } from '../../hosts/node/kv-store.js';
import type { ClipManifest } from '../../src/clip/manifest.js';
import { NO_ROSTER } from '../../src/roster/roster-hash.js';

/** What one arriving manifest told the phone; `code` is stable, `message` names the doorbell. */
export interface ChainNotice {
  code:
    | 'CLIPS_MISSING'
    | 'CLIPS_DROPPED'
    | 'CLIPS_DELETED'
    | 'CLIP_EXPIRED_EARLY'
    | 'CLIP_FORK'
    | 'CHAIN_RESTART'
    | 'ROSTER_ROLLBACK'
    | 'ROSTER_MISMATCH'
    | 'NO_ROSTER';
  message: string;
}

export interface ChainState {
  v: 1;
  device: string;
  /** the first seq this phone saw: clips below it are from before its time, not gaps */
  first: number;
  /** highest seq seen, and its manifest's hash */
  seq: number;
  hash: string;
  /** hashes of the most recent manifests seen, by seq (to tell a replay from a fork) */
  recent: Record<string, string>;
  /** seqs reported missing that may still arrive late: [from, to] ranges */
  missing: [number, number][];
  /** highest roster epoch a signed manifest of this doorbell was sealed to */
  maxEpoch: number;
}

/** What the phone knows of the doorbell's rosters, to judge the roster a clip names. */
export interface RosterKnowledge {
  /** the highest epoch the doorbell acknowledged (its signed acknowledgement), if the phone has one */
  ackedEpoch?: number;
  /** epoch → rosterHash of rosters this phone holds (signed by the account authority) */
  hashes: Map<number, string>;
}

export interface ChainVerdict {
  /** true unless the manifest was seen before (a replayed event or listing) */
  isNew: boolean;
  notices: ChainNotice[];
  state: ChainState;
}

const RECENT = 64;
const MAX_MISSING_RANGES = 64;

const range = (a: number, b: number) => (a === b ? `clip ${a}` : `clips ${a}–${b}`);

export const manifestHash = (bytes: Uint8Array): string => bytesToHex(sha256(bytes));

/**
 * Moves the chain by one signed manifest (checked by the caller with the device key).
 * Pure: the caller stores `state` when it is done with the clip.
 */
export function observeManifest(prior: ChainState | undefined, m: ClipManifest, bytes: Uint8Array, rosters: RosterKnowledge = { hashes: new Map() }): ChainVerdict {
  const hash = manifestHash(bytes);
  const dev = `doorbell ${m.device}`;
  const notices: ChainNotice[] = [];
  const s: ChainState = prior
    ? { ...prior, recent: { ...prior.recent }, missing: prior.missing.map((r) => [r[0], r[1]] as [number, number]) }
    : { v: 1, device: m.device, first: m.seq, seq: 0, hash: '', recent: {}, missing: [], maxEpoch: 0 };
  let isNew = true;

  const seen = s.recent[String(m.seq)];
  if (seen === hash) isNew = false;
  else if (seen !== undefined) {
    notices.push({ code: 'CLIP_FORK', message: `${dev} signed two different clips numbered ${m.seq} (clip ${m.clip}): its clip history forked` });
  } else if (m.seq < s.first) {
    isNew = false; // from before this phone first saw the doorbell: history, not news (and no gap)
  } else if (prior && m.seq === 1 && s.seq > 1) {
    notices.push({ code: 'CHAIN_RESTART', message: `${dev} restarted its clip numbering at clip ${m.clip} (after ${s.seq}): its clip-chain record was lost or reset` });
    s.seq = 0;
    s.first = 1;
    s.recent = {};
    s.missing = [];
  } else if (m.seq > s.seq) {
    if (m.seq === s.seq + 1 && s.seq > 0 && m.prev !== s.hash) {
      notices.push({ code: 'CLIP_FORK', message: `clip ${m.seq} (${m.clip}) of ${dev} does not follow clip ${s.seq} this phone has: its clip history forked` });
    }
    const earlier = s.missing.length;
    const used = prior && m.seq > s.seq + 1 ? reportGap(s, m, notices, dev) : 0;
    if (m.dropped.length > used && earlier > 0) explainEarlier(s, m.dropped.length - used, earlier, notices, dev);
  } else if (isMissing(s, m.seq)) {
    removeMissing(s, m.seq); // a clip reported missing arrived late
  } else if (m.seq > s.seq - RECENT) {
    // Within the window we remember and never seen: it was not reported missing, so it is a fork.
    notices.push({ code: 'CLIP_FORK', message: `${dev} has a clip ${m.seq} (${m.clip}) this phone did not expect: its clip history forked` });
  } else {
    isNew = false; // older than anything this phone remembers: not news
  }

  rosterNotices(s, m, rosters, notices, dev);

  if (isNew || seen === undefined) {
    s.recent[String(m.seq)] = hash;
    for (const k of Object.keys(s.recent)) if (Number(k) <= Math.max(s.seq, m.seq) - RECENT) delete s.recent[k];
  }
  if (m.seq > s.seq) {
    s.seq = m.seq;
    s.hash = hash;
  }
  s.maxEpoch = Math.max(s.maxEpoch, m.epoch);
  return { isNew, notices, state: s };
}

/**
 * Clips prior+1 … m.seq−1 were signed and not delivered. The device lists in `dropped` the clips
 * it dropped itself (full spool) since its previous manifest: up to that many are put down to it.
 */
function reportGap(s: ChainState, m: ClipManifest, notices: ChainNotice[], dev: string): number {
  const from = s.seq + 1;
  const to = m.seq - 1;
  const count = to - from + 1;
  const dropped = Math.min(m.dropped.length, count);
  const hidden = count - dropped;
  if (dropped > 0) {
    notices.push({ code: 'CLIPS_DROPPED', message: `${dev} dropped ${dropped} clip(s) itself (its spool was full): ${m.dropped.join(', ')}` });
  }
  if (hidden > 0) {
    notices.push({ code: 'CLIPS_MISSING', message: `${range(from, from + hidden - 1)} of ${dev} are missing at the relay (clip ${m.seq}, ${m.clip}, arrived after clip ${s.seq})` });
    s.missing.push([from, from + hidden - 1]);
    if (s.missing.length > MAX_MISSING_RANGES) s.missing.shift();
  }
  return dropped;
}

/**
 * A drop is reported in the first manifest signed after it, which may come after clips that
 * followed the dropped one: clips this phone reported missing earlier (the first `ranges` of
 * `s.missing`) may turn out to be the device's own drops. The newest of them are put down to it.
 */
function explainEarlier(s: ChainState, count: number, ranges: number, notices: ChainNotice[], dev: string): void {
  const explained: number[] = [];
  for (let i = ranges - 1; i >= 0 && explained.length < count; i--) {
    const r = s.missing[i];
    while (r[1] >= r[0] && explained.length < count) explained.push(r[1]--);
  }
  s.missing = s.missing.filter((r) => r[1] >= r[0]);
  if (explained.length === 0) return;
  const list = explained.sort((a, b) => a - b).join(', ');
  notices.push({ code: 'CLIPS_DROPPED', message: `${dev} dropped ${explained.length} clip(s) itself (its spool was full): clip(s) ${list}, reported missing before, were not hidden by the relay` });
}

function rosterNotices(s: ChainState, m: ClipManifest, r: RosterKnowledge, notices: ChainNotice[], dev: string): void {
  const newest = Math.max(s.maxEpoch, r.ackedEpoch ?? 0);
  if (m.epoch < newest) {
    const why = r.ackedEpoch !== undefined && r.ackedEpoch > m.epoch ? `the doorbell had acknowledged epoch ${r.ackedEpoch}` : `earlier clips were sealed to epoch ${s.maxEpoch}`;
    notices.push({ code: 'ROSTER_ROLLBACK', message: `clip ${m.clip} of ${dev} was sealed to roster epoch ${m.epoch}, older than it should be (${why}): phones removed since may read it` });
  }
  if (m.roster === NO_ROSTER) {
    notices.push({ code: 'NO_ROSTER', message: `clip ${m.clip} of ${dev} was sealed to recipients from no signed roster` });
    return;
  }
  const known = r.hashes.get(m.epoch);
  if (known !== undefined && known !== m.roster) {
    notices.push({ code: 'ROSTER_MISMATCH', message: `clip ${m.clip} of ${dev} was sealed to a roster for epoch ${m.epoch} that is not the one this account signed: its recipients are not the roster's` });
  }
}

/**
 * A clip the owner deleted (tools/phone/owner-requests.ts): its number and manifest hash come from
 * the owner's signed request, not from the relay, so it moves the chain like a manifest would —
 * it is no gap — without a manifest to check its `prev` against. A clip reported missing before
 * is put down to the owner.
 */
export function observeDeleted(prior: ChainState | undefined, d: { seq: number; hash: string; clip: string; epoch: number }, device: string): { notices: ChainNotice[]; state: ChainState | undefined } {
  if (!prior) return { notices: [], state: prior }; // nothing seen yet: the first manifest starts the chain
  const dev = `doorbell ${device}`;
  const notices: ChainNotice[] = [];
  const s: ChainState = { ...prior, recent: { ...prior.recent }, missing: prior.missing.map((r) => [r[0], r[1]] as [number, number]) };
  const known = s.recent[String(d.seq)];
  if (known !== undefined || d.seq < s.first) return { notices, state: s };
  if (isMissing(s, d.seq)) {
    removeMissing(s, d.seq);
    notices.push({ code: 'CLIPS_DELETED', message: `clip ${d.seq} (${d.clip}) of ${dev}, reported missing before, was deleted by the owner (signed request epoch ${d.epoch}), not hidden by the relay` });
  } else if (d.seq > s.seq) {
    if (d.seq > s.seq + 1) {
      const from = s.seq + 1;
      const to = d.seq - 1;
      notices.push({ code: 'CLIPS_MISSING', message: `${range(from, to)} of ${dev} are missing at the relay (before clip ${d.seq}, ${d.clip}, which the owner deleted)` });
      s.missing.push([from, to]);
      if (s.missing.length > MAX_MISSING_RANGES) s.missing.shift();
    }
    s.seq = d.seq;
    s.hash = d.hash;
  }
  s.recent[String(d.seq)] = d.hash;
  return { notices, state: s };
}

const isMissing = (s: ChainState, seq: number) => s.missing.some(([a, b]) => seq >= a && seq <= b);

function removeMissing(s: ChainState, seq: number): void {
  const out: [number, number][] = [];
  for (const [a, b] of s.missing) {
    if (seq < a || seq > b) out.push([a, b]);
    else {
      if (a < seq) out.push([a, seq - 1]);
      if (seq < b) out.push([seq + 1, b]);
    }
  }
  s.missing = out;
}

// --- on disk ----------------------------------------------------------------------------

const chainPath = (dir: string, deviceId: string) => path.join(dir, 'devices', deviceId, 'clip-chain.json');

export function readChain(dir: string, deviceId: string): ChainState | undefined {
  let text: string;
  try {
    text = fs.readFileSync(chainPath(dir, deviceId), 'utf8');
  } catch {
    return undefined; // first clip this phone sees of this doorbell
  }
  try {
    const s = JSON.parse(text) as ChainState;
    if (s.v === 1 && s.device === deviceId && Number.isSafeInteger(s.seq) && Number.isSafeInteger(s.first) && Array.isArray(s.missing) && typeof s.recent === 'object') return s;
  } catch {
    // below
  }
  return undefined; // corrupt: start again (the next gap is reported relative to what arrives)
}

export function writeChain(dir: string, s: ChainState): void {
  writeFileAtomic(chainPath(dir, s.device), JSON.stringify(s) + '\n');
}
