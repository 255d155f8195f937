/**
 * QEMU's user network (slirp) reaches the host's loopback at 10.0.2.2; the guest's own
 * 127.0.0.1 is itself. A relay given at setup as 127.0.0.1 or localhost (the relay on the
 * host that runs QEMU, as tools/qemu-e2e.ts starts it) is therefore dialled at 10.0.2.2 on
 * the QEMU board; every other host is dialled as given. The Host header stays as given.
 */
export const QEMU_HOST_LOOPBACK = '10.0.2.2';

export function qemuRelayHost(host: string): string {
  return host === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(host) ? QEMU_HOST_LOOPBACK : host;
}
