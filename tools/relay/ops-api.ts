/**
 * The operator's endpoints (docs/relay-operations.md):
 *
 *   GET /v1/health 200 {"ok":true} while the store works: the database
 *                  answers, the last group commit did not fail, a probe
 *                  file in the data folder can be written and flushed, and
 *                  (several relay processes) it still hears the others;
 *                  otherwise 503 STORE_FAILING. No authentication, no details.
 *   GET /metrics   Prometheus text (tools/relay/metrics.ts), for the admin
 *                  token only (Prometheus sends it as `authorization: Bearer`).
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RelayError } from './errors.js';
import { sendError, sendJson } from './http-api.js';
import type { GroupCommit } from './group-commit.js';
import type { RelayMetrics } from './metrics.js';
import type { RelayStoreApi } from './store-api.js';
import { bearer, sameHash, tokenHash } from './tokens.js';

const HEALTH = '/v1/health';
const METRICS = '/metrics';

export interface OpsContext {
  store: RelayStoreApi;
  commits: GroupCommit;
  metrics: RelayMetrics;
  /** with several relay processes: why this one no longer hears the others, if it does not */
  peers?: { failure: string | undefined };
  adminTokenSha256: string | undefined;
  log: (line: string) => void;
}

export class OpsApi {
  constructor(private readonly c: OpsContext) {}

  /** True when the request was for an operator's endpoint (and is answered). */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const p = (req.url ?? '').split('?')[0];
    if (p !== HEALTH && p !== METRICS) return false;
    void this.answer(p, req, res).catch((e: unknown) => sendError(res, e, this.c.log, req));
    return true;
  }

  private async answer(p: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET') throw new RelayError(405, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed here`);
    if (p === HEALTH) {
      const failure = await this.storeFailure();
      if (failure) {
        this.c.log(`relay: health check failing: ${failure}`);
        throw new RelayError(503, 'STORE_FAILING', 'the relay cannot store data');
      }
      return sendJson(res, 200, { ok: true });
    }
    if (this.c.adminTokenSha256 === undefined) throw new RelayError(403, 'ADMIN_DISABLED', 'this relay was started without an admin token');
    const t = bearer(req);
    if (t === undefined || !sameHash(tokenHash(t), this.c.adminTokenSha256)) throw new RelayError(401, 'UNAUTHENTICATED', 'metrics need the admin token');
    const text = this.c.metrics.render();
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
    res.end(text);
  }

  /** Why the store is failing, or undefined when it works. */
  private async storeFailure(): Promise<string | undefined> {
    try {
      await this.c.store.check();
    } catch (e) {
      return `database: ${(e as Error).message}`;
    }
    if (this.c.commits.lastError) return `last group commit: ${this.c.commits.lastError.message}`;
    if (this.c.peers?.failure) return `the other relay processes: ${this.c.peers.failure}`;
    const probe = path.join(this.c.store.dataDir, 'health-probe');
    try {
      const fh = await fsp.open(probe, 'w', 0o600);
      try {
        await fh.write(`${Date.now()}\n`);
        await fh.datasync();
      } finally {
        await fh.close();
      }
    } catch (e) {
      return `data folder: ${(e as Error).message}`;
    }
    return undefined;
  }
}
