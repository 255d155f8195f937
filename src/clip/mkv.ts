/**
 * The clip's plaintext container: a minimal Matroska file with one MJPEG video
 * track (codec V_MJPEG) and one frame per Cluster, each carrying its own
 * millisecond timestamp; on boards with a microphone, a second track of 16 kHz mono
 * 16-bit PCM (A_PCM/INT/LIT), its blocks in Clusters of their own between the frames,
 * each before the frame it leads up to. Written strictly forward (the Segment has unknown size),
 * so it streams into the sealer without seeking. ffmpeg/ffprobe read it.
 *
 * The reader understands exactly what the writer makes (and rejects the rest):
 * it is how phones and `sealbell verify` count and extract frames.
 */
import { concatBytes, readUintBE, utf8ToBytes, utf8Decode, writeUintBE } from '../bytes.js';
import { SealbellError } from '../errors.js';

/** Element IDs (exported for tools/phone/remux.ts, which writes the seekable form). */
export const ID = {
  EBML: 0x1a45dfa3,
  EBMLVersion: 0x4286,
  EBMLReadVersion: 0x42f7,
  EBMLMaxIDLength: 0x42f2,
  EBMLMaxSizeLength: 0x42f3,
  DocType: 0x4282,
  DocTypeVersion: 0x4287,
  DocTypeReadVersion: 0x4285,
  Segment: 0x18538067,
  Info: 0x1549a966,
  TimestampScale: 0x2ad7b1,
  MuxingApp: 0x4d80,
  WritingApp: 0x5741,
  DateUTC: 0x4461,
  Tracks: 0x1654ae6b,
  TrackEntry: 0xae,
  TrackNumber: 0xd7,
  TrackUID: 0x73c5,
  TrackType: 0x83,
  FlagLacing: 0x9c,
  CodecID: 0x86,
  Video: 0xe0,
  PixelWidth: 0xb0,
  PixelHeight: 0xba,
  Audio: 0xe1,
  SamplingFrequency: 0xb5,
  Channels: 0x9f,
  BitDepth: 0x6264,
  Cluster: 0x1f43b675,
  Timestamp: 0xe7,
  SimpleBlock: 0xa3,
  // the poster frame: a cover-art attachment ahead of the first Cluster
  Attachments: 0x1941a469,
  AttachedFile: 0x61a7,
  FileDescription: 0x467e,
  FileName: 0x466e,
  FileMediaType: 0x4660,
  FileData: 0x465c,
  FileUID: 0x46ae,
  // only in the seekable file a phone writes (tools/phone/remux.ts)
  SeekHead: 0x114d9b74,
  Seek: 0x4dbb,
  SeekID: 0x53ab,
  SeekPosition: 0x53ac,
  Duration: 0x4489,
  Cues: 0x1c53bb6b,
  CuePoint: 0xbb,
  CueTime: 0xb3,
  CueTrackPositions: 0xb7,
  CueTrack: 0xf7,
  CueClusterPosition: 0xf1,
} as const;

/** Milliseconds between the Unix epoch and Matroska's epoch (2001-01-01T00:00:00Z). */
export const MATROSKA_EPOCH_MS = 978307200000;
const UNKNOWN_SIZE = Uint8Array.of(0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);

export function idBytes(id: number): Uint8Array {
  const out: number[] = [];
  for (let v = id; v > 0; v = Math.floor(v / 256)) out.unshift(v % 256);
  return Uint8Array.from(out);
}

/** EBML variable-size integer for an element size (always 8 bytes: simple and exact). */
export function sizeBytes(size: number): Uint8Array {
  const out = new Uint8Array(8);
  writeSize(out, 0, size);
  return out;
}

function writeSize(out: Uint8Array, offset: number, size: number): void {
  out[offset] = 0x01; // length marker: 8-byte vint
  writeUintBE(out, offset + 1, size, 7);
}

function uintBytes(v: number): Uint8Array {
  const out: number[] = [];
  do {
    out.unshift(v % 256);
    v = Math.floor(v / 256);
  } while (v > 0);
  return Uint8Array.from(out);
}

export function el(id: number, ...children: Uint8Array[]): Uint8Array {
  const body = concatBytes(...children);
  return concatBytes(idBytes(id), sizeBytes(body.length), body);
}
export const uint = (id: number, v: number) => el(id, uintBytes(v));
export const str = (id: number, s: string) => el(id, utf8ToBytes(s));

export interface VideoInfo {
  width: number;
  height: number;
  /** Wall-clock time of the clip's start, ms since the Unix epoch. */
  startTime: number;
  /** true when the file has the audio track (AUDIO_PCM): track 2 */
  audio?: boolean;
}

/** The one audio format: what the boards' microphones give (and 32,000 bytes a second). */
export const AUDIO_PCM = { codec: 'A_PCM/INT/LIT', track: 2, rate: 16_000, channels: 1, bits: 16 } as const;
/** PCM bytes per ms of sound */
export const AUDIO_BYTES_PER_MS = (AUDIO_PCM.rate / 1000) * (AUDIO_PCM.bits / 8) * AUDIO_PCM.channels;

/**
 * The last head built with and without sound, kept so a new clip of the same size only patches
 * its date (trigger path; live view's files, without sound, do not evict the clips' head).
 */
const cachedHeads: ({ width: number; height: number; bytes: Uint8Array; dateOffset: number } | undefined)[] = [undefined, undefined];

/** Everything before the first frame. */
export function mkvHead(info: VideoInfo): Uint8Array {
  const audio = info.audio === true;
  let cached = cachedHeads[audio ? 1 : 0];
  if (!cached || cached.width !== info.width || cached.height !== info.height) {
    const tracks = buildTracks(info.width, info.height, audio);
    const bytes = buildHead(tracks);
    // DateUTC's 8-byte body sits just before the Tracks element
    const dateOffset = bytes.length - tracks.length - 8;
    cached = cachedHeads[audio ? 1 : 0] = { width: info.width, height: info.height, bytes, dateOffset };
  }
  const head = cached.bytes.slice();
  // DateUTC is a signed 64-bit count of nanoseconds; ms × 10^6 fits exactly in a BigInt.
  new DataView(head.buffer).setBigInt64(cached.dateOffset, BigInt(info.startTime - MATROSKA_EPOCH_MS) * 1000000n);
  return head;
}

export function buildTracks(width: number, height: number, audio = false): Uint8Array {
  const video = el(
    ID.TrackEntry,
    uint(ID.TrackNumber, 1),
    uint(ID.TrackUID, 1),
    uint(ID.TrackType, 1),
    uint(ID.FlagLacing, 0),
    str(ID.CodecID, 'V_MJPEG'),
    el(ID.Video, uint(ID.PixelWidth, width), uint(ID.PixelHeight, height)),
  );
  if (!audio) return el(ID.Tracks, video);
  const rate = new Uint8Array(8);
  new DataView(rate.buffer).setFloat64(0, AUDIO_PCM.rate);
  return el(
    ID.Tracks,
    video,
    el(
      ID.TrackEntry,
      uint(ID.TrackNumber, AUDIO_PCM.track),
      uint(ID.TrackUID, AUDIO_PCM.track),
      uint(ID.TrackType, 2),
      uint(ID.FlagLacing, 0),
      str(ID.CodecID, AUDIO_PCM.codec),
      el(ID.Audio, el(ID.SamplingFrequency, rate), uint(ID.Channels, AUDIO_PCM.channels), uint(ID.BitDepth, AUDIO_PCM.bits)),
    ),
  );
}

/** The EBML header: the file's first element. */
export function ebmlHeader(): Uint8Array {
  return el(
    ID.EBML,
    uint(ID.EBMLVersion, 1),
    uint(ID.EBMLReadVersion, 1),
    uint(ID.EBMLMaxIDLength, 4),
    uint(ID.EBMLMaxSizeLength, 8),
    str(ID.DocType, 'matroska'),
    uint(ID.DocTypeVersion, 4),
    uint(ID.DocTypeReadVersion, 2),
  );
}

function buildHead(tracks: Uint8Array): Uint8Array {
  return concatBytes(
    ebmlHeader(),
    idBytes(ID.Segment),
    UNKNOWN_SIZE,
    el(
      ID.Info,
      uint(ID.TimestampScale, 1000000),
      str(ID.MuxingApp, 'sealbell'),
      str(ID.WritingApp, 'sealbell'),
      el(ID.DateUTC, new Uint8Array(8)), // last in Info: patched per clip
    ),
    tracks,
  );
}

/** The poster's name: Matroska's cover-art convention, so players and file browsers show it. */
export const POSTER_NAME = 'cover.jpg';
const POSTER_DESCRIPTION = 'sealbell poster: the frame at the trigger';

/**
 * The bytes that go in front of the poster JPEG (the frame at the trigger), right after the
 * head: an Attachments element with one AttachedFile whose FileData (its last child) is the
 * JPEG, so the caller streams the frame after it from where it lies, without a copy.
 */
export function mkvPosterPrefix(jpegLength: number): Uint8Array {
  const out = posterPrefixTemplate().slice();
  const n = out.length;
  // Attachments (4-byte ID) and AttachedFile (2-byte ID) wrap everything after their size; FileData's size ends the prefix
  writeSize(out, 4, n - 12 + jpegLength);
  writeSize(out, 14, n - 22 + jpegLength);
  writeSize(out, n - 8, jpegLength);
  return out;
}

/** The poster prefix's length: the same whatever the JPEG (every size is 8 bytes). */
export function mkvPosterPrefixLength(): number {
  return posterPrefixTemplate().length;
}

/** Runs at every trigger on the device: the fields are built once, then only the three sizes change. */
function posterPrefixTemplate(): Uint8Array {
  if (!posterTemplate) {
    const fields = concatBytes(
      str(ID.FileDescription, POSTER_DESCRIPTION),
      str(ID.FileName, POSTER_NAME),
      str(ID.FileMediaType, 'image/jpeg'),
      uint(ID.FileUID, 1),
      idBytes(ID.FileData),
      sizeBytes(0),
    );
    posterTemplate = concatBytes(idBytes(ID.Attachments), sizeBytes(0), idBytes(ID.AttachedFile), sizeBytes(0), fields);
  }
  return posterTemplate;
}

let posterTemplate: Uint8Array | undefined;

/**
 * The bytes that go in front of a JPEG frame: a Cluster holding one keyframe
 * SimpleBlock, at `timestamp` ms from the clip start. The frame itself follows
 * unchanged, so the caller streams it from where it lies, without a copy.
 */
export function mkvFramePrefix(timestamp: number, frameLength: number): Uint8Array {
  return blockPrefix(timestamp, frameLength, BLOCK_HEADER);
}

/**
 * The bytes that go in front of a run of PCM samples (16 kHz mono s16le) on the audio track:
 * a Cluster with one SimpleBlock (every PCM block is a keyframe), `timestamp` ms from the clip
 * start; the samples follow from where they lie.
 */
export function mkvAudioPrefix(timestamp: number, pcmLength: number): Uint8Array {
  return blockPrefix(timestamp, pcmLength, AUDIO_BLOCK_HEADER);
}

function blockPrefix(timestamp: number, frameLength: number, header: Uint8Array): Uint8Array {
  // Runs once per frame on the device: one allocation, fields written in place.
  let tsLength = 1;
  while (tsLength < 6 && timestamp >= 256 ** tsLength) tsLength++;
  const blockLength = header.length + frameLength;
  const timestampElLength = 1 + 8 + tsLength;
  const out = new Uint8Array(4 + 8 + timestampElLength + 1 + 8 + header.length);
  let p = 0;
  writeUintBE(out, p, ID.Cluster, 4);
  writeSize(out, (p += 4), timestampElLength + 1 + 8 + blockLength);
  out[(p += 8)] = ID.Timestamp;
  writeSize(out, (p += 1), tsLength);
  writeUintBE(out, (p += 8), timestamp, tsLength);
  out[(p += tsLength)] = ID.SimpleBlock;
  writeSize(out, (p += 1), blockLength);
  out.set(header, p + 8);
  return out;
}

/** SimpleBlock header: track 1 (vint), relative timestamp 0 (int16), keyframe flag. */
const BLOCK_HEADER = Uint8Array.of(0x81, 0x00, 0x00, 0x80);
/** The same on the audio track (2). */
const AUDIO_BLOCK_HEADER = Uint8Array.of(0x80 | AUDIO_PCM.track, 0x00, 0x00, 0x80);

export interface Frame {
  /** ms from the clip start */
  timestamp: number;
  /** the JPEG bytes; valid only during the callback */
  data: Uint8Array;
}

const malformed = (why: string): never => {
  throw new SealbellError('CONTAINER', `malformed video container: ${why}`);
};

/** Reads what mkvHead/mkvFramePrefix write, streaming; rejects anything else. */
export class MkvReader {
  info: VideoInfo | undefined;
  frames = 0;
  /** PCM samples read from the audio track */
  audioSamples = 0;
  /** each run of PCM samples on the audio track (a view: valid only during the call) */
  onAudio: ((block: Frame) => void) | undefined;
  private lastAudioTimestamp = -1;
  /** the poster frame (a copy of the JPEG), once read: it comes before the first frame */
  poster: Uint8Array | undefined;
  private buf = new Uint8Array(4096);
  private len = 0;
  private stage: 'ebml' | 'segment' | 'info' | 'tracks' | 'clusters' = 'ebml';
  private width = 0;
  private height = 0;
  private startTime = 0;
  private lastTimestamp = -1;

  constructor(
    private readonly onFrame: (frame: Frame) => void,
    private readonly maxElement = 8 * 1024 * 1024,
  ) {}

  push(data: Uint8Array): void {
    if (this.len + data.length > this.buf.length) {
      let size = this.buf.length;
      while (size < this.len + data.length) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.buf.subarray(0, this.len));
      this.buf = grown;
    }
    this.buf.set(data, this.len);
    this.len += data.length;
    let used = 0;
    for (;;) {
      const n = this.step(this.buf.subarray(used, this.len));
      if (n === 0) break;
      used += n;
    }
    this.buf.copyWithin(0, used, this.len);
    this.len -= used;
  }

  /** Bytes held that do not yet make a whole element (a file cut short ends with some). */
  get buffered(): number {
    return this.len;
  }

  end(): void {
    if (this.len !== 0 || this.stage !== 'clusters') malformed('the file ends inside an element');
  }

  /** Consumes one element from `b`; returns its length, or 0 if more bytes are needed. */
  private step(b: Uint8Array): number {
    if (this.stage === 'segment') {
      if (b.length < 12) return 0;
      if (readUintBE(b, 0, 4) !== ID.Segment) malformed('expected a Segment');
      this.stage = 'info';
      return 12;
    }
    const head = readElementHead(b);
    if (!head) return 0;
    if (head.size > this.maxElement) malformed(`element of ${head.size} bytes is too large`);
    const total = head.headLength + head.size;
    if (b.length < total) return 0;
    const body = b.subarray(head.headLength, total);
    switch (this.stage) {
      case 'ebml': {
        if (head.id !== ID.EBML) malformed('not a Matroska file');
        const f = children(body);
        if (text(f.get(ID.DocType)) !== 'matroska') malformed('DocType is not matroska');
        this.stage = 'segment';
        break;
      }
      case 'info': {
        if (head.id !== ID.Info) malformed('expected Info');
        const f = children(body);
        const date = f.get(ID.DateUTC);
        if (!date || date.length !== 8) malformed('Info has no DateUTC');
        const ns = new DataView(date!.buffer, date!.byteOffset, 8).getBigInt64(0);
        this.startTime = Number(ns / 1000000n) + MATROSKA_EPOCH_MS;
        this.stage = 'tracks';
        break;
      }
      case 'tracks': {
        if (head.id !== ID.Tracks) malformed('expected Tracks');
        const entries = childList(body).filter((c) => c.id === ID.TrackEntry);
        if (entries.length < 1 || entries.length > 2) malformed('one video track, and at most one audio track');
        const t = children(entries[0].body);
        if (num(t.get(ID.TrackNumber)) !== 1 || text(t.get(ID.CodecID)) !== 'V_MJPEG') malformed('the track is not MJPEG');
        const video = children(t.get(ID.Video) ?? malformed('no Video settings'));
        this.width = num(video.get(ID.PixelWidth));
        this.height = num(video.get(ID.PixelHeight));
        this.info = { width: this.width, height: this.height, startTime: this.startTime };
        if (entries.length === 2) {
          checkAudioTrack(children(entries[1].body));
          this.info.audio = true;
        }
        this.stage = 'clusters';
        break;
      }
      case 'clusters': {
        if (head.id === ID.Attachments && this.frames === 0 && !this.poster) {
          this.poster = posterOf(body);
          break;
        }
        if (head.id !== ID.Cluster) malformed('expected a Cluster');
        this.cluster(body);
        break;
      }
    }
    return total;
  }

  private cluster(body: Uint8Array): void {
    const ts = readElementHead(body);
    if (!ts || ts.id !== ID.Timestamp || ts.headLength + ts.size > body.length) malformed('Cluster without Timestamp');
    const timestamp = num(body.subarray(ts!.headLength, ts!.headLength + ts!.size));
    const rest = body.subarray(ts!.headLength + ts!.size);
    const block = readElementHead(rest);
    if (!block || block.id !== ID.SimpleBlock || block.headLength + block.size !== rest.length) {
      malformed('Cluster must hold exactly one SimpleBlock');
    }
    const data = rest.subarray(block!.headLength);
    if (data.length < 4 || (data[0] !== 0x81 && !(data[0] === AUDIO_BLOCK_HEADER[0] && this.info?.audio)) || data[1] !== 0 || data[2] !== 0 || (data[3] & 0x80) === 0) {
      malformed('unexpected SimpleBlock header');
    }
    if (data[0] === AUDIO_BLOCK_HEADER[0]) {
      // each track's timestamps rise on their own: sound the microphone delivers late sits after a frame
      if (timestamp < this.lastAudioTimestamp) malformed('audio timestamps go backwards');
      if ((data.length - 4) % 2 !== 0 || data.length === 4) malformed('an audio block is not whole 16-bit samples');
      this.lastAudioTimestamp = timestamp;
      this.audioSamples += (data.length - 4) / 2;
      this.onAudio?.({ timestamp, data: data.subarray(4) });
      return;
    }
    if (timestamp < this.lastTimestamp) malformed('frame timestamps go backwards');
    this.lastTimestamp = timestamp;
    this.frames++;
    this.onFrame({ timestamp, data: data.subarray(4) });
  }
}

/** The audio track must be exactly AUDIO_PCM. */
function checkAudioTrack(t: Map<number, Uint8Array>): void {
  if (num(t.get(ID.TrackNumber)) !== AUDIO_PCM.track || num(t.get(ID.TrackType)) !== 2 || text(t.get(ID.CodecID)) !== AUDIO_PCM.codec) malformed('the second track is not PCM audio');
  const a = children(t.get(ID.Audio) ?? malformed('no Audio settings'));
  const rate = a.get(ID.SamplingFrequency);
  if (!rate || rate.length !== 8 || new DataView(rate.buffer, rate.byteOffset, 8).getFloat64(0) !== AUDIO_PCM.rate) malformed('the audio is not 16 kHz');
  if (num(a.get(ID.Channels)) !== AUDIO_PCM.channels || num(a.get(ID.BitDepth)) !== AUDIO_PCM.bits) malformed('the audio is not mono 16-bit');
}

/** The poster JPEG in an Attachments body: one cover.jpg of type image/jpeg, as mkvPosterPrefix writes. */
function posterOf(body: Uint8Array): Uint8Array {
  const all = children(body);
  if (all.size !== 1) malformed('Attachments must hold one poster');
  const file = children(all.get(ID.AttachedFile) ?? malformed('Attachments without an AttachedFile'));
  if (text(file.get(ID.FileName)) !== POSTER_NAME || text(file.get(ID.FileMediaType)) !== 'image/jpeg') malformed('the attachment is not the poster');
  // Like the frames, the poster's bytes are the camera's as they came: the container does not parse JPEG.
  const data = file.get(ID.FileData) ?? malformed('the poster has no data');
  return data.slice();
}

const num = (b: Uint8Array | undefined): number => {
  if (!b || b.length === 0 || b.length > 6) return malformed('bad unsigned integer');
  return readUintBE(b, 0, b.length);
};

const text = (b: Uint8Array | undefined): string => {
  try {
    return b ? utf8Decode(b) : '';
  } catch {
    return '';
  }
};

/** Element ID (1–4 bytes, marker kept) and size (1–8 byte vint); undefined if incomplete. */
export function readElementHead(b: Uint8Array): { id: number; size: number; headLength: number } | undefined {
  if (b.length < 1) return undefined;
  const idLength = vintLength(b[0], 4) ?? malformed('bad element ID');
  if (b.length < idLength + 1) return undefined;
  const id = readUintBE(b, 0, idLength);
  const sizeLength = vintLength(b[idLength], 8) ?? malformed('bad element size');
  if (b.length < idLength + sizeLength) return undefined;
  let size = b[idLength] & (0xff >> sizeLength);
  for (let i = 1; i < sizeLength; i++) size = size * 256 + b[idLength + i];
  if (size >= 2 ** 48) malformed('unknown or huge element size');
  return { id, size, headLength: idLength + sizeLength };
}

function vintLength(first: number, max: number): number | undefined {
  for (let i = 0; i < max; i++) if (first & (0x80 >> i)) return i + 1;
  return undefined;
}

/** The direct children of a master element, in order. */
function childList(body: Uint8Array): { id: number; body: Uint8Array }[] {
  const out: { id: number; body: Uint8Array }[] = [];
  let p = 0;
  while (p < body.length) {
    const h = readElementHead(body.subarray(p)) ?? malformed('truncated element');
    if (p + h.headLength + h.size > body.length) malformed('element overruns its parent');
    out.push({ id: h.id, body: body.subarray(p + h.headLength, p + h.headLength + h.size) });
    p += h.headLength + h.size;
  }
  return out;
}

/** The direct children of a master element, by ID (last one wins; we write each once). */
function children(body: Uint8Array): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  let p = 0;
  while (p < body.length) {
    const h = readElementHead(body.subarray(p)) ?? malformed('truncated element');
    if (p + h.headLength + h.size > body.length) malformed('element overruns its parent');
    out.set(h.id, body.subarray(p + h.headLength, p + h.headLength + h.size));
    p += h.headLength + h.size;
  }
  return out;
}
