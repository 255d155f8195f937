/**
 * A doorbell as it leaves setup, for the loopback benches (live.ts, push.ts): registered at the
 * relay, its identity, relay settings and a roster of one phone in its store, run by the app
 * (src/app) on the Node host with the real clock; and that phone, logged in once the relay has
 * heard the roster.
 */
import path from 'node:path';
import { loadOrCreateIdentity, type DeviceIdentity } from '../../src/device/identity.js';
import { systemRandom } from '../../src/crypto/noble.js';
import { generateIdentity, identityToRecipient } from '../../src/age/x25519.js';
import { MemoryKeyValueStore } from '../../src/memory-store.js';
import { signingKeyFromSeed } from '../../src/minisign.js';
import { encodeAuthKey, signRoster } from '../../src/roster/roster.js';
import { encodeRosterBundle } from '../../src/roster/bundle.js';
import { RosterStore } from '../../src/roster/roster-store.js';
import { storeDeviceConfig } from '../../src/setup/device-config.js';
import { credentialToken } from '../../src/setup/records.js';
import { NodeDoorbell, type NodeDoorbellOptions } from '../../hosts/node/doorbell.js';
import { registerDevice } from '../relay/owner-client.js';
import { PhoneClient, phoneAuthKeyFromSeed } from '../relay/phone-client.js';

export interface BenchDoorbell {
  doorbell: NodeDoorbell;
  identity: DeviceIdentity;
  /** the one phone's age identity */
  phoneIdentity: string;
  /** the one phone, logged in at the relay */
  client: PhoneClient;
}

/** Sorted samples' q-quantile. */
export const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

/** Registers, provisions and boots a doorbell at `relay` (state under `dataDir`); resolves once its phone is logged in. */
export async function startBenchDoorbell(
  relay: { url: string },
  adminToken: string,
  dataDir: string,
  o: Pick<NodeDoorbellOptions, 'camera' | 'fps' | 'app'>,
): Promise<BenchDoorbell> {
  const store = new MemoryKeyValueStore();
  const identity = loadOrCreateIdentity(store, systemRandom);
  const credential = systemRandom(32);
  await registerDevice(relay.url, adminToken, { credential: credentialToken(credential), publicKey: identity.publicKeyText });
  storeDeviceConfig(store, { wifi: { ssid: 'bench', password: '' }, relayUrl: relay.url, credential });
  const authority = signingKeyFromSeed(systemRandom(32));
  const phoneIdentity = generateIdentity(systemRandom);
  const phoneAuth = phoneAuthKeyFromSeed(systemRandom(32));
  const signed = signRoster(
    { v: 1, device: identity.deviceId, epoch: 1, phones: [{ name: 'bench', recipient: identityToRecipient(phoneIdentity), auth: encodeAuthKey(phoneAuth.publicKey) }], history: null },
    authority,
  );
  new RosterStore(store, identity.deviceId).accept(encodeRosterBundle(signed), authority.publicKey);
  const doorbell = new NodeDoorbell({ state: path.join(dataDir, 'doorbell'), store, ...o });
  doorbell.boot();
  try {
    // The relay lets the phone in once the doorbell has told it the roster.
    let client: PhoneClient | undefined;
    for (let i = 0; !client; i++) {
      client = await PhoneClient.login(relay.url, identity.deviceId, phoneAuth).catch((e) => {
        if (i > 500) throw e;
        return new Promise<undefined>((r) => setTimeout(() => r(undefined), 10));
      });
    }
    return { doorbell, identity, phoneIdentity, client };
  } catch (e) {
    await doorbell.stop();
    throw e;
  }
}
