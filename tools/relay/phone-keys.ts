/**
 * Which phones may read a device's clips: the phones (and the account authority) of the
 * roster the device holds, or a list the relay admin published. A roster update the owner
 * has published (signed by the account authority, checked when it was stored) takes a
 * phone's access away at once, before the device confirms it: removing someone needs no
 * more proof than the authority's signature (docs/relay-api.md, "Revocation").
 */
import { RelayError } from './errors.js';
import { parseRosterBundle, parseRosterRun } from '../../src/roster/bundle.js';
import { decodeAuthKey, nextAuthority, parseRoster } from '../../src/roster/roster.js';
import type { RelayStoreApi } from './store-api.js';

export const MAX_PHONES = 64;

export interface PhoneKeyPolicy {
  isAllowed(device: string, publicKey: Uint8Array): Promise<boolean> | boolean;
}

export class PublishedPhoneKeys implements PhoneKeyPolicy {
  constructor(private readonly store: RelayStoreApi) {}

  /** the auth keys of the newest pending roster per device, by epoch (parsed once) */
  private readonly pendingKeys = new Map<string, { epoch: number; keys: Set<string> }>();

  async isAllowed(device: string, publicKey: Uint8Array): Promise<boolean> {
    const key = Buffer.from(publicKey).toString('base64');
    if (!(await this.store.phoneKeys(device)).includes(key)) return false;
    const pending = await this.pendingAuthKeys(device);
    return pending === undefined || pending.has(key);
  }

  /** Who the pending (published, not yet held) roster lets in, if there is one newer than the held one. */
  private async pendingAuthKeys(device: string): Promise<Set<string> | undefined> {
    const pending = await this.store.roster(device);
    const held = await this.store.heldRoster(device);
    if (!pending || !held || pending.epoch <= held.epoch) return undefined;
    const cached = this.pendingKeys.get(device);
    if (cached?.epoch === pending.epoch) return cached.keys;
    // The pending update is a run (bundle.ts): its last roster says who stays in; the account
    // authority stays too, the one after the held roster or one a roster of the run hands over to.
    const run = parseRosterRun(pending.blob).map((b) => parseRoster(b.bytes));
    const heldRoster = parseRoster(parseRosterBundle(held.bundle).bytes);
    const authorities = [nextAuthority(heldRoster, held.authority), ...run.filter((r) => r.handover).map((r) => decodeAuthKey(r.handover))];
    const keys = new Set(run[run.length - 1].phones.map((p) => p.auth).concat(authorities.map((k) => Buffer.from(k).toString('base64'))));
    this.pendingKeys.set(device, { epoch: pending.epoch, keys });
    return keys;
  }

  async publish(device: string, keys: Uint8Array[]): Promise<void> {
    await this.store.setPhoneKeys(device, keys.map((k) => Buffer.from(k).toString('base64')));
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
