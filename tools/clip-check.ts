/** Node-side helpers to check a clip on disk with the core's streaming opener. */
import fs from 'node:fs';
import { ClipOpener, PayloadVerifier, type OpenedClip } from '../src/clip/opener.js';
import { verifySignedManifest } from '../src/clip/signed-manifest.js';
import type { ClipManifest } from '../src/clip/manifest.js';
import { decodePublicKey } from '../src/minisign.js';
import { nobleBackend } from '../src/crypto/noble.js';
import type { Frame } from '../src/clip/mkv.js';
import { SeekableRemux, fdWriter } from './phone/remux.js';

export interface ClipPaths {
  age: string;
  manifest: string;
  signature: string;
}

export function clipPaths(agePath: string, manifest?: string, signature?: string): ClipPaths {
  const m = manifest ?? agePath.replace(/\.age$/, '') + '.manifest.json';
  return { age: agePath, manifest: m, signature: signature ?? `${m}.minisig` };
}

/** Streams a file through `push` in 64 KiB reads, so a large clip is never loaded whole. */
export function streamFile(file: string, push: (bytes: Uint8Array) => void): void {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = new Uint8Array(64 * 1024);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      push(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
}

export function readSignedManifest(paths: ClipPaths, devicePubText: string): ClipManifest {
  return verifySignedManifest(
    new Uint8Array(fs.readFileSync(paths.manifest)),
    fs.readFileSync(paths.signature, 'utf8'),
    decodePublicKey(devicePubText),
  );
}

export interface CheckOptions {
  identities?: string[];
  /** write the decrypted video container here */
  out?: string;
  /** write `out` as the seekable copy (Duration, Cues: tools/phone/remux.ts), not the device's forward-only form */
  seekable?: boolean;
  onFrame?: (f: Frame) => void;
}

/** Verifies signature, then the clip against the manifest; decrypts when identities are given. */
export function checkClip(paths: ClipPaths, devicePubText: string, o: CheckOptions = {}): { manifest: ClipManifest; opened?: OpenedClip } {
  const manifest = readSignedManifest(paths, devicePubText);
  if (!o.identities?.length) {
    const v = new PayloadVerifier(nobleBackend, manifest);
    streamFile(paths.age, (b) => v.push(b));
    v.end();
    return { manifest };
  }
  // The decrypted video is for this user only (0600), whatever the umask; a stale .part goes first
  // so the mode applies to a new file.
  if (o.out) fs.rmSync(`${o.out}.part`, { force: true });
  const outFd = o.out ? fs.openSync(`${o.out}.part`, 'wx', 0o600) : undefined;
  try {
    const remux = outFd !== undefined && o.seekable ? new SeekableRemux(fdWriter(outFd)) : undefined;
    const opener = new ClipOpener({
      backend: nobleBackend,
      identities: o.identities,
      manifest,
      onFrame: o.onFrame,
      onPlaintext: outFd === undefined ? undefined : remux ? (b) => remux.push(b) : (b) => fs.writeSync(outFd, b),
    });
    streamFile(paths.age, (b) => opener.push(b));
    const opened = opener.end();
    remux?.finish();
    if (outFd !== undefined) {
      fs.closeSync(outFd);
      fs.renameSync(`${o.out}.part`, o.out!);
    }
    return { manifest, opened };
  } catch (e) {
    // Nothing unverified is left behind under the output name.
    if (outFd !== undefined) {
      fs.closeSync(outFd);
      fs.rmSync(`${o.out}.part`, { force: true });
    }
    throw e;
  }
}
