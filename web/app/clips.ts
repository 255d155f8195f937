/**
 * Recorded clips in the page: fetched from the relay, the manifest's signature checked with
 * the doorbell's key, the payload checked against its hash and decrypted with the phone's
 * identity (src/clip/opener.ts), then shown frame by frame and written as a seekable
 * Matroska file for download (tools/phone/seekable-remux.ts), all in the browser.
 */
import { nobleBackend } from '../../src/crypto/noble.js';
import { decodePublicKey } from '../../src/minisign.js';
import { ClipOpener } from '../../src/clip/opener.js';
import { verifySignedManifest } from '../../src/clip/signed-manifest.js';
import type { ClipManifest } from '../../src/clip/manifest.js';
import { SealbellError } from '../../src/errors.js';
import { SeekableRemux } from '../../tools/phone/seekable-remux.js';
import { rewrapHeader } from '../../tools/phone/share-core.js';
import { concatBytes } from '../../src/bytes.js';
import { openEvent } from '../../src/event/event.js';
import { headerShares } from '../../src/age/header.js';
import { identitiesFor, type PhoneSecrets } from './phone-keys.js';
import type { Session } from './relay.js';
import { PcmCollector } from './sound.js';

export interface ClipFrame {
  /** ms since the clip's start, as the container says */
  timestamp: number;
  data: Uint8Array;
}

export interface OpenClip {
  manifest: ClipManifest;
  frames: ClipFrame[];
  poster?: Uint8Array;
  /** the audio track's samples (16 kHz mono) from the clip's start; none: a clip without sound */
  audio?: Int16Array;
  /** the decrypted forward-only container, for the seekable download */
  plaintext: Uint8Array[];
  /** the sealed clip, its manifest and signature as the relay served them (checked): for sharing */
  sealed: { age: Uint8Array; manifest: Uint8Array; signature: Uint8Array };
}

/** Fetches, verifies and opens one clip. */
export async function openClip(session: Session, phone: PhoneSecrets, devicePub: string, clip: string): Promise<OpenClip> {
  const [age, manifestBytes, signature] = await Promise.all([session.clipPart(clip, 'age'), session.clipPart(clip, 'manifest'), session.clipPart(clip, 'signature')]);
  const manifest = verifySignedManifest(manifestBytes, new TextDecoder().decode(signature), decodePublicKey(devicePub));
  if (manifest.clip !== clip) throw new SealbellError('MANIFEST_MISMATCH', `the relay served the manifest of clip ${manifest.clip} for ${clip}`);
  const identities = await identitiesFor(phone, headerShares(age));
  const frames: ClipFrame[] = [];
  const plaintext: Uint8Array[] = [];
  const sound = new PcmCollector();
  const opener = new ClipOpener({
    backend: nobleBackend,
    identities,
    manifest,
    onFrame: (f) => frames.push({ timestamp: f.timestamp, data: f.data.slice() }),
    onAudio: sound.onAudio,
    onPlaintext: (p) => plaintext.push(p.slice()),
  });
  opener.push(age);
  const opened = opener.end();
  const audio = sound.pcm();
  return { manifest, frames, poster: opened.poster, ...(audio ? { audio } : {}), plaintext, sealed: { age, manifest: manifestBytes, signature } };
}

/** What a timeline shows of a clip without fetching it: from its event notice (docs/event-format.md). */
export interface ClipGlance {
  poster?: Uint8Array;
  trigger: string;
}

/**
 * The clip's poster and trigger from its event notice: a few kilobytes instead of the whole
 * clip. The notice is checked as a push's is (the doorbell's signature, sealed to this phone,
 * naming this clip); undefined when the relay has none or it carries no poster, and then the
 * caller opens the clip itself. A notice the relay forged or swapped is refused (EVENT_*).
 */
export async function glanceClip(session: Session, phone: PhoneSecrets, devicePub: string, clip: string): Promise<ClipGlance | undefined> {
  const got = await session.clipEvent(clip);
  if (!got) return undefined;
  const identities = await identitiesFor(phone, headerShares(got.sealed));
  const e = openEvent(got.sealed, got.signature, { aead: nobleBackend.aead, device: decodePublicKey(devicePub), identities });
  if (e.clip !== clip || e.device !== session.device) throw new SealbellError('EVENT_MISMATCH', `the relay served the event of clip ${e.clip} for ${clip}`);
  return e.poster ? { poster: e.poster, trigger: e.trigger } : undefined;
}

/** The frame shown at `t` ms: the last one at or before it. */
export function frameAt(frames: ClipFrame[], t: number): number {
  let i = 0;
  while (i + 1 < frames.length && frames[i + 1].timestamp <= t) i++;
  return i;
}

/** The seekable Matroska copy of an opened clip (Duration, Cues), as one Blob. */
export function seekableFile(c: OpenClip): Blob {
  let out = new Uint8Array(1 << 16);
  let size = 0;
  const remux = new SeekableRemux((bytes, position) => {
    const end = position + bytes.length;
    if (end > out.length) {
      const grown = new Uint8Array(Math.max(end, out.length * 2));
      grown.set(out.subarray(0, size));
      out = grown;
    }
    out.set(bytes, position);
    size = Math.max(size, end);
  });
  for (const p of c.plaintext) remux.push(p);
  remux.finish();
  return new Blob([out.subarray(0, size) as BlobPart], { type: 'video/x-matroska' });
}

/**
 * One clip for someone outside the account (`sealbell phone share`): its file key wrapped for
 * `to` (an age1… recipient) alone, the payload unchanged. The four files stock tools check:
 * `<id>.age` (age -d), `<id>.manifest.json` and its `.minisig` (minisign -V -p device.pub).
 */
export async function shareFiles(c: OpenClip, phone: PhoneSecrets, devicePub: string, to: string): Promise<{ name: string; bytes: Uint8Array }[]> {
  const { header, oldLength } = rewrapHeader(c.sealed.age, await identitiesFor(phone, headerShares(c.sealed.age)), { to: to.trim() }, c.manifest.kem ?? 'x25519');
  const id = c.manifest.clip;
  return [
    { name: `${id}.age`, bytes: concatBytes(header, c.sealed.age.subarray(oldLength)) },
    { name: `${id}.manifest.json`, bytes: c.sealed.manifest },
    { name: `${id}.manifest.json.minisig`, bytes: c.sealed.signature },
    { name: 'device.pub', bytes: new TextEncoder().encode(devicePub) },
  ];
}
