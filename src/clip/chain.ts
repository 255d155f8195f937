/**
 * The device's clip chain: every manifest carries the next sequence number and the
 * SHA-256 of the manifest before it, so a phone that sees clip n+2 after clip n knows
 * that clip n+1 exists and the relay did not deliver it (docs/clip-format.md, "The clip chain").
 *
 * The position is kept in the device's key-value store, written before the manifest
 * leaves the device, so a reboot never reuses a number. It is bound to the device id:
 * after a factory reset (a new identity) the chain starts again at 1.
 *
 *   record = "SBC1" ‖ device id (16 ASCII) ‖ seq of the last manifest (u48) ‖ SHA-256 of it (32)
 */
import type { KeyValueStore } from '../host.js';
import type { Sha256 } from '../crypto/backend.js';
import { bytesToHex, equalBytes, utf8Decode, utf8ToBytes } from '../bytes.js';
import { Reader, Writer } from '../wire.js';

export const CHAIN_KEY = 'clip.chain';
const MAGIC = utf8ToBytes('SBC1');
export const ZERO_HASH = '0'.repeat(64);

/** Where a manifest sits in the chain. */
export interface ChainLink {
  seq: number;
  /** hex SHA-256 of the previous manifest's bytes, ZERO_HASH for the first */
  prev: string;
}

export const FIRST_LINK: ChainLink = { seq: 1, prev: ZERO_HASH };

export class ClipChain {
  private last: { seq: number; hash: Uint8Array } | undefined;

  constructor(
    private readonly deviceId: string,
    private readonly sha256: () => Sha256,
    /** without a store (tests, benchmarks) the chain lives in RAM and restarts at 1 */
    private readonly store?: KeyValueStore,
    private readonly log: (line: string) => void = () => {},
  ) {
    this.last = this.load();
  }

  /** The link the next manifest carries. */
  next(): ChainLink {
    return this.last ? { seq: this.last.seq + 1, prev: bytesToHex(this.last.hash) } : FIRST_LINK;
  }

  /** The manifest for `link` is signed: make it the chain's end, durably, before it leaves the device. */
  advance(link: ChainLink, manifest: Uint8Array): void {
    const h = this.sha256();
    h.update(manifest);
    this.last = { seq: link.seq, hash: h.digest() };
    this.store?.set(CHAIN_KEY, new Writer().bytes(MAGIC).bytes(utf8ToBytes(this.deviceId)).uint(link.seq, 6).bytes(this.last.hash).finish());
  }

  private load(): { seq: number; hash: Uint8Array } | undefined {
    const raw = this.store?.get(CHAIN_KEY);
    if (raw === undefined) return undefined;
    try {
      const r = new Reader(raw, 'CLIP_CHAIN', 'stored clip chain');
      if (!equalBytes(r.bytesN(MAGIC.length, 'magic'), MAGIC)) r.fail('bad magic');
      const device = utf8Decode(r.bytesN(this.deviceId.length, 'device id'));
      const seq = r.uint(6, 'seq');
      const hash = r.bytesN(32, 'hash');
      r.end();
      // Another identity's chain (a factory reset made a new one): this identity starts at 1.
      if (device !== this.deviceId || seq < 1) return undefined;
      return { seq, hash };
    } catch (e) {
      // Recording must go on: a new chain starts, and phones report the restart.
      this.log(`clip chain: ${(e as Error).message}; starting a new chain`);
      return undefined;
    }
  }
}
