/**
 * Which phones may read a device's clips. For now the device (or the relay
 * admin) publishes a plain list of phone Ed25519 public keys; the signed roster
 * from the setup flow will replace PublishedPhoneKeys behind the same interface.
 */
import { RelayError } from './errors.js';
import type { RelayStore } from './store.js';

export const MAX_PHONES = 64;

export interface PhoneKeyPolicy {
  isAllowed(device: string, publicKey: Uint8Array): boolean;
}

export class PublishedPhoneKeys implements PhoneKeyPolicy {
  constructor(private readonly store: RelayStore) {}

  isAllowed(device: string, publicKey: Uint8Array): boolean {
    return this.store.phoneKeys(device).includes(Buffer.from(publicKey).toString('base64'));
  }

  publish(device: string, keys: Uint8Array[]): void {
    this.store.setPhoneKeys(device, keys.map((k) => Buffer.from(k).toString('base64')));
  }
}

/** `{"phones": ["<base64 Ed25519 public key>", …]}` → the keys; 400 on anything else. */
export function parsePhoneKeyList(body: unknown): Uint8Array[] {
  const phones = (body as { phones?: unknown } | null)?.phones;
  if (!Array.isArray(phones) || phones.length > MAX_PHONES) {
    throw new RelayError(400, 'BAD_REQUEST', `body must be {"phones": [...]} with at most ${MAX_PHONES} base64 Ed25519 public keys`);
  }
  return phones.map((p) => decodeBase64(p, 32, 'phone public key'));
}

/** Strict standard base64 of exactly `length` bytes. */
export function decodeBase64(value: unknown, length: number, what: string): Uint8Array {
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) throw new RelayError(400, 'BAD_REQUEST', `${what} must be base64`);
  const bytes = new Uint8Array(Buffer.from(value, 'base64'));
  if (bytes.length !== length || Buffer.from(bytes).toString('base64') !== value) {
    throw new RelayError(400, 'BAD_REQUEST', `${what} must be ${length} bytes in canonical base64`);
  }
  return bytes;
}
