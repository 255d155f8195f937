/** The phone's carrier for setup messages in the simulator: POST /setup to the doorbell's endpoint. */
import { MAX_MESSAGE_BYTES } from '../../src/setup/protocol.js';
import type { SetupTransport } from './setup-client.js';

export function httpSetupTransport(url: string, timeoutMs = 30_000): SetupTransport {
  return async (message) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: message,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = new Uint8Array(await res.arrayBuffer());
    // Protocol errors come back as ERROR messages; anything else is a transport failure.
    if (res.headers.get('content-type') !== 'application/octet-stream') throw new Error(`HTTP ${res.status} without a setup message`);
    if (body.length > MAX_MESSAGE_BYTES) throw new Error('the reply is larger than any setup message');
    return body;
  };
}
