/**
 * hosts/moddable's network protocol code, run in Node over `net` sockets in
 * place of the SDK's: the setup endpoint's HTTP server against the phone's real
 * setup client and the core's SetupMode, and the uplink's WebSocket client
 * against the real relay. The hosted doorbell (hosts/node) serves the same code.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { WebSocketServer } from 'ws';
import { isSetUp } from '../src/setup/setup-mode.js';
import { encodeMessage, parseMessage } from '../src/setup/messages.js';
import { MAX_MESSAGE_BYTES } from '../src/setup/protocol.js';
import { phoneSetup } from '../tools/phone/index.js';
import { setupHttpHandler } from '../src/app/setup-http.js';
import { formatResponse, parseHead } from '../src/net/http-server.js';
import { ReadBuffer, WriteQueue, type OpenStream } from '../src/net/byte-stream.js';
import { WsClient, encodeClientFrame, readServerFrame, Opcode, WsProtocolError } from '../src/net/ws-client.js';
import { uplinkEndpoint } from '../src/uplink/relay-url.js';
import { serveHttpHandler } from '../hosts/node/setup-endpoint.js';
import { openTcp } from '../hosts/node/tcp-stream.js';
import { wsClientConnect } from '../hosts/node/uplink-socket.js';
import { seededRandom } from './helpers.js';
import { T0, WIFI, freshDevice, freshPhone } from './setup-fixtures.js';
import { closeRelays, drive, relayClip, startTestRelay, TestDevice, type Clock } from './relay-helpers.js';

function dechunk(b: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = b.indexOf('\r\n', at);
    const n = parseInt(b.subarray(at, eol).toString('latin1'), 16);
    if (!n) return Buffer.concat(parts);
    parts.push(b.subarray(eol + 2, eol + 2 + n));
    at = eol + 2 + n + 2;
  }
}

/** A raw HTTP exchange: the bytes sent (in pieces, to test reassembly), the whole answer. */
function exchange(port: number, pieces: (string | Uint8Array)[]): Promise<{ status: number; headers: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    s.on('data', (c) => chunks.push(c));
    s.on('error', reject);
    s.on('close', () => {
      const all = Buffer.concat(chunks);
      const end = all.indexOf('\r\n\r\n');
      const head = all.subarray(0, end).toString('latin1');
      let body: Buffer = all.subarray(end + 4);
      if (/transfer-encoding: chunked/i.test(head)) body = dechunk(body);
      resolve({ status: Number(head.slice(9, 12)), headers: head, body });
    });
    s.on('connect', async () => {
      for (const p of pieces) {
        s.write(typeof p === 'string' ? Buffer.from(p, 'latin1') : p);
        await new Promise((r) => setTimeout(r, 2));
      }
    });
  });
}

describe('Moddable setup endpoint (HTTP server over a byte stream)', function () {
  this.timeout(60_000);

  it('a phone sets up a fresh doorbell through it, exactly as through the Node endpoint', async () => {
    const d = await freshDevice('moddable-http');
    const phone = freshPhone('moddable-http');
    const server = await serveHttpHandler(setupHttpHandler({ mode: d.mode, now: () => d.now }));
    try {
      const outcome = await phoneSetup({ dir: phone.dir, endpoint: server.url, code: d.prov.manualCode, wifi: WIFI, relayUrl: 'http://127.0.0.1:9/', account: phone.account, random: seededRandom('moddable-http/setup') });
      assert.equal(isSetUp(d.store), true);
      assert.equal(d.results[0].identity.deviceId, outcome.deviceId);
      assert.equal(d.mode.state, 'closed');
      assert.ok(server.connections >= 4, 'one connection per message (Connection: close)');
    } finally {
      await server.close();
    }
  });

  it('answers a wrong path, a wrong method, an oversized body and a garbled message with their statuses', async () => {
    const d = await freshDevice('moddable-http-parity');
    const ours = await serveHttpHandler(setupHttpHandler({ mode: d.mode, now: () => d.now }));
    try {
      const cases: { name: string; pieces: (string | Uint8Array)[]; status: number; error?: string }[] = [
        { name: 'wrong path', pieces: ['POST /other HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'], status: 404 },
        { name: 'GET', pieces: ['GET /setup HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'], status: 405 },
        { name: 'oversized', pieces: [`POST /setup HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: ${MAX_MESSAGE_BYTES + 1}\r\n\r\n`, new Uint8Array(MAX_MESSAGE_BYTES + 1)], status: 413, error: 'SETUP_TOO_LARGE' },
        { name: 'garbage message', pieces: ['POST /setup HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 3\r\n\r\n', 'abc'], status: 400, error: 'SETUP_MALFORMED' },
      ];
      for (const c of cases) {
        const r = await exchange(ours.port, c.pieces);
        assert.equal(r.status, c.status, c.name);
        if (c.error) {
          const m = parseMessage(new Uint8Array(r.body));
          assert.equal(m.type, 'ERROR', c.name);
          assert.equal((m as { code?: string }).code, c.error, c.name);
        }
      }
      // a PARAMS_REQUEST split into single bytes still gets its PARAMS
      const request = encodeMessage({ type: 'PARAMS_REQUEST' });
      const head = `POST /setup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: ${request.length}\r\n\r\n`;
      const pieces = [...head].concat([...request].map((b) => String.fromCharCode(b)));
      const r = await exchange(ours.port, pieces);
      assert.equal(r.status, 200);
      assert.match(r.headers, /content-type: application\/octet-stream/i);
      assert.equal(parseMessage(new Uint8Array(r.body)).type, 'PARAMS');
    } finally {
      await ours.close();
    }
  });

  it('refuses malformed HTTP with a status and closes: no crash, nothing reaches setup', async () => {
    let calls = 0;
    const server = await serveHttpHandler({
      check: () => undefined,
      respond: () => {
        calls++;
        return { status: 200 };
      },
    });
    try {
      const bad: [string, number][] = [
        ['BREW /setup HTCPCP/1.0\r\n\r\n', 400],
        ['POST /setup HTTP/1.1\r\nHost: x\r\n\r\n', 411],
        ['POST /setup HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n', 501],
        ['POST /setup HTTP/1.1\r\nContent-Length: -1\r\n\r\n', 400],
        ['POST /setup HTTP/1.1\r\nbad header line\r\n\r\n', 400],
        [`POST /setup HTTP/1.1\r\nX: ${'a'.repeat(5000)}\r\n\r\n`, 431],
        ['POST /setup HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n', 413],
        ['POST /setup HTTP/1.1\r\nContent-Length: 1\r\n\r\nab', 400],
      ];
      for (const [text, status] of bad) assert.equal((await exchange(server.port, [text])).status, status, JSON.stringify(text.slice(0, 40)));
      assert.equal(calls, 0);
    } finally {
      await server.close();
    }
  });

  it('formats and parses heads strictly', () => {
    assert.deepEqual(parseHead('GET / HTTP/1.0'), { method: 'GET', path: '/', headers: new Map(), contentLength: 0 });
    const h = parseHead('POST /setup HTTP/1.1\r\nA: 1\r\na: 2\r\ncontent-length: 7');
    assert.ok(!('status' in h));
    assert.equal(h.headers.get('a'), '1, 2');
    assert.equal(h.contentLength, 7);
    assert.throws(() => formatResponse({ status: 200, headers: { x: 'a\r\nb' } }), RangeError);
    assert.match(Buffer.from(formatResponse({ status: 404 })).toString(), /^HTTP\/1\.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n$/);
  });
});

describe('Moddable uplink WebSocket client', function () {
  this.timeout(120_000);
  afterEach(closeRelays);

  it('frames: 7-, 16- and 64-bit lengths, masked; server frames parsed whole or not at all', () => {
    const key = Uint8Array.of(1, 2, 3, 4);
    for (const n of [0, 125, 126, 65_535, 65_536, 65_581]) {
      const payload = new Uint8Array(n).map((_, i) => i * 7);
      const f = encodeClientFrame(Opcode.binary, payload, key);
      const ext = n < 126 ? 0 : n < 65_536 ? 2 : 8;
      assert.equal(f.length, 2 + ext + 4 + n);
      assert.equal(f[0], 0x82);
      assert.equal(f[1] & 0x80, 0x80, 'masked');
      const body = f.subarray(2 + ext + 4);
      for (let i = 0; i < Math.min(n, 1000); i++) assert.equal(body[i] ^ key[i & 3], payload[i]);
    }
    const rb = new ReadBuffer();
    const big = new Uint8Array(70_000).fill(9);
    const frame = new Uint8Array(10 + big.length);
    frame.set([0x82, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70], 0);
    frame.set(big, 10);
    rb.append(frame.subarray(0, 5000));
    assert.equal(readServerFrame(rb, 1 << 20), undefined, 'incomplete');
    rb.append(frame.subarray(5000));
    const got = readServerFrame(rb, 1 << 20)!;
    assert.equal(got.payload.length, 70_000);
    assert.equal(rb.length, 0);
    const bad = (bytes: number[]) => {
      const b = new ReadBuffer();
      b.append(Uint8Array.from(bytes));
      return () => readServerFrame(b, 1000);
    };
    assert.throws(bad([0x81, 0x81, 0, 0, 0, 0, 0]), WsProtocolError, 'masked by the server');
    assert.throws(bad([0x09, 0x00]), WsProtocolError, 'fragmented ping');
    assert.throws(bad([0x82, 126, 0x10, 0x00]), WsProtocolError, 'over the limit');
    assert.throws(bad([0xc1, 0x00]), WsProtocolError, 'reserved bits');
  });

  it('a write queue keeps order under back-pressure', () => {
    const q = new WriteQueue();
    const out: number[] = [];
    let room = 3;
    const stream = { write: (b: Uint8Array) => { const n = Math.min(room, b.length); out.push(...b.subarray(0, n)); room -= n; return n; }, close() {} };
    q.push(Uint8Array.of(1, 2, 3, 4));
    q.push(Uint8Array.of(5, 6));
    assert.equal(q.flush(stream), false);
    room = 2;
    assert.equal(q.flush(stream), false);
    room = 10;
    assert.equal(q.flush(stream), true);
    assert.deepEqual(out, [1, 2, 3, 4, 5, 6]);
    assert.equal(q.pending, 0);
  });

  it('relay URLs map to the uplink endpoint', () => {
    assert.deepEqual(uplinkEndpoint('http://127.0.0.1:8080'), { secure: false, host: '127.0.0.1', port: 8080, path: '/v1/uplink', hostHeader: '127.0.0.1:8080', url: 'ws://127.0.0.1:8080/v1/uplink' });
    assert.deepEqual(uplinkEndpoint('https://relay.example/sealbell'), { secure: true, host: 'relay.example', port: 443, path: '/sealbell/v1/uplink', hostHeader: 'relay.example', url: 'wss://relay.example/sealbell/v1/uplink' });
    assert.equal(uplinkEndpoint('wss://[::1]:9000/').host, '::1');
    assert.throws(() => uplinkEndpoint('ftp://x'), /relay URL/);
    assert.throws(() => uplinkEndpoint('http://x:70000'), /port/);
  });

  it('uploads clips to the real relay through the core Uplink, byte-identical, verified', async () => {
    const relay = await startTestRelay();
    const clock: Clock = { now: T0 };
    const clients: WsClient[] = [];
    const connect = wsClientConnect(seededRandom('ws-uplink'), (c) => clients.push(c));
    let credential = '';
    const dev = await TestDevice.create({
      seed: 'moddable-ws',
      relay,
      clock,
      wrapConnect: () => (events) => connect(uplinkEndpoint(relay.url), credential)(events),
    });
    credential = dev.o.credential;
    dev.uplink.start(clock.now);
    await drive(clock, [dev], () => dev.uplink.state === 'ready', { what: 'connect' });
    const a = dev.recordClip(clock.now, 30, 20_000); // ~600 KB: full 64 KiB frames
    const b = dev.recordClip(clock.now + 20_000, 3, 500);
    await drive(clock, [dev], () => dev.spool.empty, { what: 'upload' });
    for (const id of [a, b]) {
      const held = relayClip(relay.dataDir, dev.id, id)!;
      assert.equal(held.state, 'verified');
      assert.deepEqual(held.age, dev.sealedAge(id));
    }
    assert.equal(clients.length, 1, 'one connection did it all');
  });

  it('a refused credential closes with 4401; a lost relay closes with 1006', async () => {
    const relay = await startTestRelay();
    const closes: [number, string][] = [];
    const connect = wsClientConnect(seededRandom('ws-401'));
    const events = { onOpen() {}, onMessage() {}, onClose: (code: number, reason: string) => closes.push([code, reason]) };
    connect(uplinkEndpoint(relay.url), 'not-a-registered-credential-0123456789abcdef')(events);
    await drive({ now: 0 }, [], () => closes.length === 1, { realMs: 5 });
    assert.deepEqual(closes[0], [4401, 'HTTP 401']);
    const port = relay.port;
    await relay.close();
    connect(uplinkEndpoint(`http://127.0.0.1:${port}`), 'x'.repeat(43))(events);
    await drive({ now: 0 }, [], () => closes.length === 2, { realMs: 5 });
    assert.equal(closes[1][0], 1006);
  });

  it('speaks to a plain ws server: handshake check, fragments, ping/pong, close handshake, exactly one onClose', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((r) => wss.once('listening', r));
    const port = (wss.address() as net.AddressInfo).port;
    const got: (string | Uint8Array)[] = [];
    const closes: number[] = [];
    let serverGot: Buffer | undefined;
    let pong = false;
    wss.on('connection', (ws, req) => {
      assert.equal(req.headers.authorization, 'Bearer t0ken');
      ws.on('message', (m: Buffer) => {
        serverGot = m;
        ws.send('part one, ', { fin: false });
        ws.send('part two', { fin: true });
        ws.send(Buffer.alloc(70_000, 3), { binary: true });
        ws.ping('hi');
        ws.on('pong', () => {
          pong = true;
          ws.close(4321, 'bye');
        });
      });
    });
    try {
      let opened = false;
      // the TCP connection's end (closed by the client, or by the peer on its way to the client):
      // after it, nothing more can reach the client to close it again
      let transportClosed = false;
      const open: OpenStream = (events) => {
        const stream = openTcp({ host: '127.0.0.1', port })({
          onConnect: () => events.onConnect(),
          onData: (b) => events.onData(b),
          onWritable: () => events.onWritable(),
          onClose: (error) => {
            transportClosed = true;
            events.onClose(error);
          },
        });
        return {
          write: (b) => stream.write(b),
          close: () => {
            transportClosed = true;
            stream.close();
          },
        };
      };
      const c = new WsClient(
        { path: '/x', hostHeader: `127.0.0.1:${port}`, headers: { authorization: 'Bearer t0ken' }, random: seededRandom('ws-plain'), defer: (fn) => setImmediate(fn) },
        { onOpen: () => (opened = true), onMessage: (m) => got.push(m), onClose: (code) => closes.push(code) },
        open,
      );
      await drive({ now: 0 }, [], () => opened, { realMs: 5 });
      c.send(new Uint8Array(100_000).fill(7));
      await drive({ now: 0 }, [], () => closes.length > 0, { realMs: 5 });
      assert.equal(serverGot?.length, 100_000);
      assert.ok(serverGot!.every((b) => b === 7), 'the server unmasked what was sent');
      assert.equal(got[0], 'part one, part two');
      assert.equal((got[1] as Uint8Array).length, 70_000);
      assert.equal(pong, true);
      assert.deepEqual(closes, [4321]);
      c.close();
      c.send('ignored once closed');
      // wait for the events that could call onClose again, not for some milliseconds: the
      // transport's end, then the turns the client defers its callbacks to (setImmediate)
      await drive({ now: 0 }, [], () => transportClosed, { realMs: 5, what: 'the TCP connection ends' });
      for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
      assert.deepEqual(closes, [4321], 'onClose exactly once');
    } finally {
      wss.close();
    }
  });
});
