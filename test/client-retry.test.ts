// The relay's Node clients (tools/relay/client-http.ts) send an idempotent request once more when
// the connection is reset under it (a keep-alive socket closed by a busy server); a request that
// is not safe to repeat is not sent twice. Real HTTP servers on loopback.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { relayJson } from '../tools/relay/client-http.js';

/** A server that cuts the first `resets` requests' connections without answering, then answers. */
async function flakyServer(resets: number): Promise<{ url: string; seen: () => number; close: () => Promise<void> }> {
  let seen = 0;
  const server = http.createServer((req, res) => {
    seen++;
    req.resume();
    if (seen <= resets) {
      req.socket.destroy();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok: true, method: req.method }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen: () => seen,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

describe('relay clients on a reset connection', () => {
  it('a GET (and a PUT) is sent once more and succeeds', async () => {
    for (const method of ['GET', 'PUT']) {
      const s = await flakyServer(1);
      assert.deepEqual(await relayJson(s.url, 'v1/x', { method, ...(method === 'PUT' ? { json: { a: 1 } } : {}) }), { ok: true, method });
      assert.equal(s.seen(), 2);
      await s.close();
    }
  });

  it('only once: a second reset is the caller\'s error', async () => {
    const s = await flakyServer(2);
    await assert.rejects(relayJson(s.url, 'v1/x'), (e: { cause?: { code?: string } }) => ['ECONNRESET', 'UND_ERR_SOCKET'].includes(e.cause?.code ?? ''));
    assert.equal(s.seen(), 2);
    await s.close();
  });

  it('a POST is not repeated unless marked idempotent', async () => {
    const s = await flakyServer(1);
    await assert.rejects(relayJson(s.url, 'v1/x', { method: 'POST', json: {} }), (e: { cause?: { code?: string } }) => ['ECONNRESET', 'UND_ERR_SOCKET'].includes(e.cause?.code ?? ''));
    assert.equal(s.seen(), 1);
    await s.close();
    // A login challenge is safe to ask for twice: marked idempotent, it is.
    const t = await flakyServer(1);
    assert.deepEqual(await relayJson(t.url, 'v1/x', { method: 'POST', idempotent: true }), { ok: true, method: 'POST' });
    assert.equal(t.seen(), 2);
    await t.close();
  });
});
