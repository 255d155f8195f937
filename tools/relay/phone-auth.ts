/**
 * Phone login without passwords: the relay issues a one-time random challenge;
 * the phone signs  "sealbell-relay-auth-v1" ‖ challenge ‖ relay origin  with its
 * Ed25519 key. Binding the origin means a signature made for one relay cannot be
 * replayed to another. A good signature from a key the device's PhoneKeyPolicy
 * allows earns a bearer session token (kept in memory, as SHA-256 only).
 */
import { randomBytes } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { authMessage } from './phone-auth-message.js';
import { RelayError } from './errors.js';
import { decodeBase64, type PhoneKeyPolicy } from './phone-keys.js';
import { newToken, tokenHash } from './tokens.js';

export const CHALLENGE_BYTES = 32;
/** sessions at most, and challenges at most over all sources (each source is also held to its own share) */
const MAX_OUTSTANDING = 100_000;
/** challenges one source address may have outstanding: a flood from one address cannot crowd out others */
export const MAX_CHALLENGES_PER_SOURCE = 256;

export { AUTH_CONTEXT, authMessage } from './phone-auth-message.js';

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
  private readonly challenges = new Map<string, { device: string; expires: number; source: string }>();
  private readonly perSource = new Map<string, number>();
  private readonly sessions = new Map<string, PhoneSession>();
  private readonly now: () => number;
  readonly challengeTtl: number;
  readonly sessionTtl: number;

  constructor(private readonly o: PhoneAuthOptions) {
    this.now = o.now ?? Date.now;
    this.challengeTtl = o.challengeTtl ?? 60_000;
    this.sessionTtl = o.sessionTtl ?? 3_600_000;
  }

  /** A one-time challenge for `device`, asked for from `source` (the client's address). */
  challenge(device: string, source = ''): { challenge: string; expiresIn: number } {
    this.purge();
    if ((this.perSource.get(source) ?? 0) >= MAX_CHALLENGES_PER_SOURCE) {
      throw new RelayError(429, 'SLOW_DOWN', 'too many outstanding challenges from this address; use them or wait a minute');
    }
    if (this.challenges.size >= MAX_OUTSTANDING) throw new RelayError(503, 'BUSY', 'too many outstanding challenges; try again shortly');
    const challenge = randomBytes(CHALLENGE_BYTES).toString('base64');
    this.challenges.set(challenge, { device, expires: this.now() + this.challengeTtl, source });
    this.perSource.set(source, (this.perSource.get(source) ?? 0) + 1);
    return { challenge, expiresIn: Math.floor(this.challengeTtl / 1000) };
  }

  /** Checks a signed challenge; returns a session token. The challenge is used up either way. */
  async login(device: string, body: unknown): Promise<{ token: string; expiresIn: number }> {
    const b = (body ?? {}) as { challenge?: unknown; publicKey?: unknown; signature?: unknown };
    const challenge = decodeBase64(b.challenge, CHALLENGE_BYTES, 'challenge');
    const publicKey = decodeBase64(b.publicKey, 32, 'publicKey');
    const signature = decodeBase64(b.signature, 64, 'signature');
    const key = b.challenge as string;
    const issued = this.challenges.get(key);
    if (issued) this.forget(key, issued.source);
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
    if (!(await this.o.policy.isAllowed(device, publicKey))) throw new RelayError(403, 'PHONE_NOT_ALLOWED', 'this phone key is not allowed for the device');
    this.purge();
    if (this.sessions.size >= MAX_OUTSTANDING) throw new RelayError(503, 'BUSY', 'too many sessions; try again shortly');
    const token = newToken();
    this.sessions.set(tokenHash(token), { device, publicKey: b.publicKey as string, expires: this.now() + this.sessionTtl });
    return { token, expiresIn: Math.floor(this.sessionTtl / 1000) };
  }

  /** The live session of a bearer token, if any: none once its phone was removed from the device's roster. */
  async session(token: string | undefined): Promise<PhoneSession | undefined> {
    if (!token) return undefined;
    const h = tokenHash(token);
    const s = this.sessions.get(h);
    if (!s || s.expires < this.now()) return undefined;
    if (!(await this.o.policy.isAllowed(s.device, Buffer.from(s.publicKey, 'base64')))) {
      this.sessions.delete(h);
      return undefined;
    }
    return s;
  }

  /** Ends every session of `device` whose phone is no longer allowed (a revocation). */
  async revalidate(device: string): Promise<void> {
    for (const [h, s] of [...this.sessions]) {
      if (s.device === device && !(await this.o.policy.isAllowed(device, Buffer.from(s.publicKey, 'base64')))) this.sessions.delete(h);
    }
  }

  private forget(challenge: string, source: string): void {
    this.challenges.delete(challenge);
    const n = (this.perSource.get(source) ?? 1) - 1;
    if (n <= 0) this.perSource.delete(source);
    else this.perSource.set(source, n);
  }

  private purge(): void {
    const now = this.now();
    for (const [k, c] of this.challenges) if (c.expires < now) this.forget(k, c.source);
    for (const [k, s] of this.sessions) if (s.expires < now) this.sessions.delete(k);
  }
}
