/**
 * The relay's check of a finished clip, with no key: every segment 0..n−1 is
 * there, the manifest is signed by the device's registered key and names this
 * clip, and the stored payload hashes to what the manifest binds. Segments
 * are read off the event loop, one at a time, so a 1 GiB clip does not stall
 * the other doorbells.
 */
import { PayloadVerifier } from '../../src/clip/opener.js';
import { verifySignedManifest } from '../../src/clip/signed-manifest.js';
import { decodePublicKey } from '../../src/minisign.js';
import { nodeBackend } from '../../hosts/node/backend.js';
import { SealbellError } from '../../src/errors.js';
import type { ClipManifest } from '../../src/clip/manifest.js';
import type { RelayStoreApi } from './store-api.js';

/** The relay hashes every byte it stores: OpenSSL's SHA-256, as the hosted simulator does. */
const relayBackend = nodeBackend;

export type ClipVerdict = { ok: true; manifest: ClipManifest } | { ok: false; code: string; message: string };

export async function checkFinishedClip(
  store: RelayStoreApi,
  device: { id: string; public_key: string },
  clip: string,
  segments: number,
  manifest: Uint8Array,
  signature: string,
): Promise<ClipVerdict> {
  try {
    const stored = await store.segments(device.id, clip);
    if (stored.length !== segments || stored.some((s, i) => s.idx !== i)) {
      return { ok: false, code: 'MISSING_SEGMENTS', message: `the relay holds ${stored.length} segments, not 0..${segments - 1}` };
    }
    const m = verifySignedManifest(manifest, signature, decodePublicKey(device.public_key));
    if (m.clip !== clip) return { ok: false, code: 'MANIFEST_MISMATCH', message: `the manifest is for clip ${m.clip}` };
    const verifier = new PayloadVerifier(relayBackend, m);
    for (const s of stored) verifier.push(await store.readSegment(device.id, clip, s.idx));
    verifier.end();
    return { ok: true, manifest: m };
  } catch (e) {
    if (e instanceof SealbellError) return { ok: false, code: e.code, message: e.message };
    throw e;
  }
}
