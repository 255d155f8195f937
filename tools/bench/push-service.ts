/**
 * A real Web Push service on loopback for tests and the push benchmark: the `web-push-testing` package's server
 * (RFC 8030 endpoints; it checks the VAPID signature, RFC 8292, and decrypts each RFC 8291
 * payload, as a browser would), bound to 127.0.0.1 on a free port. Subscriptions are made
 * in-process, as a browser's PushManager.subscribe would make them.
 */
import { createRequire } from 'node:module';
import type { Server } from 'node:http';

const require = createRequire(import.meta.url);

interface PushApiModel {
  notifyUrl: string;
  subscribe(o: { userVisibleOnly: string; applicationServerKey: string }): Promise<{ endpoint: string; keys: { p256dh: string; auth: string }; clientHash: string }>;
  getNotifications(o: { clientHash: string }): { messages: string[] };
}

export interface TestSubscription {
  /** what a browser's PushSubscription.toJSON() gives: endpoint and base64url keys */
  json: { endpoint: string; keys: { p256dh: string; auth: string } };
  clientHash: string;
}

export interface LocalPushService {
  url: string;
  /** a new subscription for the relay's VAPID key */
  subscribe(applicationServerKey: string): Promise<TestSubscription>;
  /** the decrypted payloads the subscription has received, oldest first */
  messages(s: TestSubscription): string[];
  close(): Promise<void>;
}

export async function startPushService(): Promise<LocalPushService> {
  const { PushApiModel } = require('web-push-testing/src/PushApiModel.js') as { PushApiModel: new () => PushApiModel };
  const WebPushTestingServer = require('web-push-testing/src/server.js') as new (m: PushApiModel, port: number) => {
    _app: { listen(port: number, host: string, cb: () => void): Server };
    setRequestHandlers(): void;
  };
  const model = new PushApiModel();
  const s = new WebPushTestingServer(model, 0);
  s.setRequestHandlers();
  const server = await new Promise<Server>((resolve) => {
    const srv = s._app.listen(0, '127.0.0.1', () => resolve(srv));
  });
  const port = (server.address() as { port: number }).port;
  const url = `http://127.0.0.1:${port}`;
  model.notifyUrl = `${url}/notify/`;
  const toUrl = (b64: string) => Buffer.from(b64, 'base64').toString('base64url');
  return {
    url,
    async subscribe(applicationServerKey) {
      const d = await model.subscribe({ userVisibleOnly: 'true', applicationServerKey });
      return { json: { endpoint: d.endpoint, keys: { p256dh: toUrl(d.keys.p256dh), auth: toUrl(d.keys.auth) } }, clientHash: d.clientHash };
    },
    messages: (sub) => model.getNotifications({ clientHash: sub.clientHash }).messages,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
