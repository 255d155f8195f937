/**
 * Firmware update fixtures: a release key, an account authority, images and their signed
 * releases, and the doorbell's end (Updater over the Node host's file-backed A/B slots).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '../src/bytes.js';
import { keyIdHex, signingKeyFromSeed, type SigningKey } from '../src/minisign.js';
import { authorizeRelease, signRelease, type ReleaseManifest } from '../src/update/release.js';
import { Updater, type FirmwareInfo, type UpdateOffer } from '../src/update/updater.js';
import { nobleBackend } from '../src/crypto/noble.js';
import { FileOtaFlash } from '../hosts/node/ota-flash.js';
import { MemoryStore, seededRandom } from './helpers.js';

export const seedKey = (label: string): SigningKey => signingKeyFromSeed(seededRandom(`update-fixture ${label}`)(32));

export const RELEASE_KEY = seedKey('release key');
export const AUTHORITY = seedKey('account authority');
export const DEVICE_ID = keyIdHex(seedKey('doorbell').keyId);
export const BOARD = 'node_sim';
export const FACTORY: FirmwareInfo = { board: BOARD, version: '1.0.0', security: 1 };

/** A deterministic "image" of `size` bytes. */
export const image = (label: string, size = 40_000): Uint8Array => seededRandom(`image ${label}`)(size);

export interface Release {
  image: Uint8Array;
  manifest: ReleaseManifest;
  offer: UpdateOffer;
}

/** A release of `img` signed by `releaseKey`, authorized for `device` by `authority`. */
export function release(
  img: Uint8Array,
  m: Partial<ReleaseManifest> = {},
  o: { releaseKey?: SigningKey; authority?: SigningKey; device?: string } = {},
): Release {
  const manifest: ReleaseManifest = { v: 1, board: BOARD, version: '1.1.0', security: 1, size: img.length, sha256: bytesToHex(sha256(img)), ...m };
  const signed = signRelease(manifest, o.releaseKey ?? RELEASE_KEY);
  const auth = authorizeRelease(signed.bytes, o.device ?? DEVICE_ID, o.authority ?? AUTHORITY);
  return {
    image: img,
    manifest,
    offer: { release: signed.bytes, releaseSignature: signed.signature, authorization: auth.bytes, authorizationSignature: auth.signature },
  };
}

/** One boot of the doorbell's update side: the bootloader opens the slots, the Updater starts. */
export function bootUpdater(dir: string, store: MemoryStore, cut?: (what: string) => boolean, log?: string[]): { flash: FileOtaFlash; updater: Updater } {
  const flash = new FileOtaFlash(dir, { factory: FACTORY, slotSize: 256 * 1024, cut });
  const updater = new Updater({
    slots: flash,
    store,
    firmware: flash.firmware,
    releaseKey: RELEASE_KEY.publicKey,
    deviceId: DEVICE_ID,
    authority: () => AUTHORITY.publicKey,
    sha256: () => nobleBackend.sha256(),
    log: (l) => log?.push(l),
  });
  return { flash, updater };
}

/** Sends the whole image in 16 KiB pieces (as the relay does); returns what the last piece returned. */
export function feed(updater: Updater, r: Release, bytes = r.image): number | 'installed' {
  const { id, offset } = updater.offer(r.offer);
  let at: number | 'installed' = offset;
  while (typeof at === 'number' && at < bytes.length) at = updater.data(id, at, bytes.subarray(at, Math.min(bytes.length, at + 16 * 1024)));
  return at;
}
