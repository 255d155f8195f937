/** Signing a clip manifest with the device key, and checking one against a device's public key. */
import { SealbellError } from '../errors.js';
import { keyIdHex, sign, verify, type PublicKey, type SigningKey } from '../minisign.js';
import { decodeManifest, encodeManifest, trustedComment, type ClipManifest } from './manifest.js';

export interface SignedManifest {
  manifest: Uint8Array;
  signature: string;
}

export function signManifest(m: ClipManifest, key: SigningKey): SignedManifest {
  const manifest = encodeManifest(m);
  return { manifest, signature: sign(manifest, key, trustedComment(m), `sealbell clip manifest, device ${m.device}`) };
}

/** The device id is the minisign key id of its identity key. */
export const deviceIdOf = (key: PublicKey): string => keyIdHex(key.keyId);

/**
 * Verifies the signature with the device's public key and returns the manifest.
 * WRONG_DEVICE: signed by another key, or describes another device.
 * MANIFEST_SIGNATURE: the manifest or its signature was changed.
 */
export function verifySignedManifest(manifestBytes: Uint8Array, signature: string, device: PublicKey): ClipManifest {
  try {
    const comment = verify(manifestBytes, signature, device);
    const m = decodeManifest(manifestBytes);
    if (m.device !== deviceIdOf(device)) {
      throw new SealbellError('WRONG_DEVICE', `the manifest is for device ${m.device}, not ${deviceIdOf(device)}`);
    }
    if (comment !== trustedComment(m)) {
      throw new SealbellError('MANIFEST_SIGNATURE', 'the signature\'s trusted comment does not match the manifest');
    }
    return m;
  } catch (e) {
    if (e instanceof SealbellError && e.code === 'MINISIGN_KEY') throw new SealbellError('WRONG_DEVICE', `manifest ${e.message}`);
    if (e instanceof SealbellError && e.code === 'MINISIGN_SIGNATURE') throw new SealbellError('MANIFEST_SIGNATURE', `manifest ${e.message}`);
    throw e;
  }
}
