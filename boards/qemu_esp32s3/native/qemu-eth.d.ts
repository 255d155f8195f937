/** Types for qemu-eth.js (boards/qemu_esp32s3). */

/** Starts QEMU's open_eth NIC with DHCP; throws when there is none. */
export declare function start(): void;
/** The DHCP address (dotted quad), or undefined before there is one. */
export declare function address(): string | undefined;
/** What was typed on the serial console since the last call ("" if nothing). */
export declare function readConsole(): string;
