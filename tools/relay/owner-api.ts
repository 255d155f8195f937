/**
 * The owner's requests about a doorbell's stored clips (docs/relay-api.md, "Retention and
 * deletion"; format: tools/owner-request.ts):
 *
 *   POST /v1/devices/{device}/owner-requests  {"request","signature"}: a retention or a deletion,
 *        signed by the account authority the doorbell's held roster names. No session: the
 *        signature is the permission (held to the per-address allowance, as roster updates).
 *   GET  /v1/devices/{device}/owner-requests  (phone) every request the relay accepted, in epoch
 *        order: what phones check a missing or expired clip against.
 *
 * Refusals: 400 REQUEST_FORMAT / REQUEST_DEVICE, 403 REQUEST_SIGNATURE, 409 REQUEST_REPLAYED
 * (an epoch not above every accepted one), 409 REQUEST_MISMATCH (a deletion naming another
 * manifest than the clip's), 409 NO_ROSTER, 404 UNKNOWN_DEVICE.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '../../src/bytes.js';
import { decodeManifest } from '../../src/clip/manifest.js';
import { SealbellError } from '../../src/errors.js';
import { parseRosterBundle } from '../../src/roster/bundle.js';
import { nextAuthority, parseRoster } from '../../src/roster/roster.js';
import { toWire, verifyOwnerRequest, type DeleteRequest, type SignedOwnerRequest } from '../owner-request.js';
import { RelayError, requireId } from './errors.js';
import { pathSegments, readJson, sendError, sendJson, sourceOf } from './http-api.js';
import type { ClipDeleter } from './deletions.js';
import type { RelayMetrics } from './metrics.js';
import type { PhoneAuth } from './phone-auth.js';
import type { RetentionSweeper } from './retention.js';
import type { SourceLimit } from './source-limit.js';
import type { ClipDeletion } from './store.js';
import type { RelayStoreApi } from './store-api.js';
import { bearer } from './tokens.js';

export interface OwnerApiContext {
  store: RelayStoreApi;
  deleter: ClipDeleter;
  retention: RetentionSweeper;
  phoneAuth: PhoneAuth;
  sourceLimit: SourceLimit;
  metrics: RelayMetrics;
  log: (line: string) => void;
  now: () => number;
  /** space was freed for the device's account: a doorbell refused for its quota may send again */
  freed: (device: string) => void;
}

const STATUS: Record<string, number> = { REQUEST_FORMAT: 400, REQUEST_DEVICE: 400, REQUEST_SIGNATURE: 403 };

export class OwnerApi {
  constructor(private readonly c: OwnerApiContext) {}

  /** True when the request was for this endpoint (and is answered). */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    let s: string[];
    try {
      s = pathSegments(req.url ?? '/');
    } catch {
      return false;
    }
    if (!(s.length === 4 && s[0] === 'v1' && s[1] === 'devices' && s[3] === 'owner-requests')) return false;
    void this.answer(s[2], req, res).catch((e: unknown) => sendError(res, e, this.c.log, req));
    return true;
  }

  private async answer(device: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    requireId(device, 'device id');
    if (req.method === 'GET') return this.list(device, req, res);
    if (req.method !== 'POST') throw new RelayError(405, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed here`);
    this.c.sourceLimit.take(sourceOf(req));
    if (!(await this.c.store.device(device))) throw new RelayError(404, 'UNKNOWN_DEVICE', 'no such device');
    const body = (await readJson(req, 64 * 1024)) as { request?: unknown; signature?: unknown } | null;
    if (typeof body?.request !== 'string') throw new RelayError(400, 'REQUEST_FORMAT', 'the body is {"request": the request text, "signature": its minisign signature}');
    const signed = await this.verify(device, utf8ToBytes(body.request), body.signature);
    const replayed = async () => {
      const last = await this.c.store.lastOwnerEpoch(device);
      return new RelayError(409, 'REQUEST_REPLAYED', `epoch ${signed.request.epoch} is not above the last request's (${last}): a replay, or sign it again with a higher epoch`);
    };
    if (signed.request.epoch <= (await this.c.store.lastOwnerEpoch(device))) throw await replayed();
    const row = { epoch: signed.request.epoch, type: signed.request.type, request: signed.bytes, signature: signed.signature, received: this.c.now() };
    if (signed.request.type === 'retention') {
      // The store checks the epoch again, in the transaction that records it (another relay process may have taken it).
      if (!(await this.c.deleter.delete(device, [], row, this.c.now()))) throw await replayed();
      const r = signed.request;
      this.c.log(`relay: device ${device}: the owner set retention epoch ${r.epoch}: ${r.maxAgeDays === null ? 'no age limit' : `${r.maxAgeDays} days`}, ${r.maxBytes === null ? 'no size limit' : `${r.maxBytes} bytes`}`);
      this.c.retention.sweep();
      await this.c.retention.done();
      this.c.freed(device);
      return sendJson(res, 200, { device, epoch: r.epoch, type: r.type, maxAgeDays: r.maxAgeDays, maxBytes: r.maxBytes });
    }
    const { deletions, unknown } = await this.deletions(device, signed.request);
    const freed = await this.c.deleter.delete(device, deletions, row, this.c.now());
    if (!freed) throw await replayed();
    const bytes = [...freed.values()].reduce((a, b) => a + b, 0);
    this.c.metrics.deleted('owner', deletions.length, bytes);
    this.c.log(`relay: device ${device}: the owner deleted ${deletions.length} clip(s), ${bytes} bytes (request epoch ${signed.request.epoch})`);
    this.c.freed(device);
    for (const d of deletions) {
      if (!(await this.c.store.clip(device, d.clip))?.segments) continue;
      this.c.retention.sweep(); // a batch landed meanwhile
      break;
    }
    sendJson(res, 200, { device, epoch: signed.request.epoch, type: 'delete', deleted: deletions.map((d) => d.clip), unknown, bytes });
  }

  /** Checks the signature with the authority the doorbell's held roster names (its handover key, else its signer). */
  private async verify(device: string, bytes: Uint8Array, signature: unknown): Promise<SignedOwnerRequest> {
    const held = await this.c.store.heldRoster(device);
    if (!held) throw new RelayError(409, 'NO_ROSTER', 'the doorbell has not told the relay its roster yet: no account authority to check the request with');
    const authority = nextAuthority(parseRoster(parseRosterBundle(new Uint8Array(held.bundle)).bytes), new Uint8Array(held.authority));
    try {
      return verifyOwnerRequest(bytes, signature, authority, device);
    } catch (e) {
      if (e instanceof SealbellError) throw new RelayError(STATUS[e.code] ?? 400, e.code, e.message);
      throw e;
    }
  }

  /** The clips the request deletes; each named manifest must be the one the relay holds. */
  private async deletions(device: string, r: DeleteRequest): Promise<{ deletions: ClipDeletion[]; unknown: string[] }> {
    const deletions: ClipDeletion[] = [];
    const unknown: string[] = [];
    for (const c of r.clips) {
      const row = await this.c.store.clip(device, c.clip);
      if (!row || row.state === 'deleted') {
        if (!row) unknown.push(c.clip);
        continue;
      }
      if (row.manifest && (row.state === 'verified' || row.state === 'expired')) {
        const m = decodeManifest(new Uint8Array(row.manifest));
        if (c.seq !== m.seq || c.manifest !== bytesToHex(sha256(new Uint8Array(row.manifest)))) {
          throw new RelayError(409, 'REQUEST_MISMATCH', `the request names another manifest for clip ${c.clip} than the one the relay holds (clip number ${m.seq})`);
        }
      }
      deletions.push({ clip: c.clip, state: 'deleted', reason: `owner ${r.epoch}`, keepManifest: false });
    }
    return { deletions, unknown };
  }

  private async list(device: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const s = await this.c.phoneAuth.session(bearer(req));
    if (!s) throw new RelayError(401, 'UNAUTHENTICATED', 'log in as a phone (POST …/auth/challenge, then …/auth/session)');
    if (s.device !== device) throw new RelayError(403, 'FORBIDDEN', 'this session is for another device');
    const rows = await this.c.store.ownerRequests(device);
    const requests = rows.map((r) => ({ ...toWire({ bytes: new Uint8Array(r.request), signature: r.signature }), received: r.received }));
    sendJson(res, 200, { device, epoch: rows.length ? rows[rows.length - 1].epoch : 0, requests });
  }
}
