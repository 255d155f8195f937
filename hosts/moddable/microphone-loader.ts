/**
 * Opens the board's microphone when the board has one: its config names it
 * (`config.sealbell.microphone`) and its build holds `sealbell/microphone` (microphone.ts,
 * mapped by the board's manifest with the SDK's `pins/audioin`). Otherwise undefined: the
 * doorbell records video only, and its manifests say so.
 */
import Modules from 'modules';
import type { Alloc, Log } from '../../src/host.js';
import type { BoardConfig, MicrophoneSource } from './types.js';

export function openMicrophone(config: BoardConfig, alloc: Alloc, log: Log): MicrophoneSource | undefined {
  if (!config.microphone) return undefined;
  if (!Modules.has('sealbell/microphone')) {
    log('platform: the board config names a microphone but the build has no sealbell/microphone: video only');
    return undefined;
  }
  try {
    const { PdmMicrophone } = Modules.importNow('sealbell/microphone') as typeof import('./microphone.js');
    const mic = new PdmMicrophone(alloc);
    log(`platform: microphone at ${mic.sampleRate} Hz`);
    return mic;
  } catch (e) {
    log(`platform: the microphone does not start (${String(e)}): video only`);
    return undefined;
  }
}
