/**
 * The A/B app slots of src/update/slots.ts on a board: the SDK's `ota` module writes the image
 * into the next update partition and switches the boot partition on complete(); ota-state.c
 * tells whether the running image is on trial, marks it valid or rolls it back (ESP-IDF app
 * rollback). Not built with mcconfig or run on hardware yet (docs/moddable.md).
 */
import OTA from 'ota';
import { markValid, rollback, runningState, slotSize } from './native/ota-state.js';
/** `ota.write` takes an ArrayBuffer: the bytes' own when they fill it, else a copy of the piece. */
function bufferOf(bytes) {
    const b = bytes.buffer;
    return bytes.byteOffset === 0 && bytes.byteLength === b.byteLength ? b : b.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
}
export function moddableOtaSlots() {
    const size = slotSize();
    if (size === 0)
        return undefined; // no OTA partitions (or the simulator): no updates
    return {
        slotSize: size,
        runningState: () => runningState(),
        begin(release) {
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
//# sourceMappingURL=ota-slots.js.map