// The SDK's `ota` module (ESP32: $(BUILD)/devices/esp32/modules/ota, over esp_ota_ops): writes an app
// image into the next update partition; complete() checks it (esp_ota_end) and makes it the boot
// partition. It has no call for the running image's state: hosts/moddable/native/ota-state.c.
declare module 'ota' {
  export default class OTA {
    /** Begins an update into the next OTA partition (erasing it); byteLength where the SDK takes it. */
    constructor(options?: { byteLength?: number });
    write(data: ArrayBuffer): void;
    /** Abandons the update: the boot partition stays. */
    cancel(): void;
    /** Validates the written image and sets it to boot at the next restart. */
    complete(): void;
  }
}
