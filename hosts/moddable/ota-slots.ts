/**
 * The A/B app slots of src/update/slots.ts on a board: the SDK's `ota` module writes the image
 * into the next update partition and switches the boot partition on complete(); ota-state.c
 * tells whether the running image is on trial, marks it valid or rolls it back (ESP-IDF app
 * rollback). Run in QEMU by tools/qemu-e2e.ts (an update and a rollback); not on hardware yet.
 */
import OTA from 'ota';
import type { OtaSlots, OtaWriter, RunningState } from '../../src/update/slots.js';
import type { ReleaseManifest } from '../../src/update/release.js';
import { markValid, rollback, runningState, slotSize } from './native/ota-state.js';

/** `ota.write` takes an ArrayBuffer: the bytes' own when they fill it, else a copy of the piece. */
function bufferOf(bytes: Uint8Array): ArrayBuffer {
  const b = bytes.buffer as ArrayBuffer;
  return bytes.byteOffset === 0 && bytes.byteLength === b.byteLength ? b : b.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
}

export function moddableOtaSlots(): OtaSlots | undefined {
  const size = slotSize();
  if (size === 0) return undefined; // no OTA partitions (or the simulator): no updates
  return {
    slotSize: size,
    runningState: (): RunningState => runningState(),
    begin(release: ReleaseManifest): OtaWriter {
      const ota = new OTA({ byteLength: release.size });
      return {
        write: (bytes) => ota.write(bufferOf(bytes)),
        complete: () => ota.complete(),
        abort: () => ota.cancel(),
      };
    },
    markValid,
    rollback,
  };
}
