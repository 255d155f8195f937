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
 *   identity     AGE-SECRET-KEY-1… (or -PQ-1…): opens clips, posters, live records, notifications
 *   recipient    its age recipient, as the rosters list it
 *   authSeed     32-byte Ed25519 seed (Uint8Array): relay login and signed live requests
 *   authorityPub the account authority's minisign public key text
 *   doorbells    [{ deviceId, devicePub (minisign public key text, endorsed by the authority),
 *                   lastBundle? (the roster bundle this phone last published, bytes),
 *                   lastSettings? (the settings bundle, SBT1, this phone last published) }]
 *
 * The age identity and the login seed are kept as bytes and strings, not as WebCrypto
 * non-extractable keys: the age, roster and live code (src/) runs on noble's pure-JS X25519,
 * ML-KEM and Ed25519 synchronously, and WebCrypto keys cannot be used from it (see
 * docs/threat-model.md, "The phone web app"). The origin's storage is what protects them.
 */
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
  identity: string;
  recipient: string;
  authSeed: Uint8Array;
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
  return p && p.v === 1 ? p : undefined;
}

export function savePhone(p: BrowserPhone): Promise<void> {
  return run('readwrite', (s) => s.put(p, KEY));
}

/** Forgets this phone (its keys are gone from the browser). */
export function forgetPhone(): Promise<void> {
  return run('readwrite', (s) => s.delete(KEY));
}
