/**
 * `sealbell phone register`: finishes a setup whose last step (registering the doorbell
 * on the relay) failed, e.g. because the relay was down: with what the phone kept from
 * setup (the doorbell's key and the credential it gave it), the account's endorsement
 * (passphrase) and the relay's admin token. Safe to repeat: a doorbell the relay already
 * has is reported as such, and the escrow is uploaded again.
 */
import { SealbellError } from '../../src/errors.js';
import { RelayApiError } from '../relay/client-http.js';
import { registerOnRelay, uploadEscrow } from './relay-sync.js';
import { listDevices, readDevice, type AccountKeys } from './state.js';

export interface Registered {
  deviceId: string;
  relayUrl: string;
  /** the relay had it already (an earlier attempt got through) */
  already: boolean;
}

/** The doorbells this phone set up (it holds their relay credential): the ones it can register. */
export function setUpHere(dir: string, deviceId?: string): string[] {
  const ids = (deviceId ? [deviceId] : listDevices(dir)).filter((id) => readDevice(dir, id).credential);
  if (ids.length === 0) {
    throw new SealbellError('PHONE_STATE', deviceId ? `this phone did not set up doorbell ${deviceId}` : 'this phone set up no doorbell: run phone setup first');
  }
  return ids;
}

export async function registerDoorbell(a: { dir: string; deviceId: string; adminToken: string; account: AccountKeys }): Promise<Registered> {
  const { relayUrl } = readDevice(a.dir, a.deviceId);
  try {
    await registerOnRelay(a);
    return { deviceId: a.deviceId, relayUrl, already: false };
  } catch (e) {
    if (!(e instanceof RelayApiError && e.code === 'DEVICE_EXISTS')) throw e;
    await uploadEscrow(a.dir, relayUrl);
    return { deviceId: a.deviceId, relayUrl, already: true };
  }
}
