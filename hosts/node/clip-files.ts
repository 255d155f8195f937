/**
 * A ClipSink that writes each clip as files: clips/<id>.age while it is sealed
 * (as <id>.age.part until complete), then <id>.manifest.json and its .minisig.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ClipSink } from '../../src/host.js';
import { privateDir, writeFileAtomic } from './kv-store.js';

export class ClipFiles implements ClipSink {
  private readonly open = new Map<string, number>();

  constructor(readonly dir: string) {
    privateDir(dir);
  }

  paths(clipId: string) {
    const base = path.join(this.dir, clipId);
    return { age: `${base}.age`, manifest: `${base}.manifest.json`, signature: `${base}.manifest.json.minisig` };
  }

  begin(clipId: string): void {
    this.open.set(clipId, fs.openSync(`${this.paths(clipId).age}.part`, 'w', 0o600));
  }

  segment(clipId: string, _index: number, bytes: Uint8Array): void {
    const fd = this.open.get(clipId);
    if (fd === undefined) throw new Error(`segment for unknown clip ${clipId}`);
    fs.writeSync(fd, bytes);
  }

  end(clipId: string, manifest: Uint8Array, signature: string): void {
    const fd = this.open.get(clipId);
    if (fd === undefined) throw new Error(`end of unknown clip ${clipId}`);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    this.open.delete(clipId);
    const p = this.paths(clipId);
    fs.renameSync(`${p.age}.part`, p.age);
    writeFileAtomic(p.manifest, manifest);
    writeFileAtomic(p.signature, signature);
  }
}
