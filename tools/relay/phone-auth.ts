/**
 * Phone login without passwords: the relay issues a one-time random challenge;
 * the phone signs  "sealbell-relay-auth-v1" ‖ challenge ‖ relay origin  with its
 * Ed25519 key. Binding the origin means a signature made for one relay cannot be
 * replayed to another. A good signature from a key the device's PhoneKeyPolicy
 * allows earns a bearer session token (kept in memory, as SHA-256 only).
 */
import { randomBytes } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { concatBytes, utf8ToBytes } from '../../src/bytes.js';
import { RelayError } from './errors.js';
import { decodeBase64, type PhoneKeyPolicy } from './phone-keys.js';
import { newToken, tokenHash } from './tokens.js';

export const AUTH_CONTEXT = 'sealbell-relay-auth-v1';
export const CHALLENGE_BYTES = 32;
const MAX_OUTSTANDING = 10_000;

/** The exact bytes a phone signs to log in. */
export function authMessage(challenge: Uint8Array, origin: string): Uint8Array {
  return concatBytes(utf8ToBytes(AUTH_CONTEXT), challenge, utf8ToBytes(origin));
}

export interface PhoneSession {
  device: string;
  publicKey: string;
  expires: number;
}

export interface PhoneAuthOptions {
  /** e.g. http://127.0.0.1:8080 — what phones sign */
  origin: string;
  policy: PhoneKeyPolicy;
  challengeTtl?: number;
  sessionTtl?: number;
  now?: () => number;
}

export class PhoneAuth {
  private readonly challenges = new Map<string, { device: string; expires: number }>();
  private readonly sessions = new Map<string, PhoneSession>();
  private readonly now: () => number;
  readonly challengeTtl: number;
  readonly sessionTtl: number;

  constructor(private readonly o: PhoneAuthOptions) {
    this.now = o.now ?? Date.now;
    this.challengeTtl = o.challengeTtl ?? 60_000;
    this.sessionTtl = o.sessionTtl ?? 3_600_000;
  }

  challenge(device: string): { challenge: string; expiresIn: number } {
    this.purge();
    if (this.challenges.size >= MAX_OUTSTANDING) throw new RelayError(503, 'BUSY', 'too many outstanding challenges; try again shortly');
    const challenge = randomBytes(CHALLENGE_BYTES).toString('base64');
    this.challenges.set(challenge, { device, expires: this.now() + this.challengeTtl });
    return { challenge, expiresIn: Math.floor(this.challengeTtl / 1000) };
  }

  /** Checks a signed challenge; returns a session token. The challenge is used up either way. */
  login(device: string, body: unknown): { token: string; expiresIn: number } {
    const b = (body ?? {}) as { challenge?: unknown; publicKey?: unknown; signature?: unknown };
    const challenge = decodeBase64(b.challenge, CHALLENGE_BYTES, 'challenge');
    const publicKey = decodeBase64(b.publicKey, 32, 'publicKey');
    const signature = decodeBase64(b.signature, 64, 'signature');
    const key = b.challenge as string;
    const issued = this.challenges.get(key);
    this.challenges.delete(key);
    if (!issued || issued.device !== device || issued.expires < this.now()) {
      throw new RelayError(401, 'BAD_CHALLENGE', 'unknown, used or expired challenge: ask for a new one');
    }
    let ok = false;
    try {
      ok = ed25519.verify(signature, authMessage(challenge, this.o.origin), publicKey);
    } catch {
      ok = false;
    }
    if (!ok) throw new RelayError(401, 'BAD_SIGNATURE', 'the signature does not verify for this challenge, key and relay origin');
    if (!this.o.policy.isAllowed(device, publicKey)) throw new RelayError(403, 'PHONE_NOT_ALLOWED', 'this phone key is not allowed for the device');
    this.purge();
    if (this.sessions.size >= MAX_OUTSTANDING) throw new RelayError(503, 'BUSY', 'too many sessions; try again shortly');
    const token = newToken();
    this.sessions.set(tokenHash(token), { device, publicKey: b.publicKey as string, expires: this.now() + this.sessionTtl });
    return { token, expiresIn: Math.floor(this.sessionTtl / 1000) };
  }

  /** The live session of a bearer token, if any. */
  session(token: string | undefined): PhoneSession | undefined {
    if (!token) return undefined;
    const s = this.sessions.get(tokenHash(token));
    if (!s || s.expires < this.now()) return undefined;
    return s;
  }

  private purge(): void {
    const now = this.now();
    for (const [k, c] of this.challenges) if (c.expires < now) this.challenges.delete(k);
    for (const [k, s] of this.sessions) if (s.expires < now) this.sessions.delete(k);
  }
}
