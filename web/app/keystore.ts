/**
 * The phone's keys in the browser: IndexedDB database `sealbell`, object store `phone`, one
 * record under the key `self`. No DOM here: the service worker reads it too (its push
 * handler decrypts notifications with the same identity).
 *
 * BrowserPhone, as stored (a structured clone):
 *   v            1
 *   name         this phone's name in the rosters ("phone 2")
 *   relayOrigin  the relay's origin as the phone signs it at login (http(s)://host:port)
 *   account      where the account's escrow lives on the relay (16 hex, from the passphrase)
 *   webKeys      where the browser has WebCrypto X25519 and Ed25519: the phone's keys as
 *                non-extractable CryptoKeys, with their public halves (web/app/phone-keys.ts)
 *   identity     otherwise: AGE-SECRET-KEY-1… (or -PQ-1…), as text
 *   authSeed     otherwise: the 32-byte Ed25519 login seed (Uint8Array)
 *   recipient    the phone's age recipient, as the rosters list it
 *   authorityPub the account authority's minisign public key text
 *   doorbells    [{ deviceId, devicePub (minisign public key text, endorsed by the authority),
 *                   lastBundle? (the roster bundle this phone last published, bytes),
 *                   lastSettings? (the settings bundle, SBT1, this phone last published) }]
 *
 * The phone's keys open clips, posters, live records and notifications, and sign its relay
 * logins and live requests. As WebCrypto keys, the page can use them but not read them; as text
 * and bytes (a browser without X25519 or Ed25519 in WebCrypto, or a post-quantum identity:
 * WebCrypto has no ML-KEM) only the origin's storage protects them (docs/threat-model.md,
 * "The phone web app").
 */
import type { WebPhoneKeys } from './phone-keys.js';

export interface BrowserDoorbell {
  deviceId: string;
  devicePub: string;
  lastBundle?: Uint8Array;
  lastSettings?: Uint8Array;
}

export interface BrowserPhone {
  v: 1;
  name: string;
  relayOrigin: string;
  account: string;
  webKeys?: WebPhoneKeys;
  identity?: string;
  recipient: string;
  authSeed?: Uint8Array;
  authorityPub: string;
  doorbells: BrowserDoorbell[];
}

const DB = 'sealbell';
const STORE = 'phone';
const KEY = 'self';

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function run<T>(mode: IDBTransactionMode, f: (s: IDBObjectStore) => IDBRequest): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = f(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req.result as T);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

/** The phone kept in this browser, if it enrolled. */
export async function loadPhone(): Promise<BrowserPhone | undefined> {
  const p = await run<BrowserPhone | undefined>('readonly', (s) => s.get(KEY));
  return p && p.v === 1 && (p.webKeys || (p.identity && p.authSeed)) ? p : undefined;
}

export function savePhone(p: BrowserPhone): Promise<void> {
  return run('readwrite', (s) => s.put(p, KEY));
}

/** Forgets this phone (its keys are gone from the browser). */
export function forgetPhone(): Promise<void> {
  return run('readwrite', (s) => s.delete(KEY));
}
