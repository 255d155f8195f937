// Doorbell settings from the phone web app (issue 15) in headless Chromium, against the hosted
// doorbell and the real relay behind a hostile proxy (test/hostile-proxy.ts) on loopback: the
// page shows what the doorbell runs, refuses a value out of range and a wrong passphrase
// before anything is sent, shows the relay's refusal with its code, signs an edit with the account authority in the page and the
// doorbell's next clip has the new length and pre-roll; a relay that rewrites the signed
// settings on their way is refused by the doorbell and the page says so; the zone grid's taps
// reach the doorbell's motion zones. A clip from a board without a microphone plays silently.
import assert from 'node:assert/strict';
import path from 'node:path';
import { base64 } from '@scure/base';
import type { Page } from 'playwright-core';
import { encodeSettingsBundle, parseSettingsBundle } from '../src/settings/settings.js';
import { SettingsStore } from '../src/settings/settings-store.js';
import { newPassphrase } from '../tools/phone/escrow.js';
import { seededRandom, tempDir } from './helpers.js';
import { wsJson } from './hostile-proxy.js';
import { launchChromium, untilPage, webEnv, type WebEnv } from './web-env.js';
import type { BrowserContext } from 'playwright-core';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Browserish = any;
declare const document: Browserish;
type HTMLInputElement = Browserish;

interface AppState {
  screen: string;
  busy: boolean;
  message?: { kind: string; text: string; code?: string };
  clip?: { id: string; frame: number; timestamp: number; playing: boolean };
  sound?: { samples: number; seconds: number; playing: boolean; from: number; context: string };
  settings?: Record<string, { runs: number; pending?: number; refused?: string; published?: number }>;
  settingsSaved?: { device: string; epoch: number };
}
const state = () => (globalThis as unknown as { sealbellApp?: AppState }).sealbellApp ?? ({ screen: 'loading', busy: false } as AppState);

describe('web app: doorbell settings (issue 15)', function () {
  this.timeout(600_000);
  let env: WebEnv | undefined;
  let ctx: BrowserContext | undefined;
  const shots = tempDir('web-app-settings');
  after(async () => {
    await ctx?.close();
    await env?.close();
  });

  it('shows what the doorbell runs, refuses out-of-range values and a wrong passphrase, shows a relay refusal, signs an edit the doorbell applies, and a rewriting relay is refused', async () => {
    env = await webEnv({ clips: 0, microphone: false, hostile: true });
    const proxy = env.proxy!;
    const id = env.deviceId;
    ctx = await launchChromium();
    const page: Page = await ctx.newPage();
    await page.setViewportSize({ width: 390, height: 844 });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const sent: string[] = [];
    page.on('request', (r) => sent.push([r.url(), r.postDataBuffer()?.toString('latin1') ?? ''].join('\n')));
    console.log(`      screenshots: ${shots}`);
    const until = (done: (s: AppState) => boolean, what: string) => untilPage(env!, page, state, done, what);
    const noSideScroll = async (what: string) => {
      const wide = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(wide <= 1, `${what}: the page scrolls sideways by ${wide}px`);
    };
    const card = `.settings-card[data-device="${id}"]`;
    const field = (name: string) => `${card} [name=${name}]`;
    const puts = () => proxy.seen.http.filter((x) => x.req.method === 'PUT' && x.req.path.endsWith('/settings')).length;
    /** Fills the form and sends it; the outcome: the doorbell confirmed a new epoch, or an error. */
    const send = async (values: Record<string, string>, passphrase: string) => {
      for (const [k, v] of Object.entries(values)) await page.fill(field(k), v);
      await page.fill(field('settingsPassphrase'), passphrase);
      const saved = (await page.evaluate(state)).settingsSaved?.epoch;
      // the last attempt's error is not this one's
      await page.evaluate(() => void ((globalThis as Browserish).sealbellApp.message = undefined));
      await page.click(`${card} .saveSettings`);
      return until((s) => (s.settingsSaved !== undefined && s.settingsSaved.epoch !== saved) || s.message?.kind === 'error', 'the settings outcome');
    };

    await page.goto(`${env.url}/app/`);
    await until((s) => s.screen === 'enroll', 'the enroll screen');
    const epoch = env.epoch();
    await page.fill('#passphrase', env.passphrase);
    await page.click('#enroll');
    const enrolled = await until((s) => s.screen === 'home' || s.message?.kind === 'error', 'enrolled');
    assert.equal(enrolled.message?.kind, 'ok', enrolled.message?.text);
    await env.until(() => env!.epoch() === epoch + 1, 'the doorbell takes the roster with the web phone');

    // What the doorbell runs: the defaults, at both sizes without sideways scrolling.
    await page.click('a[href="#/settings"]');
    await page.waitForSelector(`${card} .settings-runs`, { timeout: 120_000 });
    assert.match((await page.textContent(`${card} .settings-runs`))!, /runs settings epoch 0 \(the defaults\): clips 10 s, pre-roll 3 s, motion off/);
    assert.equal(await page.inputValue(field('clipSeconds')), '10');
    await noSideScroll('settings at 390×844');
    await page.screenshot({ path: path.join(shots, '1-settings-390.png'), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 900 });
    await noSideScroll('settings at 1280×900');
    await page.screenshot({ path: path.join(shots, '2-settings-1280.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });

    // Out of range: said before any passphrase work, nothing sent.
    const range = await send({ clipSeconds: '600' }, env.passphrase);
    assert.equal(range.message!.code, 'SETTINGS_RANGE');
    assert.match(range.message!.text, /clipSeconds must be 2–60, not 600/);
    const fraction = await send({ clipSeconds: '3', prerollSeconds: '1.5' }, env.passphrase);
    assert.equal(fraction.message!.code, 'SETTINGS_RANGE');
    assert.match(fraction.message!.text, /pre-roll must be a whole number/);
    // A passphrase of valid words that is not the account's: refused, nothing sent.
    const wrong = await send({ clipSeconds: '3', prerollSeconds: '1' }, newPassphrase(seededRandom('web-app-settings/wrong')));
    assert.equal(wrong.message!.code, 'PASSPHRASE_WRONG', wrong.message!.text);
    assert.match(wrong.message!.text, /wrong passphrase/);
    assert.equal(puts(), 0, 'nothing was sent to the relay');
    assert.equal(env.device.app.settingsEpoch, 0);

    // The edit, signed in the page: the doorbell confirms it and its next clip is 1 s + 3 s.
    const ok = await send({ clipSeconds: '3', prerollSeconds: '1' }, env.passphrase);
    assert.equal(ok.settingsSaved?.epoch, 1, ok.message?.text);
    assert.equal(env.device.app.settingsEpoch, 1);
    await page.waitForFunction((c) => /runs settings epoch 1 \(signed by the doorbell\): clips 3 s, pre-roll 1 s, motion off/.test(document.querySelector(`${c} .settings-runs`)?.textContent ?? ''), card, { timeout: 60_000 });
    const d = env.device;
    await d.run(2000); // the pre-roll fills
    const clipId = d.press();
    assert.ok(clipId, 'a clip starts');
    await d.runUntil(() => !d.app.doorbell.recording, 'the clip ends', 30_000);
    await d.drain(120_000);
    const recorded = await env.open(clipId);
    const m = recorded.manifest;
    assert.ok(m.preRoll! >= 900 && m.preRoll! <= 1100, `pre-roll 1 s: ${m.preRoll}`);
    assert.ok(Math.abs(m.end - m.start - 4000) <= 200, `1 s before + 3 s after: ${m.end - m.start}`);
    assert.equal(m.audio, null, 'a board without a microphone');

    // That clip has no sound: it plays to the end silently, without error.
    await page.goto(`${env.url}/app/#/clip/${id}/${clipId}`);
    const opened = await until((s) => (s.screen === 'clip' && s.clip?.frame === 0) || s.message?.kind === 'error', 'the clip opens');
    assert.equal(opened.message?.kind, 'ok', opened.message?.text);
    assert.match(opened.message!.text, /no sound/);
    assert.deepEqual(opened.sound, { samples: 0, seconds: 0, playing: false, from: 0, context: 'none' });
    await page.click('#play');
    const played = await until((s) => s.clip?.frame === recorded.frames.length - 1 && !s.clip.playing, 'played to the end');
    assert.equal(played.sound!.samples, 0);

    // The relay refuses the upload: its code and reason on screen, the doorbell untouched.
    await page.goto(`${env.url}/app/#/settings`);
    await page.waitForSelector(field('clipSeconds'), { timeout: 120_000 });
    assert.equal(await page.inputValue(field('clipSeconds')), '3', 'the form starts from what the doorbell runs');
    const why = 'settings epoch 2 is not above epoch 2, which the doorbell runs or already has waiting';
    proxy.request = (req) =>
      req.method === 'PUT' && req.path.endsWith('/settings') ? { status: 409, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify({ error: { code: 'SETTINGS_EPOCH', message: why } })) } : undefined;
    const byRelay = await send({ clipSeconds: '5' }, env.passphrase);
    assert.equal(byRelay.message!.code, 'SETTINGS_EPOCH');
    assert.equal(byRelay.message!.text, why);
    assert.equal(env.device.app.settingsEpoch, 1);
    proxy.request = () => undefined;

    // A relay that rewrites the signed settings on their way: the doorbell refuses, keeps what it runs, and the page says so.
    proxy.ws = (msg) => {
      const j = msg.dir === 'down' ? wsJson(msg) : undefined;
      if (j?.t !== 'settings') return msg.data;
      const b = parseSettingsBundle(base64.decode(String(j.bundle)));
      const doc = new TextDecoder().decode(b.bytes).replace('"clipSeconds":5', '"clipSeconds":60');
      return JSON.stringify({ t: 'settings', bundle: base64.encode(encodeSettingsBundle({ bytes: new TextEncoder().encode(doc), signature: b.signature })) });
    };
    const rewritten = await send({ clipSeconds: '5' }, env.passphrase);
    assert.equal(rewritten.message!.code, 'SETTINGS_SIGNATURE', rewritten.message!.text);
    assert.match(rewritten.message!.text, /doorbell \w+ refused settings epoch 2/);
    assert.equal(env.device.app.settingsEpoch, 1, 'the doorbell keeps what it ran');
    await page.waitForSelector(`${card} .settings-refused`, { timeout: 60_000 });
    assert.match((await page.textContent(`${card} .settings-refused`))!, /refused epoch 2: .*\[SETTINGS_SIGNATURE\]/);
    assert.match((await page.textContent(`${card} .settings-runs`))!, /runs settings epoch 1/);
    await page.screenshot({ path: path.join(shots, '3-refused.png'), fullPage: true });
    proxy.ws = (msg) => msg.data;

    // Motion zones from the grid: 2 rows of 3, one cell zone B, one masked.
    await page.check(field('motion'));
    await page.fill(field('zoneRows'), '2');
    await page.dispatchEvent(field('zoneRows'), 'change');
    await page.fill(field('zoneCols'), '3');
    await page.dispatchEvent(field('zoneCols'), 'change');
    await page.click(`${card} .zone-cell[data-row="0"][data-col="0"]`);
    for (let i = 0; i < 4; i++) await page.click(`${card} .zone-cell[data-row="1"][data-col="2"]`);
    const cells = await page.$$eval(`${card} .zone-cell`, (els) => els.map((e) => (e as HTMLInputElement).textContent || '.').join(''));
    assert.equal(cells, 'BAAAA.');
    await page.screenshot({ path: path.join(shots, '4-zones.png'), fullPage: true });
    await noSideScroll('zone grid at 390×844');
    const zoned = await send({ clipSeconds: '4', sensitivity: '30' }, env.passphrase);
    assert.equal(zoned.settingsSaved?.epoch, 3, zoned.message?.text);
    const held = new SettingsStore(env.device.store, id).load()!.settings;
    assert.deepEqual({ zones: held.zones, sensitivity: held.sensitivity, clipSeconds: held.clipSeconds, prerollSeconds: held.prerollSeconds, epoch: held.epoch }, { zones: ['BAA', 'AA.'], sensitivity: 30, clipSeconds: 4, prerollSeconds: 1, epoch: 3 });
    assert.equal(env.device.app.settingsEpoch, 3);
    await page.waitForFunction((c) => /runs settings epoch 3 .*motion zones BAA\/AA\., sensitivity 30/.test(document.querySelector(`${c} .settings-runs`)?.textContent ?? ''), card, { timeout: 60_000 });

    assert.deepEqual(errors, []);
    for (const r of sent) assert.ok(!r.includes(env.passphrase), 'the passphrase never leaves the page');
  });
});
