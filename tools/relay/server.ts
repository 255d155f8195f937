/**
 * The sealbell relay: HTTP and WebSocket on one port (docs/relay-api.md).
 * Devices stream sealed segments up over /v1/uplink; phones log in with a
 * signed challenge, list and download clips, and follow new ones over
 * /v1/devices/<id>/follow. It stores ciphertext and signed metadata only.
 *
 *   const relay = await startRelay({ port: 0, host: '127.0.0.1', dataDir, adminToken });
 *   … relay.url …
 *   await relay.close();
 */
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { MAX_EVENT_FRAME_BYTES, MAX_FRAME_BYTES } from '../../src/uplink/wire.js';
import { RelayPush } from './push.js';
import { ClipEvents } from './clip-events.js';
import { CLOSE, DeviceSession, sharedWindow } from './device-session.js';
import { RelayError, requireId } from './errors.js';
import { DEFAULT_LIMITS, HttpApi, pathSegments, type RelayLimits } from './http-api.js';
import { handleWebApp, type WebAppSource } from '../web/serve.js';
import { PhoneAuth } from './phone-auth.js';
import { LiveHub, type LiveStats } from './live.js';
import { PublishedPhoneKeys } from './phone-keys.js';
import { RelayRosters } from './rosters.js';
import { RelayUpdates } from './updates.js';
import { RelaySettings } from './settings.js';
import { SqliteRelayStore } from './sqlite-store.js';
import { PgRelayStore } from './pg-store.js';
import type { RelayStoreApi } from './store-api.js';
import { RelayPeers } from './relay-peers.js';
import { HOP_PATH, hopLive, hopPhone } from './live-hop.js';
import { privateDir } from '../../hosts/node/kv-store.js';
import { SourceConnections, SourceLimit } from './source-limit.js';
import { PhoneSockets } from './phone-sockets.js';
import { GroupCommit } from './group-commit.js';
import { RelayMetrics } from './metrics.js';
import { OpsApi } from './ops-api.js';
import { refusalLine } from './log.js';
import { ClipDeleter, SegmentScrubber } from './deletions.js';
import { RetentionSweeper } from './retention.js';
import { QuotaBook } from './quota.js';
import { OwnerApi } from './owner-api.js';
import { bearer, isToken, tokenHash } from './tokens.js';

export interface RelayOptions {
  port: number;
  host?: string;
  /** Local files: the SQLite store, phone sessions and firmware updates (without `db`), the health probe. */
  dataDir: string;
  /**
   * A postgres:// URL: keep everything in PostgreSQL instead of SQLite, shared with
   * the other relay processes given the same URL (docs/relay-operations.md).
   */
  db?: string;
  /** With `db`: where the other relay processes reach this one for live view (default: its own URL). */
  internalUrl?: string;
  /** Bearer token for the admin endpoints (registering devices). Without it they answer 403. */
  adminToken?: string;
  /** What phones sign in their login (default: this relay's http://host:port). Set it behind a proxy. */
  origin?: string;
  /** Status lines; never given secrets. */
  log?: (line: string) => void;
  limits?: Partial<RelayLimits>;
  /** Serve HTTPS and WSS with this certificate chain (PEM, the relay's own first) and key; else plain HTTP. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** The relay's clock for retention (ms since the Unix epoch; tests move it). Default Date.now. */
  now?: () => number;
  /** The operator's quota: ciphertext bytes one account's doorbells may keep (tools/relay/quota.ts). Default: none. */
  quotaBytes?: number;
  /** How often retention is applied, ms (default 60 000). */
  retentionIntervalMs?: number;
  /** sees every live frame forwarded to a phone (tests) */
  liveTap?: (device: string, frame: Uint8Array) => void;
  /** the phone web app at /app/ (tools/web/serve.ts): a built folder, else a development build made on first use */
  app?: WebAppSource;
  /** the VAPID subject (mailto: or https: contact) pushes are signed with (default: a placeholder) */
  pushSubject?: string;
  /** sees every Web Push sent (tests, benchmarks) */
  pushTap?: (device: string, endpoint: string) => void;
}

export interface RelayStats {
  segmentsStored: number;
  duplicateSegments: number;
  deviceConnections: number;
}

export interface Relay {
  /** http://host:port (https:// with TLS) */
  url: string;
  /** ws://host:port/v1/uplink (wss:// with TLS) */
  uplinkUrl: string;
  port: number;
  stats: RelayStats;
  live: LiveStats;
  /** Applies retention now and waits until expired clips are gone from disk (tests). */
  sweepRetention(): Promise<void>;
  /** Web Push: the VAPID public key and what was sent */
  push: { vapidPublicKey: string; stats: RelayPush['stats'] };
  /** Stops at once, as a crash would: connections are dropped without a close handshake. Everything acknowledged is already durable. */
  close(): Promise<void>;
}

export async function startRelay(o: RelayOptions): Promise<Relay> {
  const host = o.host ?? '127.0.0.1';
  const log = o.log ?? (() => {});
  const limits: RelayLimits = { ...DEFAULT_LIMITS, ...o.limits };
  if (o.adminToken !== undefined && !isToken(o.adminToken)) throw new Error('the admin token must be 32–128 base64 or base64url characters');
  if (o.db !== undefined && !/^postgres(ql)?:\/\//.test(o.db)) throw new Error('--db must be a postgres:// URL');
  let store: RelayStoreApi;
  let peers: RelayPeers | undefined;
  if (o.db) {
    privateDir(o.dataDir);
    store = await PgRelayStore.open(o.db, o.dataDir, { quotaBytes: o.quotaBytes });
    peers = await RelayPeers.start(o.db, log).catch(async (e: Error) => {
      await store.close();
      throw e;
    });
  } else store = new SqliteRelayStore(o.dataDir);
  /** Tells the other relay processes; a failure to is logged, never fatal to the request that caused it. */
  const tellPeers = (e: Parameters<RelayPeers['publish']>[0]) => void peers?.publish(e).catch((err: Error) => log(`relay: could not notify the other relay processes: ${err.message}`));
  const events = new ClipEvents();
  if (peers) events.forward = (e) => tellPeers({ t: 'clip', e });
  const phoneKeys = new PublishedPhoneKeys(store);
  const stats: RelayStats = { segmentsStored: 0, duplicateSegments: 0, deviceConnections: 0 };
  // The origin is only known once the port is; PhoneAuth reads it at login time.
  const originRef = { value: o.origin ?? '' };
  const phoneAuth = new PhoneAuth({
    get origin() {
      return originRef.value;
    },
    policy: phoneKeys,
    store,
  });
  const deviceSessions = new Map<string, DeviceSession>();
  const metrics = new RelayMetrics(() => deviceSessions.size);
  /** Offers every connected device its share of the in-flight budget; returns the share. */
  const shareWindow = (): number => {
    const w = sharedWindow(limits.inFlightBudget, limits.window, deviceSessions.size);
    for (const s of deviceSessions.values()) s.offerWindow(w);
    return w;
  };
  const commits = new GroupCommit(store, (b) => metrics.batch(b));
  const now = o.now ?? Date.now;
  const quota = await QuotaBook.open(store, o.quotaBytes);
  // SQLite: deleted segments are overwritten in the segment log; PostgreSQL keeps them in the database (deletions.ts).
  const scrubber = store instanceof SqliteRelayStore ? new SegmentScrubber({ store: store.s, commits, log }) : undefined;
  const deleter = new ClipDeleter({
    store,
    commits,
    log,
    scrubber,
    freed: (device, bytes) => {
      quota.release(device, bytes);
      tellPeers({ t: 'freed', device, bytes }); // doorbells refused for the quota there (the count is the database's: quota.ts)
    },
  });
  scrubber?.scrub(); // what a crash left half-scrubbed
  const retention = new RetentionSweeper({ store, deleter, metrics, log, now });
  const live = new LiveHub({ device: (id) => deviceSessions.get(id), log, tap: o.liveTap });
  // Phones' live sockets: small messages in; the token may come as a subprotocol (browsers cannot set headers).
  const liveWss = new WebSocketServer({
    noServer: true,
    maxPayload: 4096,
    perMessageDeflate: false,
    handleProtocols: (protocols) => (protocols.has(LIVE_PROTOCOL) ? LIVE_PROTOCOL : false),
  });
  // Phones' follow and live sockets, so that a revocation ends them at once.
  const phoneSockets = new PhoneSockets();
  /** A device's allowed phones may have shrunk: sessions and sockets of removed phones end now, in this process… */
  const phonesChangedHere = async (device: string) => {
    await phoneAuth.revalidate(device);
    await phoneSockets.closeUnless(device, (key) => phoneKeys.isAllowed(device, Buffer.from(key, 'base64')));
  };
  /** …and in the others. */
  const phonesChanged = async (device: string) => {
    await phonesChangedHere(device);
    tellPeers({ t: 'phones', device });
  };
  const rosters = new RelayRosters({
    store,
    log,
    push: async (device, bundle) => {
      // Removed phones are cut off (REVOKED) before the doorbell hears of the update: otherwise the doorbell's own
      // end of a removed phone's live session can reach the phone first, as a plain end instead of REVOKED.
      await phonesChangedHere(device); // the owner's signed update removes a phone before the device confirms it
      deviceSessions.get(device)?.pushRoster(bundle);
      tellPeers({ t: 'roster', device }); // the process holding the device's uplink pushes it; phones elsewhere are checked
    },
  });
  const settings = new RelaySettings({
    store,
    log,
    push: (device, m) => {
      deviceSessions.get(device)?.sendSettings(m);
      tellPeers({ t: 'settings', device }); // the process holding the doorbell's uplink sends them
    },
  });
  const updates = new RelayUpdates({
    store,
    log,
    push: (device, m) => {
      deviceSessions.get(device)?.sendUpdate(m);
      tellPeers({ t: 'update', device }); // the process holding the doorbell's uplink offers it
    },
  });
  /** Space freed in an account: its doorbells refused for the quota (connected here) may send again. */
  const accountFreed = async (device: string) => {
    try {
      for (const d of await quota.accountOf(device)) deviceSessions.get(d)?.quotaFreed();
    } catch (e) {
      log(`relay: internal error: the quota's account of device ${device}: ${(e as Error).message}`);
    }
  };
  peers?.on((e) => {
    const run = async () => {
      if (e.t === 'clip') return events.deliver(e.e);
      if (e.t === 'settings') {
        const m = deviceSessions.has(e.device) ? await settings.pendingMessage(e.device) : undefined;
        if (m) deviceSessions.get(e.device)?.sendSettings(m);
        return;
      }
      if (e.t === 'update') {
        const m = deviceSessions.has(e.device) ? await updates.pendingOffer(e.device) : undefined;
        if (m) deviceSessions.get(e.device)?.sendUpdate(m);
        else updates.forget(e.device);
        return;
      }
      // (nothing to count: on PostgreSQL the quota is the database's, quota.ts)
      if (e.t === 'freed') return await accountFreed(e.device);
      if (e.t === 'connected') {
        return deviceSessions.get(e.device)?.close(CLOSE.REPLACED, 'REPLACED', 'a newer connection of this device (to another relay process) replaced this one');
      }
      if (e.t === 'roster') {
        await phonesChangedHere(e.device); // removed phones first, as in the process the owner published to
        const session = deviceSessions.get(e.device);
        const held = session ? await store.heldRoster(e.device) : undefined;
        const push = held ? await rosters.pendingAfter(e.device, held.epoch) : undefined;
        if (push) deviceSessions.get(e.device)?.pushRoster(push);
        return;
      }
      await phonesChangedHere(e.device);
    };
    run().catch((err: Error) => log(`relay: handling another relay process's notice failed: ${err.message}`));
  });
  const push = await RelayPush.open({
    store,
    subject: o.pushSubject,
    allowed: (device, phone) => phoneKeys.isAllowed(device, Buffer.from(phone, 'base64')),
    log,
    tap: o.pushTap,
  });
  // One allowance per client address for every endpoint that needs no login.
  const sourceLimit = new SourceLimit({ burst: limits.openBurst, perSecond: limits.openPerSecond });
  const api = new HttpApi({
    updates,
    settings,
    push,
    store,
    phoneAuth,
    phoneKeys,
    rosters,
    limits,
    sourceLimit,
    phonesChanged,
    adminTokenSha256: o.adminToken === undefined ? undefined : tokenHash(o.adminToken),
    log,
  });

  const owner = new OwnerApi({
    store,
    deleter,
    retention,
    phoneAuth,
    metrics,
    log,
    now,
    sourceLimit,
    freed: (device) => void accountFreed(device),
  });
  const ops = new OpsApi({ store, commits, metrics, peers, adminTokenSha256: o.adminToken === undefined ? undefined : tokenHash(o.adminToken), log });
  const serverOptions: http.ServerOptions = {
    headersTimeout: limits.headersTimeout,
    requestTimeout: limits.requestTimeout,
    // how often slow requests are looked for: a slow-header socket ends within headersTimeout + this
    connectionsCheckingInterval: Math.min(1000, limits.headersTimeout),
  };
  const handler: http.RequestListener = (req, res) => {
    res.on('finish', () => {
      if (res.statusCode >= 400) metrics.refused(`http_${res.statusCode}`);
    });
    if (handleWebApp(o.app ?? {}, req, res)) return;
    if (!ops.handle(req, res) && !owner.handle(req, res)) void api.handle(req, res);
  };
  // https.Server has http.Server's API (requests, upgrades, timeouts) over TLS.
  const server: http.Server = o.tls
    ? (https.createServer({ ...serverOptions, cert: o.tls.cert, key: o.tls.key }, handler) as unknown as http.Server)
    : http.createServer(serverOptions, handler);
  // An idle connection (no bytes either way) is closed; WebSockets keep theirs open (ws clears the timeout).
  server.timeout = limits.idleTimeout;
  // Long, so that clients drop idle keep-alive sockets first (they take the Keep-Alive hint less a
  // second): a server that closes first races a client reusing the socket ("other side closed").
  server.keepAliveTimeout = limits.idleTimeout;
  server.maxConnections = limits.maxConnections;
  const perSource = new SourceConnections(limits.maxConnectionsPerSource);
  server.on('connection', (socket) => {
    const source = socket.remoteAddress ?? '';
    if (!perSource.admit(source)) {
      log(`relay: connection from ${source} refused: over its ${limits.maxConnectionsPerSource} connections`);
      socket.destroy();
      return;
    }
    log(`relay: connection from ${source}:${socket.remotePort}`);
    socket.once('close', () => perSource.release(source));
  });
  // Frames up to twice the limit reach DeviceSession, which answers with a clear error; beyond that ws closes with 1009.
  const wss = new WebSocketServer({ noServer: true, maxPayload: Math.max(2 * MAX_FRAME_BYTES, MAX_EVENT_FRAME_BYTES), perMessageDeflate: false });

  server.on('upgrade', (req, socket, head) => void upgrade(req, socket, head));
  const upgrade = async (req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    // The server no longer listens for errors on an upgrading socket; the checks below may await.
    socket.on('error', () => {});
    try {
      const segments = pathSegments(req.url ?? '/');
      if (segments.length === 2 && segments[0] === 'v1' && segments[1] === 'uplink') {
        const device = await api.authDevice(req);
        if (!device) throw new RelayError(401, 'UNAUTHENTICATED', 'the uplink needs a registered device credential');
        wss.handleUpgrade(req, socket, head, (ws) => {
          stats.deviceConnections++;
          const session = new DeviceSession(ws, device, { store, commits, quota, metrics, events, rosters, updates, settings, live, push, log, window: limits.window, maxSegmentsPerClip: limits.maxSegmentsPerClip, stats });
          // A device reconnecting after a network change, its old connection not yet timed out: the newest wins.
          deviceSessions.get(device.id)?.close(CLOSE.REPLACED, 'REPLACED', 'a newer connection of this device replaced this one');
          live.deviceGone(device.id); // its live sessions ended with the old connection
          deviceSessions.set(device.id, session);
          void peers?.deviceConnected(device.id).catch((e: Error) => log(`relay: could not record where device ${device.id} is connected: ${e.message}`));
          ws.on('message', (data, isBinary) => session.onMessage(data as Buffer, isBinary));
          log(`relay: device ${device.id} connected (uplink)`);
          ws.on('close', (code) => {
            log(`relay: device ${device.id} disconnected (uplink, ${code})`);
            if (deviceSessions.get(device.id) === session) {
              deviceSessions.delete(device.id);
              void peers?.deviceDisconnected(device.id).catch(() => {});
              live.deviceGone(device.id);
              shareWindow();
            }
          });
          ws.on('error', () => {});
          session.start(shareWindow());
        });
        return;
      }
      if (segments.length === 4 && segments[0] === 'v1' && segments[1] === 'devices' && segments[3] === 'follow') {
        const device = requireId(segments[2], 'device id');
        const session = await phoneAuth.session(bearer(req));
        if (!session) throw new RelayError(401, 'UNAUTHENTICATED', 'following clips needs a phone session');
        if (session.device !== device) throw new RelayError(403, 'FORBIDDEN', 'this session is for another device');
        wss.handleUpgrade(req, socket, head, (ws) => {
          const unsubscribe = events.subscribe(device, (e) => ws.send(JSON.stringify(e)));
          const untrack = phoneSockets.add(device, session.publicKey, ws);
          log(`relay: a phone is following device ${device}`);
          ws.on('close', () => {
            unsubscribe();
            untrack();
            log(`relay: a phone stopped following device ${device}`);
          });
          ws.on('error', () => {});
          // Phones only listen here.
          ws.on('message', () => ws.close(CLOSE.BAD_INPUT, 'LISTEN_ONLY'));
          ws.send(JSON.stringify({ t: 'hello', v: 1, device }));
        });
        return;
      }
      if (segments.length === 4 && segments[0] === 'v1' && segments[1] === 'devices' && segments[3] === 'live') {
        const device = requireId(segments[2], 'device id');
        const session = await phoneAuth.session(bearer(req) ?? protocolBearer(req.headers['sec-websocket-protocol']));
        if (!session) throw new RelayError(401, 'UNAUTHENTICATED', 'live view needs a phone session');
        if (session.device !== device) throw new RelayError(403, 'FORBIDDEN', 'this session is for another device');
        // The doorbell's uplink may be on another relay process: then a direct hop to it.
        const elsewhere = peers && !deviceSessions.has(device) ? await peers.whereIs(device) : undefined;
        liveWss.handleUpgrade(req, socket, head, (ws) => {
          ws.once('close', phoneSockets.add(device, session.publicKey, ws));
          if (elsewhere && peers) hopLive(ws, elsewhere, device, session.publicKey, peers.secret, log);
          else live.phoneConnected(ws, device, session.publicKey);
        });
        return;
      }
      if (peers && segments.length === 4 && segments.slice(0, 3).join('/') === HOP_PATH.join('/')) {
        const device = requireId(segments[3], 'device id');
        const phone = hopPhone(req, peers.secret, bearer(req));
        if (!phone) throw new RelayError(401, 'UNAUTHENTICATED', 'for other relay processes only');
        liveWss.handleUpgrade(req, socket, head, (ws) => live.phoneConnected(ws, device, phone));
        return;
      }
      throw new RelayError(404, 'NOT_FOUND', 'no such WebSocket endpoint');
    } catch (e) {
      metrics.refused(e instanceof RelayError ? `http_${e.status}` : 'http_500');
      refuseUpgrade(socket, e, log, req);
    }
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as { port: number }).port;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const url = `${o.tls ? 'https' : 'http'}://${hostPart}:${port}`;
  originRef.value ||= url;
  await peers?.register(o.internalUrl ?? url);
  log(`relay: listening on ${url}, data in ${o.dataDir}${peers ? `, store in PostgreSQL (relay process ${peers.id})` : ''}`);
  retention.start(o.retentionIntervalMs ?? 60_000);

  let closed = false;
  return {
    url,
    uplinkUrl: `${o.tls ? 'wss' : 'ws'}://${hostPart}:${port}/v1/uplink`,
    port,
    stats,
    live: live.stats,
    async sweepRetention() {
      retention.sweep();
      await retention.done();
    },
    push: { vapidPublicKey: push.vapid.publicKey, stats: push.stats },
    async close() {
      if (closed) return;
      closed = true;
      for (const ws of wss.clients) ws.terminate();
      for (const ws of liveWss.clients) ws.terminate();
      liveWss.close();
      wss.close();
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await done;
      retention.stop();
      await retention.done();
      await push.drain();
      await commits.close(); // batches already queued finish (nobody is left to acknowledge)
      await peers?.close();
      await store.close();
    },
  };
}

/** The subprotocol a browser offers for live view, and the one that carries its session token. */
export const LIVE_PROTOCOL = 'sealbell.live';
const BEARER_PROTOCOL = 'sealbell.bearer.';

function protocolBearer(header: string | undefined): string | undefined {
  const offered = (header ?? '').split(',').map((p) => p.trim());
  const token = offered.find((p) => p.startsWith(BEARER_PROTOCOL))?.slice(BEARER_PROTOCOL.length);
  return token && isToken(token) ? token : undefined;
}

function refuseUpgrade(socket: Duplex, e: unknown, log: (line: string) => void, req: http.IncomingMessage): void {
  const err = e instanceof RelayError ? e : new RelayError(500, 'INTERNAL', 'the relay failed to handle the request');
  if (!(e instanceof RelayError)) log(`relay: internal error on upgrade: ${(e as Error).message}`);
  else log(refusalLine(err, req));
  const body = JSON.stringify({ error: { code: err.code, message: err.message } });
  socket.end(
    `HTTP/1.1 ${err.status} ${http.STATUS_CODES[err.status] ?? 'Error'}\r\n` +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}
