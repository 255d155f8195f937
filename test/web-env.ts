// A relay and a provisioned doorbell with recorded clips on loopback, for the web app tests in
// headless Chromium (test/web-app.test.ts): the account made by phone 1 (tools/phone), the
// doorbell set up over SPAKE2+, registered, its camera drawing frames whose colours say which
// frame they are, so a screenshot tells which frame the page shows.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { NodeDoorbell, type NodeCamera } from '../hosts/node/doorbell.js';
import { RosterStore } from '../src/roster/roster-store.js';
import { keyIdHex } from '../src/minisign.js';
import { nobleBackend } from '../src/crypto/noble.js';
import { ClipOpener } from '../src/clip/opener.js';
import { verifySignedManifest } from '../src/clip/signed-manifest.js';
import { decodePublicKey } from '../src/minisign.js';
import type { ClipManifest } from '../src/clip/manifest.js';
import { startRelay, type Relay } from '../tools/relay/server.js';
import type { WebAppSource } from '../tools/web/serve.js';
import { newToken } from '../tools/relay/tokens.js';
import { provision } from '../tools/provision.js';
import { phoneInitAsync } from '../tools/phone/init.js';
import { phoneSetup } from '../tools/phone/setup.js';
import { registerOnRelay } from '../tools/phone/relay-sync.js';
import { readDevice, readPhone, unlockAccountAsync } from '../tools/phone/state.js';
import { authorityDevices, phoneAuthKeyFromSeed, PhoneClient } from '../tools/relay/phone-client.js';
import { requireTool, tempDir } from './helpers.js';
import { startHostileProxy, type HostileProxy } from './hostile-proxy.js';

export type RGB = [number, number, number];
/** Eight well-separated colours: frame n shows PALETTE[(n + q) % 8] in quadrant q. */
export const PALETTE: RGB[] = [
  [230, 30, 30],
  [30, 200, 40],
  [40, 60, 230],
  [250, 250, 250],
  [240, 220, 20],
  [20, 210, 220],
  [220, 30, 210],
  [10, 10, 10],
];
export const W = 160;
export const H = 120;

export function quadrants(colors: RGB[]): Uint8Array {
  const data = Buffer.alloc(W * H * 4);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) data.set([...colors[(y < H / 2 ? 0 : 2) + (x < W / 2 ? 0 : 1)], 255], (y * W + x) * 4);
  }
  return new Uint8Array(jpeg.encode({ data, width: W, height: H }, 90).data);
}

export const frameColors = (n: number): RGB[] => [0, 1, 2, 3].map((q) => PALETTE[(n + q) % PALETTE.length]);

/** A camera whose frame n is four quadrants in frameColors(n). */
export class PaletteCamera implements NodeCamera {
  readonly width = W;
  readonly height = H;
  private readonly cache = new Map<number, Uint8Array>();
  capture(n: number): Uint8Array {
    const k = n % PALETTE.length;
    if (!this.cache.has(k)) this.cache.set(k, quadrants(frameColors(k)));
    return this.cache.get(k)!;
  }
}

/** The colour at the centre of each quadrant of a JPEG. */
export function jpegQuadrants(data: Uint8Array): RGB[] {
  const img = jpeg.decode(data, { useTArray: true });
  return centres(img.width, img.height, (i) => [img.data[i], img.data[i + 1], img.data[i + 2]]);
}

/** The colour at the centre of each quadrant of a PNG (a screenshot). */
export function pngQuadrants(png: Uint8Array): RGB[] {
  const img = PNG.sync.read(Buffer.from(png));
  return centres(img.width, img.height, (i) => [img.data[i], img.data[i + 1], img.data[i + 2]]);
}

function centres(w: number, h: number, at: (i: number) => RGB): RGB[] {
  return [
    [0.25, 0.25],
    [0.75, 0.25],
    [0.25, 0.75],
    [0.75, 0.75],
  ].map(([fx, fy]) => at((Math.floor(fy * h) * w + Math.floor(fx * w)) * 4));
}

export const near = (a: RGB, b: RGB, tolerance = 40) => a.every((v, i) => Math.abs(v - b[i]) <= tolerance);
export const sameQuadrants = (a: RGB[], b: RGB[]) => a.every((c, i) => near(c, b[i]));

export async function launchChromium(): Promise<BrowserContext> {
  requireTool('chromium');
  return chromium.launchPersistentContext(fs.mkdtempSync(path.join(os.tmpdir(), 'sealbell-chromium-')), {
    headless: true,
    executablePath: '/usr/bin/chromium',
    acceptDownloads: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export interface OpenedTestClip {
  manifest: ClipManifest;
  frames: { timestamp: number; data: Uint8Array }[];
  poster?: Uint8Array;
}

export interface WebEnv {
  relay: Relay;
  /** where the page and the doorbell reach the relay: the relay, or the hostile proxy in front of it */
  url: string;
  /** with `hostile`: the proxy the doorbell and the page go through (test/hostile-proxy.ts) */
  proxy?: HostileProxy;
  device: NodeDoorbell;
  deviceId: string;
  passphrase: string;
  phoneDir: string;
  clipIds: string[];
  /** the roster epoch the doorbell holds */
  epoch(): number;
  /** presses the button `count` times (a clip each) and waits until the relay has them all */
  record(count: number): Promise<string[]>;
  /** a clip as phone 1 (tools/phone) opens it */
  open(id: string): Promise<OpenedTestClip>;
  /** waits for `done` (real time, bounded) while the doorbell runs along with the clock */
  until(done: () => boolean | Promise<boolean>, what: string, bound?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Relay, doorbell set up by phone 1 (escrow scrypt work factor `logN`), `clips` clips recorded.
 * `microphone: false`: a board without one (video-only clips). `hostile`: a proxy in front of
 * the relay that the doorbell and the page use (its hooks pass everything on until a test sets them).
 */
export async function webEnv(o: { clips: number; app?: WebAppSource; logN?: number; microphone?: boolean; hostile?: boolean }): Promise<WebEnv> {
  const dir = tempDir('web-env');
  const at = (...p: string[]) => path.join(dir, ...p);
  const factory = await provision({ out: at('factory') });
  const device = new NodeDoorbell({ state: at('device'), verifier: factory.verifierRecord, fps: 10, clipSeconds: 2, simulatedStart: Date.now(), camera: new PaletteCamera(), microphone: o.microphone });
  const adminToken = newToken();
  const proxy = o.hostile ? await startHostileProxy() : undefined;
  const relay = await startRelay({ port: 0, host: '127.0.0.1', dataDir: at('relay'), adminToken, app: o.app, ...(proxy ? { origin: proxy.url } : {}) });
  if (proxy) proxy.target = relay.url;
  const url = proxy?.url ?? relay.url;
  try {
    device.boot();
    const setupUrl = await device.setupUrl();
    const phoneDir = at('phone-1');
    const account = await phoneInitAsync(phoneDir, { name: 'phone 1', logN: o.logN ?? 12 });
    const keys = await unlockAccountAsync(phoneDir, account.passphrase);
    const setup = await phoneSetup({ dir: phoneDir, endpoint: setupUrl!, code: factory.manualCode, wifi: { ssid: 'test', password: 'test-password-1' }, relayUrl: url, account: keys });
    const deviceId = setup.deviceId;
    await registerOnRelay({ dir: phoneDir, deviceId, adminToken, account: keys });
    await device.until(async () => (await authorityDevices(url, keyIdHex(keys.authority.keyId))).includes(deviceId), 'the doorbell connects to the relay');
    const pool = device.app.doorbell.pool;
    await device.until(() => pool.available === pool.size, 'the doorbell prepares its clip headers');
    const clipIds: string[] = [];
    const record = async (count: number) => {
      const ids: string[] = [];
      for (let c = 0; c < count; c++) {
        await device.run(2000);
        const id = device.press();
        if (!id) throw new Error('the doorbell did not start a clip');
        ids.push(id);
        await device.run(3000);
      }
      await device.drain(120_000);
      clipIds.push(...ids);
      return ids;
    };
    await record(o.clips);
    const rosters = new RosterStore(device.store, deviceId);
    const pub = readDevice(phoneDir, deviceId).publicKeyText;
    const identity = readPhone(phoneDir).identity;
    return {
      relay,
      url,
      ...(proxy ? { proxy } : {}),
      device,
      deviceId,
      passphrase: account.passphrase,
      phoneDir,
      clipIds,
      epoch: () => rosters.load()?.roster.epoch ?? 0,
      record,
      async open(id) {
        const client = await PhoneClient.login(url, deviceId, phoneAuthKeyFromSeed(readPhone(phoneDir).auth.secretKey));
        const saved = await client.download(id, at('clips'), { devicePub: pub });
        const { manifest, signature } = await client.signedManifest(id);
        const m = verifySignedManifest(manifest, signature, decodePublicKey(pub));
        const frames: OpenedTestClip['frames'] = [];
        const opener = new ClipOpener({ backend: nobleBackend, identities: [identity], manifest: m, onFrame: (f) => frames.push({ timestamp: f.timestamp, data: f.data.slice() }) });
        opener.push(new Uint8Array(fs.readFileSync(saved.age!)));
        return { manifest: m, frames, poster: opener.end().poster };
      },
      until: (done, what, bound = 120_000) => device.until(done, what, bound),
      async close() {
        await device.stop();
        await proxy?.close();
        await relay.close();
      },
    };
  } catch (e) {
    await device.stop();
    await proxy?.close();
    await relay.close();
    throw e;
  }
}

/** Polls the page's state while the doorbell runs, until `done` holds for it. */
export async function untilPage<T>(env: WebEnv, page: Page, read: () => T, done: (s: T) => boolean, what: string, bound = 120_000): Promise<T> {
  let last: T | undefined;
  await env.until(async () => done((last = await page.evaluate(read))), what, bound);
  return last!;
}
