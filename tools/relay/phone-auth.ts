/**
 * Phone login without passwords: the relay issues a one-time random challenge;
 * the phone signs  "sealbell-relay-auth-v1" ‖ challenge ‖ relay origin  with its
 * Ed25519 key. Binding the origin means a signature made for one relay cannot be
 * replayed to another. A good signature from a key the device's PhoneKeyPolicy
 * allows earns a bearer session token.
 *
 * Challenges and sessions are kept in the store (SQLite by default, or the PostgreSQL
 * database several relay processes share), as SHA-256 only: a challenge issued by one
 * process may be answered at another, and a session works at every process. A copy of the
 * database holds no usable token.
 */
import { randomBytes } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { authMessage } from './phone-auth-message.js';
import { RelayError } from './errors.js';
import { decodeBase64, type PhoneKeyPolicy } from './phone-keys.js';
import { newToken, tokenHash } from './tokens.js';
import type { RelayStoreApi } from './store-api.js';

export const CHALLENGE_BYTES = 32;
/** sessions at most, and challenges at most over all sources (each source is also held to its own share) */
const MAX_OUTSTANDING = 100_000;
/** challenges one source address may have outstanding: a flood from one address cannot crowd out others */
export const MAX_CHALLENGES_PER_SOURCE = 256;
/** expired challenges and sessions are deleted at most this often (they stop counting as soon as they expire) */
const SWEEP_EVERY = 10_000;

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
  store: RelayStoreApi;
  challengeTtl?: number;
  sessionTtl?: number;
  now?: () => number;
}

export class PhoneAuth {
  private readonly now: () => number;
  private lastSweep = -Infinity;
  readonly challengeTtl: number;
  readonly sessionTtl: number;

  constructor(private readonly o: PhoneAuthOptions) {
    this.now = o.now ?? Date.now;
    this.challengeTtl = o.challengeTtl ?? 60_000;
    this.sessionTtl = o.sessionTtl ?? 3_600_000;
  }

  /** A one-time challenge for `device`, asked for from `source` (the client's address). */
  async challenge(device: string, source = ''): Promise<{ challenge: string; expiresIn: number }> {
    await this.sweep();
    const challenge = randomBytes(CHALLENGE_BYTES).toString('base64');
    const now = this.now();
    const r = await this.o.store.putChallenge(
      { sha256: tokenHash(challenge), device, source, expires: now + this.challengeTtl },
      { perSource: MAX_CHALLENGES_PER_SOURCE, total: MAX_OUTSTANDING },
      now,
    );
    if (r === 'source') throw new RelayError(429, 'SLOW_DOWN', 'too many outstanding challenges from this address; use them or wait a minute');
    if (r === 'full') throw new RelayError(503, 'BUSY', 'too many outstanding challenges; try again shortly');
    return { challenge, expiresIn: Math.floor(this.challengeTtl / 1000) };
  }

  /** Checks a signed challenge; returns a session token. The challenge is used up either way. */
  async login(device: string, body: unknown): Promise<{ token: string; expiresIn: number }> {
    const b = (body ?? {}) as { challenge?: unknown; publicKey?: unknown; signature?: unknown };
    const challenge = decodeBase64(b.challenge, CHALLENGE_BYTES, 'challenge');
    const publicKey = decodeBase64(b.publicKey, 32, 'publicKey');
    const signature = decodeBase64(b.signature, 64, 'signature');
    const issued = await this.o.store.takeChallenge(tokenHash(b.challenge as string));
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
    await this.sweep();
    const token = newToken();
    const now = this.now();
    const stored = await this.o.store.putPhoneSession({ tokenSha256: tokenHash(token), device, publicKey: b.publicKey as string, expires: now + this.sessionTtl }, MAX_OUTSTANDING, now);
    if (!stored) throw new RelayError(503, 'BUSY', 'too many sessions; try again shortly');
    return { token, expiresIn: Math.floor(this.sessionTtl / 1000) };
  }

  /** The live session of a bearer token, if any: none once its phone was removed from the device's roster. */
  async session(token: string | undefined): Promise<PhoneSession | undefined> {
    if (!token) return undefined;
    const h = tokenHash(token);
    const s = await this.o.store.phoneSession(h);
    if (!s || s.expires < this.now()) return undefined;
    if (!(await this.o.policy.isAllowed(s.device, Buffer.from(s.publicKey, 'base64')))) {
      await this.o.store.deletePhoneSession(h);
      return undefined;
    }
    return { device: s.device, publicKey: s.publicKey, expires: s.expires };
  }

  /** Ends every session of `device` whose phone is no longer allowed (a revocation), for every relay process. */
  async revalidate(device: string): Promise<void> {
    for (const s of await this.o.store.phoneSessionsOf(device)) {
      if (!(await this.o.policy.isAllowed(device, Buffer.from(s.publicKey, 'base64')))) await this.o.store.deletePhoneSession(s.tokenSha256);
    }
  }

  /** Deletes expired challenges and sessions, at most every SWEEP_EVERY ms (of this process). */
  private async sweep(): Promise<void> {
    const now = this.now();
    if (now - this.lastSweep < SWEEP_EVERY) return;
    this.lastSweep = now;
    await this.o.store.sweepPhoneLogins(now);
  }
}
