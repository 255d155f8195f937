/**
 * The device identity: an Ed25519 key made on first boot from the host RNG,
 * kept in the host's key-value store, never exported. Its minisign key id is
 * the device id.
 */
import type { KeyValueStore } from '../host.js';
import type { Random } from '../crypto/backend.js';
import { encodePublicKey, keyIdHex, signingKeyFromSeed, type SigningKey } from '../minisign.js';
import { check } from '../errors.js';

const KEY = 'identity.ed25519';

export interface DeviceIdentity {
  key: SigningKey;
  deviceId: string;
  /** minisign public key file text */
  publicKeyText: string;
}

export function loadOrCreateIdentity(store: KeyValueStore, random: Random): DeviceIdentity {
  let seed = store.get(KEY);
  if (!seed) {
    seed = random(32);
    store.set(KEY, seed);
  }
  check(seed.length === 32, 'IDENTITY', 'stored device identity is corrupt');
  const key = signingKeyFromSeed(seed);
  return { key, deviceId: keyIdHex(key.keyId), publicKeyText: encodePublicKey(key.publicKey, key.keyId) };
}

/** True when the device has its identity already (no key needs making at boot). */
export function hasIdentity(store: KeyValueStore): boolean {
  return store.get(KEY) !== undefined;
}

export function wipeIdentity(store: KeyValueStore): void {
  store.delete(KEY);
}
