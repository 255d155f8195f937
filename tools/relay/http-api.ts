/**
 * The relay's HTTP endpoints (docs/relay-api.md, "HTTP"). Every refusal is a
 * RelayError: a 4xx status and a stable code in a JSON body. Path segments are
 * decoded one by one and ids must match the manifest id pattern, so `..`,
 * `a%2Fb` and the like are refused before they reach storage.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { decodePublicKey } from '../../src/minisign.js';
import { deviceIdOf } from '../../src/clip/signed-manifest.js';
import { decodeManifest } from '../../src/clip/manifest.js';
import { SealbellError } from '../../src/errors.js';
import { RelayError, requireId } from './errors.js';
import { parsePhoneKeyList, type PublishedPhoneKeys } from './phone-keys.js';
import type { PhoneAuth } from './phone-auth.js';
import { refusalLine } from './log.js';
import type { RelayRosters } from './rosters.js';
import type { SourceLimit } from './source-limit.js';
import type { RelayUpdates } from './updates.js';
import type { RelaySettings } from './settings.js';
import type { ClipRow, DeviceRow } from './store.js';
import type { RelayStoreApi } from './store-api.js';
import { bearer, isToken, sameHash, tokenHash } from './tokens.js';
import type { PhoneSession } from './phone-auth.js';
import type { RelayPush } from './push.js';

export interface RelayLimits {
  /** JSON request bodies */
  maxJsonBytes: number;
  /** escrow and roster blobs */
  maxBlobBytes: number;
  /** an update bundle: the largest app slot's image (4 MiB) and its signed documents */
  maxUpdateBytes: number;
  /** segments one clip may have (× 64 KiB) */
  maxSegmentsPerClip: number;
  /** segments a device may have in flight (advertised in hello) */
  window: number;
  /** requests without a login (challenges, escrow, keys…) one source address may make at once… */
  openBurst: number;
  /** …and per second after that */
  openPerSecond: number;
  /** open connections in all, and from one source address */
  maxConnections: number;
  maxConnectionsPerSource: number;
  /** ms to send a request's headers; ms to send the whole request; ms a connection may sit idle */
  headersTimeout: number;
  requestTimeout: number;
  idleTimeout: number;
  /** segments all devices together should have in flight: shared out as each device's window (device-session.ts) */
  inFlightBudget: number;
}

export const DEFAULT_LIMITS: RelayLimits = {
  maxJsonBytes: 64 * 1024,
  maxBlobBytes: 64 * 1024,
  maxUpdateBytes: 4 * 1024 * 1024 + 16 * 1024,
  maxSegmentsPerClip: 16_384, // 1 GiB: ~15 minutes of the densest video the camera makes
  window: 16,
  openBurst: 200,
  openPerSecond: 20,
  maxConnections: 2048,
  maxConnectionsPerSource: 128,
  headersTimeout: 10_000,
  requestTimeout: 30_000,
  idleTimeout: 60_000,
  inFlightBudget: 128, // 8 MiB
};

export interface HttpContext {
  store: RelayStoreApi;
  phoneAuth: PhoneAuth;
  phoneKeys: PublishedPhoneKeys;
  rosters: RelayRosters;
  updates: RelayUpdates;
  settings: RelaySettings;
  /** Web Push subscriptions and VAPID (tools/relay/push.ts) */
  push: RelayPush;
  limits: RelayLimits;
  /** allowances per source address for the endpoints that need no login */
  sourceLimit: SourceLimit;
  /** a device's allowed phones changed: end what removed phones still hold */
  phonesChanged: (device: string) => Promise<void>;
  /** SHA-256 of the admin token; undefined disables the admin endpoints */
  adminTokenSha256: string | undefined;
  log: (line: string) => void;
}

export const ROSTER_EPOCH_HEADER = 'sealbell-roster-epoch';
/** the epoch the device holds (the roster returned may be a newer pending update) */
export const ROSTER_HELD_HEADER = 'sealbell-roster-held';
export const CLIP_STATE_HEADER = 'sealbell-clip-state';
const AGE_MAGIC = 'age-encryption.org/v1\n';

/** Splits a raw request path into decoded segments (no normalisation: `..` stays a segment and is refused as an id). */
export function pathSegments(url: string): string[] {
  const raw = url.split('?')[0];
  if (!raw.startsWith('/')) throw new RelayError(400, 'BAD_REQUEST', 'malformed request path');
  return raw
    .slice(1)
    .split('/')
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        throw new RelayError(400, 'BAD_REQUEST', 'malformed percent-encoding in the path');
      }
    });
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, e: unknown, log: (line: string) => void, req?: IncomingMessage): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // A refused request whose body was not read: do not reuse the connection for the next one.
  if (req && !req.complete) res.setHeader('connection', 'close');
  if (e instanceof RelayError) {
    log(refusalLine(e, req));
    return sendJson(res, e.status, { error: { code: e.code, message: e.message } });
  }
  log(`relay: internal error: ${(e as Error).message}`);
  sendJson(res, 500, { error: { code: 'INTERNAL', message: 'the relay failed to handle the request' } });
}

function sendBytes(res: ServerResponse, bytes: Uint8Array, type: string, headers: Record<string, string> = {}): void {
  res.writeHead(200, { 'content-type': type, 'content-length': bytes.length, 'cache-control': 'no-store', ...headers });
  res.end(bytes);
}

/** The request body, refused with 413 beyond `limit` bytes. */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limit) throw new RelayError(413, 'TOO_LARGE', `the body may be at most ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new RelayError(413, 'TOO_LARGE', `the body may be at most ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const body = await readBody(req, limit);
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new RelayError(400, 'BAD_REQUEST', 'the body must be JSON');
  }
}

/** The client's address: what per-source limits count by. */
export const sourceOf = (req: IncomingMessage): string => req.socket.remoteAddress ?? '';

type Handler = (req: IncomingMessage, res: ServerResponse, params: string[]) => Promise<void> | void;
interface Route {
  method: string;
  /** answered without any login or token: held to the source's allowance */
  open?: boolean;
  /** path segments; ':device', ':clip', ':account' are ids */
  pattern: string[];
  handler: Handler;
}

export class HttpApi {
  private readonly routes: Route[];

  constructor(private readonly c: HttpContext) {
    const r = (method: string, path: string, handler: Handler, open = false): Route => ({ method, pattern: path.split('/').slice(1), handler, open });
    this.routes = [
      r('POST', '/v1/devices', (q, res) => this.registerDevice(q, res)),
      r('PUT', '/v1/devices/:device/phones', (q, res, [d]) => this.publishPhones(q, res, d)),
      r('POST', '/v1/devices/:device/auth/challenge', (q, res, [d]) => this.challenge(q, res, d), true),
      r('POST', '/v1/devices/:device/auth/session', (q, res, [d]) => this.session(q, res, d), true),
      r('GET', '/v1/devices/:device/clips', (q, res, [d]) => this.listClips(q, res, d)),
      r('GET', '/v1/devices/:device/clips/:clip', (q, res, [d, c]) => this.clipInfo(q, res, d, c)),
      r('GET', '/v1/devices/:device/clips/:clip/age', (q, res, [d, c]) => this.clipAge(q, res, d, c)),
      r('GET', '/v1/devices/:device/clips/:clip/manifest', (q, res, [d, c]) => this.clipManifest(q, res, d, c, 'manifest')),
      r('GET', '/v1/devices/:device/clips/:clip/signature', (q, res, [d, c]) => this.clipManifest(q, res, d, c, 'signature')),
      r('GET', '/v1/devices/:device/clips/:clip/event', (q, res, [d, c]) => this.clipEvent(q, res, d, c)),
      r('GET', '/v1/devices/:device/roster', (q, res, [d]) => this.getRoster(q, res, d)),
      r('PUT', '/v1/devices/:device/roster', (q, res, [d]) => this.putRoster(q, res, d), true), // a signature check each: held to the allowance
      r('GET', '/v1/devices/:device/roster/held', (q, res, [d]) => this.getHeldRoster(q, res, d)),
      r('PUT', '/v1/devices/:device/update', (q, res, [d]) => this.putUpdate(q, res, d), true), // signature checks: held to the allowance
      r('PUT', '/v1/devices/:device/settings', (q, res, [d]) => this.putSettings(q, res, d), true), // a signature check each: held to the allowance
      r('GET', '/v1/devices/:device/settings', (q, res, [d]) => this.getSettings(q, res, d)),
      r('GET', '/v1/devices/:device/firmware', (q, res, [d]) => this.firmware(q, res, d)),
      r('GET', '/v1/devices/:device/key', (_q, res, [d]) => this.deviceKey(res, d), true),
      r('GET', '/v1/push/key', (_q, res) => sendJson(res, 200, { publicKey: this.c.push.vapid.publicKey }), true),
      r('POST', '/v1/devices/:device/push', (q, res, [d]) => this.subscribePush(q, res, d)),
      r('DELETE', '/v1/devices/:device/push', (q, res, [d]) => this.unsubscribePush(q, res, d)),
      r('GET', '/v1/devices/:device/events/:ref', (q, res, [d, e]) => this.event(q, res, d, e)),
      r('GET', '/v1/authorities/:authority/devices', (_q, res, [a]) => this.authorityDevices(res, a), true),
      r('GET', '/v1/accounts/:account/escrow', (q, res, [a]) => this.getEscrow(res, a), true),
      r('PUT', '/v1/accounts/:account/escrow', (q, res, [a]) => this.putEscrow(q, res, a), true), // the first write needs no token
      r('DELETE', '/v1/accounts/:account/escrow', (q, res, [a]) => this.deleteEscrow(q, res, a), true),
    ];
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const segments = pathSegments(req.url ?? '/');
      let pathMatched = false;
      for (const route of this.routes) {
        const params = match(route.pattern, segments);
        if (!params) continue;
        pathMatched = true;
        if (route.method !== req.method) continue;
        if (route.open) this.c.sourceLimit.take(sourceOf(req));
        // Ids are checked before the first await, so a refusal is answered at once (before
        // the server parses whatever else the client sent on the connection).
        route.pattern.filter((p) => p.startsWith(':')).forEach((p, i) => {
          if (p !== ':authority') requireId(params[i], `${p.slice(1)} id`);
        });
        await route.handler(req, res, params);
        return;
      }
      throw pathMatched ? new RelayError(405, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed here`) : new RelayError(404, 'NOT_FOUND', 'no such endpoint');
    } catch (e) {
      sendError(res, e, this.c.log, req);
    }
  }

  // --- authentication ----------------------------------------------------------------

  private isAdmin(req: IncomingMessage): boolean {
    const t = bearer(req);
    return t !== undefined && this.c.adminTokenSha256 !== undefined && sameHash(tokenHash(t), this.c.adminTokenSha256);
  }

  /** The device whose credential the request carries, if any. */
  async authDevice(req: IncomingMessage): Promise<DeviceRow | undefined> {
    const t = bearer(req);
    return t === undefined ? undefined : await this.c.store.deviceByCredential(tokenHash(t));
  }

  /** A phone session for `device`, or 401/403. */
  private async requirePhone(req: IncomingMessage, device: string): Promise<PhoneSession> {
    const s = await this.c.phoneAuth.session(bearer(req));
    if (!s) throw new RelayError(401, 'UNAUTHENTICATED', 'log in as a phone (POST …/auth/challenge, then …/auth/session)');
    if (s.device !== device) throw new RelayError(403, 'FORBIDDEN', 'this session is for another device');
    return s;
  }

  // --- push and event notices (docs/event-format.md) -----------------------------------

  private async subscribePush(req: IncomingMessage, res: ServerResponse, device: string): Promise<void> {
    requireId(device, 'device id');
    const s = await this.requirePhone(req, device);
    const body = await readJson(req, this.c.limits.maxJsonBytes);
    await this.c.push.subscribe(device, s.publicKey, body, Date.now());
    sendJson(res, 201, { device, subscribed: true });
  }

  private async unsubscribePush(req: IncomingMessage, res: ServerResponse, device: string): Promise<void> {
    requireId(device, 'device id');
    const s = await this.requirePhone(req, device);
    await this.c.push.unsubscribe(device, s.publicKey, await readJson(req, this.c.limits.maxJsonBytes));
    sendJson(res, 200, { device, subscribed: false });
  }

  /** The sealed event a push names, for the roster's phones: ciphertext and the device's signature. */
  private async event(req: IncomingMessage, res: ServerResponse, device: string, ref: string): Promise<void> {
    requireId(device, 'device id');
    requireId(ref, 'event reference');
    await this.requirePhone(req, device);
    const row = await this.c.store.eventByRef(device, ref);
    if (!row) throw new RelayError(404, 'UNKNOWN_EVENT', 'no such event for this device');
    sendJson(res, 200, { device, ref, event: Buffer.from(row.sealed).toString('base64'), signature: row.signature });
  }

  /** The event notice of one clip (its poster, trigger and time: what a timeline shows), as `event` answers. */
  private async clipEvent(req: IncomingMessage, res: ServerResponse, device: string, clip: string): Promise<void> {
    requireId(device, 'device id');
    requireId(clip, 'clip id');
    await this.requirePhone(req, device);
    const row = await this.c.store.eventByClip(device, clip);
    if (!row) throw new RelayError(404, 'UNKNOWN_EVENT', 'this clip has no event notice');
    sendJson(res, 200, { device, ref: row.ref, event: Buffer.from(row.sealed).toString('base64'), signature: row.signature });
  }

  private async requireKnownDevice(device: string): Promise<DeviceRow> {
    const d = await this.c.store.device(device);
    if (!d) throw new RelayError(404, 'UNKNOWN_DEVICE', 'no such device');
    return d;
  }

  // --- devices and phones --------------------------------------------------------------

  private async registerDevice(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.c.adminTokenSha256 === undefined) throw new RelayError(403, 'ADMIN_DISABLED', 'this relay was started without an admin token');
    if (!this.isAdmin(req)) throw new RelayError(401, 'UNAUTHENTICATED', 'registering a device needs the admin token');
    const body = (await readJson(req, this.c.limits.maxJsonBytes)) as { credential?: unknown; publicKey?: unknown; endorsement?: unknown } | null;
    if (!isToken(body?.credential)) throw new RelayError(400, 'BAD_REQUEST', 'credential must be a token of 32–128 base64 or base64url characters');
    if (typeof body?.publicKey !== 'string' || body.publicKey.length > 1024) throw new RelayError(400, 'BAD_REQUEST', 'publicKey must be minisign public key text');
    if (body.endorsement !== undefined && (typeof body.endorsement !== 'string' || body.endorsement.length > 1024)) {
      throw new RelayError(400, 'BAD_REQUEST', 'endorsement must be minisign signature text');
    }
    let id: string;
    try {
      id = deviceIdOf(decodePublicKey(body.publicKey));
    } catch (e) {
      throw new RelayError(400, 'BAD_REQUEST', `publicKey: ${(e as Error).message}`);
    }
    if (!(await this.c.store.addDevice(id, tokenHash(body.credential), body.publicKey, Date.now()))) {
      throw new RelayError(409, 'DEVICE_EXISTS', 'the device (or that credential) is already registered');
    }
    // Opaque to the relay: phones check it with the account authority (docs/relay-api.md).
    if (typeof body.endorsement === 'string') await this.c.store.setEndorsement(id, body.endorsement);
    this.c.log(`relay: device ${id} registered`);
    sendJson(res, 201, { device: id });
  }

  private async publishPhones(req: IncomingMessage, res: ServerResponse, device: string): Promise<void> {
    requireId(device, 'device id');
    const auth = await this.authDevice(req);
    if (!this.isAdmin(req) && auth?.id !== device) {
      throw new RelayError(auth ? 403 : 401, auth ? 'FORBIDDEN' : 'UNAUTHENTICATED', 'publishing phone keys needs this device\'s credential (or the admin token)');
    }
    await this.requireKnownDevice(device);
    if (await this.c.store.heldRoster(device)) throw new RelayError(409, 'ROSTER_MANAGED', 'this device has a signed roster: its phones are the ones allowed');
    const keys = parsePhoneKeyList(await readJson(req, this.c.limits.maxJsonBytes));
    await this.c.phoneKeys.publish(device, keys);
    await this.c.phonesChanged(device);
    sendJson(res, 200, { device, phones: keys.length });
  }

  private async challenge(req: IncomingMessage, res: ServerResponse, device: string): Promise<void> {
    requireId(device, 'device id');
    await this.requireKnownDevice(device);
    sendJson(res, 200, await this.c.phoneAuth.challenge(device, sourceOf(req)));
  }

  private async session(req: IncomingMessage, res: ServerResponse, device: string): Promise<void> {
    requireId(device, 'device id');
    await this.requireKnownDevice(device);
    const body = await readJson(req, this.c.limits.maxJsonBytes);
    sendJson(res, 200, await this.c.phoneAuth.login(device, body));
  }

  // --- clips -----------------------------------------------------------------------------

  private async clipRow(req: IncomingMessage, device: string, clip: string): Promise<ClipRow> {
    requireId(device, 'device id');
    requireId(clip, 'clip id');
    await this.requirePhone(req, device);
    const row = await this.c.store.clip(device, clip);
    if (!row) throw new RelayError(404, 'UNKNOWN_CLIP', 'no such clip');
    return row;
  }

  private async listClips(req: IncomingMessage, res: ServerResponse, device: string): Promise<void> {
    requireId(device, 'device id');
    await this.requirePhone(req, device);
    sendJson(res, 200, { device, clips: (await this.c.store.listClips(device)).map(clipInfo) });
  }

  private async clipInfo(req: IncomingMessage, res: ServerResponse, device: string, clip: string): Promise<void> {
    sendJson(res, 200, clipInfo(await this.clipRow(req, device, clip)));
  }

  /** The clip's .age bytes: whole when verified, else the segments stored so far up to the first gap. */
  private async clipAge(req: IncomingMessage, res: ServerResponse, device: string, clip: string): Promise<void> {
    const row = await this.clipRow(req, device, clip);
    const segs = await this.c.store.contiguousSegments(device, clip);
    const size = segs.reduce((n, s) => n + s.size, 0);
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': size,
      'cache-control': 'no-store',
      [CLIP_STATE_HEADER]: row.state,
    });
    const store = this.c.store;
    Readable.from(
      (async function* () {
        for (const s of segs) yield await store.readSegment(device, clip, s.idx);
      })(),
    ).pipe(res);
  }

  private async clipManifest(req: IncomingMessage, res: ServerResponse, device: string, clip: string, what: 'manifest' | 'signature'): Promise<void> {
    const row = await this.clipRow(req, device, clip);
    // An expired clip keeps its signed manifest: phones check the expiry against the owner's retention.
    if ((row.state !== 'verified' && row.state !== 'expired') || !row.manifest || !row.signature) {
      throw new RelayError(404, 'NO_MANIFEST', `the clip is ${row.state}: it has no verified manifest`);
    }
    if (what === 'manifest') sendBytes(res, row.manifest, 'application/json');
    else sendBytes(res, Buffer.from(row.signature, 'utf8'), 'text/plain; charset=utf-8');
  }

  // --- roster and escrow -------------------------------------------------------------------

  private async getRoster(req: IncomingMessage, res: ServerResponse, device: string): Promise<void> {
    requireId(device, 'device id');
    if ((await this.authDevice(req))?.id !== device) await this.requirePhone(req, device);
    const r = await this.c.rosters.current(device);
    if (!r) throw new RelayError(404, 'NO_ROSTER', 'the doorbell has not told the relay its roster yet');
    sendBytes(res, r.bundle, 'application/octet-stream', { [ROSTER_EPOCH_HEADER]: String(r.epoch), [ROSTER_HELD_HEADER]: String(r.heldEpoch) });
  }

  /** What the device holds, its acknowledgement and the pending run (phones check the acknowledgement). */
  private async getHeldRoster(req: IncomingMessage, res: ServerResponse, device: string): Promise<void> {
    requireId(device, 'device id');
    await this.requirePhone(req, device);
    const v = await this.c.rosters.heldView(device);
    if (!v) throw new RelayError(404, 'NO_ROSTER', 'the doorbell has not told the relay its roster yet');
    sendJson(res, 200, v);
  }

  /** No session needed: the account authority's signature on the update is the permission. */
  private async putRoster(req: IncomingMessage, res: ServerResponse, device: string): Promise<void> {
    requireId(device, 'device id');
    await this.requireKnownDevice(device);
    const blob = await readBody(req, this.c.limits.maxBlobBytes);
    if (blob.length === 0) throw new RelayError(400, 'BAD_REQUEST', 'the roster blob is empty');
    const epoch = await this.c.rosters.publish(device, new Uint8Array(blob), Date.now());
    this.c.log(`relay: device ${device}: roster update epoch ${epoch} published`);
    sendJson(res, 200, { device, epoch });
  }

  /** No session needed, as for rosters: the account authority's signature on the update is the permission. */
  private async putUpdate(req: IncomingMessage, res: ServerResponse, device: string): Promise<void> {
    requireId(device, 'device id');
    await this.requireKnownDevice(device);
    const blob = await readBody(req, this.c.limits.maxUpdateBytes);
    let status;
    try {
      status = await this.c.updates.publish(device, new Uint8Array(blob), Date.now());
    } catch (e) {
      if (e instanceof SealbellError) throw new RelayError(e.code === 'NO_ROSTER' ? 409 : e.code === 'UPDATE_FORMAT' ? 400 : 403, e.code, e.message);
      throw e;
    }
    sendJson(res, 200, { device, ...status });
  }

  /** No session needed, as for rosters: the account authority's signature on the settings is the permission. */
  private async putSettings(req: IncomingMessage, res: ServerResponse, device: string): Promise<void> {
    requireId(device, 'device id');
    await this.requireKnownDevice(device);
    const blob = await readBody(req, this.c.limits.maxBlobBytes);
    if (blob.length === 0) throw new RelayError(400, 'BAD_REQUEST', 'the settings bundle is empty');
    const epoch = await this.c.settings.publish(device, new Uint8Array(blob), Date.now());
    sendJson(res, 200, { device, epoch });
  }

  /** What the doorbell says it runs (with its acknowledgement), what waits, the last refusal: for the owner's phones. */
  private async getSettings(req: IncomingMessage, res: ServerResponse, device: string): Promise<void> {
    requireId(device, 'device id');
    await this.requirePhone(req, device);
    sendJson(res, 200, await this.c.settings.view(device));
  }

  /** What the doorbell runs (its last report) and the state of its update, for the owner's phones. */
  private async firmware(req: IncomingMessage, res: ServerResponse, device: string): Promise<void> {
    requireId(device, 'device id');
    await this.requirePhone(req, device);
    const firmware = await this.c.updates.firmware(device);
    const update = await this.c.updates.status(device);
    sendJson(res, 200, { device, ...(firmware ? { firmware } : {}), ...(update ? { update } : {}) });
  }

  private async deviceKey(res: ServerResponse, device: string): Promise<void> {
    requireId(device, 'device id');
    const row = await this.requireKnownDevice(device);
    const endorsement = await this.c.store.endorsement(device);
    sendJson(res, 200, { device, publicKey: row.public_key, ...(endorsement ? { endorsement } : {}) });
  }

  private async authorityDevices(res: ServerResponse, authority: string): Promise<void> {
    if (!/^[0-9A-F]{16}$/.test(authority)) throw new RelayError(400, 'BAD_ID', 'an authority id is 16 upper-case hex digits');
    sendJson(res, 200, { authority, devices: await this.c.store.devicesOfAuthority(authority) });
  }

  private async getEscrow(res: ServerResponse, account: string): Promise<void> {
    requireId(account, 'account id');
    const e = await this.c.store.escrow(account);
    if (!e) throw new RelayError(404, 'NO_ESCROW', 'no escrow for this account');
    sendBytes(res, e.blob, 'application/octet-stream');
  }

  /** The account's write token drops its escrow (a revocation moved the account to a new passphrase). */
  private async deleteEscrow(req: IncomingMessage, res: ServerResponse, account: string): Promise<void> {
    requireId(account, 'account id');
    const token = bearer(req);
    if (!token) throw new RelayError(401, 'UNAUTHENTICATED', 'dropping an escrow needs the account\'s write token as a bearer token');
    const existing = await this.c.store.escrow(account);
    if (!existing) throw new RelayError(404, 'NO_ESCROW', 'no escrow for this account');
    if (!sameHash(tokenHash(token), existing.write_sha256)) throw new RelayError(403, 'FORBIDDEN', 'wrong write token for this account');
    await this.c.store.deleteEscrow(account);
    sendJson(res, 200, { account, deleted: true });
  }

  /** The first PUT sets the account's write token; later PUTs must present it. */
  private async putEscrow(req: IncomingMessage, res: ServerResponse, account: string): Promise<void> {
    requireId(account, 'account id');
    const token = bearer(req);
    if (!token) throw new RelayError(401, 'UNAUTHENTICATED', 'an escrow write needs the account\'s write token as a bearer token');
    const existing = await this.c.store.escrow(account);
    if (existing && !sameHash(tokenHash(token), existing.write_sha256)) throw new RelayError(403, 'FORBIDDEN', 'wrong write token for this account');
    const blob = await readBody(req, this.c.limits.maxBlobBytes);
    // Only an age file with a passphrase (scrypt) recipient: a client bug can never park plaintext keys here.
    if (!blob.subarray(0, AGE_MAGIC.length + 10).toString('latin1').startsWith(`${AGE_MAGIC}-> scrypt `)) {
      throw new RelayError(415, 'NOT_AGE_SCRYPT', 'the escrow must be an age file encrypted to a passphrase (scrypt recipient)');
    }
    await this.c.store.putEscrow(account, existing?.write_sha256 ?? tokenHash(token), blob, Date.now());
    sendJson(res, existing ? 200 : 201, { account, bytes: blob.length });
  }
}

function match(pattern: string[], segments: string[]): string[] | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: string[] = [];
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i].startsWith(':')) params.push(segments[i]);
    else if (pattern[i] !== segments[i]) return undefined;
  }
  return params;
}

export interface ClipInfo {
  clip: string;
  /** only `verified` clips are whole and checked against their signed manifest */
  state: ClipRow['state'];
  reason?: string;
  epoch: number | null;
  segments: number;
  bytes: number;
  /** when the relay first heard of it, ms since the Unix epoch */
  received: number;
  /** from the verified manifest */
  start?: number;
  end?: number;
  frames?: number;
  dropped?: string[];
}

function clipInfo(row: ClipRow): ClipInfo {
  const info: ClipInfo = { clip: row.clip, state: row.state, epoch: row.epoch, segments: row.segments, bytes: row.bytes, received: row.created };
  if (row.reason) info.reason = row.reason;
  if (row.state === 'verified' && row.manifest) {
    try {
      const m = decodeManifest(new Uint8Array(row.manifest));
      Object.assign(info, { start: m.start, end: m.end, frames: m.frames, dropped: m.dropped });
    } catch (e) {
      if (!(e instanceof SealbellError)) throw e;
    }
  }
  return info;
}
