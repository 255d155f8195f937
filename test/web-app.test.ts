// The phone web app (web/) in headless Chromium against a real relay and doorbell on
// loopback, at a phone's 390×844 and a desktop's 1280×900: enroll with the passphrase, the
// timeline with posters and times, play, seek (the sound with the frames), download (ffprobe reads a Duration), live view,
// revoke a phone. Each step's screenshot goes to a temp folder and is checked for the pixels
// it must show. Every request the browser makes is watched: none carries the phone's keys.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { base64 } from '@scure/base';
import { bytesToHex } from '../src/bytes.js';
import type { BrowserContext, Download, Page, Request } from 'playwright-core';
import { anyIdentityToRecipient, generateAgeIdentity } from '../src/age/recipients.js';
import { systemRandom } from '../src/crypto/noble.js';
import { requireTool, run, tempDir } from './helpers.js';
import { frameColors, jpegQuadrants, launchChromium, near, pngQuadrants, sameQuadrants, untilPage, webEnv, type RGB, type WebEnv } from './web-env.js';

// What the page-side callbacks (run in the browser by page.evaluate) use; Node's types lack them.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Browserish = any;
declare const document: Browserish;
declare const indexedDB: Browserish;
type HTMLElement = Browserish;
type HTMLInputElement = Browserish;

interface AppState {
  screen: string;
  busy: boolean;
  message?: { kind: string; text: string; code?: string };
  clips?: string[];
  clip?: { id: string; frame: number; timestamp: number; playing: boolean };
  sound?: { samples: number; seconds: number; playing: boolean; from: number; context: string };
  liveFrames: number;
  firstLiveFrameMs?: number;
  release?: string;
  revoked?: { passphrase: string };
}
const lastMsOf = (c: { frames: { timestamp: number }[] }) => c.frames[c.frames.length - 1].timestamp;
const pick = (s: NonNullable<AppState['sound']>) => ({ samples: s.samples, playing: s.playing, from: s.from });
const state = () => (globalThis as unknown as { sealbellApp?: AppState }).sealbellApp ?? ({ screen: 'loading', busy: false, liveFrames: 0 } as AppState);

/** Every request: URL, headers and body, as text (latin1 keeps the bytes). */
interface Seen {
  url: string;
  text: string;
}

function watchRequests(ctx: BrowserContext): Seen[] {
  const seen: Seen[] = [];
  ctx.on('request', (r: Request) => {
    const body = r.postDataBuffer();
    seen.push({ url: r.url(), text: [r.url(), JSON.stringify(r.headers()), body ? body.toString('latin1') : ''].join('\n') });
  });
  return seen;
}

// The phone's keys: WebCrypto keys the page cannot read (this Chromium has X25519 and Ed25519);
// on the desktop run the page is made to see a WebCrypto without X25519, as in an older browser,
// and keeps them as text and bytes.
const NO_WEBCRYPTO_X25519 = `(() => {
  const generateKey = crypto.subtle.generateKey.bind(crypto.subtle);
  crypto.subtle.generateKey = (alg, ...rest) =>
    (alg === 'X25519' || (alg && alg.name === 'X25519')) ? Promise.reject(new DOMException('X25519 is not supported', 'NotSupportedError')) : generateKey(alg, ...rest);
})()`;

for (const [label, viewport, webCrypto] of [
  ['phone 390×844', { width: 390, height: 844 }, true],
  ['desktop 1280×900', { width: 1280, height: 900 }, false],
] as const) {
  describe(`web app at ${label}`, function () {
    this.timeout(600_000);
    let env: WebEnv | undefined;
    let ctx: BrowserContext | undefined;
    const shots = tempDir(`web-app-${viewport.width}`);
    after(async () => {
      await ctx?.close();
      await env?.close();
    });

    it('enrolls with the passphrase, shows the timeline, plays, seeks, downloads, watches live and revokes; no key leaves the page', async () => {
      requireTool('ffprobe');
      env = await webEnv({ clips: 1 });
      const older = env.clipIds[0];
      ctx = await launchChromium();
      if (!webCrypto) await ctx.addInitScript(NO_WEBCRYPTO_X25519);
      const seen = watchRequests(ctx);
      const page: Page = await ctx.newPage();
      await page.setViewportSize(viewport);
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      console.log(`      screenshots: ${shots}`);
      const shot = async (name: string, target?: string) => {
        const file = path.join(shots, `${name}.png`);
        const png = target ? await page.locator(target).screenshot({ path: file }) : await page.screenshot({ path: file, fullPage: true });
        return new Uint8Array(png);
      };
      const noSideScroll = async (what: string) => {
        const wide = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        assert.ok(wide <= 1, `${what}: the page scrolls sideways by ${wide}px`);
      };
      const until = (done: (s: AppState) => boolean, what: string) => untilPage(env!, page, state, done, what);

      await page.goto(`${env.relay.url}/app/`);
      await until((s) => s.screen === 'enroll', 'the enroll screen');
      await shot('1-enroll');
      await noSideScroll('enroll');

      // A typo is an error, and looks like one (red, not the green of success).
      await page.fill('#passphrase', env.passphrase.replace(/^\S+/, 'notaword'));
      await page.click('#enroll');
      const typo = await until((s) => s.message?.kind === 'error', 'the typo refused');
      assert.equal(typo.message!.code, 'PASSPHRASE_TYPO');
      const [bg] = pngQuadrants(await shot('2-typo', '#msg'));
      assert.ok(bg[0] > bg[1] + 40 && bg[0] > bg[2] + 40, `an error is red: ${bg}`);

      const epoch = env.epoch();
      await page.fill('#passphrase', env.passphrase);
      await page.fill('#phoneName', 'web phone');
      await page.click('#enroll');
      // the typo's message may still show for a moment: wait for this attempt's outcome
      const enrolled = await until((s) => s.screen === 'home' || (s.message?.kind === 'error' && s.message.code !== 'PASSPHRASE_TYPO'), 'enrolled');
      assert.equal(enrolled.message?.kind, 'ok', enrolled.message?.text);
      const [okBg] = pngQuadrants(await shot('3-enrolled', '#msg'));
      assert.ok(okBg[1] > okBg[0] + 20, `success is green: ${okBg}`);
      await env.until(() => env!.epoch() === epoch + 1, 'the doorbell takes the roster with the web phone');
      const recorded = await env.record(2);

      // The timeline: newest first, local time, length, trigger, the poster decrypted in the page.
      const beforeTimeline = seen.length;
      await page.click(`a[href="#/doorbell/${env.deviceId}"]`);
      await until((s) => s.screen === 'timeline', 'the timeline');
      const n = recorded.length;
      const posters = await untilPage(
        env,
        page,
        () => ({ ready: document.querySelectorAll('#timeline img[data-ready]').length as number, bad: document.querySelectorAll('#timeline .error-text').length as number, s: (globalThis as Browserish).sealbellApp as AppState }),
        (r) => r.ready + r.bad === n + 1 || r.s.message?.kind === 'error',
        'the posters',
      );
      assert.equal(posters.ready, n, `${posters.s.message?.text} ${await page.textContent('#timeline')}`);
      // Posters come from the clips' event notices: no clip this phone can open is fetched for them
      // (the one from before it joined has no notice sealed to it, and is opened to say so).
      const fetchedAge = seen.slice(beforeTimeline).filter((r) => /\/clips\/[^/]+\/age$/.test(new URL(r.url).pathname)).map((r) => decodeURIComponent(new URL(r.url).pathname.split('/')[5]));
      for (const id of recorded) assert.ok(!fetchedAge.includes(id), `clip ${id} fetched whole for its poster`);
      assert.ok(seen.slice(beforeTimeline).some((r) => r.url.endsWith(`/clips/${recorded[0]}/event`)), 'the poster from the event notice');
      // The clip from before this phone joined was not sealed to it: said so, not shown.
      assert.match((await page.textContent(`li[data-clip="${older}"]`))!, /recorded before this phone joined/);
      await noSideScroll('timeline');
      await shot('4-timeline');
      const listed = await page.$$eval('#timeline li[data-clip]', (els) => els.map((e) => (e as HTMLElement).dataset.clip!));
      const opened = new Map<string, Awaited<ReturnType<WebEnv['open']>>>();
      for (const id of recorded) opened.set(id, await env.open(id));
      const byStart = [...recorded].sort((a, b) => opened.get(b)!.manifest.start - opened.get(a)!.manifest.start);
      assert.deepEqual(listed, [...byStart, older], 'newest first');
      for (const id of recorded) {
        const o = opened.get(id)!;
        const when = await page.textContent(`li[data-clip="${id}"] .when`);
        const expected = await page.evaluate((t) => new Date(t).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' }), o.manifest.start);
        assert.equal(when, expected, 'local time of the clip');
        assert.equal(await page.textContent(`li[data-clip="${id}"] .length`), `${((o.manifest.end - o.manifest.start) / 1000).toFixed(1)} s`);
        assert.equal(await page.textContent(`li[data-clip="${id}"] .trigger`), 'someone rang');
        const poster = pngQuadrants(await shot(`5-poster-${id}`, `li[data-clip="${id}"] img`));
        assert.ok(o.poster, 'the clip carries a poster');
        assert.ok(sameQuadrants(poster, jpegQuadrants(o.poster!)), `poster of ${id}: ${JSON.stringify(poster)}`);
      }

      // Play the newest clip: first frame, then through to the end, then seek.
      const id = byStart[0];
      const clip = opened.get(id)!;
      const shows = async (name: string, i: number) => {
        const got = pngQuadrants(await shot(name, '#player'));
        const want = jpegQuadrants(clip.frames[i].data);
        assert.ok(sameQuadrants(got, want), `${name}: shows ${JSON.stringify(got)}, frame ${i} is ${JSON.stringify(want)}`);
        // and not its neighbours (frames differ in every quadrant)
        for (const j of [i - 1, i + 1].filter((j) => j >= 0 && j < clip.frames.length)) assert.ok(!sameQuadrants(got, jpegQuadrants(clip.frames[j].data)), `${name}: not frame ${j}`);
      };
      await page.click(`li[data-clip="${id}"] a`);
      await until((s) => s.screen === 'clip' && s.clip?.id === id && s.clip.frame === 0, 'the first frame');
      await noSideScroll('player');
      await shows('6-clip-start', 0);
      await page.click('#play');
      const last = clip.frames.length - 1;
      await until((s) => s.clip?.frame === last && !s.clip.playing, 'played to the end');
      await shows('7-clip-end', last);
      const target = clip.frames[Math.floor(clip.frames.length / 2)];
      const mid = clip.frames.indexOf(target);
      await page.evaluate((t) => {
        const seek = document.getElementById('seek') as HTMLInputElement;
        seek.value = String(t);
        seek.dispatchEvent(new Event('input'));
      }, target.timestamp + 1);
      await until((s) => s.clip?.frame === mid, 'the seek');
      assert.equal((await page.evaluate(state)).clip!.timestamp, target.timestamp);
      await shows('8-clip-seek', mid);
      assert.match((await page.textContent('#time'))!, new RegExp(`^${(target.timestamp / 1000).toFixed(1)} s / `));

      // Sound: the clip's audio track in a WebAudio buffer, the simulator's 440 Hz tone, over the clip.
      assert.ok(clip.manifest.audio, 'the hosted doorbell records sound');
      const samples = clip.manifest.audio!.samples;
      const heard = await page.evaluate(() => {
        const b = (globalThis as Browserish).sealbellSound.buffer;
        const ch: Float32Array = b.getChannelData(0);
        // the middle second: zero crossings (twice the frequency) and loudness
        const from = Math.floor(ch.length / 2) - 8000;
        let crossings = 0;
        let sum = 0;
        for (let i = from + 1; i < from + 16000; i++) {
          if (ch[i - 1] < 0 !== ch[i] < 0) crossings++;
          sum += ch[i] * ch[i];
        }
        return { length: b.length as number, rate: b.sampleRate as number, duration: b.duration as number, hz: crossings / 2, rms: Math.sqrt(sum / 16000) };
      });
      assert.equal(heard.length, samples, 'every sample of the audio track');
      assert.equal(heard.rate, 16000);
      assert.ok(Math.abs(heard.duration - lastMsOf(clip) / 1000) < 0.25, `sound ${heard.duration} s, frames over ${lastMsOf(clip)} ms`);
      assert.ok(Math.abs(heard.hz - 440) < 20, `a 440 Hz tone: ${heard.hz} Hz`);
      assert.ok(heard.rms > 0.1, `not silent: RMS ${heard.rms}`);
      // The seek moved the sound with the frames; playing starts it there and it runs with them.
      const seekedTo = target.timestamp + 1;
      assert.deepEqual(pick((await page.evaluate(state)).sound!), { samples, playing: false, from: seekedTo });
      await page.click('#play');
      const playing = await until((s) => !!s.sound?.playing, 'the sound plays');
      assert.equal(playing.sound!.from, seekedTo, 'from the seek position');
      await until((s) => (s.clip?.frame ?? 0) > mid + 2, 'frames move on');
      // the sound's own clock (the AudioContext's) against the frame on screen
      const inStep = await page.evaluate(() => ({ at: (globalThis as Browserish).sealbellSound.position() as number, frame: (globalThis as Browserish).sealbellApp.clip.timestamp as number, context: (globalThis as Browserish).sealbellApp.sound.context as string }));
      console.log(`      sound at ${Math.round(inStep.at)} ms, frame at ${inStep.frame} ms (started at ${seekedTo}), AudioContext ${inStep.context}`);
      assert.equal(inStep.context, 'running');
      assert.ok(inStep.at > seekedTo + 100 && Math.abs(inStep.at - inStep.frame) < 500, `the sound at ${inStep.at} ms runs with the frame at ${inStep.frame} ms`);
      await page.evaluate(() => {
        const seek = document.getElementById('seek') as HTMLInputElement;
        seek.value = '0';
        seek.dispatchEvent(new Event('input'));
      });
      const back = await until((s) => s.clip?.frame === 0, 'the seek back to the start');
      assert.deepEqual(pick(back.sound!), { samples, playing: false, from: 0 }, 'the sound stops and moves with the seek');

      // Download: a seekable Matroska file with a Duration.
      const [download] = await Promise.all([page.waitForEvent('download', { timeout: 120_000 }), page.click('#download')]);
      const file = path.join(shots, `${id}.mkv`);
      await download.saveAs(file);
      const duration = Number(run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file]).trim());
      const lastMs = clip.frames[last].timestamp;
      assert.ok(duration >= lastMs / 1000 && duration < lastMs / 1000 + 1, `Duration ${duration} s for frames over ${lastMs} ms`);

      // Share this clip with someone outside the account: four files stock age and minisign check.
      requireTool('age');
      requireTool('minisign');
      const friend = generateAgeIdentity('x25519', systemRandom);
      const shareDir = path.join(shots, 'share');
      fs.mkdirSync(shareDir);
      const saved: Promise<void>[] = [];
      const onDownload = (d: Download) => saved.push(d.saveAs(path.join(shareDir, d.suggestedFilename())));
      page.on('download', onDownload);
      await page.fill('#shareTo', anyIdentityToRecipient(friend));
      await page.click('#share');
      await untilPage(env, page, () => 0, () => saved.length >= 4, 'the shared files', 120_000);
      await Promise.all(saved);
      page.off('download', onDownload);
      assert.deepEqual(fs.readdirSync(shareDir).sort(), [`${id}.age`, `${id}.manifest.json`, `${id}.manifest.json.minisig`, 'device.pub']);
      fs.writeFileSync(path.join(shareDir, 'friend.key'), `${friend}\n`);
      run('minisign', ['-Vm', path.join(shareDir, `${id}.manifest.json`), '-p', path.join(shareDir, 'device.pub')]);
      run('age', ['-d', '-i', path.join(shareDir, 'friend.key'), '-o', path.join(shareDir, 'shared.mkv'), path.join(shareDir, `${id}.age`)]);
      const sharedFrames = Number(run('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', path.join(shareDir, 'shared.mkv')]).trim());
      assert.equal(sharedFrames, clip.frames.length, 'the friend opens the whole clip');
      assert.equal(pngQuadrants(await shot('8b-shared', '#msg')).every((c) => c[1] > c[0]), true, 'shared: a success message');

      // Live view from its own route (what a notification tap opens).
      await page.goto(`${env.relay.url}/app/#/live/${env.deviceId}`);
      const live = await until((s) => (s.screen === 'live' && s.liveFrames >= 3) || s.message?.kind === 'error', 'live frames');
      assert.equal(live.message?.kind, undefined, live.message?.text);
      console.log(`      first live frame ${live.firstLiveFrameMs} ms after the tap`);
      const seenLive = pngQuadrants(await shot('9-live', '#live'));
      assert.ok(
        [0, 1, 2, 3, 4, 5, 6, 7].some((n) => sameQuadrants(seenLive, frameColors(n))),
        `live shows a camera frame: ${JSON.stringify(seenLive)}`,
      );
      await page.click('#stopLive');
      const stopped = await until((s) => /ended/.test(s.message?.text ?? '') || s.message?.kind === 'error', 'live view stopped');
      assert.equal(stopped.message!.kind, 'ok', stopped.message!.text);

      // Settings: status, then revoke phone 1 (the account moves to a new passphrase).
      await page.click('a[href="#/settings"]');
      await page.waitForSelector('.doorbell-status .roster', { timeout: 120_000 });
      assert.match((await page.textContent('.doorbell-status .roster'))!, /phone 1, web phone/);
      await shot('10-status');
      const before = env.epoch();
      await page.fill('#revokeWho', 'phone 1');
      await page.fill('#revokePassphrase', env.passphrase);
      await page.click('#revoke');
      const revoked = await until((s) => (!s.busy && s.revoked !== undefined) || s.message?.kind === 'error', 'revoked');
      assert.equal(revoked.message?.kind, 'ok', revoked.message?.text);
      assert.notEqual(revoked.revoked!.passphrase, env.passphrase);
      await env.until(() => env!.epoch() === before + 1, 'the doorbell takes the roster without phone 1');
      await page.click('a[href="#/"]');
      await page.click('a[href="#/settings"]');
      await page.waitForFunction(() => /^phones: web phone$/.test(document.querySelector('.doorbell-status .roster')?.textContent ?? ''), undefined, { timeout: 120_000 });
      await shot('11-revoked');
      await noSideScroll('settings');
      assert.deepEqual(errors, []);

      // Nothing of the phone's keys (nor the passphrases) went out in any request. As WebCrypto
      // keys the page itself cannot read them: the record holds non-extractable keys, no bytes.
      const keys = await page.evaluate(
        () =>
          new Promise<{ identity?: string; authSeed?: number[]; web?: { extractable: boolean[]; algorithms: string[]; exported: string[] } }>((resolve, reject) => {
            const req = indexedDB.open('sealbell');
            req.onsuccess = () => {
              const get = req.result.transaction('phone').objectStore('phone').get('self');
              get.onsuccess = async () => {
                const p = get.result;
                if (!p.webKeys) return resolve({ identity: p.identity, authSeed: [...p.authSeed] });
                const ks = [p.webKeys.age, p.webKeys.auth];
                const exported: string[] = [];
                for (const k of ks) exported.push(await crypto.subtle.exportKey('pkcs8', k).then(() => 'exported', (e: Error) => e.name));
                resolve({ identity: p.identity, authSeed: p.authSeed, web: { extractable: ks.map((k) => k.extractable), algorithms: ks.map((k) => k.algorithm.name), exported } });
              };
              get.onerror = () => reject(get.error);
            };
            req.onerror = () => reject(req.error);
          }),
      );
      const secrets = [env.passphrase, revoked.revoked!.passphrase];
      if (webCrypto) {
        assert.ok(keys.web, 'the phone keys are WebCrypto keys');
        assert.deepEqual(keys.web, { extractable: [false, false], algorithms: ['X25519', 'Ed25519'], exported: ['InvalidAccessError', 'InvalidAccessError'] });
        assert.equal(keys.identity, undefined, 'no age identity as text');
        assert.equal(keys.authSeed, undefined, 'no login seed as bytes');
      } else {
        assert.equal(keys.web, undefined, 'without WebCrypto X25519 the keys are kept as text and bytes');
        const seed = new Uint8Array(keys.authSeed!);
        assert.match(keys.identity!, /^AGE-SECRET-KEY-1/);
        secrets.push(keys.identity!, keys.identity!.toLowerCase(), keys.identity!.slice(16, 40), base64.encode(seed), bytesToHex(seed), Buffer.from(seed).toString('latin1'));
      }
      assert.ok(seen.length > 20, `${seen.length} requests watched`);
      for (const r of seen) for (const s of secrets) assert.ok(!r.text.includes(s), `a request to ${r.url} carries key material`);
      fs.writeFileSync(path.join(shots, 'requests.txt'), seen.map((r) => r.url).join('\n'));
    });
  });
}
