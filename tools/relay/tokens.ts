/**
 * Bearer secrets. The relay keeps only SHA-256 of a secret it must recognise
 * (device credentials, phone sessions, escrow write tokens), so a copy of its
 * database authenticates nobody.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * Secrets are opaque token68 strings (RFC 7235) of 32–128 characters. The relay makes
 * base64url without padding (32 random bytes → 43 characters); standard base64 works too,
 * as long as registration and use send the same text.
 */
const TOKEN = /^[A-Za-z0-9._~+/-]{32,128}={0,2}$/;

export const isToken = (s: unknown): s is string => typeof s === 'string' && TOKEN.test(s);

export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The token of an `Authorization: Bearer …` header, if there is a well-formed one. */
export function bearer(req: IncomingMessage): string | undefined {
  const m = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
  return m && isToken(m[1]) ? m[1] : undefined;
}
