// Issue 12, attacks 4–10, as code: a hostile relay (test/hostile-proxy.ts, a proxy in front of
// the real relay that rewrites, drops, injects and replays; or raw clients against the real one)
// between a hosted doorbell, its owner's phone and the relay. Loopback only.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { base64 } from '@scure/base';
import { SealbellError } from '../src/errors.js';
import { keyIdHex } from '../src/minisign.js';
import { NodeDoorbell } from '../hosts/node/doorbell.js';
import { startRelay } from '../tools/relay/server.js';
import { newToken } from '../tools/relay/tokens.js';
import { provision } from '../tools/provision.js';
import { phoneInit, phoneSetup, openEscrow } from '../tools/phone/index.js';
import { readPhone, unlockAccount } from '../tools/phone/state.js';
import { authorityDevices, getEscrow, newPhoneAuthKey, phoneAuthKeyFromSeed, PhoneClient, publishRoster } from '../tools/relay/phone-client.js';
import { enrollFromRelay, registerOnRelay } from '../tools/phone/relay-sync.js';
import { phoneClips, phoneWatch, type FetchedClip } from '../tools/phone/clips.js';
import { phoneLive, readLiveSessions } from '../tools/phone/live.js';
import { publishPhoneKeys } from '../tools/relay/owner-client.js';
import { startHostileProxy, type HostileProxy } from './hostile-proxy.js';
import { tempDir } from './helpers.js';
import { allFiles, closeRelays, expectApiError, startTestRelay, T0, TestDevice, type Clock } from './relay-helpers.js';
import { alice, bob, liveSetUp, rosterBundle, rosterOf } from './live-helpers.js';

/** Waits for `done` (letting the doorbell run, when there is one) for up to 60 s of real time. */
async function until(done: () => boolean | Promise<boolean>, what: string, device?: NodeDoorbell): Promise<void> {
  if (device) return device.until(done, what);
  const end = Date.now() + 60_000;
  while (!(await done())) {
    if (Date.now() > end) assert.fail(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A doorbell set up by phone 1, both talking to the relay only through the tamper proxy. */
async function hostileSetUp(name: string) {
  const dir = tempDir(name);
  const at = (...p: string[]) => path.join(dir, ...p);
  const tamper = await startHostileProxy();
  const adminToken = newToken();
  // Phones sign the origin they talk to: the proxy's.
  const relay = await startRelay({ port: 0, host: '127.0.0.1', dataDir: at('relay'), adminToken, origin: tamper.url });
  tamper.target = relay.url;
  const logs: string[] = [];
  const factory = await provision({ out: at('factory') });
  const device = new NodeDoorbell({ state: at('device'), verifier: factory.verifierRecord, fps: 10, clipSeconds: 1, simulatedStart: Date.now(), log: (l) => logs.push(l) });
  device.boot();
  const setupUrl = await device.setupUrl();
  const phoneDir = at('phone-1');
  const account = phoneInit(phoneDir, { name: 'phone 1', logN: 10 });
  const keys = unlockAccount(phoneDir, account.passphrase);
  const setup = await phoneSetup({ dir: phoneDir, endpoint: setupUrl!, code: factory.manualCode, wifi: { ssid: 'test', password: 'hostile relay test' }, relayUrl: tamper.url, account: keys });
  const deviceId = setup.deviceId;
  await registerOnRelay({ dir: phoneDir, deviceId, adminToken, account: keys });
  await until(async () => (await authorityDevices(tamper.url, keyIdHex(keys.authority.keyId))).includes(deviceId), 'the doorbell connects', device);
  const pool = device.app.doorbell.pool;
  await device.runUntil(() => pool.available === pool.size, 'clip headers prepared');
  /** Presses the button and lets the clip record (1 s of video) and upload. */
  const clip = async (pressed?: (id: string) => void): Promise<string> => {
    await device.run(500);
    const id = device.press();
    assert.ok(id, 'the press started a clip');
    pressed?.(id);
    await device.runUntil(() => !device.app.doorbell.recording, 'the clip records');
    await device.drain();
    return id;
  };
  const close = async () => {
    await device.stop();
    await tamper.close();
    await relay.close();
  };
  return { dir, at, tamper, relay, device, logs, phoneDir, deviceId, account, clip, close };
}

/** The relay hides `hidden` clips: left out of listings and follow events, 404 when asked for. */
/** The proxy passes everything on again. */
function passAll(tamper: HostileProxy): void {
  tamper.http = (ex) => ex.res;
  tamper.ws = (m) => m.data;
}

/** Rewrites the relay's HTTP answers: `f` may return a new status and body. */
function rewriteHttp(tamper: HostileProxy, f: (method: string, path: string, status: number, body: Buffer) => { status: number; body: Buffer } | undefined): void {
  tamper.http = (ex) => {
    const r = f(ex.req.method, ex.req.path, ex.res.status, ex.res.body);
    return r ? { ...ex.res, ...r } : ex.res;
  };
}

/** Sends `text` down every WebSocket whose path ends with `pathPart`, as if from the relay; how many got it. */
function injectDown(tamper: HostileProxy, pathPart: string, text: string): number {
  let n = 0;
  for (const c of tamper.connections) if (c.path.endsWith(pathPart)) (c.inject('down', text), n++);
  return n;
}

/** Text messages the relay sent down, by WebSocket path. */
const seenDown = (tamper: HostileProxy) => tamper.seen.ws.filter((m) => m.dir === 'down' && m.text !== undefined).map((m) => ({ path: m.path, text: m.text! }));

function hide(tamper: HostileProxy, hidden: Set<string>): void {
  rewriteHttp(tamper, (method, p, status, body) => {
    const m = /\/clips(?:\/([^/]+))?/.exec(p);
    if (!m || method !== 'GET') return undefined;
    if (m[1] && hidden.has(decodeURIComponent(m[1]))) return { status: 404, body: Buffer.from(JSON.stringify({ error: { code: 'UNKNOWN_CLIP', message: 'no such clip' } })) };
    if (m[1] || status !== 200) return undefined;
    const list = JSON.parse(body.toString()) as { clips: { clip: string }[] };
    return { status, body: Buffer.from(JSON.stringify({ clips: list.clips.filter((c) => !hidden.has(c.clip)) })) };
  });
  tamper.ws = (m) => (m.dir === 'down' && m.path.endsWith('/follow') && !m.isBinary && [...hidden].some((h) => m.text!.includes(h)) ? 'drop' : m.data);
}

describe('a hostile relay (issue 12)', function () {
  this.timeout(240_000);
  afterEach(closeRelays);

  describe('through a tampering proxy, with a hosted doorbell and its owner\'s phone', function () {
    let env: Awaited<ReturnType<typeof hostileSetUp>>;
    /** clips the owner's phone has been given (attack 5 hides one) */
    const delivered = new Set<string>();
    before(async () => {
      env = await hostileSetUp('hostile');
    });
    after(async () => env?.close());

    it('attack 5: a clip hidden at the relay is reported by `phone watch` when the next one arrives, and by `phone clips`', async () => {
      const got: (FetchedClip | SealbellError)[] = [];
      const w = await phoneWatch({ dir: env.phoneDir, onClip: (r) => got.push(r) });
      try {
        const first = await env.clip();
        await until(() => got.length === 1, 'phone watch fetches clip 1', env.device);
        const hidden = new Set<string>();
        hide(env.tamper, hidden);
        await env.clip((id) => hidden.add(id)); // the relay hides clip 2 (it has it: the device uploaded it)
        const third = await env.clip();
        await until(() => got.length === 2, 'phone watch fetches clip 3', env.device);
        const r = got[1] as FetchedClip;
        assert.ok(!(r instanceof Error), String(r));
        assert.deepEqual([(got[0] as FetchedClip).clip, r.clip], [first, third]);
        delivered.add(first).add(third);
        assert.deepEqual(r.notices.map((n) => n.code), ['CLIPS_MISSING']);
        assert.equal(r.notices[0].message.split(' (')[0], `clip 2 of doorbell ${env.deviceId} are missing at the relay`);

        // A phone listing afresh (no chain record yet) sees the gap in the listing itself.
        fs.rmSync(path.join(env.phoneDir, 'devices', env.deviceId, 'clip-chain.json'));
        const [listing] = await phoneClips(env.phoneDir);
        assert.deepEqual(listing.clips.map((c) => c.seq), [1, 3]);
        assert.deepEqual(listing.notices.map((n) => n.code), ['CLIPS_MISSING']);
        assert.match(listing.notices[0].message, new RegExp(`^clip 2 of doorbell ${env.deviceId} are missing at the relay`));
      } finally {
        passAll(env.tamper);
        w.close();
      }
    });

    it('attack 7: a replayed follow event does not make `phone watch` report an old clip as new', async () => {
      const got: string[] = [];
      const w = await phoneWatch({ dir: env.phoneDir, onClip: (r, clip) => got.push(r instanceof Error ? `${clip}:${r.code}` : r.clip) });
      try {
        const fresh = await env.clip();
        await until(() => got.length === 1, 'the new clip', env.device);
        delivered.add(fresh);
        // The relay replays the events of every clip the phone was given, then a new clip comes.
        const events = seenDown(env.tamper).filter((m) => m.path.endsWith('/follow') && m.text.includes('"verified"') && [...delivered].some((c) => m.text.includes(c)));
        assert.ok(events.length >= 3, `${events.length} events replayed`);
        for (const e of events) injectDown(env.tamper, '/follow', e.text);
        const next = await env.clip();
        await until(() => got.includes(next), 'the next clip', env.device);
        assert.deepEqual(got, [fresh, next], 'only the two new clips, once each');
      } finally {
        w.close();
      }
    });

    it('attack 9: a live session nobody asked for does not start; a replayed request neither', async () => {
      const refusals = () => env.logs.filter((l) => /^live \S+: refused: /.test(l)).map((l) => l.replace(/^live \S+: refused: /, ''));
      const inject = (m: object) => assert.equal(injectDown(env.tamper, '/v1/uplink', JSON.stringify(m)), 1, 'the doorbell\'s connection');
      const unsigned = base64.encode(new Uint8Array(64));
      const request = base64.encode(new Uint8Array(16).fill(9));
      // 1. Out of thin air: for the roster's own phone (the relay knows its key), and for a stranger.
      const own = base64.encode(phoneAuthKeyFromSeed(readPhone(env.phoneDir).auth.secretKey).publicKey);
      const stranger = base64.encode(newPhoneAuthKey().publicKey);
      inject({ t: 'live', session: 'forged1', phone: own, request, time: env.device.now, signature: unsigned });
      inject({ t: 'live', session: 'forged2', phone: stranger, request, time: env.device.now, signature: unsigned });
      await until(() => refusals().length >= 2, 'the doorbell refuses both', env.device);
      assert.deepEqual(refusals().slice(0, 2), ['LIVE_SIGNATURE', 'LIVE_NOT_IN_ROSTER']);
      assert.equal(env.device.app.live!.active, false, 'no session runs');

      // 2. An honest session, then the relay replays the phone's signed request.
      let done = false;
      const watching = phoneLive({ dir: env.phoneDir, seconds: 1, out: env.at('live.mkv'), now: () => env.device.now }).finally(() => (done = true));
      await until(() => done, 'the phone watches', env.device);
      const watched = await watching;
      assert.ok(watched.frames > 0, 'the honest session ran');
      // The phone keeps the sessions it asked for (for the owner to look back on).
      assert.deepEqual(readLiveSessions(env.phoneDir, env.deviceId).map((l) => [l.session, l.frames]), [[watched.session, watched.frames]]);
      await until(() => !env.device.app.live!.active, 'the session ends', env.device);
      const asked = seenDown(env.tamper).find((m) => m.path === '/v1/uplink' && m.text.includes('"t":"live"'));
      assert.ok(asked, 'the relay saw the signed request');
      injectDown(env.tamper, '/v1/uplink', asked.text);
      await until(() => refusals().length >= 3, 'the doorbell refuses the replay', env.device);
      assert.equal(refusals()[2], 'LIVE_REPLAYED');
      assert.equal(env.device.app.live!.active, false);
    });

    it('attack 8: an escrow whose scrypt work factor the relay raised is refused before scrypt runs', async () => {
      rewriteHttp(env.tamper, (method, p, status, body) => {
        if (!p.endsWith('/escrow') || method !== 'GET' || status !== 200) return undefined;
        return { status, body: Buffer.from(body.toString('latin1').replace(/^(-> scrypt \S+) \d+$/m, '$1 20'), 'latin1') };
      });
      try {
        const escrow = await getEscrow(env.tamper.url, (JSON.parse(fs.readFileSync(path.join(env.phoneDir, 'escrow.json'), 'utf8')) as { account: string }).account);
        assert.match(Buffer.from(escrow).toString('latin1'), /-> scrypt \S+ 20\n/);
        const before = process.memoryUsage().arrayBuffers;
        assert.throws(() => openEscrow(escrow, env.account.passphrase), (e: SealbellError) => e.code === 'ESCROW_WORK_FACTOR');
        // 2^20 would take 1 GiB: nothing near that was allocated.
        assert.ok(process.memoryUsage().arrayBuffers - before < 64 << 20);
        await assert.rejects(enrollFromRelay({ dir: env.at('phone-2'), relay: env.tamper.url, passphrase: env.account.passphrase, name: 'phone 2' }), (e: SealbellError) => e.code === 'ESCROW_WORK_FACTOR');
      } finally {
        passAll(env.tamper);
      }
    });

    it('attack 10: every file of the relay and of the hosted doorbell is 0600, every folder 0700', () => {
      for (const root of [env.at('relay'), env.at('device')]) {
        const dirs = [root];
        for (const d of dirs) for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) dirs.push(path.join(d, e.name));
        for (const d of dirs) assert.equal(fs.statSync(d).mode & 0o777, 0o700, d);
        const files = allFiles(root);
        assert.ok(files.some((f) => f.endsWith('relay.sqlite')) || root.endsWith('device'));
        assert.ok(files.some((f) => f.endsWith('.log')) || root.endsWith('device'), 'segment log files checked');
        for (const f of files) assert.equal(fs.statSync(f).mode & 0o777, 0o600, f);
      }
    });
  });

  it('attack 4: 10,000 login challenges from one address do not stop another doorbell\'s phone from logging in', async () => {
    const relay = await startTestRelay();
    const clock: Clock = { now: T0 };
    const flooded = await TestDevice.create({ seed: 'flooded', relay, clock });
    const other = await TestDevice.create({ seed: 'other', relay, clock });
    const phone = newPhoneAuthKey();
    await publishPhoneKeys(relay.url, other.o.credential, other.id, [phone.publicKey]);
    // The flood: one source address (127.0.0.2), 10,000 unauthenticated challenge requests.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 32, localAddress: '127.0.0.2' });
    const statuses = new Map<number, number>();
    const ask = () =>
      new Promise<number>((resolve) => {
        const req = http.request(`${relay.url}/v1/devices/${flooded.id}/auth/challenge`, { method: 'POST', agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', () => resolve(0));
        req.end();
      });
    for (let i = 0; i < 10_000; i += 100) {
      for (const s of await Promise.all(Array.from({ length: 100 }, ask))) statuses.set(s, (statuses.get(s) ?? 0) + 1);
    }
    agent.destroy();
    assert.ok((statuses.get(429) ?? 0) > 9000, `the flood is slowed down at its source: ${JSON.stringify([...statuses])}`);
    assert.equal(statuses.get(503), undefined, 'the relay never runs out for everyone');
    // Another doorbell's phone, from its own address, logs in at once.
    const client = await PhoneClient.login(relay.url, other.id, phone);
    assert.deepEqual(await client.clips(), []);
  });

  it('attack 10: one address cannot hold every connection; slow headers time out', async () => {
    // 30 connections in all, 20 per address; a request's headers may take 3 s.
    const relay = await startTestRelay(tempDir('relay-conns'), 0, { maxConnections: 30, maxConnectionsPerSource: 20, headersTimeout: 3000, requestTimeout: 4000 });
    let closedCount = 0;
    const closed: Promise<void>[] = [];
    for (let i = 0; i < 40; i++) {
      const s = net.connect({ port: relay.port, host: '127.0.0.1', localAddress: '127.0.0.2' });
      s.on('error', () => {});
      s.resume(); // read what the relay answers (408), so its close reaches us
      closed.push(new Promise((r) => s.on('close', () => r(void closedCount++))));
      s.write('GET /v1/health HTTP/1.1\r\nHost: x\r\n'); // never finishes its headers
    }
    // Those over the address's share are closed at once; 20 slow ones stay, below the relay's 30.
    await until(() => closedCount >= 20, 'the connections over the per-address cap are closed');
    // Another address is served meanwhile (without the per-address cap, 30 slow sockets would hold every slot).
    const r = await fetch(`${relay.url}/v1/health`);
    assert.equal(r.status, 200);
    // The slow ones are closed by the header timeout.
    await Promise.all(closed);
  });

  it('attack 6: a revocation ends the removed phone\'s session and follow socket at once, before the doorbell confirms it', async () => {
    const env = await liveSetUp('hostile-revoke');
    const client = await PhoneClient.login(env.relay.url, env.dev.id, bob.auth);
    const following = await client.follow(() => {});
    // The doorbell is offline: only the owner's signed update reaches the relay.
    env.dev.uplink.stop();
    await publishRoster(env.relay.url, env.dev.id, rosterBundle(rosterOf(env.dev.id, 2, [alice], rosterOf(env.dev.id, 1, [alice, bob]))));
    assert.deepEqual(await following.closed, { code: 4401, reason: 'REVOKED' });
    await expectApiError(client.clips(), 401, 'UNAUTHENTICATED');
    await expectApiError(PhoneClient.login(env.relay.url, env.dev.id, bob.auth), 403, 'PHONE_NOT_ALLOWED');
    // Alice was not removed: her login works.
    await (await PhoneClient.login(env.relay.url, env.dev.id, alice.auth)).clips();
  });
});
