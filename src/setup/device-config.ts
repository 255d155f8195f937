/**
 * The device's settings from setup (Wi-Fi, relay, relay credential), under one
 * KeyValueStore key so a crash leaves the old settings or the new ones.
 *
 *   record = "SBC1" ‖ u8 ssid ‖ u8 password ‖ u16 relay URL ‖ credential (32) ‖ [u16 relay CA (DER)]
 *
 * The relay CA is optional and last: a record stored before it existed loads as "the public CAs".
 */
import type { KeyValueStore } from '../host.js';
import { equalBytes, utf8Decode, utf8ToBytes } from '../bytes.js';
import { SealbellError } from '../errors.js';
import { Reader, Writer } from '../wire.js';
import { MAX_RELAY_CA_BYTES, checkRelayCa } from './relay-ca.js';
import { CREDENTIAL_LENGTH, MAX_URL_LENGTH, checkRelayUrl, checkWifi, type DeviceConfig } from './records.js';

export const CONFIG_KEY = 'setup.config';
const MAGIC = utf8ToBytes('SBC1');

export function storeDeviceConfig(store: KeyValueStore, c: DeviceConfig): void {
  const w = new Writer()
    .bytes(MAGIC)
    .sized(1, utf8ToBytes(c.wifi.ssid))
    .sized(1, utf8ToBytes(c.wifi.password))
    .sized(2, utf8ToBytes(c.relayUrl))
    .bytes(c.credential);
  if (c.relayCa) w.sized(2, c.relayCa);
  store.set(CONFIG_KEY, w.finish());
}

export function loadDeviceConfig(store: KeyValueStore): DeviceConfig | undefined {
  const raw = store.get(CONFIG_KEY);
  if (raw === undefined) return undefined;
  try {
    const r = new Reader(raw, 'SETUP_STORE', 'stored settings');
    if (!equalBytes(r.bytesN(MAGIC.length, 'magic'), MAGIC)) r.fail('bad magic');
    const ssid = utf8Decode(r.sized(1, 1, 32, 'ssid'));
    const password = utf8Decode(r.sized(1, 0, 64, 'password'));
    const relayUrl = utf8Decode(r.sized(2, 1, MAX_URL_LENGTH, 'relay URL'));
    const credential = r.bytesN(CREDENTIAL_LENGTH, 'credential');
    const relayCa = r.remaining > 0 ? r.sized(2, 1, MAX_RELAY_CA_BYTES, 'relay CA') : undefined;
    r.end();
    const config: DeviceConfig = { wifi: checkWifi({ ssid, password }), relayUrl: checkRelayUrl(relayUrl), credential };
    if (relayCa) config.relayCa = checkRelayCa(relayCa, relayUrl);
    return config;
  } catch (e) {
    throw new SealbellError('SETUP_STORE', `the stored settings are corrupt: ${(e as Error).message}`);
  }
}

export function wipeDeviceConfig(store: KeyValueStore): void {
  store.delete(CONFIG_KEY);
}
