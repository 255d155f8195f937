/** Shared by the relay's Node clients: requests with a bearer token, errors as RelayApiError. */
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
  const method = o.method ?? 'GET';
  const res = await fetchRetryingReset(relayUrl(base, path), { method, headers, body }, o.idempotent ?? IDEMPOTENT_METHODS.has(method));
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
