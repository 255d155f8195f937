/**
 * `sealbell phone update` and `sealbell phone firmware`: the owner decides which release a
 * doorbell installs. The account authority (unlocked with the passphrase) signs "install
 * release R on doorbell D" (src/update/release.ts); the release, that authorization and the
 * image go to the relay, which offers them to the doorbell. The doorbell checks it all again:
 * the release key's signature, the owner's, its board, its security version, the image.
 */
import fs from 'node:fs';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '../../src/bytes.js';
import { SealbellError } from '../../src/errors.js';
import { encodeUpdateBundle } from '../../src/update/bundle.js';
import { authorizeRelease, parseRelease, type ReleaseManifest } from '../../src/update/release.js';
import { idPath, relayJson } from '../relay/client-http.js';
import type { FirmwareReport, UpdateStatus } from '../relay/updates.js';
import { phoneLogin } from './relay-sync.js';
import { listDevices, readDevice, type AccountKeys } from './state.js';

export interface PhoneUpdateArgs {
  dir: string;
  deviceId: string;
  /** the release manifest (IMAGE.release.json) or its signature (….minisig): both must be there */
  release: string;
  image: string;
  account: AccountKeys;
}

/** The manifest and signature files of a release named by either. */
export function releaseFiles(file: string): { manifest: string; signature: string } {
  const manifest = file.endsWith('.minisig') ? file.slice(0, -'.minisig'.length) : file;
  return { manifest, signature: `${manifest}.minisig` };
}

/** Signs the owner's authorization and uploads the update; UPDATE_IMAGE_* when the image is not the release's. */
export async function phoneUpdate(a: PhoneUpdateArgs): Promise<{ manifest: ReleaseManifest; status: UpdateStatus }> {
  const files = releaseFiles(a.release);
  const release = new Uint8Array(fs.readFileSync(files.manifest));
  const releaseSignature = fs.readFileSync(files.signature, 'utf8');
  const manifest = parseRelease(release);
  const image = new Uint8Array(fs.readFileSync(a.image));
  // Checked here too, so a wrong file is caught before anything is signed or sent.
  if (image.length !== manifest.size) throw new SealbellError('UPDATE_IMAGE_SIZE', `${a.image} is ${image.length} bytes; the release says ${manifest.size}`);
  if (bytesToHex(sha256(image)) !== manifest.sha256) throw new SealbellError('UPDATE_IMAGE_HASH', `${a.image} is not the image of this release (SHA-256 differs)`);
  const device = readDevice(a.dir, a.deviceId);
  const auth = authorizeRelease(release, a.deviceId, a.account.authority);
  const bundle = encodeUpdateBundle({ release, releaseSignature, authorization: auth.bytes, authorizationSignature: auth.signature, image });
  const status = await relayJson<UpdateStatus>(device.relayUrl, `v1/devices/${idPath(a.deviceId)}/update`, { method: 'PUT', body: bundle });
  return { manifest, status };
}

/** Each doorbell's firmware as it last told the relay, and the state of its update. */
export async function phoneFirmware(dir: string, deviceId?: string): Promise<{ deviceId: string; firmware?: FirmwareReport; update?: UpdateStatus }[]> {
  const out = [];
  for (const id of deviceId ? [deviceId] : listDevices(dir)) out.push({ deviceId: id, ...(await (await phoneLogin(dir, id)).firmware()) });
  return out;
}
