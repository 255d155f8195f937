/**
 * How the spool lays its records out in host storage. Every record names its
 * clip, so the spool's whole state can be rebuilt from the records alone after
 * a restart (no separate index that could disagree with them).
 *
 *   0   1  kind
 *   1   1  L, clip id length
 *   2   L  clip id (ASCII)
 *   then, by kind:
 *     BEGIN       epoch (6 bytes, big-endian)
 *     SEGMENT     index (4 bytes, big-endian), the segment's bytes
 *     END         segment count (4), manifest length (4), manifest, signature (UTF-8)
 *     INCOMPLETE  reason (1 byte: 1 interrupted, 2 overflow)
 *     DROPPED     1 byte: 0 the clip was dropped whole, 1 its first part is kept (overflow);
 *                 the id is a clip still to be reported as dropped in a manifest
 *     EVENT       sealed length (4 bytes), the sealed event notice, its signature (UTF-8)
 *                 (docs/event-format.md)
 */
import { readUintBE, utf8Decode, utf8ToBytes, writeUintBE } from '../bytes.js';
import { SealbellError } from '../errors.js';
import { isSafeId } from '../clip/manifest.js';
import type { IncompleteReason } from './wire.js';

export const Kind = { Begin: 1, Segment: 2, End: 3, Incomplete: 4, Dropped: 5, Event: 6 } as const;
type KindOf = typeof Kind;

export type SpoolRecord =
  | { kind: KindOf['Begin']; clip: string; epoch: number }
  | { kind: KindOf['Segment']; clip: string; index: number; size: number }
  | { kind: KindOf['End']; clip: string; segments: number; manifest: Uint8Array; signature: string }
  | { kind: KindOf['Incomplete']; clip: string; reason: IncompleteReason }
  | { kind: KindOf['Dropped']; clip: string; partial: boolean }
  | { kind: KindOf['Event']; clip: string; size: number };

/** Bytes to read to parse any record except END's body: kind, id, and the fixed fields. */
export const RECORD_HEAD_BYTES = 2 + 64 + 8;
export const SEGMENT_PAYLOAD_OFFSET = (clip: string) => 2 + clip.length + 4;

function head(kind: number, clip: string, extra: number): Uint8Array {
  const out = new Uint8Array(2 + clip.length + extra);
  out[0] = kind;
  out[1] = clip.length;
  for (let i = 0; i < clip.length; i++) out[2 + i] = clip.charCodeAt(i);
  return out;
}

export function encodeBegin(clip: string, epoch: number): Uint8Array {
  const out = head(Kind.Begin, clip, 6);
  writeUintBE(out, 2 + clip.length, epoch, 6);
  return out;
}

export function encodeSegment(clip: string, index: number, bytes: Uint8Array): Uint8Array {
  const out = head(Kind.Segment, clip, 4 + bytes.length);
  writeUintBE(out, 2 + clip.length, index, 4);
  out.set(bytes, 2 + clip.length + 4);
  return out;
}

export function encodeEnd(clip: string, segments: number, manifest: Uint8Array, signature: string): Uint8Array {
  const sig = utf8ToBytes(signature);
  const out = head(Kind.End, clip, 8 + manifest.length + sig.length);
  const o = 2 + clip.length;
  writeUintBE(out, o, segments, 4);
  writeUintBE(out, o + 4, manifest.length, 4);
  out.set(manifest, o + 8);
  out.set(sig, o + 8 + manifest.length);
  return out;
}

export function encodeIncomplete(clip: string, reason: IncompleteReason): Uint8Array {
  const out = head(Kind.Incomplete, clip, 1);
  out[2 + clip.length] = reason === 'overflow' ? 2 : 1;
  return out;
}

export function encodeDropped(clip: string, partial: boolean): Uint8Array {
  const out = head(Kind.Dropped, clip, 1);
  out[2 + clip.length] = partial ? 1 : 0;
  return out;
}

export function encodeEvent(clip: string, sealed: Uint8Array, signature: string): Uint8Array {
  const sig = utf8ToBytes(signature);
  const out = head(Kind.Event, clip, 4 + sealed.length + sig.length);
  const o = 2 + clip.length;
  writeUintBE(out, o, sealed.length, 4);
  out.set(sealed, o + 4);
  out.set(sig, o + 4 + sealed.length);
  return out;
}

/** The sealed event and its signature from a whole EVENT record. */
export function decodeEventRecord(bytes: Uint8Array): { clip: string; sealed: Uint8Array; signature: string } {
  const r = decodeRecord(bytes, bytes.length);
  if (r.kind !== Kind.Event) throw corrupt('not an EVENT record');
  const o = 2 + r.clip.length;
  const n = readUintBE(bytes, o, 4);
  if (o + 4 + n > bytes.length) throw corrupt('bad EVENT length');
  let signature: string;
  try {
    signature = utf8Decode(bytes.subarray(o + 4 + n));
  } catch {
    throw corrupt('event signature is not UTF-8');
  }
  return { clip: r.clip, sealed: bytes.slice(o + 4, o + 4 + n), signature };
}

const corrupt = (why: string) => new SealbellError('SPOOL_RECORD', `spool record is corrupt: ${why}`);

/**
 * Parses a record. `bytes` may be only the record's first RECORD_HEAD_BYTES for
 * a SEGMENT (its payload is not needed to rebuild state); `size` is the full size.
 */
export function decodeRecord(bytes: Uint8Array, size: number): SpoolRecord {
  if (bytes.length < 2) throw corrupt('too short');
  const kind = bytes[0];
  const L = bytes[1];
  if (L < 1 || L > 64 || bytes.length < 2 + L) throw corrupt('bad clip id length');
  let clip = '';
  for (let i = 0; i < L; i++) clip += String.fromCharCode(bytes[2 + i]);
  if (!isSafeId(clip)) throw corrupt('bad clip id');
  const o = 2 + L;
  const need = (n: number) => {
    if (bytes.length < o + n) throw corrupt('truncated');
  };
  switch (kind) {
    case Kind.Begin:
      need(6);
      if (size !== o + 6) throw corrupt('wrong BEGIN size');
      return { kind: Kind.Begin, clip, epoch: readUintBE(bytes, o, 6) };
    case Kind.Segment:
      need(4);
      if (size <= o + 4) throw corrupt('empty segment');
      return { kind: Kind.Segment, clip, index: readUintBE(bytes, o, 4), size: size - o - 4 };
    case Kind.End: {
      need(8);
      if (bytes.length !== size) throw corrupt('END read partially');
      const segments = readUintBE(bytes, o, 4);
      const mlen = readUintBE(bytes, o + 4, 4);
      if (segments < 1 || o + 8 + mlen > size) throw corrupt('bad END lengths');
      let signature: string;
      try {
        signature = utf8Decode(bytes.subarray(o + 8 + mlen));
      } catch {
        throw corrupt('signature is not UTF-8');
      }
      return { kind: Kind.End, clip, segments, manifest: bytes.slice(o + 8, o + 8 + mlen), signature };
    }
    case Kind.Incomplete:
      need(1);
      if (size !== o + 1 || (bytes[o] !== 1 && bytes[o] !== 2)) throw corrupt('bad INCOMPLETE');
      return { kind: Kind.Incomplete, clip, reason: bytes[o] === 2 ? 'overflow' : 'interrupted' };
    case Kind.Dropped:
      need(1);
      if (size !== o + 1 || bytes[o] > 1) throw corrupt('bad DROPPED');
      return { kind: Kind.Dropped, clip, partial: bytes[o] === 1 };
    case Kind.Event:
      need(4);
      if (size <= o + 4 + readUintBE(bytes, o, 4)) throw corrupt('bad EVENT size');
      return { kind: Kind.Event, clip, size: size - o };
    default:
      throw corrupt(`unknown kind ${kind}`);
  }
}
