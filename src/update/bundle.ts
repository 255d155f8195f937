/**
 * An update as one byte string, for the owner's upload to the relay (docs/update-format.md):
 *   "SBU1" ‖ u16 len ‖ release manifest ‖ u16 len ‖ its signature ‖ u16 len ‖ authorization ‖
 *   u16 len ‖ its signature ‖ u32 len ‖ image
 * Parsing checks the framing only: the device checks the signatures, the board, the security
 * version and the image (updater.ts).
 */
import { equalBytes, utf8Decode, utf8ToBytes } from '../bytes.js';
import { Reader, Writer } from '../wire.js';
import { MAX_DOCUMENT_BYTES, MAX_IMAGE_BYTES } from './release.js';

const MAGIC = utf8ToBytes('SBU1');

export interface UpdateBundle {
  release: Uint8Array;
  releaseSignature: string;
  authorization: Uint8Array;
  authorizationSignature: string;
  image: Uint8Array;
}

export function encodeUpdateBundle(b: UpdateBundle): Uint8Array {
  return new Writer()
    .bytes(MAGIC)
    .sized(2, b.release)
    .sized(2, utf8ToBytes(b.releaseSignature))
    .sized(2, b.authorization)
    .sized(2, utf8ToBytes(b.authorizationSignature))
    .uint(b.image.length, 4)
    .bytes(b.image)
    .finish();
}

/** UPDATE_FORMAT when the framing is wrong. */
export function parseUpdateBundle(bytes: Uint8Array): UpdateBundle {
  const r = new Reader(bytes, 'UPDATE_FORMAT', 'update bundle');
  if (!equalBytes(r.bytesN(MAGIC.length, 'magic'), MAGIC)) r.fail('does not start with SBU1');
  const text = (b: Uint8Array, what: string) => {
    try {
      return utf8Decode(b);
    } catch {
      return r.fail(`${what} is not UTF-8`);
    }
  };
  const release = r.sized(2, 1, MAX_DOCUMENT_BYTES, 'release manifest');
  const releaseSignature = text(r.sized(2, 1, MAX_DOCUMENT_BYTES, 'release signature'), 'release signature');
  const authorization = r.sized(2, 1, MAX_DOCUMENT_BYTES, 'authorization');
  const authorizationSignature = text(r.sized(2, 1, MAX_DOCUMENT_BYTES, 'authorization signature'), 'authorization signature');
  const n = r.uint(4, 'image length');
  if (n < 1 || n > MAX_IMAGE_BYTES) r.fail(`image must be 1–${MAX_IMAGE_BYTES} bytes, says ${n}`);
  const image = r.bytesN(n, 'image');
  r.end();
  return { release, releaseSignature, authorization, authorizationSignature, image };
}
