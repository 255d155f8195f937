// The web viewer in headless Chromium (Debian `chromium`, driven by playwright-core): the
// page logs in with the phone's keys, decrypts live records and a recorded clip in the
// browser, and draws them. A screenshot of each canvas must show the frame's colours.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startViewer, type Viewer } from '../tools/viewer/server.js';
import { requireTool } from './helpers.js';
import { closeRelays, drive, sleep } from './relay-helpers.js';
import { alice, liveSetUp, mallory, type LiveEnv } from './live-helpers.js';

type RGB = [number, number, number];
const LIVE: RGB[] = [[230, 30, 30], [30, 200, 40], [40, 60, 230], [250, 250, 250]];
const CLIP: RGB[] = [[240, 220, 20], [20, 210, 220], [220, 30, 210], [10, 10, 10]];
const W = 160;
const H = 120;

/** A JPEG of four solid quadrants (top-left, top-right, bottom-left, bottom-right). */
function quadrants(colors: RGB[]): Uint8Array {
  const data = Buffer.alloc(W * H * 4);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const c = colors[(y < H / 2 ? 0 : 2) + (x < W / 2 ? 0 : 1)];
      data.set([...c, 255], (y * W + x) * 4);
    }
  }
  return new Uint8Array(jpeg.encode({ data, width: W, height: H }, 90).data);
}

/** The colour at the centre of each quadrant of a canvas, from a screenshot of it. */
async function sampleQuadrants(page: Page, selector: string): Promise<RGB[]> {
  const png = PNG.sync.read(await page.locator(selector).screenshot());
  return [
    [0.25, 0.25],
    [0.75, 0.25],
    [0.25, 0.75],
    [0.75, 0.75],
  ].map(([fx, fy]) => {
    const i = (Math.floor(fy * png.height) * png.width + Math.floor(fx * png.width)) * 4;
    return [png.data[i], png.data[i + 1], png.data[i + 2]] as RGB;
  });
}

const near = (a: RGB, b: RGB) => a.every((v, i) => Math.abs(v - b[i]) <= 40);

async function launch(): Promise<BrowserContext> {
  requireTool('chromium');
  return chromium.launchPersistentContext(fs.mkdtempSync(path.join(os.tmpdir(), 'sealbell-chromium-')), {
    headless: true,
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

describe('web viewer in headless Chromium', function () {
  this.timeout(120_000);
  let browser: BrowserContext | undefined;
  let viewer: Viewer | undefined;
  let env: LiveEnv | undefined;

  afterEach(async () => {
    await viewer?.close();
    await browser?.close();
    await closeRelays();
    viewer = browser = env = undefined;
  });

  const viewerState = (page: Page) =>
    page.evaluate(() => (globalThis as unknown as { sealbellViewer: { state: string; error?: string; liveFrames: number; clipFrames: number; clips: string[]; clipVerified?: string } }).sealbellViewer);

  /** Pumps the doorbell's camera until the page says `done`. */
  async function pumpUntil(page: Page, done: (s: Awaited<ReturnType<typeof viewerState>>) => boolean, what: string): Promise<void> {
    let ok = false;
    let polling = true;
    const poll = (async () => {
      while (polling && !ok) {
        ok = done(await viewerState(page));
        await sleep(50);
      }
    })();
    try {
      await env!.pump(() => ok, what, 3000);
    } finally {
      polling = false;
      await poll;
    }
  }

  it('decrypts live view and a recorded clip in the page and shows the frames', async () => {
    const liveFrame = quadrants(LIVE);
    // The page signs its live request with the browser's real clock: the doorbell's runs from now.
    env = await liveSetUp('viewer-browser', { capture: () => liveFrame, width: W, height: H, maxDuration: 3_600_000, start: Date.now() });
    // a recorded clip, sealed to the roster, on the relay
    const clipFrame = quadrants(CLIP);
    const id = env.dev.doorbell.press(env.clock.now);
    for (let i = 1; i <= 5; i++) env.dev.doorbell.frame(clipFrame, env.clock.now + i * 100);
    env.dev.doorbell.finishClip();
    await drive(env.clock, [env.dev], () => env!.dev.spool.empty, { what: 'the clip uploads' });

    viewer = await startViewer({
      port: 0,
      phone: { relayUrl: env.relay.url, deviceId: env.dev.id, identity: alice.identity, authSeed: alice.auth.secretKey, devicePub: env.dev.identity.publicKeyText },
    });
    browser = await launch();
    const page = browser.pages()[0] ?? (await browser.newPage());
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(viewer.url);
    await page.waitForFunction(() => (globalThis as unknown as { sealbellViewer?: { state: string } }).sealbellViewer?.state === 'ready');

    // Before any frame: the live canvas is black.
    assert.ok((await sampleQuadrants(page, '#live')).every((c) => near(c, [0, 0, 0])), 'blank before');

    await page.click('#startLive');
    await pumpUntil(page, (s) => s.liveFrames >= 3 || s.state === 'failed', 'live frames on screen');
    const live = await viewerState(page);
    assert.equal(live.error, undefined, `live: ${live.error}`);
    const seen = await sampleQuadrants(page, '#live');
    seen.forEach((c, i) => assert.ok(near(c, LIVE[i]), `live quadrant ${i}: ${c} vs ${LIVE[i]}`));
    await page.click('#stopLive');
    await env.pump(() => !env!.sessions.active, 'the device ends the session when the page leaves');

    await page.click('#listClips');
    await page.waitForFunction(() => (globalThis as unknown as { sealbellViewer: { clips: string[] } }).sealbellViewer.clips.length > 0);
    await page.click(`button[data-clip="${id}"]`);
    await page.waitForFunction(() => (globalThis as unknown as { sealbellViewer: { clipFrames: number; state: string } }).sealbellViewer.clipFrames >= 5);
    const clip = await viewerState(page);
    assert.equal(clip.clipVerified, id);
    const shown = await sampleQuadrants(page, '#clip');
    shown.forEach((c, i) => assert.ok(near(c, CLIP[i]), `clip quadrant ${i}: ${c} vs ${CLIP[i]}`));
    assert.deepEqual(errors, []);
  });

  it('a phone that is not in the roster gets no picture, only a refusal', async () => {
    env = await liveSetUp('viewer-refused', { capture: () => quadrants(LIVE), width: W, height: H });
    viewer = await startViewer({
      port: 0,
      phone: { relayUrl: env.relay.url, deviceId: env.dev.id, identity: mallory.identity, authSeed: mallory.auth.secretKey, devicePub: env.dev.identity.publicKeyText },
    });
    browser = await launch();
    const page = browser.pages()[0] ?? (await browser.newPage());
    await page.goto(viewer.url);
    await page.waitForFunction(() => (globalThis as unknown as { sealbellViewer?: { state: string } }).sealbellViewer?.state === 'ready');
    await page.click('#startLive');
    await page.waitForFunction(() => (globalThis as unknown as { sealbellViewer: { state: string } }).sealbellViewer.state === 'failed');
    assert.equal((await viewerState(page)).error, 'PHONE_NOT_ALLOWED');
    assert.ok((await sampleQuadrants(page, '#live')).every((c) => near(c, [0, 0, 0])), 'still blank');
  });
});
