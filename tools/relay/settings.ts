/**
 * Signed settings at the relay (docs/relay-api.md, "Settings"; docs/settings-format.md).
 * The relay decides nothing: it keeps the owner's newest settings for a doorbell (checked at
 * once against the account authority the doorbell's roster names, so nobody else can queue
 * any), hands them to the doorbell when it is connected or next connects, and remembers what
 * the doorbell said it runs (its acknowledgement, which phones check) or why it refused.
 * The doorbell checks everything again and has the last word.
 *
 * Entries per doorbell, in the store (SQLite: files under DATA/settings/<device>/, written
 * atomically; PostgreSQL: rows of device_settings, which every relay process reads):
 *   pending.sbt   the settings bundle waiting for the doorbell
 *   held.json     { epoch, bundle (base64) | null, ack | null, updated }: what the doorbell says it runs
 *   refused.json  { epoch, code, message, at }: the last settings it refused
 */
import { base64 } from '@scure/base';
import { SealbellError } from '../../src/errors.js';
import { decodePublicKey } from '../../src/minisign.js';
import { parseRoster, nextAuthority } from '../../src/roster/roster.js';
import { parseRosterBundle } from '../../src/roster/bundle.js';
import { checkSettingsRange, parseSettings, parseSettingsBundle, verifySettings, verifySettingsAck } from '../../src/settings/settings.js';
import type { SettingsDeviceMessage, SettingsRelayMessage } from '../../src/uplink/settings-wire.js';
import { RelayError } from './errors.js';
import type { RelayStoreApi, SettingsEntry } from './store-api.js';

export interface HeldSettingsView {
  epoch: number;
  bundle: string | null;
  ack: string | null;
  /** when the relay heard it (ms, the relay's clock) */
  updated: number;
}

/** GET /v1/devices/:device/settings: unchecked here; phones check the acknowledgement. */
export interface SettingsView {
  device: string;
  held: HeldSettingsView | null;
  pending: { epoch: number; bundle: string } | null;
  refused: { epoch: number; code: string; message: string; at: number } | null;
}

export interface RelaySettingsOptions {
  store: RelayStoreApi;
  push: (device: string, m: SettingsRelayMessage) => void;
  log: (line: string) => void;
}

const STATUS: Record<string, number> = { SETTINGS_SIGNATURE: 403, SETTINGS_EPOCH: 409, NO_ROSTER: 409 };

export class RelaySettings {
  constructor(private readonly o: RelaySettingsOptions) {}

  private write(device: string, name: SettingsEntry, data: Uint8Array | string): Promise<void> {
    return this.o.store.putSettingsEntry(device, name, typeof data === 'string' ? new TextEncoder().encode(data) : data);
  }

  private async pending(device: string): Promise<{ epoch: number; bundle: Uint8Array } | undefined> {
    const bundle = await this.o.store.settingsEntry(device, 'pending.sbt');
    if (!bundle) return undefined;
    return { epoch: parseSettings(parseSettingsBundle(bundle).bytes).epoch, bundle };
  }

  private async held(device: string): Promise<HeldSettingsView | undefined> {
    return jsonOf<HeldSettingsView>(await this.o.store.settingsEntry(device, 'held.json'));
  }

  /**
   * The owner's upload: signed by the authority the doorbell's roster names, for this
   * doorbell, an epoch above what it runs and what waits, values in range. Returns the epoch.
   */
  async publish(device: string, bytes: Uint8Array, now: number): Promise<number> {
    try {
      const { bytes: doc, signature } = parseSettingsBundle(bytes);
      parseSettings(doc);
      const heldRoster = await this.o.store.heldRoster(device);
      if (!heldRoster) throw new SealbellError('NO_ROSTER', 'the doorbell has not told the relay its roster: nobody can sign its settings yet');
      const authority = nextAuthority(parseRoster(parseRosterBundle(heldRoster.bundle).bytes), new Uint8Array(heldRoster.authority));
      const s = verifySettings(doc, signature, authority).settings;
      if (s.device !== device) throw new SealbellError('SETTINGS_DEVICE', `the settings are for device ${s.device}, not ${device}`);
      const newest = Math.max((await this.held(device))?.epoch ?? 0, (await this.pending(device))?.epoch ?? 0);
      if (s.epoch <= newest) throw new SealbellError('SETTINGS_EPOCH', `settings epoch ${s.epoch} is not above epoch ${newest}, which the doorbell runs or already has waiting`);
      checkSettingsRange(s);
      await this.write(device, 'pending.sbt', bytes);
      this.o.log(`relay: device ${device}: settings epoch ${s.epoch} queued`);
      this.o.push(device, { t: 'settings', bundle: base64.encode(bytes) });
      return s.epoch;
    } catch (e) {
      if (e instanceof SealbellError) throw new RelayError(STATUS[e.code] ?? 400, e.code, e.message);
      throw e;
    }
  }

  /** A message from the device's uplink; the pending settings go back through `send` when it runs older ones. */
  async fromDevice(device: string, m: SettingsDeviceMessage, send: (m: SettingsRelayMessage) => void, now: number): Promise<void> {
    const pending = await this.pending(device);
    if (m.t === 'settings-refused') {
      this.o.log(`relay: device ${device}: settings refused: ${m.code}`);
      if (pending) {
        await this.write(device, 'refused.json', JSON.stringify({ epoch: pending.epoch, code: m.code, message: m.message.slice(0, 300), at: now }) + '\n');
        await this.o.store.deleteSettingsEntry(device, 'pending.sbt');
      }
      return;
    }
    if (m.epoch > 0) {
      // only what the device signed is kept: a phone checks the acknowledgement again
      const row = await this.o.store.device(device);
      if (!row) return;
      try {
        verifySettingsAck(parseSettingsBundle(base64.decode(m.bundle!)).bytes, m.ack!, decodePublicKey(row.public_key));
      } catch (e) {
        return this.o.log(`relay: device ${device}: settings acknowledgement refused: ${(e as Error).message}`);
      }
    }
    await this.write(device, 'held.json', JSON.stringify({ epoch: m.epoch, bundle: m.bundle, ack: m.ack, updated: now }) + '\n');
    if (pending && pending.epoch > m.epoch) send({ t: 'settings', bundle: base64.encode(pending.bundle) });
    else if (pending) await this.o.store.deleteSettingsEntry(device, 'pending.sbt');
  }

  async view(device: string): Promise<SettingsView> {
    const pending = await this.pending(device);
    return {
      device,
      held: (await this.held(device)) ?? null,
      pending: pending ? { epoch: pending.epoch, bundle: base64.encode(pending.bundle) } : null,
      refused: jsonOf<SettingsView['refused']>(await this.o.store.settingsEntry(device, 'refused.json')) ?? null,
    };
  }

  /** The settings waiting for a doorbell, as a message for its uplink (another relay process queued them). */
  async pendingMessage(device: string): Promise<SettingsRelayMessage | undefined> {
    const pending = await this.pending(device);
    return pending ? { t: 'settings', bundle: base64.encode(pending.bundle) } : undefined;
  }
}

function jsonOf<T>(bytes: Uint8Array | undefined): T | undefined {
  if (!bytes) return undefined;
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as T;
  } catch {
    return undefined;
  }
}
