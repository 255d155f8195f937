// The relay CA in setup: CONFIG carries it as an optional last field and the doorbell stores
// it in its settings record; records from before the field (an older phone's CONFIG, an
// older stored "SBC1" record) still parse, as "the public CAs". Malformed certificates and a
// CA for a plain-http relay are refused with their codes, storing nothing.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { encodeConfig, parseConfig, type SetupConfig } from '../src/setup/records.js';
import { CONFIG_KEY, loadDeviceConfig, storeDeviceConfig } from '../src/setup/device-config.js';
import { MAX_RELAY_CA_BYTES } from '../src/setup/relay-ca.js';
import { Writer } from '../src/wire.js';
import { utf8ToBytes } from '../src/bytes.js';
import { signingKeyFromSeed } from '../src/minisign.js';
import { phoneSetup } from '../tools/phone/index.js';
import { readDevice } from '../tools/phone/state.js';
import { relayCaFor } from '../tools/relay/client-http.js';
import { VECTOR_RELAY_CA } from '../tools/vectors/setup-vectors.js';
import { MemoryStore, seededRandom } from './helpers.js';
import { RELAY, WIFI, freshDevice, freshPhone, throwsCode } from './setup-fixtures.js';

const random = seededRandom('relay-ca');
const authority = signingKeyFromSeed(random(32));
const base: SetupConfig = { wifi: WIFI, relayUrl: RELAY, credential: random(32), authority: authority.publicKey, roster: utf8ToBytes('bundle') };
// parseConfig checks the roster only for its size: the bundle is checked by the roster store
const CA = VECTOR_RELAY_CA;

/** CONFIG with an arbitrary relay CA field appended (what a phone could send). */
const withCaField = (ca: Uint8Array, c: SetupConfig = base) => {
  const plain = encodeConfig(c);
  return new Writer().bytes(plain).sized(2, ca).finish();
};

describe('the relay CA in setup', () => {
  it('CONFIG carries it last and parses it back; without it the record is byte for byte the old one', () => {
    const without = encodeConfig(base);
    const withCa = encodeConfig({ ...base, relayCa: CA });
    assert.deepEqual(withCa.subarray(0, without.length), without);
    assert.equal(withCa.length, without.length + 2 + CA.length);
    assert.deepEqual(parseConfig(withCa).relayCa, CA);
    assert.equal(parseConfig(without).relayCa, undefined, 'an older phone: the public CAs');
  });

  it('refuses a relay CA that is not one DER certificate, too large, empty, or for a plain-http relay', () => {
    const cut = CA.subarray(0, CA.length - 1);
    throwsCode(() => parseConfig(withCaField(cut)), 'SETUP_CONFIG');
    const notSequence = CA.slice();
    notSequence[0] = 0x31;
    throwsCode(() => parseConfig(withCaField(notSequence)), 'SETUP_CONFIG');
    throwsCode(() => parseConfig(withCaField(new Uint8Array([0x30, 0x81, 0x05, 1, 2, 3, 4, 5]))), 'SETUP_CONFIG'); // long form for a short length: not DER
    throwsCode(() => parseConfig(withCaField(new Uint8Array(MAX_RELAY_CA_BYTES + 1))), 'SETUP_MALFORMED');
    throwsCode(() => parseConfig(withCaField(new Uint8Array(0))), 'SETUP_MALFORMED');
    throwsCode(() => parseConfig(new Writer().bytes(encodeConfig(base)).uint(1, 1).finish()), 'SETUP_MALFORMED');
    const local = { ...base, relayUrl: 'http://127.0.0.1:8080' };
    throwsCode(() => parseConfig(withCaField(CA, local)), 'SETUP_CONFIG');
    throwsCode(() => encodeConfig({ ...local, relayCa: CA }), 'SETUP_CONFIG');
    throwsCode(() => encodeConfig({ ...base, relayCa: cut }), 'SETUP_CONFIG');
  });

  it('the stored settings keep it; a record stored before the field existed still loads (public CAs); a corrupt one is SETUP_STORE', () => {
    const store = new MemoryStore();
    const settings = { wifi: WIFI, relayUrl: RELAY, credential: base.credential, relayCa: CA };
    storeDeviceConfig(store, settings);
    assert.deepEqual(loadDeviceConfig(store), settings);
    // "SBC1" ‖ u8 ssid ‖ u8 password ‖ u16 relay URL ‖ credential, as older firmware wrote it
    const old = new Writer().bytes(utf8ToBytes('SBC1')).sized(1, utf8ToBytes(WIFI.ssid)).sized(1, utf8ToBytes(WIFI.password)).sized(2, utf8ToBytes(RELAY)).bytes(base.credential).finish();
    store.set(CONFIG_KEY, old);
    assert.deepEqual(loadDeviceConfig(store), { wifi: WIFI, relayUrl: RELAY, credential: base.credential });
    store.set(CONFIG_KEY, new Writer().bytes(old).sized(2, CA.subarray(1)).finish());
    throwsCode(() => loadDeviceConfig(store), 'SETUP_STORE');
  });

  it('a doorbell set up with a relay CA stores exactly that CA; the phone keeps it for its own requests', async () => {
    const d = await freshDevice('relay-ca/flow');
    const phone = freshPhone('relay-ca/flow');
    await phoneSetup({ dir: phone.dir, endpoint: d.transport, code: d.prov.manualCode, wifi: WIFI, relayUrl: RELAY, relayCa: { der: CA, pem: new X509Certificate(CA).toString() }, account: phone.account, random: seededRandom('relay-ca/setup') });
    assert.deepEqual(loadDeviceConfig(d.store)?.relayCa, CA);
    assert.deepEqual(d.results[0].config.relayCa, CA);
    const device = readDevice(phone.dir, d.results[0].identity.deviceId);
    assert.deepEqual(new Uint8Array(new X509Certificate(device.relayCa!).raw), CA);
    assert.equal(relayCaFor(`${RELAY}/v1/clips`), device.relayCa, 'requests to that relay trust it');
    assert.equal(relayCaFor('https://other.example/'), undefined);
  });
});
