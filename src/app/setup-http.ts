/**
 * The setup endpoint's HTTP face, as hosts/node/setup-endpoint.ts speaks it:
 * POST /setup with one setup message as the body, the reply message as the
 * response body (application/octet-stream). It only carries bytes; every
 * decision is the core's SetupMode (docs/setup-protocol.md).
 *
 * The status says who is at fault, for tools that look only at it (curl, a
 * browser, a probe): 200 for a reply, 400 for an ERROR about the request (bad
 * bytes, wrong order, setup closed, …), 413 for one too large, 500 for an ERROR
 * about the doorbell itself; the body is the ERROR message in every case.
 */
import type { SetupMode, SetupReply } from '../setup/setup-mode.js';
import { encodeMessage } from '../setup/messages.js';
import { MAX_MESSAGE_BYTES } from '../setup/protocol.js';
import type { SealbellError } from '../errors.js';
import type { HttpHandler, HttpResponse } from '../net/http-server.js';

export const SETUP_PATH = '/setup';

export interface SetupHttpOptions {
  mode: SetupMode;
  /** the device clock, ms */
  now: () => number;
  /** every reply, e.g. to log errors and notice completion */
  onReply?: (r: SetupReply) => void;
  /** SetupMode threw, which it never should for any input: logged by the host (the client gets a 500) */
  onFailure?: (e: unknown) => void;
}

/** ERROR codes that are the doorbell's own failure, not the request's. */
const DEVICE_FAULTS = new Set(['SETUP_INTERNAL', 'SETUP_STORE', 'SETUP_NOT_PROVISIONED', 'SETUP_VERIFIER']);

export function errorStatus(error: SealbellError): number {
  if (error.code === 'SETUP_TOO_LARGE') return 413;
  return DEVICE_FAULTS.has(error.code) ? 500 : 400;
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
      let r: SetupReply;
      try {
        r = o.mode.receive(body, o.now());
      } catch (e) {
        o.onFailure?.(e);
        return { status: 500, headers: { 'cache-control': 'no-store' } };
      }
      o.onReply?.(r);
      return octets(r.reply, r.error ? errorStatus(r.error) : 200);
    },
  };
}
