/**
 * This phone's secret keys in the browser, and what uses them: opening age headers (clips,
 * notices, live openings) and signing (relay login, live requests).
 *
 * Where the browser has WebCrypto X25519 and Ed25519, an enrolment makes both keys here as
 * non-extractable CryptoKeys: the page's JavaScript can use them but never read them, and
 * IndexedDB keeps them as keys, not bytes. Code that runs in the page (or a copy of the
 * IndexedDB files) cannot take them away. Otherwise, and for a post-quantum identity (WebCrypto
 * has no ML-KEM), the age identity is kept as text and the login key as its seed (noble).
 *
 * WebCrypto works asynchronously and the age code (src/) synchronously, so before a header is
 * opened its X25519 shares are multiplied here (`identitiesFor`), and the results go in as a
 * prepared identity (src/age/x25519.ts). No DOM here: the service worker uses it too.
 */
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { equalBytes } from '../../src/bytes.js';
import { b64decode, b64encode } from '../../src/age/format.js';
import { preparedX25519Identity } from '../../src/age/x25519.js';
import type { IdentityInput } from '../../src/age/recipients.js';

/** A WebCrypto key (named so without the DOM's types: the Node tests run this file too). */
type Key = Awaited<ReturnType<typeof crypto.subtle.importKey>>;
type KeyPair = { privateKey: Key; publicKey: Key };

/** The phone's keys as non-extractable WebCrypto keys, with their public halves (bytes). */
export interface WebPhoneKeys {
  /** X25519 private key (deriveBits): opens what is sealed to the phone's age1… recipient */
  age: Key;
  agePublic: Uint8Array;
  /** Ed25519 private key (sign): relay login and signed live requests */
  auth: Key;
  authPublic: Uint8Array;
}

/** What a phone signs with: its login key's public half, and signing. */
export interface AuthSigner {
  publicKey: Uint8Array;
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/** The keys a phone record holds (web/app/keystore.ts): WebCrypto keys, or an identity and a seed. */
export interface PhoneSecrets {
  webKeys?: WebPhoneKeys;
  identity?: string;
  authSeed?: Uint8Array;
}

const raw = async (key: Key) => new Uint8Array(await crypto.subtle.exportKey('raw', key));

/**
 * Fresh non-extractable X25519 and Ed25519 keys, or undefined where this browser's WebCrypto
 * lacks either (then the caller keeps noble keys). Each is checked to work before it is used.
 */
export async function makeWebKeys(): Promise<WebPhoneKeys | undefined> {
  try {
    const a = (await crypto.subtle.generateKey({ name: 'X25519' }, false, ['deriveBits'])) as KeyPair;
    const s = (await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify'])) as KeyPair;
    const keys = { age: a.privateKey, agePublic: await raw(a.publicKey), auth: s.privateKey, authPublic: await raw(s.publicKey) };
    // The keys must do what they are for (and agree with noble) before a roster names them.
    const probe = new Uint8Array(32).fill(7);
    if (!ed25519.verify(await signWith(keys.auth, probe), probe, keys.authPublic)) return undefined;
    const shared = await sharedSecret(keys.age, x25519.getPublicKey(probe));
    if (!shared || !equalBytes(shared, x25519.getSharedSecret(probe, keys.agePublic))) return undefined;
    return keys;
  } catch {
    return undefined;
  }
}

async function signWith(key: Key, message: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, key, new Uint8Array(message)));
}

/** X25519(key, share), or undefined for a share WebCrypto refuses (a low-order point). */
async function sharedSecret(key: Key, share: Uint8Array): Promise<Uint8Array | undefined> {
  try {
    const pub = await crypto.subtle.importKey('raw', new Uint8Array(share), { name: 'X25519' }, true, []);
    return new Uint8Array(await crypto.subtle.deriveBits({ name: 'X25519', public: pub } as unknown as Parameters<typeof crypto.subtle.deriveBits>[0], key, 256));
  } catch {
    return undefined;
  }
}

/**
 * The identities to open a header whose X25519 shares are `shares` (src/age/header.ts
 * headerShares): the phone's text identity as it is, or its WebCrypto key's results for those
 * shares as a prepared identity.
 */
export async function identitiesFor(phone: PhoneSecrets, shares: string[]): Promise<IdentityInput[]> {
  if (!phone.webKeys) return phone.identity ? [phone.identity] : [];
  const shared = new Map<string, Uint8Array | undefined>();
  for (const share of new Set(shares)) {
    let bytes: Uint8Array;
    try {
      bytes = b64decode(share, 'X25519 share');
    } catch {
      continue; // opening the header says what is wrong with it
    }
    if (bytes.length === 32) shared.set(b64encode(bytes), await sharedSecret(phone.webKeys.age, bytes));
  }
  return [preparedX25519Identity(phone.webKeys.agePublic, shared)];
}

/** The phone's login signer: its WebCrypto key, or its seed. */
export function authSignerOf(phone: PhoneSecrets): AuthSigner {
  if (phone.webKeys) {
    const key = phone.webKeys.auth;
    return { publicKey: phone.webKeys.authPublic, sign: (m) => signWith(key, m) };
  }
  if (!phone.authSeed) throw new Error('this phone has no login key');
  return seedSigner(phone.authSeed);
}

/** A signer over an Ed25519 seed held as bytes (the account authority's key at enrolment, older phones). */
export function seedSigner(seed: Uint8Array): AuthSigner {
  return { publicKey: ed25519.getPublicKey(seed), sign: async (m) => ed25519.sign(m, seed) };
}
