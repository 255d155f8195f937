// Signed settings end to end (issue 14, item 3): the hosted doorbell, the real relay behind a
// hostile proxy (test/hostile-proxy.ts), and the owner's phone. The owner's settings change the
// next clip's length and pre-roll and which zones trigger motion, and survive a reboot; a relay
// that rewrites, replays, forges or withholds settings changes nothing the doorbell runs, each
// refusal with its own code, and the phone shows what the doorbell signed that it runs.
import assert from 'node:assert/strict';
import { base64 } from '@scure/base';
import { decodeManifest } from '../src/clip/manifest.js';
import { signingKeyFromSeed } from '../src/minisign.js';
import { encodeSettings, encodeSettingsBundle, parseSettingsBundle, signSettings, signSettingsBytes, type Settings } from '../src/settings/settings.js';
import { SyntheticCamera } from '../hosts/node/camera.js';
import { provision } from '../tools/provision.js';
import { phoneSetup } from '../tools/phone/index.js';
import { phoneLogin, registerOnRelay } from '../tools/phone/relay-sync.js';
import { describeSettings, phoneSettingsEdit, phoneSettingsShow } from '../tools/phone/settings.js';
import { startRelay, type Relay } from '../tools/relay/server.js';
import { ADMIN_TOKEN, movePhoneToRelay, startSecondRelay, testDbFor } from './relay-helpers.js';
import { seededRandom, tempDir } from './helpers.js';
import { freshPhone } from './setup-fixtures.js';
import { stopDoorbells, testDoorbell } from './app-helpers.js';
import { startHostileProxy, wsJson, type HostileProxy } from './hostile-proxy.js';
import { sealbell } from './cli-helpers.js';

const relays: Relay[] = [];
const proxies: HostileProxy[] = [];

/**
 * A doorbell and its owner's phone on a relay behind a proxy that may misbehave. `phoneElsewhere`:
 * when the suite runs on PostgreSQL (test/relay-postgres-suite.test.ts), the phone talks to a second
 * relay process on the same database, so its settings reach the doorbell across processes.
 */
async function world(seed: string, o: { phoneElsewhere?: boolean } = {}) {
  const proxy = await startHostileProxy();
  proxies.push(proxy);
  const dataDir = tempDir(`${seed}-relay`);
  const db = await testDbFor(dataDir);
  // Across relay processes the doorbell talks to its relay directly: each hop through the proxy
  // costs turns of an event loop the simulated doorbell keeps busy, and the doorbell's wait for the
  // relay's hello runs on its simulated clock.
  const direct = o.phoneElsewhere && db !== undefined;
  const relay = await startRelay({ port: 0, host: '127.0.0.1', dataDir, adminToken: ADMIN_TOKEN, origin: direct ? undefined : proxy.url, db });
  relays.push(relay);
  proxy.target = relay.url;
  const prov = await provision({ out: tempDir(`${seed}-factory`), random: seededRandom(`${seed}/factory`) });
  const phone = freshPhone(seed);
  const d = testDoorbell(prov, `${seed}/device`, { camera: new SyntheticCamera({ width: 160, height: 120, still: true }) });
  d.boot();
  const outcome = await phoneSetup({ dir: phone.dir, endpoint: await d.setupUrl(), code: prov.manualCode, wifi: { ssid: 'Home', password: 'correct horse battery' }, relayUrl: direct ? relay.url : proxy.url, account: phone.account, random: seededRandom(`${seed}/setup`) });
  await registerOnRelay({ dir: phone.dir, deviceId: outcome.deviceId, adminToken: ADMIN_TOKEN, account: phone.account });
  await d.until(() => d.app.uplink?.state === 'ready', 'uplink ready');
  await d.runUntil(() => d.app.doorbell.pool.available === d.app.doorbell.pool.size, 'clip headers prepared');
  const deviceId = outcome.deviceId;
  const second = o.phoneElsewhere ? await startSecondRelay(dataDir) : undefined;
  if (second) {
    relays.push(second);
    movePhoneToRelay(phone.dir, deviceId, second.url);
  }
  const edit = (change: Partial<Settings>, wait = 30_000) => phoneSettingsEdit({ dir: phone.dir, deviceId, account: phone.account, change, wait });
  /** The manifest of the clip a press (or motion) records now, as the relay has it. */
  const clipAfter = async (start: () => void) => {
    start();
    await d.runUntil(() => d.app.doorbell.recording, 'a clip starts', 5000);
    await d.runUntil(() => !d.app.doorbell.recording, 'the clip ends');
    await d.drain();
    const client = await phoneLogin(phone.dir, deviceId);
    const clips = await client.clips();
    return decodeManifest((await client.signedManifest(clips[clips.length - 1].clip)).manifest);
  };
  /** What the doorbell said to the relay about settings it refused (through the proxy). */
  const refusals = () => proxy.seen.ws.filter((m) => m.dir === 'up' && wsJson(m)?.t === 'settings-refused').map((m) => String(wsJson(m)!.code));
  const injectDown = async (bundle: Uint8Array) => {
    const before = refusals().length;
    const conn = [...proxy.connections].find((c) => c.path === '/v1/uplink');
    assert.ok(conn, 'the doorbell is connected through the proxy');
    conn.inject('down', JSON.stringify({ t: 'settings', bundle: base64.encode(bundle) }));
    await d.until(() => refusals().length > before, 'the doorbell answers');
    return refusals()[refusals().length - 1];
  };
  return { proxy, relay, prov, d, phone, deviceId, edit, clipAfter, refusals, injectDown };
}

describe('signed settings through the relay (issue 14, item 3)', function () {
  this.timeout(240_000);
  afterEach(stopDoorbells);
  after(async () => {
    for (const p of proxies.splice(0)) await p.close();
    for (const r of relays.splice(0)) await r.close();
  });

  it('the owner\'s settings change the next clip\'s length and pre-roll and which zones trigger motion; a reboot keeps them', async () => {
    const w = await world('settings-e2e', { phoneElsewhere: true });
    const { d } = w;
    await d.run(4000); // 3 s of pre-roll
    const before = await w.clipAfter(() => d.press());
    assert.ok(before.preRoll! >= 2900 && before.preRoll! <= 3100, `default pre-roll 3 s: ${before.preRoll}`);
    assert.ok(Math.abs(before.end - before.start - 13_000) <= 200, `default: 3 s before + 10 s after: ${before.end - before.start}`);
    d.walkBy(20);
    await d.run(4000);
    assert.equal(d.app.doorbell.recording, false, 'no camera motion by default');

    // Motion only in the top row: the figure walks through the lower two thirds.
    const r1 = await w.edit({ clipSeconds: 4, prerollSeconds: 1, zones: ['AAAA', '....', '....'], sensitivity: 50 });
    assert.equal(r1.report.runs.epoch, 1);
    assert.equal(d.app.settingsEpoch, 1);
    await d.run(3000); // the background
    d.walkBy(20);
    await d.run(4000);
    assert.equal(d.app.doorbell.recording, false, 'motion outside every enabled zone triggers nothing');

    const pressed = await w.clipAfter(() => d.press());
    assert.ok(pressed.preRoll! >= 900 && pressed.preRoll! <= 1100, `pre-roll 1 s: ${pressed.preRoll}`);
    assert.ok(Math.abs(pressed.end - pressed.start - 5000) <= 200, `1 s before + 4 s after: ${pressed.end - pressed.start}`);

    const r2 = await w.edit({ zones: ['....', 'AABB', 'AABB'] });
    assert.equal(r2.signed.settings.clipSeconds, 4, 'an edit starts from what the doorbell runs');
    await d.run(3000);
    const moved = await w.clipAfter(() => d.walkBy(20));
    assert.equal(moved.trigger, 'motion');
    assert.deepEqual(moved.zones, ['A']);
    assert.ok(moved.preRoll! >= 900 && moved.preRoll! <= 1100, `pre-roll 1 s: ${moved.preRoll}`);

    // The doorbell reboots: the settings are in its store.
    await d.stop();
    const again = testDoorbell(w.prov, 'settings-e2e/device-2', { from: { store: d.store, flash: d.flash, now: d.now }, camera: new SyntheticCamera({ width: 160, height: 120, still: true }) });
    again.boot();
    assert.equal(again.app.settingsEpoch, 2);
    await again.until(() => again.app.uplink?.state === 'ready', 'uplink ready after the reboot');
    const shown = describeSettings(await phoneSettingsShow(w.phone.dir, w.deviceId));
    assert.match(shown[0], /runs settings epoch 2 \(signed by the doorbell\): clips 4 s, pre-roll 1 s, motion zones \.\.\.\.\/AABB\/AABB, sensitivity 50/);
    const cli = await sealbell(['phone', 'settings', '--dir', w.phone.dir, '--device', w.deviceId, '--show']);
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stdout, /runs settings epoch 2/);
  });

  it('a relay that rewrites, replays, forges or withholds settings is refused, each with its own code; the doorbell keeps what it runs and the phone sees it', async () => {
    const w = await world('settings-hostile');
    const { d, proxy } = w;
    await w.edit({ clipSeconds: 5 });
    const firstDown = proxy.seen.ws.find((m) => m.dir === 'down' && wsJson(m)?.t === 'settings')!;
    const epoch1 = base64.decode(String(wsJson(firstDown)!.bundle));
    assert.equal(d.app.settingsEpoch, 1);

    // Rewrite: the relay changes the clip length inside the signed document.
    proxy.ws = (m) => {
      const j = m.dir === 'down' ? wsJson(m) : undefined;
      if (j?.t !== 'settings') return m.data;
      const b = parseSettingsBundle(base64.decode(String(j.bundle)));
      const doc = new TextDecoder().decode(b.bytes).replace('"clipSeconds":20', '"clipSeconds":60');
      return JSON.stringify({ t: 'settings', bundle: base64.encode(encodeSettingsBundle({ bytes: new TextEncoder().encode(doc), signature: b.signature })) });
    };
    await assert.rejects(w.edit({ clipSeconds: 20 }), (e: Error & { code?: string }) => e.code === 'SETTINGS_SIGNATURE');
    assert.equal(d.app.settingsEpoch, 1);
    proxy.ws = (m) => m.data;

    // Replay: the first settings again.
    assert.equal(await w.injectDown(epoch1), 'SETTINGS_EPOCH');
    // Forge: signed by a key that is not the account authority.
    const held: Settings = { v: 1, device: w.deviceId, epoch: 50, clipSeconds: 60, prerollSeconds: 0, zones: null, sensitivity: 50 };
    const forger = signingKeyFromSeed(new Uint8Array(32).fill(9));
    assert.equal(await w.injectDown(encodeSettingsBundle(signSettings(held, forger))), 'SETTINGS_SIGNATURE');
    // The authority's own signature, but for another doorbell, or out of range.
    assert.equal(await w.injectDown(encodeSettingsBundle(signSettings({ ...held, device: '0123456789ABCDEF' }, w.phone.account.authority))), 'SETTINGS_DEVICE');
    const wild = encodeSettings({ ...held, clipSeconds: 3600 });
    assert.equal(await w.injectDown(encodeSettingsBundle({ bytes: wild, signature: signSettingsBytes(wild, w.phone.account.authority) })), 'SETTINGS_RANGE');
    assert.equal(d.app.settingsEpoch, 1, 'the doorbell runs what it ran');

    // Withhold: the settings never reach the doorbell; the phone says so.
    proxy.ws = (m) => (m.dir === 'down' && wsJson(m)?.t === 'settings' ? 'drop' : m.data);
    await assert.rejects(w.edit({ clipSeconds: 30 }, 1500), (e: Error & { code?: string }) => e.code === 'SETTINGS_UNCONFIRMED' && /runs epoch 1/.test(e.message));
    const lines = describeSettings(await phoneSettingsShow(w.phone.dir, w.deviceId));
    assert.match(lines[0], /runs settings epoch 1 .*clips 5 s/);
    assert.ok(lines.some((l) => /NOT CONFIRMED: this phone published epoch 3/.test(l)), lines.join('\n'));

    // The relay claims the doorbell runs the withheld settings: it cannot sign for the doorbell.
    proxy.http = (ex) => {
      if (!ex.req.path.endsWith('/settings') || ex.req.method !== 'GET') return ex.res;
      const j = JSON.parse(ex.res.body.toString('utf8'));
      return { ...ex.res, body: Buffer.from(JSON.stringify({ ...j, held: { ...j.held, epoch: 3, bundle: j.pending.bundle } })) };
    };
    await assert.rejects(phoneSettingsShow(w.phone.dir, w.deviceId), (e: Error & { code?: string }) => e.code === 'SETTINGS_ACK');
  });
});
