/**
 * Segments as relays before the segment log (tools/relay/segment-log.ts) kept
 * them, one file each: <data>/clips/<device>/<clip>/<index>.seg. Read only,
 * for rows without a log place.
 */
import fs from 'node:fs';
import path from 'node:path';
import { requireId } from './errors.js';
import { privateDir } from '../../hosts/node/kv-store.js';

export class BlobFiles {
  readonly root: string;

  constructor(dataDir: string) {
    this.root = path.resolve(dataDir, 'clips');
    privateDir(this.root);
  }

  clipDir(device: string, clip: string): string {
    const dir = path.join(this.root, requireId(device, 'device id'), requireId(clip, 'clip id'));
    // Ids are checked above; this is the second lock on the same door.
    if (!dir.startsWith(this.root + path.sep)) throw new Error('blob path escapes the data directory');
    return dir;
  }

  segmentPath(device: string, clip: string, index: number): string {
    return path.join(this.clipDir(device, clip), `${String(index).padStart(8, '0')}.seg`);
  }

  readSegment(device: string, clip: string, index: number): Uint8Array {
    return new Uint8Array(fs.readFileSync(this.segmentPath(device, clip, index)));
  }
}
