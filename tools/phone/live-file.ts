/**
 * Writes decrypted live frames to a file ffmpeg/ffprobe plays: Matroska (.mkv,
 * the clip container of src/clip/mkv.ts, with each frame's capture time) or a
 * bare MJPEG stream (.mjpeg, the JPEGs one after another).
 */
import fs from 'node:fs';
import { mkvFramePrefix, mkvHead } from '../../src/clip/mkv.js';

export class LiveFile {
  private readonly fd: number;
  private readonly mkv: boolean;
  private start: number | undefined;
  private last = 0;
  frames = 0;

  constructor(readonly path: string) {
    this.mkv = !/\.mjpe?g$/i.test(path);
    this.fd = fs.openSync(path, 'w', 0o600);
  }

  /** The session's size and start, before the first frame (Matroska only needs them). */
  begin(width: number, height: number, startTime: number): void {
    if (this.start !== undefined) return;
    this.start = startTime;
    if (this.mkv) fs.writeSync(this.fd, mkvHead({ width, height, startTime }));
  }

  frame(jpeg: Uint8Array, time: number): void {
    if (this.mkv) {
      // Matroska wants timestamps that never go back; the replay window already keeps order.
      this.last = Math.max(this.last, time - (this.start ?? time));
      fs.writeSync(this.fd, mkvFramePrefix(this.last, jpeg.length));
    }
    fs.writeSync(this.fd, jpeg);
    this.frames++;
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}
