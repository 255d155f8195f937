/**
 * Firmware updates at the relay (docs/relay-api.md, "Firmware updates"). The relay decides
 * nothing: it keeps the update the owner uploaded (one per doorbell, the newest), checks at
 * once that the account authority the doorbell holds signed it (so nobody else can queue
 * one), offers it on the uplink, serves the image piece by piece from where the doorbell asks,
 * and remembers what the doorbell said: its firmware after each connect, a refusal, an install.
 * The doorbell checks everything again and has the last word.
 *
 * Entries per doorbell, in the store (SQLite: files under DATA/updates/<device>/, written
 * atomically; PostgreSQL: rows of device_updates, which every relay process reads, so that
 * an update published at one process reaches a doorbell connected to another):
 *   update.bin     the update bundle (src/update/bundle.ts)
 *   state.json     { release, version, security, state: pending|installed|refused|done, code?, message?, updated }
 *   firmware.json  the doorbell's last report { board, version, security, recorded, trial, at }
 */
import { base64 } from '@scure/base';
import { utf8Decode } from '../../src/bytes.js';
import { SealbellError } from '../../src/errors.js';
import { parseUpdateBundle, type UpdateBundle } from '../../src/update/bundle.js';
import { parseRelease, releaseId, verifyAuthorization } from '../../src/update/release.js';
import { UPDATE_CHUNK_BYTES } from '../../src/update/updater.js';
import type { UpdateDeviceMessage, UpdateRelayMessage } from '../../src/uplink/update-wire.js';
import type { RelayStoreApi } from './store-api.js';

export type UpdateState = 'pending' | 'installed' | 'refused' | 'done';

export interface UpdateStatus {
  release: string;
  version: string;
  security: number;
  state: UpdateState;
  code?: string;
  message?: string;
  updated: number;
}

export interface FirmwareReport {
  board: string;
  version: string;
  security: number;
  recorded: number;
  trial: boolean;
  at: number;
}

export interface RelayUpdatesOptions {
  store: RelayStoreApi;
  /** sends to the device if it is connected */
  push: (device: string, m: UpdateRelayMessage) => void;
  log: (line: string) => void;
}

export class RelayUpdates {
  /** each device's pending update as this process last read it: its offer and where its image lies in update.bin (read per piece, not kept in memory) */
  private readonly cache = new Map<string, Pending>();
  /** each device's messages are handled one after another (each awaits the store) */
  private readonly queues = new Map<string, Promise<void>>();

  constructor(private readonly o: RelayUpdatesOptions) {}

  /**
   * The owner's upload. UPDATE_FORMAT when malformed; UPDATE_AUTHORIZATION and the like when
   * the authority the doorbell holds did not authorize exactly this release for it; NO_ROSTER
   * before the doorbell told the relay its roster.
   */
  async publish(device: string, bytes: Uint8Array, now: number): Promise<UpdateStatus> {
    const bundle = parseUpdateBundle(bytes);
    const held = await this.o.store.heldRoster(device);
    if (!held) throw new SealbellError('NO_ROSTER', 'the doorbell has not told the relay its roster: nobody can authorize an update yet');
    const manifest = parseRelease(bundle.release);
    verifyAuthorization(bundle.authorization, bundle.authorizationSignature, new Uint8Array(held.authority), device, bundle.release);
    const id = releaseId(bundle.release);
    await this.o.store.putUpdateEntry(device, 'update.bin', bytes);
    const status: UpdateStatus = { release: id, version: manifest.version, security: manifest.security, state: 'pending', updated: now };
    await this.writeStatus(device, status);
    this.cache.set(device, pendingOf(bundle, bytes.length));
    this.o.log(`relay: device ${device}: update to ${manifest.version} (security ${manifest.security}) queued`);
    this.o.push(device, this.cache.get(device)!.offer);
    return status;
  }

  async status(device: string): Promise<UpdateStatus | undefined> {
    return jsonOf<UpdateStatus>(await this.o.store.updateEntry(device, 'state.json'));
  }

  async firmware(device: string): Promise<FirmwareReport | undefined> {
    return jsonOf<FirmwareReport>(await this.o.store.updateEntry(device, 'firmware.json'));
  }

  /** The offer of the device's pending update, for its uplink (another relay process queued it). */
  async pendingOffer(device: string): Promise<UpdateRelayMessage | undefined> {
    this.cache.delete(device); // what this process read before may be older
    const s = await this.status(device);
    return s?.state === 'pending' ? (await this.pending(device, s))?.offer : undefined;
  }

  /** Drops what this process read of the device's update (another process replaced it). */
  forget(device: string): void {
    this.cache.delete(device);
  }

  /** A message from the device's uplink; replies go through `send`. Messages of one device are handled in order. */
  fromDevice(device: string, m: UpdateDeviceMessage, send: (m: UpdateRelayMessage) => void, now: number): Promise<void> {
    const run = (this.queues.get(device) ?? Promise.resolve()).then(() => this.handle(device, m, send, now));
    const queued = run.catch(() => {});
    this.queues.set(device, queued);
    void queued.then(() => {
      if (this.queues.get(device) === queued) this.queues.delete(device);
    });
    return run;
  }

  private async handle(device: string, m: UpdateDeviceMessage, send: (m: UpdateRelayMessage) => void, now: number): Promise<void> {
    switch (m.t) {
      case 'firmware': {
        const { t: _t, ...report } = m;
        await this.o.store.putUpdateEntry(device, 'firmware.json', new TextEncoder().encode(JSON.stringify({ ...report, at: now }) + '\n'));
        const s = await this.status(device);
        if (!s) return;
        if (s.state === 'installed' || s.state === 'pending') {
          if (!m.trial && m.version === s.version && m.security === s.security) return this.setState(device, s, 'done', now);
          if (s.state === 'installed' && !m.trial) {
            // it restarted into the update and came back on the previous firmware: the trial failed
            return this.setState(device, s, 'refused', now, 'UPDATE_ROLLED_BACK', 'the new firmware failed its self-test; the doorbell went back');
          }
        }
        const u = s.state === 'pending' ? await this.pending(device, s) : undefined;
        if (u) send(u.offer);
        return;
      }
      case 'update-want': {
        const s = await this.status(device);
        const u = s ? await this.pending(device, s) : undefined;
        if (!u || u.id !== m.release) return;
        if (m.offset >= u.imageLength) return send({ t: 'update-end', release: m.release });
        const length = Math.min(UPDATE_CHUNK_BYTES, u.imageLength - m.offset);
        const data = await this.o.store.updateEntryPiece(device, 'update.bin', u.imageStart + m.offset, length);
        if (!data || data.length !== length) {
          this.cache.delete(device); // finished or replaced meanwhile (by another relay process)
          return;
        }
        return send({ t: 'update-data', release: m.release, offset: m.offset, data: base64.encode(data) });
      }
      case 'update-refused': {
        const s = await this.status(device);
        this.o.log(`relay: device ${device}: update refused: ${m.code}`);
        if (s && (m.release === undefined || m.release === s.release)) await this.setState(device, s, 'refused', now, m.code, m.message);
        return;
      }
      case 'update-installed': {
        const s = await this.status(device);
        if (s && s.release === m.release) await this.setState(device, s, 'installed', now);
        return;
      }
    }
  }

  private async setState(device: string, s: UpdateStatus, state: UpdateState, now: number, code?: string, message?: string): Promise<void> {
    const next: UpdateStatus = { release: s.release, version: s.version, security: s.security, state, updated: now };
    if (code) next.code = code;
    if (message) next.message = message.slice(0, 300);
    await this.writeStatus(device, next);
    if (state === 'done' || state === 'refused') {
      // nothing more to serve: the image goes
      this.cache.delete(device);
      await this.o.store.deleteUpdateEntry(device, 'update.bin');
    }
  }

  private writeStatus(device: string, s: UpdateStatus): Promise<void> {
    return this.o.store.putUpdateEntry(device, 'state.json', new TextEncoder().encode(JSON.stringify(s) + '\n'));
  }

  /** The update `s` names, if its image is still kept: cached while it is the release the status names. */
  private async pending(device: string, s: UpdateStatus): Promise<Pending | undefined> {
    const cached = this.cache.get(device);
    if (cached?.id === s.release) return cached;
    const bytes = await this.o.store.updateEntry(device, 'update.bin');
    if (!bytes) return undefined;
    const u = pendingOf(parseUpdateBundle(bytes), bytes.length);
    this.cache.set(device, u);
    return u;
  }
}

interface Pending {
  id: string;
  offer: UpdateRelayMessage;
  /** the image is the bundle's last bytes */
  imageStart: number;
  imageLength: number;
}

function pendingOf(b: UpdateBundle, bundleLength: number): Pending {
  return {
    id: releaseId(b.release),
    offer: {
      t: 'update',
      release: utf8Decode(b.release),
      releaseSignature: b.releaseSignature,
      authorization: utf8Decode(b.authorization),
      authorizationSignature: b.authorizationSignature,
    },
    imageStart: bundleLength - b.image.length,
    imageLength: b.image.length,
  };
}

function jsonOf<T>(bytes: Uint8Array | undefined): T | undefined {
  if (!bytes) return undefined;
  try {
    return JSON.parse(utf8Decode(bytes)) as T;
  } catch {
    return undefined;
  }
}
