/**
 * Web Push from the relay (docs/relay-api.md, "Push"). Phones subscribe per doorbell; when
 * a doorbell's sealed event arrives, each subscription of a phone still in the doorbell's
 * roster gets a push whose payload (RFC 8291 encrypted to the subscription, VAPID RFC 8292
 * signed, via the `web-push` package) is only {"v":1,"device","ref"}: the reference under
 * which the phone fetches the sealed event. The push service learns that something
 * happened for a subscription; the relay already knows that much and nothing more.
 *
 * The VAPID key pair is made once and kept by the store (SQLite: <data>/vapid.json, 0600;
 * PostgreSQL: one row every relay process uses, so any of them can push to a subscription
 * made through another). Subscriptions the
 * push service reports gone (404, 410) are dropped; those of revoked phones are dropped
 * when their next push is due.
 */
import webpush from 'web-push';
import { RelayError } from './errors.js';
import type { PushSubscriptionRow } from './store.js';
import type { RelayStoreApi, VapidKeys } from './store-api.js';

export type { VapidKeys };

/** What a push carries: no event content, only where to fetch the sealed event. */
export interface PushPayload {
  v: 1;
  device: string;
  ref: string;
}

export interface PushStats {
  sent: number;
  failed: number;
  /** subscriptions dropped: gone at the push service, or their phone left the roster */
  dropped: number;
}

export interface RelayPushOptions {
  store: RelayStoreApi;
  /** the VAPID subject (RFC 8292): mailto: or https: contact of the relay's operator */
  subject?: string;
  /** whether the phone (its auth key, base64) may still read the device's clips */
  allowed: (device: string, phone: string) => Promise<boolean> | boolean;
  log: (line: string) => void;
  /** ms to wait for a push service (default 10 s) */
  timeout?: number;
  /** sees every push sent (tests, benchmarks) */
  tap?: (device: string, endpoint: string) => void;
}

const MAX_ENDPOINT = 2048;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

export class RelayPush {
  readonly stats: PushStats = { sent: 0, failed: 0, dropped: 0 };
  private readonly subject: string;
  /** pushes on their way (close waits for them) */
  private readonly sending = new Set<Promise<void>>();

  private constructor(
    private readonly o: RelayPushOptions,
    readonly vapid: VapidKeys,
  ) {
    this.subject = o.subject ?? 'mailto:relay-operator@sealbell.invalid';
  }

  /** Loads the relay's VAPID keys from the store, making them on first use. */
  static async open(o: RelayPushOptions): Promise<RelayPush> {
    return new RelayPush(o, await o.store.vapidKeys(() => webpush.generateVAPIDKeys()));
  }

  /** Checks and stores a subscription of `phone` for `device`; BAD_SUBSCRIPTION when malformed. */
  async subscribe(device: string, phone: string, body: unknown, now: number): Promise<PushSubscriptionRow> {
    const b = (body ?? {}) as { endpoint?: unknown; keys?: { p256dh?: unknown; auth?: unknown } };
    const endpoint = b.endpoint;
    if (typeof endpoint !== 'string' || endpoint.length > MAX_ENDPOINT) throw bad(`endpoint must be a URL of at most ${MAX_ENDPOINT} characters`);
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw bad('endpoint is not a URL');
    }
    // Push services are https; plain http only on this machine (a local push service in tests).
    if (!(url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname)))) {
      throw bad('endpoint must be an https: URL');
    }
    if (url.username || url.password) throw bad('endpoint must not carry credentials');
    const p256dh = base64url(b.keys?.p256dh, 65, 'keys.p256dh');
    if (Buffer.from(p256dh, 'base64url')[0] !== 0x04) throw bad('keys.p256dh must be an uncompressed P-256 point (65 bytes, 0x04…)');
    const auth = base64url(b.keys?.auth, 16, 'keys.auth');
    const row: PushSubscriptionRow = { device, endpoint, phone, p256dh, auth, created: now };
    await this.o.store.putSubscription(row);
    return row;
  }

  /** Removes a subscription; NO_SUBSCRIPTION when it was not there (or belongs to another phone). */
  async unsubscribe(device: string, phone: string, body: unknown): Promise<void> {
    const endpoint = (body as { endpoint?: unknown } | null)?.endpoint;
    if (typeof endpoint !== 'string') throw bad('endpoint must be a string');
    const mine = (await this.o.store.subscriptions(device)).find((s) => s.endpoint === endpoint && s.phone === phone);
    if (!mine) throw new RelayError(404, 'NO_SUBSCRIPTION', 'this phone has no such subscription for the device');
    await this.o.store.deleteSubscription(device, endpoint);
  }

  /** Pushes `ref` to every subscription of the device's allowed phones; resolves when all are answered. */
  notify(device: string, ref: string): Promise<void> {
    return this.track(this.notifyAll(device, ref));
  }

  private async notifyAll(device: string, ref: string): Promise<void> {
    const payload = JSON.stringify({ v: 1, device, ref } satisfies PushPayload);
    const jobs: Promise<void>[] = [];
    try {
      for (const s of await this.o.store.subscriptions(device)) {
        if (!(await this.o.allowed(device, s.phone))) {
          // Revoked: this subscription never rings again.
          await this.o.store.deleteSubscription(device, s.endpoint);
          this.stats.dropped++;
          continue;
        }
        jobs.push(this.send(s, payload));
      }
    } catch (e) {
      this.o.log(`relay: push: the subscriptions of device ${device} could not be read: ${(e as Error).message}`);
    }
    await Promise.all(jobs);
  }

  /** Waits for pushes on their way (before the store closes). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.sending]);
  }

  private track(p: Promise<void>): Promise<void> {
    this.sending.add(p);
    void p.finally(() => this.sending.delete(p));
    return p;
  }

  /** web-push encrypts (RFC 8291) and signs (VAPID); the request goes out with fetch (http or https). */
  private async send(s: PushSubscriptionRow, payload: string): Promise<void> {
    try {
      const d = webpush.generateRequestDetails({ endpoint: s.endpoint, keys: { p256dh: s.p256dh, auth: s.auth } }, payload, {
        vapidDetails: { subject: this.subject, publicKey: this.vapid.publicKey, privateKey: this.vapid.privateKey },
        TTL: 600,
        urgency: 'high',
        contentEncoding: 'aes128gcm',
      });
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(d.headers)) headers[k] = String(v);
      const res = await fetch(d.endpoint, { method: d.method, headers, body: d.body ? new Uint8Array(d.body) : undefined, signal: AbortSignal.timeout(this.o.timeout ?? 10_000), redirect: 'error' });
      await res.arrayBuffer().catch(() => undefined);
      if (res.status === 404 || res.status === 410) {
        await this.o.store.deleteSubscription(s.device, s.endpoint);
        this.stats.dropped++;
        this.o.log(`relay: push: a subscription of device ${s.device} is gone at its push service (${res.status}); dropped`);
        return;
      }
      if (res.status < 200 || res.status >= 300) throw new Error(`the push service answered ${res.status}`);
      this.stats.sent++;
      this.o.tap?.(s.device, s.endpoint);
    } catch (e) {
      this.stats.failed++;
      // The endpoint is a capability URL: it is not logged.
      this.o.log(`relay: push to a subscription of device ${s.device} failed: ${(e as Error).message}`);
    }
  }
}

const bad = (message: string) => new RelayError(400, 'BAD_SUBSCRIPTION', message);

function base64url(value: unknown, length: number, what: string): string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_-]+={0,2}$/.test(value)) throw bad(`${what} must be base64url`);
  const bytes = Buffer.from(value, 'base64url');
  if (bytes.length !== length) throw bad(`${what} must be ${length} bytes`);
  return bytes.toString('base64url');
}
