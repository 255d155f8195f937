/**
 * Several relay processes on one PostgreSQL database (docs/relay-operations.md,
 * "Several relays"). Each process:
 *
 * - registers itself in `relay_nodes` with a random id and the internal address
 *   the others reach it at (its own URL unless told otherwise);
 * - records in `device_presence` which process each doorbell's uplink is
 *   connected to, so that a phone's live view reaches it through a direct hop
 *   (live-hop.ts);
 * - tells the others, with LISTEN/NOTIFY on one channel, what its in-memory
 *   state cannot: a clip's state changed (phones following it elsewhere), a
 *   roster update waits for a doorbell (the process holding its uplink pushes
 *   it), a device's allowed phones changed (sockets of removed phones close
 *   everywhere; their sessions, kept in the database, are already deleted),
 *   a doorbell connected here (an older connection of it elsewhere is
 *   replaced), signed settings or a firmware update wait for a doorbell, a
 *   deletion freed a device's bytes (doorbells refused for the quota elsewhere
 *   may send again; the quota itself is counted in the database, pg-store.ts).
 *
 * Notifications carry ids and states only, never secrets or contents. The hop
 * secret (`relay_secret`) is made by the first process and read by the others:
 * only processes that can read the database can open a hop.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { poolFor } from './pg-store.js';
import type { ClipEvent } from './clip-events.js';

export const CHANNEL = 'sealbell_relay';
/** how the listening connection shows in pg_stat_activity (the others are `sealbell-relay`) */
export const LISTEN_APPLICATION = 'sealbell-relay-listen';

export type PeerEvent =
  | { t: 'clip'; e: ClipEvent }
  | { t: 'roster'; device: string }
  | { t: 'phones'; device: string }
  | { t: 'connected'; device: string }
  /** signed settings wait for the doorbell (the process holding its uplink sends them) */
  | { t: 'settings'; device: string }
  /** a firmware update waits for the doorbell (the process holding its uplink offers it) */
  | { t: 'update'; device: string }
  /** a deletion freed the device's bytes (doorbells refused for the quota may send again) */
  | { t: 'freed'; device: string; bytes: number };

export class RelayPeers {
  readonly id = randomBytes(8).toString('hex');
  private listeners: ((e: PeerEvent) => void)[] = [];
  private closed = false;
  /** set when this process stopped hearing the others (the health check fails) */
  failure: string | undefined;
  /** notifications go out one after another, in order, on the one connection */
  private sending: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly pool: pg.Pool,
    /** LISTENs, and sends every NOTIFY: one connection keeps them in order */
    private readonly client: pg.Client,
    readonly secret: string,
  ) {}

  static async start(url: string, log: (line: string) => void): Promise<RelayPeers> {
    const pool = poolFor(url, 2);
    const client = new pg.Client({ connectionString: url, application_name: LISTEN_APPLICATION });
    await client.connect();
    await pool.query('INSERT INTO relay_secret (id, secret) VALUES (1, $1) ON CONFLICT DO NOTHING', [randomBytes(32).toString('base64url')]);
    const secret = ((await pool.query('SELECT secret FROM relay_secret WHERE id = 1')).rows[0] as { secret: string }).secret;
    const peers = new RelayPeers(pool, client, secret);
    client.on('notification', (n) => peers.onNotification(n.payload));
    // A lost connection means missed notifications: say so (the operator restarts the process).
    client.on('error', (e) => {
      if (peers.closed) return;
      peers.failure ??= `notifications lost: ${e.message}`;
      log(`relay: peer notifications lost: ${e.message} (restart this relay process)`);
    });
    client.on('end', () => {
      if (!peers.closed) peers.failure ??= 'the notification connection ended';
    });
    await client.query(`LISTEN ${CHANNEL}`);
    return peers;
  }

  /** Advertises where the other processes reach this one. */
  async register(internalUrl: string): Promise<void> {
    await this.pool.query('INSERT INTO relay_nodes (id, internal_url, started) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET internal_url = excluded.internal_url', [
      this.id,
      internalUrl,
      Date.now(),
    ]);
  }

  on(fn: (e: PeerEvent) => void): void {
    this.listeners.push(fn);
  }

  /** Tells the other processes (not this one). */
  async publish(e: PeerEvent): Promise<void> {
    if (this.closed) return;
    const sent = this.sending.then(() => this.client.query('SELECT pg_notify($1, $2)', [CHANNEL, JSON.stringify({ from: this.id, ...e })]));
    this.sending = sent.catch(() => {});
    await sent;
  }

  private onNotification(payload: string | undefined): void {
    let m: PeerEvent & { from?: string };
    try {
      m = JSON.parse(payload ?? '') as PeerEvent & { from?: string };
    } catch {
      return;
    }
    if (m.from === this.id) return;
    for (const fn of this.listeners) fn(m);
  }

  async deviceConnected(device: string): Promise<void> {
    await this.pool.query('INSERT INTO device_presence (device, node, since) VALUES ($1, $2, $3) ON CONFLICT (device) DO UPDATE SET node = excluded.node, since = excluded.since', [
      device,
      this.id,
      Date.now(),
    ]);
    await this.publish({ t: 'connected', device });
  }

  /** Only if the device's presence is still this process's (it may have moved on meanwhile). */
  async deviceDisconnected(device: string): Promise<void> {
    if (this.closed) return;
    await this.pool.query('DELETE FROM device_presence WHERE device = $1 AND node = $2', [device, this.id]);
  }

  /** The internal address of the process another doorbell's uplink is connected to, if not this one. */
  async whereIs(device: string): Promise<string | undefined> {
    const row = (
      await this.pool.query('SELECT n.id, n.internal_url FROM device_presence p JOIN relay_nodes n ON n.id = p.node WHERE p.device = $1', [device])
    ).rows[0] as { id: string; internal_url: string } | undefined;
    return row && row.id !== this.id ? row.internal_url : undefined;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.pool.query('DELETE FROM device_presence WHERE node = $1', [this.id]).catch(() => {});
    await this.pool.query('DELETE FROM relay_nodes WHERE id = $1', [this.id]).catch(() => {});
    this.closed = true;
    await this.client.end().catch(() => {});
    await this.pool.end().catch(() => {});
  }
}
