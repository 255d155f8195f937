// The web app's release pinning (docs/web-app.md): release.json lists every file's SHA-256 and
// is signed with minisign by the release key. The format's vector is checked here and by stock
// `minisign -V`; in headless Chromium, the installed service worker keeps running its pinned
// release when the relay serves a changed bundle, says so in the page, and takes a release the
// release key signed.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8Decode, utf8ToBytes } from '../src/bytes.js';
import { encodePublicKey, signingKeyFromSeed } from '../src/minisign.js';
import { startRelay, type Relay } from '../tools/relay/server.js';
import { signAppDir, writeWebApp, buildWebApp } from '../tools/web/build.js';
import { encodeRelease, isNewer, parseRelease, signRelease, verifyRelease, checkFile } from '../web/release/format.js';
import { errorCode, requireTool, run, seededRandom, tempDir } from './helpers.js';
import { launchChromium } from './web-env.js';

const VECTOR = path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'test', 'vectors', 'web-app-release.json');

describe('web app releases', function () {
  this.timeout(300_000);

  describe('the format (docs/web-app.md)', () => {
    const v = JSON.parse(fs.readFileSync(VECTOR, 'utf8')) as { seed: string; version: string; files: Record<string, string>; release: string; signature: string; pub: string };
    const key = signingKeyFromSeed(seededRandom(v.seed)(32));
    const files = new Map(Object.entries(v.files).map(([k, t]) => [k, utf8ToBytes(t)]));

    it('the vector: release.json bytes, the release key, its signature', () => {
      assert.equal(utf8Decode(encodeRelease(v.version, files)), v.release);
      assert.equal(encodePublicKey(key.publicKey, key.keyId), v.pub);
      assert.equal(signRelease(utf8ToBytes(v.release), key), v.signature);
      assert.equal(verifyRelease(utf8ToBytes(v.release), v.signature, v.pub).version, v.version);
      for (const [name, bytes] of files) checkFile(parseRelease(utf8ToBytes(v.release)), name, bytes);
    });

    it('stock minisign checks the signature, and sha256 each file', () => {
      requireTool('minisign');
      const dir = tempDir('web-release-vector');
      fs.writeFileSync(path.join(dir, 'release.json'), v.release);
      fs.writeFileSync(path.join(dir, 'release.json.minisig'), v.signature);
      fs.writeFileSync(path.join(dir, 'release.pub'), v.pub);
      assert.match(run('minisign', ['-Vm', path.join(dir, 'release.json'), '-p', path.join(dir, 'release.pub')]), /Trusted comment: sealbell-web-app 1\.0\.0/);
      for (const f of parseRelease(utf8ToBytes(v.release)).files) assert.equal(bytesToHex(sha256(files.get(f.path)!)), f.sha256);
    });

    it('refuses a changed list, another key, a file that differs, a non-canonical list', () => {
      const other = signingKeyFromSeed(seededRandom('another key')(32));
      const changed = v.release.replace('"1.0.0"', '"1.0.1"');
      assert.equal(errorCode(() => verifyRelease(utf8ToBytes(changed), v.signature, v.pub)), 'MINISIGN_SIGNATURE');
      assert.equal(errorCode(() => verifyRelease(utf8ToBytes(v.release), signRelease(utf8ToBytes(v.release), other), v.pub)), 'MINISIGN_KEY');
      assert.equal(errorCode(() => checkFile(parseRelease(utf8ToBytes(v.release)), 'app.js', utf8ToBytes('alert(1)'))), 'RELEASE_FILE');
      assert.equal(errorCode(() => parseRelease(utf8ToBytes(v.release.replace('{"v":1', '{ "v":1')))), 'RELEASE_FORMAT');
    });

    it('orders versions part by part, numbers as numbers', () => {
      assert.ok(isNewer('1.0.10', '1.0.9'));
      assert.ok(isNewer('1.1', '1.0.9'));
      assert.ok(isNewer('1.0.0.1', '1.0.0'));
      assert.ok(!isNewer('1.0.0', '1.0.0'));
      assert.ok(!isNewer('0.9', '1.0'));
    });

    it('a build is deterministic', async () => {
      const [a, b] = [await buildWebApp({ releasePub: v.pub }), await buildWebApp({ releasePub: v.pub })];
      assert.deepEqual([...a.keys()], [...b.keys()]);
      for (const [k, bytes] of a) assert.deepEqual(bytes, b.get(k), k);
    });
  });

  describe('the installed service worker pins its release', () => {
    let relay: Relay | undefined;
    let ctx: BrowserContext | undefined;
    after(async () => {
      await ctx?.close();
      await relay?.close();
    });

    interface AppState {
      release?: string;
      message?: { kind: string; text: string; code?: string };
    }
    const state = () => (globalThis as unknown as { sealbellApp?: AppState }).sealbellApp ?? {};

    it('refuses a changed bundle the release key did not sign, keeps running the pinned one, and takes a signed update', async () => {
      const key = signingKeyFromSeed(seededRandom('web release key')(32));
      const releasePub = encodePublicKey(key.publicKey, key.keyId);
      const dir = tempDir('web-release-app');
      const shots = tempDir('web-release-shots');
      console.log(`      screenshots: ${shots}`);
      await writeWebApp(dir, { releasePub });
      signAppDir(dir, key, '1.0.0');
      relay = await startRelay({ port: 0, host: '127.0.0.1', dataDir: tempDir('web-release-relay'), app: { dir } });
      ctx = await launchChromium();
      const page: Page = await ctx.newPage();
      await page.setViewportSize({ width: 390, height: 844 });
      const appUrl = `${relay.url}/app/`;
      /** Polls the page's state until `done` (event-driven enough: the page acts on its own; bounded generously). */
      const waitState = async (done: (s: AppState) => boolean, what: string) => {
        const end = Date.now() + 120_000;
        let last: AppState = {};
        while (!done((last = await page.evaluate(state).catch(() => ({}) as AppState)))) {
          if (Date.now() > end) throw new Error(`timed out: ${what}; state ${JSON.stringify(last)}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      };

      // First install: trust on first use of release 1.0.0.
      await page.goto(appUrl);
      await waitState((s) => s.release === '1.0.0', 'release 1.0.0 installed');
      const served = await page.evaluate(() => fetch('app.js').then((r) => r.headers.get('x-sealbell-release')));
      assert.equal(served, '1.0.0', 'the app is served by the worker, from its pinned cache');

      // The relay now serves a changed bundle: new app.js, and a release.json that lists it, unsigned.
      const pinnedApp = fs.readFileSync(path.join(dir, 'app.js'));
      fs.writeFileSync(path.join(dir, 'app.js'), Buffer.concat([pinnedApp, Buffer.from('\nglobalThis.hostileRelay = true;\n')]));
      const hostile = new Map<string, Uint8Array>();
      for (const name of fs.readdirSync(dir)) if (!name.startsWith('release.json')) hostile.set(name, new Uint8Array(fs.readFileSync(path.join(dir, name))));
      fs.writeFileSync(path.join(dir, 'release.json'), encodeRelease('6.6.6', hostile));
      // and a signature by another key
      fs.writeFileSync(path.join(dir, 'release.json.minisig'), signRelease(fs.readFileSync(path.join(dir, 'release.json')), signingKeyFromSeed(seededRandom('hostile key')(32))));
      await page.reload();
      await waitState((s) => s.message?.code === 'RELEASE_REFUSED', 'the refusal shown');
      const refused = await page.evaluate(state);
      assert.match(refused.message!.text, /the relay offered an app update that is not signed by the sealbell release key; still running release 1\.0\.0/);
      assert.equal(refused.message!.kind, 'error');
      assert.equal(refused.release, '1.0.0');
      assert.equal(await page.evaluate(() => (globalThis as unknown as { hostileRelay?: boolean }).hostileRelay), undefined, 'the changed app.js never ran');
      await page.screenshot({ path: path.join(shots, 'refused.png'), fullPage: true });
      // A second start: still pinned, still said.
      await page.reload();
      await waitState((s) => s.message?.code === 'RELEASE_REFUSED', 'the refusal shown again');
      assert.equal(await page.evaluate(() => (globalThis as unknown as { hostileRelay?: boolean }).hostileRelay), undefined);

      // A release the release key signed is taken.
      fs.writeFileSync(path.join(dir, 'app.js'), pinnedApp);
      signAppDir(dir, key, '1.0.1');
      await page.reload();
      await waitState((s) => s.release === '1.0.1' && s.message === undefined, 'release 1.0.1 taken');
      assert.equal(await page.evaluate(() => fetch('app.js').then((r) => r.headers.get('x-sealbell-release'))), '1.0.1');

      // Rolling back to the older signed release is refused too.
      signAppDir(dir, key, '1.0.0');
      await page.reload();
      await waitState((s) => s.message?.code === 'RELEASE_REFUSED', 'the roll-back refused');
      const rolled = await page.evaluate(state);
      assert.match(rolled.message!.text, /the relay offered an older app release, which is not taken; still running release 1\.0\.1 \(release 1\.0\.0 is not newer than 1\.0\.1\)/);
      assert.equal(rolled.release, '1.0.1');
    });
  });
});
