/**
 * The per-device setup code, printed on the doorbell's label:
 *   manual code  12 digits: 11 random + a Verhoeff check digit, shown as 1234-5678-9012
 *   QR payload   SB1:<12 digits>:<salt, base32 without padding>
 * (QR alphanumeric mode: upper case, digits and ':' only.) The SPAKE2+ password is
 * the 12 ASCII digits. The salt is also sent by the device, so typing the digits
 * alone is enough; the QR lets the phone check it is talking to the right device.
 * Verhoeff catches every single-digit error and every swap of adjacent digits.
 */
import { base32nopad } from '@scure/base';
import { utf8ToBytes } from '../bytes.js';
import { SealbellError } from '../errors.js';
import type { Random } from '../crypto/backend.js';
import { SALT_LENGTH } from './protocol.js';

export const CODE_DIGITS = 12;

const D = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 4, 0, 6, 7, 8, 9, 5], [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
  [3, 4, 0, 1, 2, 8, 9, 5, 6, 7], [4, 0, 1, 2, 3, 9, 5, 6, 7, 8], [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
  [6, 5, 9, 8, 7, 1, 0, 4, 3, 2], [7, 6, 5, 9, 8, 2, 1, 0, 4, 3], [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
  [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];
const P = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 5, 7, 6, 2, 8, 3, 0, 9, 4], [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
  [8, 9, 1, 6, 0, 4, 3, 5, 2, 7], [9, 4, 5, 3, 1, 2, 6, 8, 7, 0], [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
  [2, 7, 9, 3, 8, 0, 6, 4, 1, 5], [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
];
const INV = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9];

/** The Verhoeff check digit for a string of digits. */
export function verhoeffCheckDigit(digits: string): number {
  let c = 0;
  const rev = digits.split('').reverse();
  for (let i = 0; i < rev.length; i++) c = D[c][P[(i + 1) % 8][Number(rev[i])]];
  return INV[c];
}

export function verhoeffValid(digits: string): boolean {
  let c = 0;
  const rev = digits.split('').reverse();
  for (let i = 0; i < rev.length; i++) c = D[c][P[i % 8][Number(rev[i])]];
  return c === 0;
}

/** 11 uniformly random digits (rejection sampling: no modulo bias) plus the check digit. */
export function generateSetupCode(random: Random): string {
  let digits = '';
  while (digits.length < CODE_DIGITS - 1) {
    for (const b of random(16)) if (b < 250 && digits.length < CODE_DIGITS - 1) digits += String(b % 10);
  }
  return digits + verhoeffCheckDigit(digits);
}

export function formatManualCode(code: string): string {
  return `${code.slice(0, 4)}-${code.slice(4, 8)}-${code.slice(8)}`;
}

export function qrPayload(code: string, salt: Uint8Array): string {
  return `SB1:${code}:${base32nopad.encode(salt)}`;
}

export interface SetupCode {
  /** the 12 digits */
  code: string;
  /** from the QR payload; undefined for a typed code */
  salt?: Uint8Array;
}

const bad = (why: string): never => {
  throw new SealbellError('SETUP_CODE', why);
};

function checkDigits(code: string): string {
  if (!/^[0-9]+$/.test(code) || code.length !== CODE_DIGITS) bad(`a setup code has ${CODE_DIGITS} digits`);
  if (!verhoeffValid(code)) bad('the setup code has a typo (its check digit does not match)');
  return code;
}

/** A typed code (spaces and dashes ignored) or a scanned QR payload. SETUP_CODE if neither. */
export function parseSetupCode(text: string): SetupCode {
  if (typeof text !== 'string') return bad('the setup code must be text');
  const t = text.trim();
  if (t.toUpperCase().startsWith('SB1:')) {
    const m = /^SB1:([0-9]+):([A-Z2-7]+)$/.exec(t.toUpperCase());
    if (!m) return bad('the QR payload is not SB1:<digits>:<salt>');
    let salt: Uint8Array | undefined;
    try {
      salt = base32nopad.decode(m[2]);
    } catch {
      // reported below
    }
    if (!salt || salt.length !== SALT_LENGTH || base32nopad.encode(salt) !== m[2]) bad('the QR payload\'s salt is malformed');
    return { code: checkDigits(m[1]), salt };
  }
  if (!/^[0-9 -]+$/.test(t)) bad('a setup code is digits (spaces and dashes allowed)');
  return { code: checkDigits(t.replace(/[ -]/g, '')) };
}

/** The SPAKE2+ password: the 12 digits as ASCII. */
export const codePassword = (code: string): Uint8Array => utf8ToBytes(code);
