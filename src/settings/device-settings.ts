/**
 * The doorbell's end of signed settings over the relay: tells the relay what it runs
 * (acknowledged with the device key, so a phone can check it), and takes new settings only
 * through SettingsStore's checks; what it takes applies from the next clip and motion check.
 */
import { base64 } from '@scure/base';
import { equalBytes } from '../bytes.js';
import { SealbellError } from '../errors.js';
import type { Log } from '../host.js';
import type { DeviceIdentity } from '../device/identity.js';
import type { SettingsDeviceMessage, SettingsRelayMessage } from '../uplink/settings-wire.js';
import { encodeSettingsBundle, signSettingsAck, type Settings } from './settings.js';
import type { SettingsStore } from './settings-store.js';

export interface DeviceSettingsOptions {
  settings: SettingsStore;
  identity: DeviceIdentity;
  /** the account authority now (the one the held roster names for what comes after it) */
  authority: () => Uint8Array | undefined;
  /** makes the doorbell run `s` (from the next clip and the next motion check) */
  apply: (s: Settings) => void;
  log?: Log;
}

export class DeviceSettings {
  private ack: { bytes: Uint8Array; text: string } | undefined;

  constructor(private readonly o: DeviceSettingsOptions) {}

  /** What the doorbell tells the relay it runs. */
  held(): SettingsDeviceMessage {
    const s = this.o.settings.load();
    if (!s) return { t: 'settings-held', epoch: 0, bundle: null, ack: null };
    if (!this.ack || !equalBytes(this.ack.bytes, s.bytes)) this.ack = { bytes: s.bytes, text: signSettingsAck(s, this.o.identity.key) };
    return { t: 'settings-held', epoch: s.settings.epoch, bundle: base64.encode(encodeSettingsBundle(s)), ack: this.ack.text };
  }

  /** Settings from the relay: taken (and applied) or refused with its code; either way the relay is told. */
  take(bundle: Uint8Array): SettingsDeviceMessage {
    try {
      const next = this.o.settings.accept(bundle, this.o.authority());
      this.o.apply(next.settings);
      this.o.log?.(`settings epoch ${next.settings.epoch}: clips ${next.settings.clipSeconds} s, pre-roll ${next.settings.prerollSeconds} s, motion ${next.settings.zones ? next.settings.zones.join('/') : 'off'}`);
      return this.held();
    } catch (e) {
      const code = e instanceof SealbellError ? e.code : 'SETTINGS_FORMAT';
      this.o.log?.(`settings refused: ${code}`);
      return { t: 'settings-refused', code, message: (e as Error).message.slice(0, 300) };
    }
  }

  // the uplink's SettingsHandler
  connected(send: (m: SettingsDeviceMessage) => void): void {
    send(this.held());
  }

  message(m: SettingsRelayMessage, send: (m: SettingsDeviceMessage) => void): void {
    let bytes: Uint8Array;
    try {
      bytes = base64.decode(m.bundle);
    } catch {
      return send({ t: 'settings-refused', code: 'SETTINGS_FORMAT', message: 'the settings are not base64' });
    }
    send(this.take(bytes));
  }
}
