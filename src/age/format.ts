/**
 * The age v1 header, as text (C2SP age spec, "Header"): parse and encode.
 * The parser is strict: canonical base64, 64-column body lines, printable
 * arguments. Anything else is a malformed header, never a partial result.
 */
import { base64nopad } from '@scure/base';
import { check, SealbellError } from '../errors.js';

export const VERSION_LINE = 'age-encryption.org/v1';
/** Upper bound for a header we are willing to buffer (a few hundred recipients). */
export const MAX_HEADER_BYTES = 64 * 1024;

export interface Stanza {
  type: string;
  args: string[];
  body: Uint8Array;
}

export interface ParsedHeader {
  stanzas: Stanza[];
  /** The header bytes the MAC covers: from the version line through "---". */
  macInput: Uint8Array;
  mac: Uint8Array;
  /** Length of the whole header including the MAC line's newline: the payload starts here. */
  length: number;
}

const bad = (why: string): never => {
  throw new SealbellError('AGE_HEADER', `malformed age header: ${why}`);
};

export function b64encode(bytes: Uint8Array): string {
  return base64nopad.encode(bytes);
}

/** Canonical unpadded base64 only: re-encoding must give back the same text. */
export function b64decode(text: string, what: string): Uint8Array {
  let bytes: Uint8Array | undefined;
  if (/^[A-Za-z0-9+/]*$/.test(text)) {
    try {
      bytes = base64nopad.decode(text);
    } catch {
      // falls through to the error below
    }
  }
  if (!bytes) return bad(`${what} is not valid base64`);
  if (base64nopad.encode(bytes) !== text) bad(`${what} is not canonical base64`);
  return bytes;
}

function isArg(s: string): boolean {
  return s.length > 0 && /^[\x21-\x7e]+$/.test(s);
}

/** Encodes the stanza lines (version line and stanzas; no MAC line). */
export function encodeStanzas(stanzas: Stanza[]): string {
  let out = VERSION_LINE + '\n';
  for (const s of stanzas) {
    check(isArg(s.type) && s.args.every(isArg), 'AGE_STANZA', 'stanza arguments must be printable ASCII');
    out += '-> ' + [s.type, ...s.args].join(' ') + '\n';
    const b64 = b64encode(s.body);
    // 64-column lines; the last line is always shorter than 64 (possibly empty).
    for (let i = 0; i <= b64.length; i += 64) out += b64.slice(i, i + 64) + '\n';
  }
  return out + '---';
}

/**
 * Parses a header at the start of `data`. Returns undefined if `data` ends before
 * the header does (the caller buffers more), and throws AGE_HEADER if what is there
 * cannot be a valid header.
 */
export function parseHeader(data: Uint8Array): ParsedHeader | undefined {
  let pos = 0;
  const nextLine = (): string | undefined => {
    const limit = Math.min(data.length, MAX_HEADER_BYTES);
    for (let i = pos; i < limit; i++) {
      if (data[i] === 0x0a) {
        let line = '';
        for (let j = pos; j < i; j++) {
          const c = data[j];
          if (c < 0x20 || c > 0x7e) bad('non-ASCII or control byte');
          line += String.fromCharCode(c);
        }
        pos = i + 1;
        return line;
      }
    }
    if (data.length >= MAX_HEADER_BYTES) bad(`longer than ${MAX_HEADER_BYTES} bytes`);
    return undefined;
  };

  const version = nextLine();
  if (version === undefined) {
    // Reject early when even the prefix is wrong, so garbage is not buffered.
    const seen = String.fromCharCode(...data.subarray(0, Math.min(data.length, VERSION_LINE.length)));
    if (!VERSION_LINE.startsWith(seen)) bad('not an age v1 file');
    return undefined;
  }
  if (version !== VERSION_LINE) bad('not an age v1 file');

  const stanzas: Stanza[] = [];
  for (;;) {
    const lineStart = pos;
    const line = nextLine();
    if (line === undefined) return undefined;
    if (line.startsWith('--- ') || line === '---') {
      const macText = line.slice(4);
      const mac = b64decode(macText, 'header MAC');
      if (mac.length !== 32 || line[3] !== ' ') bad('header MAC must be 32 bytes');
      if (stanzas.length === 0) bad('no recipient stanzas');
      return { stanzas, macInput: data.slice(0, lineStart + 3), mac, length: pos };
    }
    if (!line.startsWith('-> ')) bad('expected a stanza or the MAC line');
    const words = line.slice(3).split(' ');
    if (!words.every(isArg)) bad('empty or invalid stanza argument');
    let body = '';
    for (;;) {
      const bodyLine = nextLine();
      if (bodyLine === undefined) return undefined;
      if (bodyLine.length > 64) bad('stanza body line longer than 64 columns');
      body += bodyLine;
      if (bodyLine.length < 64) break;
    }
    stanzas.push({ type: words[0], args: words.slice(1), body: b64decode(body, 'stanza body') });
  }
}
