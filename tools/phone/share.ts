/**
 * `sealbell phone share <clip> --to <recipient> | --passphrase`: hands one clip to someone
 * outside the account. The phone opens the clip's header with its own identity, takes the
 * clip's file key and wraps it again, for the new recipient only (an age X25519 or
 * mlkem768x25519 recipient, or an scrypt passphrase). The payload is copied unchanged, so
 * the device's signature on the manifest (which binds the payload, not the header) still
 * verifies. The bundle is four files stock tools check: `<id>.age` (`age -d`),
 * `<id>.manifest.json` and its `.minisig` (`minisign -V -p device.pub`), `device.pub`.
 *
 * Nothing else leaves: no other clip's key (each clip has its own file key), no phone or
 * account key, and the relay is not involved (it never sees the file key).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Random } from '../../src/host.js';
import { SealbellError } from '../../src/errors.js';
import { MAX_HEADER_BYTES } from '../../src/age/format.js';
import { rewrapHeader, type ShareTarget } from './share-core.js';
import { decodeManifest, isSafeId } from '../../src/clip/manifest.js';
import { checkClip, clipPaths, streamFile, type ClipPaths } from '../clip-check.js';
import { readDevice, readPhone } from './state.js';

export type { ShareTarget } from './share-core.js';

export interface ShareClipOptions extends ShareTarget {
  clip: ClipPaths;
  /** the identities that open the clip (this phone's, earlier ones, the history key) */
  identities: string[];
  devicePub: string;
  /** the bundle's folder: made if missing; existing files are not overwritten */
  out: string;
  random?: Random;
}

export interface SharedClip {
  clip: string;
  frames: number;
  /** the four files of the bundle */
  files: { age: string; manifest: string; signature: string; devicePub: string };
}

/** Re-wraps one clip's file key for `to` (or a passphrase) and writes the bundle. */
export function shareClip(o: ShareClipOptions): SharedClip {
  // The whole clip is checked first: signature, payload hash, every chunk. A clip that does
  // not verify is not handed on.
  const { manifest, opened } = checkClip(o.clip, o.devicePub, { identities: o.identities });
  const fd = fs.openSync(o.clip.age, 'r');
  const head = new Uint8Array(MAX_HEADER_BYTES);
  const got = fs.readSync(fd, head, 0, head.length, 0);
  fs.closeSync(fd);
  const { header: newHeader, oldLength } = rewrapHeader(head.subarray(0, got), o.identities, o, manifest.kem ?? 'x25519', o.random);

  fs.mkdirSync(o.out, { recursive: true });
  const base = path.join(o.out, manifest.clip);
  const files = { age: `${base}.age`, manifest: `${base}.manifest.json`, signature: `${base}.manifest.json.minisig`, devicePub: path.join(o.out, 'device.pub') };
  for (const f of [files.age, files.manifest, files.signature]) {
    if (fs.existsSync(f)) throw new SealbellError('SHARE_EXISTS', `${f} exists: share into another folder (--out DIR)`);
  }
  if (fs.existsSync(files.devicePub) && fs.readFileSync(files.devicePub, 'utf8') !== o.devicePub) {
    throw new SealbellError('SHARE_EXISTS', `${files.devicePub} holds another doorbell's key: share into another folder (--out DIR)`);
  }
  // The new header, then the payload exactly as sealed (from the old header's end).
  const part = `${files.age}.part`;
  const outFd = fs.openSync(part, 'w');
  try {
    fs.writeSync(outFd, newHeader);
    let skip = oldLength;
    streamFile(o.clip.age, (b) => {
      const from = Math.min(skip, b.length);
      skip -= from;
      if (from < b.length) fs.writeSync(outFd, b.subarray(from));
    });
  } finally {
    fs.closeSync(outFd);
  }
  try {
    // The bundle's payload is still the one the device signed (no key needed to check it).
    fs.copyFileSync(o.clip.manifest, files.manifest);
    fs.copyFileSync(o.clip.signature, files.signature);
    checkClip({ age: part, manifest: files.manifest, signature: files.signature }, o.devicePub);
  } catch (e) {
    for (const f of [part, files.manifest, files.signature]) fs.rmSync(f, { force: true });
    throw e;
  }
  fs.renameSync(part, files.age);
  fs.writeFileSync(files.devicePub, o.devicePub);
  return { clip: manifest.clip, frames: opened!.frames, files };
}

/**
 * The clip as this phone keeps it: a path to its .age, or a clip id fetched before
 * (`phone fetch` keeps the .age, manifest and signature in <dir>/clips).
 */
export function phoneShare(a: ShareTarget & { dir: string; clip: string; out?: string; history?: string[]; random?: Random }): SharedClip {
  const agePath = a.clip.endsWith('.age') ? a.clip : isSafeId(a.clip) ? path.join(a.dir, 'clips', `${a.clip}.age`) : undefined;
  if (!agePath) throw new SealbellError('BAD_ID', `"${a.clip}" is neither a clip id nor a .age file`);
  if (!fs.existsSync(agePath)) throw new SealbellError('UNKNOWN_CLIP', `${agePath} is not on this phone: phone fetch it first`);
  const clip = clipPaths(agePath);
  let deviceId: string;
  try {
    deviceId = decodeManifest(new Uint8Array(fs.readFileSync(clip.manifest))).device;
  } catch (e) {
    if (e instanceof SealbellError) throw e;
    throw new SealbellError('UNKNOWN_CLIP', `the clip's manifest ${clip.manifest} is missing`);
  }
  const device = readDevice(a.dir, deviceId);
  const phone = readPhone(a.dir);
  const id = path.basename(agePath, '.age');
  return shareClip({
    ...a,
    clip,
    identities: [phone.identity, ...(phone.previous ?? []), ...(a.history ?? [])],
    devicePub: device.publicKeyText,
    out: a.out ?? `share-${id}`,
  });
}
