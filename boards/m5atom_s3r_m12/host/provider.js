/*
 * The ECMA-419 host provider ("embedded:provider/builtin") for this board folder:
 * the SDK target's own provider, unchanged. The doorbell's pins are in
 * manifest.json under config.sealbell.
 */
export { default } from "sealbell/target-provider";
