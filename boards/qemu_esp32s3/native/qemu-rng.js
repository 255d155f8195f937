/*
 * The QEMU board's entropy source for the hardware RNG (qemu-rng.c: bootloader_random_enable).
 */
export function enableEntropy() @ "xs_sealbell_qemu_rng_enable";
