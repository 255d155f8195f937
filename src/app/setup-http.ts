/**
 * The setup endpoint's HTTP face, as hosts/node/setup-endpoint.ts speaks it:
 * POST /setup with one setup message as the body, the reply message as the
 * response body (application/octet-stream). It only carries bytes; every
 * decision is the core's SetupMode (docs/setup-protocol.md).
 */
import type { SetupMode, SetupReply } from '../setup/setup-mode.js';
import { encodeMessage } from '../setup/messages.js';
import { MAX_MESSAGE_BYTES } from '../setup/protocol.js';
import type { HttpHandler, HttpResponse } from '../net/http-server.js';

export const SETUP_PATH = '/setup';

export interface SetupHttpOptions {
  mode: SetupMode;
  /** the device clock, ms */
  now: () => number;
  /** every reply, e.g. to log errors and notice completion */
  onReply?: (r: SetupReply) => void;
}

const octets = (body: Uint8Array, status = 200): HttpResponse => ({
  status,
  headers: { 'content-type': 'application/octet-stream', 'cache-control': 'no-store' },
  body,
});

export function setupHttpHandler(o: SetupHttpOptions): HttpHandler {
  return {
    check(head) {
      if (head.path !== SETUP_PATH) return { status: 404 };
      if (head.method !== 'POST') return { status: 405, headers: { allow: 'POST' } };
      if (head.contentLength > MAX_MESSAGE_BYTES) {
        const message = `setup message is over the ${MAX_MESSAGE_BYTES}-byte limit`;
        return octets(encodeMessage({ type: 'ERROR', code: 'SETUP_TOO_LARGE', message }), 413);
      }
      return undefined;
    },
    respond(_head, body) {
      const r = o.mode.receive(body, o.now());
      o.onReply?.(r);
      return octets(r.reply);
    },
  };
}
