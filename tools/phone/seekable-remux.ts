/**
 * The seekable copy a phone writes. The device seals its Matroska strictly forward (a
 * Segment of unknown size, no Duration, no Cues: it cannot go back into a stream it has
 * already sealed), so players cannot seek in it. After decrypting, the phone rewrites the
 * container: the same poster and clusters (one JPEG frame each, same timestamps, same bytes),
 * now in a Segment of known size with a SeekHead, Info with Duration, and Cues indexing every frame.
 *
 * It streams: frames are written as they are decrypted, the Cues go at the end, and the
 * fixed-size head (every size and position is an 8-byte number) is written again at
 * offset 0 once the totals are known. A container cut short (a power cut, a spool
 * overflow, `age -d` of a truncated clip) keeps every whole frame and drops the tail.
 */
import { concatBytes, writeUintBE } from '../../src/bytes.js';
import { SealbellError } from '../../src/errors.js';
import {
  buildTracks,
  ebmlHeader,
  el,
  idBytes,
  ID,
  MATROSKA_EPOCH_MS,
  MkvReader,
  AUDIO_BYTES_PER_MS,
  mkvAudioPrefix,
  mkvFramePrefix,
  mkvPosterPrefix,
  sizeBytes,
  str,
  uint,
  type VideoInfo,
} from '../../src/clip/mkv.js';

/** Writes `bytes` at byte `position` of the output. */
export type PositionalWrite = (bytes: Uint8Array, position: number) => void;

export interface RemuxResult {
  frames: number;
  /** ms, as the file's Duration says */
  duration: number;
  /** bytes at the end of the input that did not make a whole frame (0 for a complete clip) */
  droppedTail: number;
}

const fixedUint = (id: number, v: number) => {
  const body = new Uint8Array(8);
  writeUintBE(body, 0, v, 8);
  return el(id, body);
};

const float64 = (id: number, v: number) => {
  const body = new Uint8Array(8);
  new DataView(body.buffer).setFloat64(0, v);
  return el(id, body);
};

const date = (startTime: number) => {
  const body = new Uint8Array(8);
  new DataView(body.buffer).setBigInt64(0, BigInt(startTime - MATROSKA_EPOCH_MS) * 1000000n);
  return el(ID.DateUTC, body);
};

interface Totals {
  duration: number;
  segmentSize: number;
  cuesPosition: number;
}

/** EBML header, Segment (known size), SeekHead, Info (with Duration), Tracks, the poster: a fixed length for a given clip. */
function seekableHead(info: VideoInfo, poster: Uint8Array | undefined, t: Totals): Uint8Array {
  const tracks = buildTracks(info.width, info.height, info.audio === true);
  const infoEl = (duration: number) =>
    el(ID.Info, uint(ID.TimestampScale, 1000000), str(ID.MuxingApp, 'sealbell'), str(ID.WritingApp, 'sealbell phone'), float64(ID.Duration, duration), date(info.startTime));
  const seek = (id: number, position: number) => el(ID.Seek, el(ID.SeekID, idBytes(id)), fixedUint(ID.SeekPosition, position));
  // Positions are from the start of the Segment's data; the SeekHead's own length is fixed.
  const seekHeadLength = el(ID.SeekHead, seek(ID.Info, 0), seek(ID.Tracks, 0), seek(ID.Cues, 0)).length;
  const infoBytes = infoEl(t.duration);
  const seekHead = el(ID.SeekHead, seek(ID.Info, seekHeadLength), seek(ID.Tracks, seekHeadLength + infoBytes.length), seek(ID.Cues, t.cuesPosition));
  const attachment = poster ? concatBytes(mkvPosterPrefix(poster.length), poster) : new Uint8Array(0);
  return concatBytes(ebmlHeader(), idBytes(ID.Segment), sizeBytes(t.segmentSize), seekHead, infoBytes, tracks, attachment);
}

/** Feeds on the device's forward-only container (as it is decrypted) and writes the seekable one. */
export class SeekableRemux {
  private readonly reader: MkvReader;
  private info: VideoInfo | undefined;
  /** where the Segment's data starts, and where the next cluster goes (file offsets) */
  private segmentData = 0;
  private position = 0;
  private readonly cues: Uint8Array[] = [];
  private frames = 0;
  private firstTimestamp = 0;
  private lastTimestamp = 0;
  /** where the sound ends, ms from the start (the audio track's last block and its length) */
  private audioEnd = 0;

  constructor(private readonly write: PositionalWrite) {
    this.reader = new MkvReader((f) => {
      if (!this.info) this.start(this.reader.info!);
      const cluster = this.position - this.segmentData;
      this.cues.push(el(ID.CuePoint, uint(ID.CueTime, f.timestamp), el(ID.CueTrackPositions, uint(ID.CueTrack, 1), uint(ID.CueClusterPosition, cluster))));
      const prefix = mkvFramePrefix(f.timestamp, f.data.length);
      this.write(prefix, this.position);
      this.write(f.data, this.position + prefix.length);
      this.position += prefix.length + f.data.length;
      if (this.frames === 0) this.firstTimestamp = f.timestamp;
      this.lastTimestamp = f.timestamp;
      this.frames++;
    });
    // the audio track's blocks stay where they were among the frames, with the same bytes
    this.reader.onAudio = (a) => {
      if (!this.info) this.start(this.reader.info!);
      const prefix = mkvAudioPrefix(a.timestamp, a.data.length);
      this.write(prefix, this.position);
      this.write(a.data, this.position + prefix.length);
      this.position += prefix.length + a.data.length;
      this.audioEnd = Math.max(this.audioEnd, a.timestamp + a.data.length / AUDIO_BYTES_PER_MS);
    };
  }

  /** Plaintext of the forward-only container, in order, in any pieces. */
  push(plain: Uint8Array): void {
    this.reader.push(plain);
  }

  /**
   * Writes the Cues and the final head. CONTAINER if the input ends before its Tracks; a clip
   * of no frame (valid, if rare: a camera that gave nothing) becomes a file of no frame.
   */
  finish(): RemuxResult {
    if (!this.info && this.reader.info) this.start(this.reader.info);
    if (!this.info) throw new SealbellError('CONTAINER', 'no video to write: the file ends before its track list');
    // A frame is shown until the next one: the last one for the average frame interval.
    const interval = this.frames > 1 ? (this.lastTimestamp - this.firstTimestamp) / (this.frames - 1) : 100;
    const video = this.frames === 0 ? 0 : this.lastTimestamp + Math.max(1, Math.round(interval));
    const duration = Math.max(video, Math.round(this.audioEnd));
    const cues = el(ID.Cues, ...this.cues);
    this.write(cues, this.position);
    const end = this.position + cues.length;
    const head = seekableHead(this.info, this.reader.poster, { duration, segmentSize: end - this.segmentData, cuesPosition: this.position - this.segmentData });
    this.write(head, 0);
    return { frames: this.frames, duration, droppedTail: this.reader.buffered };
  }

  private start(info: VideoInfo): void {
    this.info = info;
    const head = seekableHead(info, this.reader.poster, { duration: 0, segmentSize: 0, cuesPosition: 0 });
    this.segmentData = ebmlHeader().length + 12;
    this.position = head.length;
  }
}

