/**
 * The web app's release (docs/web-app.md): the list of the app's files with their SHA-256,
 * as canonical JSON bytes (release.json), signed with minisign by the release key
 * (release.json.minisig, trusted comment "sealbell-web-app <version>"). The service worker
 * checks an update with the release public key built into it; anyone checks one with
 * `minisign -Vm release.json -p release.pub` and `sha256sum`.
 *
 *   {"v":1,"app":"sealbell-web-app","version":"<1..64 of [0-9A-Za-z.+-]>",
 *    "files":[{"path":"<name>","sha256":"<64 hex>","size":<bytes>},…]}   (sorted by path)
 *
 * No Node or DOM here: the build tool, the relay and the service worker share it.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8Decode, utf8ToBytes } from '../../src/bytes.js';
import { SealbellError } from '../../src/errors.js';
import { decodePublicKey, sign, verify, type SigningKey } from '../../src/minisign.js';

export interface ReleaseFile {
  path: string;
  sha256: string;
  size: number;
}

export interface AppRelease {
  v: 1;
  app: 'sealbell-web-app';
  version: string;
  files: ReleaseFile[];
}

export const RELEASE_FILE = 'release.json';
export const SIGNATURE_FILE = 'release.json.minisig';
const PATH = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const VERSION = /^[0-9A-Za-z.+-]{1,64}$/;

const bad = (why: string): never => {
  throw new SealbellError('RELEASE_FORMAT', `not a sealbell web app release: ${why}`);
};

/** The release of these files (name → bytes), as canonical bytes. */
export function encodeRelease(version: string, files: Map<string, Uint8Array>): Uint8Array {
  if (!VERSION.test(version)) bad(`version "${version.slice(0, 70)}"`);
  const list = [...files.entries()]
    .filter(([p]) => p !== RELEASE_FILE && p !== SIGNATURE_FILE)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([path, bytes]) => {
      if (!PATH.test(path)) bad(`file name "${path.slice(0, 70)}"`);
      return { path, sha256: bytesToHex(sha256(bytes)), size: bytes.length };
    });
  return utf8ToBytes(JSON.stringify({ v: 1, app: 'sealbell-web-app', version, files: list }));
}

export function parseRelease(bytes: Uint8Array): AppRelease {
  let j: AppRelease;
  try {
    j = JSON.parse(utf8Decode(bytes));
  } catch {
    return bad('not JSON');
  }
  if (typeof j !== 'object' || j === null || j.v !== 1 || j.app !== 'sealbell-web-app' || typeof j.version !== 'string' || !VERSION.test(j.version) || !Array.isArray(j.files)) bad('fields');
  for (const f of j.files) {
    if (typeof f !== 'object' || f === null || typeof f.path !== 'string' || !PATH.test(f.path) || typeof f.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(f.sha256) || !Number.isSafeInteger(f.size) || f.size < 0) bad('a file entry');
  }
  // canonical: what encodeRelease writes for it, byte for byte
  if (utf8Decode(encodeCanonical(j)) !== utf8Decode(bytes)) bad('not in canonical form');
  return j;
}

function encodeCanonical(r: AppRelease): Uint8Array {
  return utf8ToBytes(JSON.stringify({ v: 1, app: r.app, version: r.version, files: r.files.map((f) => ({ path: f.path, sha256: f.sha256, size: f.size })) }));
}

export const trustedComment = (version: string) => `sealbell-web-app ${version}`;

export function signRelease(bytes: Uint8Array, key: SigningKey): string {
  return sign(bytes, key, trustedComment(parseRelease(bytes).version), 'sealbell web app release');
}

/**
 * The release, if `signature` is the release key's over exactly these bytes and names this
 * version; MINISIGN_KEY / MINISIGN_SIGNATURE / RELEASE_FORMAT otherwise.
 */
export function verifyRelease(bytes: Uint8Array, signature: string, releasePub: string): AppRelease {
  const comment = verify(bytes, signature, decodePublicKey(releasePub));
  const r = parseRelease(bytes);
  if (comment !== trustedComment(r.version)) throw new SealbellError('RELEASE_FORMAT', `the signature's trusted comment "${comment}" does not name release ${r.version}`);
  return r;
}

/** RELEASE_FILE unless `bytes` is the file the release lists under `path`. */
export function checkFile(r: AppRelease, path: string, bytes: Uint8Array): void {
  const f = r.files.find((x) => x.path === path);
  if (!f) throw new SealbellError('RELEASE_FILE', `${path} is not in release ${r.version}`);
  if (f.size !== bytes.length || f.sha256 !== bytesToHex(sha256(bytes))) throw new SealbellError('RELEASE_FILE', `${path} is not the file release ${r.version} lists (its SHA-256 differs)`);
}

/**
 * Whether version `a` comes after `b`: compared part by part (split at . + -), numbers as
 * numbers, else as text; a version that is a prefix of another comes first. A worker takes no
 * older or equal release, so a relay cannot roll the app back to a signed release with a flaw.
 */
export function isNewer(a: string, b: string): boolean {
  const pa = a.split(/[.+-]/);
  const pb = b.split(/[.+-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    if (pa[i] === undefined) return false;
    if (pb[i] === undefined) return true;
    const [x, y] = [pa[i], pb[i]];
    const numeric = /^\d+$/.test(x) && /^\d+$/.test(y);
    const c = numeric ? Number(x) - Number(y) : x < y ? -1 : x > y ? 1 : 0;
    if (c !== 0) return c > 0;
  }
  return false;
}
