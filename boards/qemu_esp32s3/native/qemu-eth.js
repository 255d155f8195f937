/*
 * The QEMU board's Ethernet (OpenCores MAC) and serial console input (qemu-eth.c).
 */
export function start() @ "xs_sealbell_qemu_eth_start";
export function address() @ "xs_sealbell_qemu_eth_address";
export function readConsole() @ "xs_sealbell_qemu_console_read";
