/*
 * The ECMA-419 host provider ("embedded:provider/builtin") for this board folder:
 * the SDK esp32s3 target's own provider, unchanged. QEMU models no GPIO the doorbell uses:
 * the button is typed on the serial console (hosts/moddable/qemu-platform.ts).
 */
export { default } from "sealbell/target-provider";
