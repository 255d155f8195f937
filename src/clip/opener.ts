/**
 * The phone's side: streaming decrypt and verify of a clip. Bytes of the .age
 * file go in as they arrive; decrypted frames come out; every check that can
 * fail does so with its own SealbellError code:
 *   AGE_HEADER / HEADER_MAC   the header is malformed or was altered
 *   NO_IDENTITY               the clip was not sealed to the given identities
 *   CHUNK_AUTH                a chunk's bytes were changed or spliced in from another clip
 *   CHUNK_REORDERED           chunks are out of order
 *   TRUNCATED / TRAILING_DATA the payload was cut short / has bytes after its end
 *   CONTAINER                 the plaintext is not a sealbell video container
 *   MANIFEST_MISMATCH         the clip is not the one its manifest describes (payload,
 *                             frames, times, or classic vs post-quantum recipients)
 *   AGE_KEM_MIX               the header mixes classic and post-quantum stanzas
 */
import type { CryptoBackend, Sha256 } from '../crypto/backend.js';
import { parseHeader, MAX_HEADER_BYTES, type ParsedHeader } from '../age/format.js';
import { openHeader } from '../age/header.js';
import { toAgeIdentity, stanzaKem, type AgeIdentity, type IdentityInput } from '../age/recipients.js';
import { PAYLOAD_NONCE_LENGTH, StreamOpener, payloadKey } from '../age/stream.js';
import { bytesToHex, concatBytes } from '../bytes.js';
import { SealbellError } from '../errors.js';
import { MkvReader, type Frame, type VideoInfo } from './mkv.js';
import type { ClipManifest } from './manifest.js';

export interface OpenedClip {
  info: VideoInfo;
  frames: number;
  /** duration covered by the frames' timestamps, ms */
  lastTimestamp: number;
  payloadSize: number;
  payloadSha256: string;
  /** the poster frame (JPEG), when the clip carries one */
  poster?: Uint8Array;
  /** PCM samples in the audio track, when the clip has one */
  audioSamples?: number;
}

export interface ClipOpenerOptions {
  backend: CryptoBackend;
  /** AGE-SECRET-KEY-1… or AGE-SECRET-KEY-PQ-1… strings */
  identities: IdentityInput[];
  onFrame?: (frame: Frame) => void;
  /** Each run of PCM samples on the audio track (16 kHz mono s16le; a view, valid only during the call). */
  onAudio?: (block: Frame) => void;
  /** Raw plaintext (the video container), as it is decrypted. */
  onPlaintext?: (bytes: Uint8Array) => void;
  /** When given, the clip must match it exactly (payload hash and size, frame count). */
  manifest?: ClipManifest;
}

/** Hashes the payload and finds where it starts; shared by the opener and the key-less check. */
class PayloadScanner {
  header: ParsedHeader | undefined;
  size = 0;
  private pending: Uint8Array = new Uint8Array(0);
  private readonly hash: Sha256;

  constructor(
    backend: CryptoBackend,
    private readonly onPayload: (bytes: Uint8Array) => void,
    private readonly manifest?: ClipManifest,
  ) {
    this.hash = backend.sha256();
  }

  push(data: Uint8Array): void {
    if (!this.header) {
      this.pending = this.pending.length ? concatBytes(this.pending, data) : data.slice();
      const header = parseHeader(this.pending.subarray(0, MAX_HEADER_BYTES));
      if (!header) return;
      checkKem(header, this.manifest);
      this.header = header;
      data = this.pending.subarray(header.length);
      this.pending = new Uint8Array(0);
    }
    if (data.length === 0) return;
    this.hash.update(data);
    this.size += data.length;
    this.onPayload(data);
  }

  end(): string {
    if (!this.header) throw new SealbellError('TRUNCATED', 'the clip is truncated inside its header');
    return bytesToHex(this.hash.digest());
  }
}

export class ClipOpener {
  private readonly scanner: PayloadScanner;
  private readonly identities: AgeIdentity[];
  private readonly reader: MkvReader;
  private nonce = new Uint8Array(0);
  private stream: StreamOpener | undefined;
  private lastTimestamp = 0;

  constructor(private readonly o: ClipOpenerOptions) {
    this.identities = o.identities.map(toAgeIdentity);
    this.reader = new MkvReader((f) => {
      this.lastTimestamp = f.timestamp;
      o.onFrame?.(f);
    });
    this.reader.onAudio = o.onAudio;
    this.scanner = new PayloadScanner(o.backend, (bytes) => this.payload(bytes), o.manifest);
  }

  push(data: Uint8Array): void {
    this.scanner.push(data);
  }

  end(): OpenedClip {
    const payloadSha256 = this.scanner.end();
    if (!this.stream) throw new SealbellError('TRUNCATED', 'the clip is truncated: its payload is missing');
    const expected = this.o.manifest?.payloadSize;
    if (expected !== undefined && this.scanner.size !== expected) this.explainSizeMismatch(expected);
    this.stream.end();
    this.reader.end();
    const opened: OpenedClip = {
      info: this.reader.info!,
      frames: this.reader.frames,
      lastTimestamp: this.lastTimestamp,
      ...(this.reader.info?.audio ? { audioSamples: this.reader.audioSamples } : {}),
      payloadSize: this.scanner.size,
      payloadSha256,
      ...(this.reader.poster ? { poster: this.reader.poster } : {}),
    };
    if (this.o.manifest) checkAgainstManifest(opened, this.o.manifest);
    return opened;
  }

  /**
   * The payload's length differs from the manifest's. Only the first payloadSize
   * bytes went to the decryptor, so whether they end in a valid final chunk tells
   * a damaged copy of this clip (truncated, or with bytes appended) from another clip.
   */
  private explainSizeMismatch(expected: number): never {
    let complete = true;
    try {
      this.stream!.end();
    } catch {
      complete = false;
    }
    const size = this.scanner.size;
    if (size > expected && complete) {
      throw new SealbellError('TRAILING_DATA', `${size - expected} bytes follow the clip's final chunk`);
    }
    if (size < expected && !complete) {
      throw new SealbellError('TRUNCATED', `the clip is truncated: ${expected - size} bytes of its payload are missing`);
    }
    throw new SealbellError('MANIFEST_MISMATCH', `the clip is ${size} payload bytes, its manifest describes ${expected}: not the clip the manifest was signed for`);
  }

  private payload(bytes: Uint8Array): void {
    // With a manifest, the payload's length is known: bytes past it are not the clip's.
    const limit = this.o.manifest?.payloadSize;
    if (limit !== undefined && this.scanner.size > limit) {
      const over = Math.min(bytes.length, this.scanner.size - limit);
      bytes = bytes.subarray(0, bytes.length - over);
    }
    if (!this.stream) {
      const need = PAYLOAD_NONCE_LENGTH - this.nonce.length;
      this.nonce = concatBytes(this.nonce, bytes.subarray(0, need));
      bytes = bytes.subarray(need);
      if (this.nonce.length < PAYLOAD_NONCE_LENGTH) return;
      const fileKey = openHeader(this.scanner.header!, this.identities);
      this.stream = new StreamOpener(this.o.backend.aead, payloadKey(fileKey, this.nonce), (plain) => {
        this.o.onPlaintext?.(plain);
        this.reader.push(plain);
      });
      fileKey.fill(0);
    }
    if (bytes.length) this.stream.push(bytes);
  }
}

/**
 * A clip is sealed to classic or to post-quantum recipients, never both (AGE_KEM_MIX), and
 * its signed manifest says which: a classic header under a post-quantum manifest (a
 * downgrade) or the reverse is MANIFEST_MISMATCH.
 */
function checkKem(header: ParsedHeader, manifest: ClipManifest | undefined): void {
  const kem = stanzaKem(header.stanzas);
  const signed = manifest?.kem ?? 'x25519';
  if (manifest && kem !== undefined && kem !== signed) {
    throw new SealbellError('MANIFEST_MISMATCH', `the clip's header is sealed to ${kem} recipients, its signed manifest says ${signed}`);
  }
}

function checkAgainstManifest(opened: OpenedClip, m: ClipManifest): void {
  checkPayloadAgainstManifest(opened.payloadSize, opened.payloadSha256, m);
  if (opened.frames !== m.frames) {
    throw new SealbellError('MANIFEST_MISMATCH', `the clip has ${opened.frames} frames, its manifest says ${m.frames}`);
  }
  if (opened.info.startTime !== m.start || m.start + opened.lastTimestamp !== m.end) {
    throw new SealbellError('MANIFEST_MISMATCH', 'the clip\'s recorded times differ from its manifest');
  }
  // the sound the manifest names is the track the file holds (a clip without `audio` predates sound)
  if (m.audio !== undefined) {
    const samples = opened.info.audio ? opened.audioSamples ?? 0 : undefined;
    if ((m.audio === null) !== (samples === undefined) || (m.audio && m.audio.samples !== samples)) {
      throw new SealbellError('MANIFEST_MISMATCH', `the clip's audio track (${samples ?? 'none'} samples) differs from its manifest (${m.audio ? `${m.audio.samples} samples` : 'no microphone'})`);
    }
  }
}

function checkPayloadAgainstManifest(size: number, sha256: string, m: ClipManifest): void {
  if (size !== m.payloadSize || sha256 !== m.payloadSha256) {
    throw new SealbellError(
      'MANIFEST_MISMATCH',
      size < m.payloadSize
        ? `the clip is ${m.payloadSize - size} bytes shorter than its manifest says (truncated?)`
        : 'the clip\'s payload is not the one its manifest was signed for',
    );
  }
}

/**
 * Checks a clip against its manifest without any key: the payload hash and size.
 * This is what a relay or a third party can check.
 */
export class PayloadVerifier {
  private readonly scanner: PayloadScanner;
  constructor(backend: CryptoBackend, private readonly manifest: ClipManifest) {
    this.scanner = new PayloadScanner(backend, () => {}, manifest);
  }
  push(data: Uint8Array): void {
    this.scanner.push(data);
  }
  end(): void {
    const sha = this.scanner.end();
    checkPayloadAgainstManifest(this.scanner.size, sha, this.manifest);
  }
}
