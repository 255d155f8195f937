/** Shared by the relay's Node clients: requests with a bearer token, errors as RelayApiError. */
import https from 'node:https';
import { Readable } from 'node:stream';
import { SealbellError } from '../../src/errors.js';

export class RelayApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'RelayApiError';
  }
}

export function relayUrl(base: string, path: string): string {
  return new URL(path, base.endsWith('/') ? base : `${base}/`).href;
}

export const idPath = (id: string) => encodeURIComponent(id);

/**
 * CAs trusted for a relay, by origin (https://host:port): the one given at setup
 * (`sealbell phone setup --relay-ca`). Requests to such a relay trust that CA alone;
 * others use Node's store (fetch).
 */
const relayCas = new Map<string, string>();

export function trustRelayCa(relay: string, caPem: string): void {
  relayCas.set(new URL(relay).origin, caPem);
}

/** The CA registered for the relay `url` belongs to, if any (also for its ws/wss URLs). */
export function relayCaFor(url: string): string | undefined {
  return relayCas.get(new URL(url.replace(/^ws/, 'http')).origin);
}

/** fetch's answer over https.request with `ca` as the only trusted CA (Node's fetch takes no CA). */
function fetchWithCa(url: string, init: { method: string; headers: Record<string, string>; body?: string | Uint8Array }, ca: string): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: init.method, headers: init.headers, ca }, (res) => {
      const status = res.statusCode ?? 500;
      const headers = new Headers();
      for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) for (const one of [v].flat()) headers.append(k, one);
      const body = status === 204 || status === 304 || init.method === 'HEAD' ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>);
      if (!body) res.resume();
      resolve(new Response(body, { status, statusText: res.statusMessage, headers }));
    });
    req.on('error', (e: Error & { code?: string }) =>
      reject(new SealbellError('RELAY_TLS', `cannot reach the relay ${new URL(url).origin}: ${e.message}${e.code ? ` [${e.code}]` : ''}`)),
    );
    req.end(init.body);
  });
}

export interface RequestOptions {
  method?: string;
  token?: string;
  json?: unknown;
  body?: Uint8Array;
  headers?: Record<string, string>;
  /** safe to send twice (GET, HEAD, PUT and DELETE are): retried once on a reset connection */
  idempotent?: boolean;
}

const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'PUT', 'DELETE']);

/** A connection the server (or a busy machine's timeouts) closed under the request: worth one more try. */
function isReset(e: unknown): boolean {
  const code = (e as { cause?: { code?: string } }).cause?.code;
  return e instanceof TypeError && (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE');
}

/** fetch, once more on a reset connection when the request is idempotent (a keep-alive socket may die idle). */
export async function fetchRetryingReset(url: string, init: RequestInit, idempotent: boolean): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (e) {
    if (!idempotent || !isReset(e)) throw e;
    return fetch(url, init);
  }
}

/** Fetches and throws RelayApiError (with the relay's code) on anything but 2xx. */
export async function relayRequest(base: string, path: string, o: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...o.headers };
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  let body: string | Uint8Array | undefined;
  if (o.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(o.json);
  } else if (o.body) {
    headers['content-type'] = 'application/octet-stream';
    body = o.body;
  }
  const url = relayUrl(base, path);
  const ca = relayCaFor(url);
  const method = o.method ?? 'GET';
  const init = { method, headers, body };
  const res = ca ? await fetchWithCa(url, init, ca) : await fetchRetryingReset(url, init, o.idempotent ?? IDEMPOTENT_METHODS.has(method));
  if (!res.ok) {
    let code = 'HTTP_ERROR';
    let message = `${res.status} ${res.statusText}`;
    try {
      const e = ((await res.json()) as { error?: { code?: string; message?: string } }).error;
      if (e?.code) code = e.code;
      if (e?.message) message = e.message;
    } catch {
      // not a relay error body
    }
    throw new RelayApiError(res.status, code, message);
  }
  return res;
}

export async function relayJson<T>(base: string, path: string, o: RequestOptions = {}): Promise<T> {
  return (await (await relayRequest(base, path, o)).json()) as T;
}
