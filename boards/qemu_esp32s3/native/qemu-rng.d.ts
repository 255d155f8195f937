/** Types for qemu-rng.js (boards/qemu_esp32s3). */

/** Switches the RNG's entropy source on (bootloader_random_enable, once); says what its enable bits read back. */
export declare function enableEntropy(): string;
