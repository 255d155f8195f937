/**
 * Firmware updates at the relay (docs/relay-api.md, "Firmware updates"). The relay decides
 * nothing: it keeps the update the owner uploaded (one per doorbell, the newest), checks at
 * once that the account authority the doorbell holds signed it (so nobody else can queue
 * one), offers it on the uplink, serves the image piece by piece from where the doorbell asks,
 * and remembers what the doorbell said: its firmware after each connect, a refusal, an install.
 * The doorbell checks everything again and has the last word.
 *
 * Files, under DATA/updates/<device>/ (written atomically):
 *   update.bin     the update bundle (src/update/bundle.ts)
 *   state.json     { release, version, security, state: pending|installed|refused|done, code?, message?, updated }
 *   firmware.json  the doorbell's last report { board, version, security, recorded, trial, at }
 */
import fs from 'node:fs';
import path from 'node:path';
import { base64 } from '@scure/base';
import { utf8Decode } from '../../src/bytes.js';
import { SealbellError } from '../../src/errors.js';
import { parseUpdateBundle, type UpdateBundle } from '../../src/update/bundle.js';
import { parseRelease, releaseId, verifyAuthorization } from '../../src/update/release.js';
import { UPDATE_CHUNK_BYTES } from '../../src/update/updater.js';
import type { UpdateDeviceMessage, UpdateRelayMessage } from '../../src/uplink/update-wire.js';
import { writeFileAtomic } from '../../hosts/node/kv-store.js';
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
  dataDir: string;
  store: RelayStoreApi;
  /** sends to the device if it is connected */
  push: (device: string, m: UpdateRelayMessage) => void;
  log: (line: string) => void;
}

export class RelayUpdates {
  /** each device's pending update: its offer and where its image lies in update.bin (read per piece, not kept in memory) */
  private readonly cache = new Map<string, Pending>();

  constructor(private readonly o: RelayUpdatesOptions) {}

  private dir(device: string): string {
    return path.join(this.o.dataDir, 'updates', device);
  }

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
    fs.mkdirSync(this.dir(device), { recursive: true, mode: 0o700 });
    writeFileAtomic(path.join(this.dir(device), 'update.bin'), bytes);
    const status: UpdateStatus = { release: id, version: manifest.version, security: manifest.security, state: 'pending', updated: now };
    this.writeStatus(device, status);
    this.cache.set(device, pendingOf(bundle, bytes.length));
    this.o.log(`relay: device ${device}: update to ${manifest.version} (security ${manifest.security}) queued`);
    this.o.push(device, this.cache.get(device)!.offer);
    return status;
  }

  status(device: string): UpdateStatus | undefined {
    return readJson<UpdateStatus>(path.join(this.dir(device), 'state.json'));
  }

  firmware(device: string): FirmwareReport | undefined {
    return readJson<FirmwareReport>(path.join(this.dir(device), 'firmware.json'));
  }

  /** A message from the device's uplink; replies go through `send`. */
  fromDevice(device: string, m: UpdateDeviceMessage, send: (m: UpdateRelayMessage) => void, now: number): void {
    switch (m.t) {
      case 'firmware': {
        const { t: _t, ...report } = m;
        fs.mkdirSync(this.dir(device), { recursive: true, mode: 0o700 });
        writeFileAtomic(path.join(this.dir(device), 'firmware.json'), JSON.stringify({ ...report, at: now }) + '\n');
        const s = this.status(device);
        if (!s) return;
        if (s.state === 'installed' || s.state === 'pending') {
          if (!m.trial && m.version === s.version && m.security === s.security) return this.setState(device, s, 'done', now);
          if (s.state === 'installed' && !m.trial) {
            // it restarted into the update and came back on the previous firmware: the trial failed
            return this.setState(device, s, 'refused', now, 'UPDATE_ROLLED_BACK', 'the new firmware failed its self-test; the doorbell went back');
          }
        }
        const u = s.state === 'pending' ? this.pending(device) : undefined;
        if (u) send(u.offer);
        return;
      }
      case 'update-want': {
        const u = this.pending(device);
        if (!u || u.id !== m.release) return;
        if (m.offset >= u.imageLength) return send({ t: 'update-end', release: m.release });
        const data = readAt(path.join(this.dir(device), 'update.bin'), u.imageStart + m.offset, Math.min(UPDATE_CHUNK_BYTES, u.imageLength - m.offset));
        return send({ t: 'update-data', release: m.release, offset: m.offset, data: base64.encode(data) });
      }
      case 'update-refused': {
        const s = this.status(device);
        this.o.log(`relay: device ${device}: update refused: ${m.code}`);
        if (s && (m.release === undefined || m.release === s.release)) this.setState(device, s, 'refused', now, m.code, m.message);
        return;
      }
      case 'update-installed': {
        const s = this.status(device);
        if (s && s.release === m.release) this.setState(device, s, 'installed', now);
        return;
      }
    }
  }

  private setState(device: string, s: UpdateStatus, state: UpdateState, now: number, code?: string, message?: string): void {
    const next: UpdateStatus = { release: s.release, version: s.version, security: s.security, state, updated: now };
    if (code) next.code = code;
    if (message) next.message = message.slice(0, 300);
    this.writeStatus(device, next);
    if (state === 'done' || state === 'refused') {
      // nothing more to serve: the image goes
      this.cache.delete(device);
      fs.rmSync(path.join(this.dir(device), 'update.bin'), { force: true });
    }
  }

  private writeStatus(device: string, s: UpdateStatus): void {
    writeFileAtomic(path.join(this.dir(device), 'state.json'), JSON.stringify(s) + '\n');
  }

  private pending(device: string): Pending | undefined {
    const cached = this.cache.get(device);
    if (cached) return cached;
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(fs.readFileSync(path.join(this.dir(device), 'update.bin')));
    } catch {
      return undefined;
    }
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

function readAt(file: string, position: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  const fd = fs.openSync(file, 'r');
  try {
    let got = 0;
    while (got < length) {
      const n = fs.readSync(fd, out, got, length - got, position + got);
      if (n === 0) throw new Error(`${file} is shorter than its update bundle says`);
      got += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return out;
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}
