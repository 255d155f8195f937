/**
 * The uplink's connection to the relay on Moddable: the project's WebSocket
 * client (ws-client.ts) over the SDK's `socket`, or `securesocket` for a wss://
 * relay, with the device credential as a bearer token on the upgrade request.
 */
import Timer from 'timer';
import Logical from 'logical';
import type { Random } from '../../src/host.js';
import type { UplinkConnect } from '../../src/uplink/socket.js';
import { WsClient } from '../../src/net/ws-client.js';
import { openTcp } from './tcp-stream.js';
import type { UplinkEndpoint } from '../../src/uplink/relay-url.js';

/** `route`: where the platform's network reaches a relay host (the QEMU board: qemu-route.ts); default as given. `log`: TLS handshake times. */
export function moddableUplinkConnect(
  random: Random,
  route: (host: string) => string = (host) => host,
  log?: (line: string) => void,
): (endpoint: UplinkEndpoint, credential: string, relayCa?: Uint8Array) => UplinkConnect {
  return (endpoint, credential, relayCa) => (events) =>
    new WsClient(
      {
        path: endpoint.path,
        hostHeader: endpoint.hostHeader,
        headers: { Authorization: `Bearer ${credential}` },
        random,
        defer: (fn) => void Timer.set(fn, 0),
        // Masking a 64 KiB chunk natively rather than byte by byte in XS.
        xor: (bytes, key) => void (bytes.length && Logical.xor(bytes, key)),
      },
      events,
      openTcp({ host: route(endpoint.host), port: endpoint.port, secure: endpoint.secure, ca: relayCa, log }),
    );
}
