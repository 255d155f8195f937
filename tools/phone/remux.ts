/** `sealbell phone remux`: the seekable copy of a decrypted clip, on files (the container work is seekable-remux.ts). */
import fs from 'node:fs';
import { SealbellError } from '../../src/errors.js';
import { SeekableRemux, type PositionalWrite, type RemuxResult } from './seekable-remux.js';

export { SeekableRemux, type PositionalWrite, type RemuxResult } from './seekable-remux.js';

/** A positional writer on an open file descriptor. */
export const fdWriter = (fd: number): PositionalWrite => (bytes, position) => {
  fs.writeSync(fd, bytes, 0, bytes.length, position);
};

/** `sealbell phone remux IN --out OUT`: the seekable copy of a decrypted clip, whole or cut short. */
export function remuxFile(input: string, out: string): RemuxResult {
  const part = `${out}.part`;
  const inFd = fs.openSync(input, 'r');
  let outFd: number | undefined = fs.openSync(part, 'w', 0o600);
  try {
    const remux = new SeekableRemux(fdWriter(outFd));
    const buf = new Uint8Array(64 * 1024);
    for (let n; (n = fs.readSync(inFd, buf, 0, buf.length, null)) > 0; ) remux.push(buf.subarray(0, n));
    const r = remux.finish();
    if (r.frames === 0) throw new SealbellError('CONTAINER', 'no whole video frame to write: the clip is cut short before its first frame');
    fs.closeSync(outFd);
    outFd = undefined;
    fs.renameSync(part, out);
    return r;
  } finally {
    if (outFd !== undefined) {
      fs.closeSync(outFd);
      fs.rmSync(part, { force: true });
    }
    fs.closeSync(inFd);
  }
}
