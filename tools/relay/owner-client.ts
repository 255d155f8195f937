/**
 * Setting a device up on a relay (until the setup flow does it): register the
 * device with a fresh credential and its minisign public key (admin token),
 * then publish which phone keys may read its clips (device credential).
 */
import { randomBytes } from 'node:crypto';
import { idPath, relayJson } from './client-http.js';

/** A new device credential: 32 random bytes, base64url. The relay keeps only its SHA-256. */
export function newDeviceCredential(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Registers a device; returns its id (the minisign key id of its public key). `endorsement`: the
 * account authority's signature of the public key text, for phones enrolled later to check it.
 */
export async function registerDevice(relay: string, adminToken: string, device: { credential: string; publicKey: string; endorsement?: string }): Promise<string> {
  const r = await relayJson<{ device: string }>(relay, 'v1/devices', { method: 'POST', token: adminToken, json: device });
  return r.device;
}

/** Replaces the list of phone Ed25519 public keys allowed to read the device's clips. */
export async function publishPhoneKeys(relay: string, deviceCredential: string, device: string, keys: Uint8Array[]): Promise<void> {
  await relayJson(relay, `v1/devices/${idPath(device)}/phones`, {
    method: 'PUT',
    token: deviceCredential,
    json: { phones: keys.map((k) => Buffer.from(k).toString('base64')) },
  });
}
