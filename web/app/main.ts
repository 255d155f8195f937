/**
 * The sealbell phone app: one page, routes in the URL's hash.
 *
 *   #/                      enroll (no phone in this browser yet), else the doorbells
 *   #/doorbell/<id>         the timeline: newest first, local time, length, trigger, poster
 *   #/clip/<id>/<clip>      play, pause, seek over the frames' own timestamps, the sound in
 *                           step (sound.ts); download, share
 *   #/live/<id>             live view (a notification tap opens this)
 *   #/settings              roster and doorbell status with the hostile-relay warnings, each
 *                           doorbell's signed settings (doorbell-settings.ts), revoke a phone,
 *                           the release this app runs
 *
 * Keys are made and kept in this browser (keystore.ts) and never leave it: the relay gets
 * signatures, roster updates and the escrow sealed to the passphrase. State for tests is in
 * `window.sealbellApp`.
 */
import { loadPhone, savePhone, type BrowserPhone } from './keystore.js';
import { enroll, revoke, status, type DoorbellStatus } from './account.js';
import { openClip, frameAt, glanceClip, seekableFile, shareFiles, type ClipGlance, type OpenClip } from './clips.js';
import { watchLive, type LiveView } from './live.js';
import { Session, RelayError, pushKey } from './relay.js';
import { authSignerOf } from './phone-keys.js';
import { releaseStatus, registerWorker } from './release-client.js';
import { ClipSound, type SoundState } from './sound.js';
import { editSettings, settingsStatus } from './doorbell-settings.js';
import { SETTINGS_RANGE } from '../../src/settings/settings.js';
import { SealbellError } from '../../src/errors.js';
import { describeValues } from '../../tools/phone/settings-core.js';
import type { ClipInfo } from '../../tools/relay/http-api.js';

interface AppState {
  screen: string;
  busy: boolean;
  message?: { kind: 'ok' | 'error' | 'warn'; text: string; code?: string };
  clips?: string[];
  clip?: { id: string; frame: number; timestamp: number; playing: boolean };
  liveFrames: number;
  firstLiveFrameMs?: number;
  /** the player's sound (sound.ts) */
  sound?: SoundState;
  /** each doorbell's settings as the settings screen shows them */
  settings?: Record<string, { runs: number; pending?: number; refused?: string; published?: number }>;
  /** the last settings this page signed and the doorbell confirmed */
  settingsSaved?: { device: string; epoch: number };
  release?: string;
  releaseSigned?: boolean;
  revoked?: { passphrase: string };
  /** the notifications this phone's service worker showed while the page was open (newest last) */
  notified: Notified[];
}

/** What the service worker tells open pages after it showed a doorbell notification (web/sw/notifications.ts). */
interface Notified {
  title: string;
  body: string;
  image?: string;
  url: string;
  deviceId: string;
  clip?: string;
}

const app: AppState = { screen: 'start', busy: false, liveFrames: 0, notified: [] };
(globalThis as unknown as { sealbellApp: AppState }).sealbellApp = app;

const view = () => document.getElementById('view')!;
const h = <K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> & { cls?: string } = {}, ...children: (Node | string)[]) => {
  const el = document.createElement(tag);
  const { cls, ...rest } = props;
  Object.assign(el, rest);
  if (cls) el.className = cls;
  el.append(...children);
  return el;
};

function say(kind: 'ok' | 'error' | 'warn', text: string, code?: string): void {
  app.message = { kind, text, ...(code ? { code } : {}) };
  const m = document.getElementById('msg')!;
  m.className = `msg ${kind}`;
  m.textContent = code ? `${text} [${code}]` : text;
  m.hidden = false;
}

function fail(e: unknown): void {
  const code = (e as { code?: string }).code;
  say('error', (e as Error).message, code);
  app.busy = false;
}

function clearMessage(): void {
  app.message = undefined;
  document.getElementById('msg')!.hidden = true;
}

/** Draws JPEG frames on a canvas one at a time, in order. */
function painter(canvas: HTMLCanvasElement) {
  let chain: Promise<void> = Promise.resolve();
  return (jpeg: Uint8Array) => {
    const copy = jpeg.slice();
    chain = chain.then(async () => {
      const bitmap = await createImageBitmap(new Blob([copy], { type: 'image/jpeg' }));
      if (canvas.width !== bitmap.width || canvas.height !== bitmap.height) {
        canvas.width = bitmap.width;
        canvas.height = bitmap.height;
      }
      canvas.getContext('2d')!.drawImage(bitmap, 0, 0);
      bitmap.close();
    });
    return chain;
  };
}

/** Offers `blob` as a download named `name`. */
function saveFile(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

const releaseText = () =>
  app.release ? `app release ${app.release}${app.releaseSigned ? ', pinned (updates only when signed by the sealbell release key)' : ' (development build: not signed, not pinned)'}` : 'app release: not installed (no service worker)';

const jpegUrl = (jpeg: Uint8Array) => URL.createObjectURL(new Blob([jpeg as BlobPart], { type: 'image/jpeg' }));
const localTime = (ms: number) => new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const TRIGGERS: Record<string, string> = { press: 'someone rang', motion: 'motion', pir: 'someone came near' };

let phone: BrowserPhone | undefined;
let live: LiveView | undefined;
let player: { stop(): void } | undefined;
const opened = new Map<string, Promise<OpenClip>>();
const sessions = new Map<string, Promise<Session>>();

function session(deviceId: string): Promise<Session> {
  let s = sessions.get(deviceId);
  if (!s) {
    s = Session.login(phone!.relayOrigin, deviceId, authSignerOf(phone!));
    sessions.set(deviceId, s);
    s.catch(() => sessions.delete(deviceId));
  }
  return s;
}

function doorbellOf(id: string) {
  const d = phone?.doorbells.find((x) => x.deviceId === id);
  if (!d) throw new RelayError(404, 'UNKNOWN_DOORBELL', `this phone does not know doorbell ${id}`);
  return d;
}

function clip(deviceId: string, id: string): Promise<OpenClip> {
  const key = `${deviceId}/${id}`;
  let c = opened.get(key);
  if (!c) {
    c = session(deviceId).then((s) => openClip(s, phone!, doorbellOf(deviceId).devicePub, id));
    opened.set(key, c);
    c.catch(() => opened.delete(key));
  }
  return c;
}

function screen(name: string, title: string, ...children: Node[]): void {
  app.screen = name;
  document.title = `${title} · sealbell`;
  document.getElementById('title')!.textContent = title;
  view().replaceChildren(...children);
}

// --- screens ---------------------------------------------------------------------------

async function relayOrigin(): Promise<string> {
  try {
    const r = (await (await fetch('relay.json', { cache: 'no-store' })).json()) as { relay?: string };
    if (r.relay) return new URL(r.relay).origin;
  } catch {
    // served by the relay itself
  }
  return location.origin;
}

function enrollScreen(): void {
  const words = h('textarea', { id: 'passphrase', rows: 3, autocomplete: 'off', spellcheck: false, placeholder: 'twelve words' });
  const name = h('input', { id: 'phoneName', value: 'web phone', autocomplete: 'off' });
  const go = h('button', { id: 'enroll', type: 'submit', textContent: 'Enroll this phone' });
  const form = h(
    'form',
    { cls: 'card' },
    h('p', {}, 'Type the account passphrase. It opens the account escrow here, in this browser; this phone makes its own keys, which never leave it.'),
    h('label', {}, 'Passphrase', words),
    h('label', {}, 'Name of this phone', name),
    go,
  );
  form.onsubmit = (ev) => {
    ev.preventDefault();
    go.disabled = true;
    app.busy = true;
    void (async () => {
      const out = await enroll({ relayOrigin: await relayOrigin(), passphrase: words.value, name: name.value.trim() || 'web phone', progress: (l) => say('ok', l) });
      await savePhone(out.phone);
      phone = out.phone;
      words.value = '';
      app.busy = false;
      if (out.alarms.length) say('error', out.alarms.join(' '), 'ROSTER_FORK');
      else say('ok', `enrolled as "${out.phone.name}" on ${out.phone.doorbells.length} doorbell(s); each takes the new roster when it next hears the relay`);
      keepMessage = true;
      if (location.hash === '#/') void route().catch(fail);
      else location.hash = '#/';
    })()
      .catch(fail)
      .finally(() => (go.disabled = false));
  };
  screen('enroll', 'Enroll', form);
}

function homeScreen(): void {
  const list = h('ul', { cls: 'doorbells' });
  for (const d of phone!.doorbells) {
    list.append(
      h('li', { cls: 'card' }, h('a', { href: `#/doorbell/${d.deviceId}`, cls: 'doorbell', textContent: `Doorbell ${d.deviceId}` }), h('a', { href: `#/live/${d.deviceId}`, cls: 'button', textContent: 'Live' })),
    );
  }
  screen('home', 'Doorbells', list);
}

async function timelineScreen(deviceId: string): Promise<void> {
  doorbellOf(deviceId);
  const list = h('ul', { cls: 'timeline', id: 'timeline' });
  screen('timeline', `Doorbell ${deviceId}`, h('p', {}, h('a', { href: `#/live/${deviceId}`, cls: 'button', textContent: 'Live view' })), list);
  const s = await session(deviceId);
  const clips = (await s.clips()).filter((c) => c.state === 'verified').sort((a, b) => (b.start ?? b.received) - (a.start ?? a.received));
  app.clips = clips.map((c) => c.clip);
  if (!clips.length) list.append(h('li', { cls: 'empty' }, 'No recordings yet.'));
  for (const c of clips) list.append(clipItem(deviceId, c));
  // Posters, newest first: from each clip's event notice (a few KB, checked in the page); a clip
  // without one (or whose notice does not check out) is opened and checked whole instead.
  const s2 = await session(deviceId);
  for (const c of clips) {
    if (app.screen !== 'timeline') return;
    try {
      let glance: ClipGlance | undefined;
      try {
        glance = await glanceClip(s2, phone!, doorbellOf(deviceId).devicePub, c.clip);
      } catch {
        glance = undefined; // the clip itself says whether anything is wrong
      }
      if (!glance) {
        const o = await clip(deviceId, c.clip);
        glance = { poster: o.poster ?? o.frames[0]?.data, trigger: o.manifest.trigger ?? '' };
      }
      const img = document.querySelector<HTMLImageElement>(`li[data-clip="${c.clip}"] img`);
      if (img && glance.poster) {
        img.src = jpegUrl(glance.poster);
        img.dataset.ready = '1';
      }
      const trig = document.querySelector(`li[data-clip="${c.clip}"] .trigger`);
      if (trig) trig.textContent = TRIGGERS[glance.trigger] ?? 'recording';
    } catch (e) {
      const li = document.querySelector(`li[data-clip="${c.clip}"]`);
      li?.classList.add('bad');
      const code = (e as { code?: string }).code;
      li?.append(
        h('span', {
          cls: 'error-text',
          textContent:
            code === 'NO_IDENTITY'
              ? 'recorded before this phone joined: not sealed to it (sealbell phone fetch --history opens it)'
              : `does not open: ${(e as Error).message}${code ? ` [${code}]` : ''}`,
        }),
      );
    }
  }
}

function clipItem(deviceId: string, c: ClipInfo): HTMLElement {
  const start = c.start ?? c.received;
  const length = c.end !== undefined && c.start !== undefined ? c.end - c.start : 0;
  const li = h(
    'li',
    { cls: 'clip card' },
    h('a', { href: `#/clip/${deviceId}/${c.clip}` }, h('img', { alt: 'poster frame', width: 160, height: 120 }), h('span', { cls: 'when', textContent: localTime(start) }), h('span', { cls: 'length', textContent: seconds(length) }), h('span', { cls: 'trigger', textContent: '…' })),
  );
  li.dataset.clip = c.clip;
  return li;
}

async function clipScreen(deviceId: string, id: string): Promise<void> {
  const canvas = h('canvas', { id: 'player', width: 320, height: 240 });
  const play = h('button', { id: 'play', type: 'button', textContent: 'Play' });
  const seek = h('input', { id: 'seek', type: 'range', min: '0', max: '0', step: '1', value: '0' });
  const time = h('span', { id: 'time', textContent: '' });
  const download = h('button', { id: 'download', type: 'button', textContent: 'Download' });
  const shareTo = h('input', { id: 'shareTo', placeholder: 'age1… recipient', autocomplete: 'off', spellcheck: false });
  const share = h('button', { id: 'share', type: 'submit', textContent: 'Share this clip' });
  const shareForm = h('form', { cls: 'card' }, h('p', {}, 'Hand this one clip to someone: its key is wrapped for their age recipient alone; nothing else of yours goes with it.'), h('label', {}, 'Their age recipient', shareTo), share);
  screen('clip', `Clip ${id}`, h('div', { cls: 'stage' }, canvas), h('div', { cls: 'controls' }, play, seek, time), h('p', {}, download, ' ', h('a', { href: `#/doorbell/${deviceId}`, textContent: 'back to the timeline' })), shareForm);
  say('ok', 'fetching and checking the clip…');
  const c = await clip(deviceId, id);
  if (!c.frames.length) throw new RelayError(0, 'NO_FRAMES', 'this clip has no frame');
  const last = c.frames[c.frames.length - 1].timestamp;
  seek.max = String(last);
  const draw = painter(canvas);
  const sound = new ClipSound(c.audio);
  (globalThis as unknown as { sealbellSound: ClipSound }).sealbellSound = sound;
  const soundState = () => (app.sound = sound.state());
  soundState();
  let shown = -1;
  const show = (t: number) => {
    const i = frameAt(c.frames, t);
    time.textContent = `${seconds(c.frames[i].timestamp)} / ${seconds(last)}`;
    seek.value = String(t);
    if (i === shown) return;
    shown = i;
    void draw(c.frames[i].data).then(() => {
      app.clip = { id, frame: i, timestamp: c.frames[i].timestamp, playing: raf !== undefined };
    });
  };
  let raf: number | undefined;
  let origin = 0;
  const pause = () => {
    if (raf !== undefined) cancelAnimationFrame(raf);
    raf = undefined;
    sound.stop(Math.min(Number(seek.value), last));
    soundState();
    play.textContent = 'Play';
    if (app.clip) app.clip.playing = false;
  };
  const tick = () => {
    const t = performance.now() - origin;
    if (t >= last) {
      show(last);
      return pause();
    }
    show(t);
    raf = requestAnimationFrame(tick);
  };
  play.onclick = () => {
    if (raf !== undefined) return pause();
    const from = Number(seek.value) >= last ? 0 : Number(seek.value);
    origin = performance.now() - from;
    sound.play(from);
    soundState();
    play.textContent = 'Pause';
    raf = requestAnimationFrame(tick);
  };
  seek.oninput = () => {
    pause();
    show(Number(seek.value));
  };
  download.onclick = () => saveFile(seekableFile(c), `${id}.mkv`);
  shareForm.onsubmit = async (ev) => {
    ev.preventDefault();
    try {
      const files = await shareFiles(c, phone!, doorbellOf(deviceId).devicePub, shareTo.value);
      for (const f of files) saveFile(new Blob([f.bytes as BlobPart]), f.name);
      say('ok', `shared clip ${id}: ${files.map((f) => f.name).join(', ')} (age -d opens it; minisign -V -p device.pub checks it)`);
    } catch (e) {
      fail(e);
    }
  };
  player = {
    stop: () => {
      pause();
      sound.close();
    },
  };
  show(0);
  const heard = sound.buffer ? `sound ${seconds(sound.buffer.duration * 1000)}` : c.audio ? 'sound (this browser cannot play it)' : 'no sound';
  say('ok', `signature and payload checked; ${c.frames.length} frames, ${seconds(last)}, ${heard}, ${localTime(c.manifest.start)}`);
}

async function liveScreen(deviceId: string): Promise<void> {
  const d = doorbellOf(deviceId);
  const tapped = performance.now();
  const canvas = h('canvas', { id: 'live', width: 320, height: 240 });
  const stop = h('button', { id: 'stopLive', type: 'button', textContent: 'Stop' });
  const info = h('span', { id: 'liveInfo', textContent: 'connecting…' });
  screen('live', `Live · ${deviceId}`, h('div', { cls: 'stage' }, canvas), h('div', { cls: 'controls' }, stop, info));
  app.liveFrames = 0;
  app.firstLiveFrameMs = undefined;
  const draw = painter(canvas);
  let dropped = 0;
  const s = await session(deviceId);
  live = watchLive(s, phone!, d.devicePub, {
    onFrame: (f) => {
      void draw(f.data).then(() => {
        app.liveFrames++;
        app.firstLiveFrameMs ??= Math.round(performance.now() - tapped);
        info.textContent = `live ${new Date(f.time).toLocaleTimeString()}${dropped ? `, ${dropped} dropped` : ''}`;
      });
    },
    onDropped: () => dropped++,
    onEnd: (o) => {
      if (o.error) say('error', `live view: ${o.error.message}`, o.error.code);
      else say('ok', `live view ended (${o.reason}); ${app.liveFrames} frames shown`);
      stop.disabled = true;
    },
  });
  stop.onclick = () => live?.stop();
}

async function settingsScreen(): Promise<void> {
  const statusList = h('div', { id: 'status' }, 'checking what each doorbell acknowledged…');
  const who = h('input', { id: 'revokeWho', placeholder: 'name of the phone', autocomplete: 'off' });
  const words = h('textarea', { id: 'revokePassphrase', rows: 3, autocomplete: 'off', spellcheck: false, placeholder: 'the account passphrase' });
  const go = h('button', { id: 'revoke', type: 'submit', textContent: 'Revoke' });
  const form = h('form', { cls: 'card' }, h('h2', {}, 'Revoke a phone'), h('p', {}, 'Removes a lost or stolen phone from every doorbell and moves the account to a new passphrase.'), h('label', {}, 'Phone', who), h('label', {}, 'Passphrase', words), go);
  const release = h('p', { id: 'release', textContent: releaseText() });
  const ring = h('button', { id: 'notify', type: 'button', textContent: 'Ring this phone' });
  const notify = h('div', { cls: 'card' }, h('h2', {}, 'Notifications'), h('p', {}, 'A press or motion shows a notification with the poster frame; the relay and the push service learn only that something happened.'), ring);
  const doorbellSettings = h('div', { id: 'doorbellSettings' }, 'fetching what each doorbell runs…');
  screen('settings', 'Settings', h('h2', {}, 'Doorbells'), statusList, h('h2', {}, 'Doorbell settings'), doorbellSettings, form, notify, h('div', { cls: 'card' }, h('h2', {}, 'This app'), release, h('p', {}, `this phone: ${phone!.name}`)));
  ring.onclick = () => {
    ring.disabled = true;
    void enableNotifications()
      .then((n) => say('ok', `this phone rings for ${n} doorbell(s)`))
      .catch(fail)
      .finally(() => (ring.disabled = false));
  };
  form.onsubmit = (ev) => {
    ev.preventDefault();
    go.disabled = true;
    app.busy = true;
    void (async () => {
      const out = await revoke(phone!, { who: who.value.trim(), passphrase: words.value, progress: (l) => say('ok', l) });
      await savePhone(phone!);
      words.value = '';
      app.revoked = { passphrase: out.passphrase };
      app.busy = false;
      form.append(h('p', { cls: 'secret', id: 'newPassphrase' }, h('strong', {}, 'New passphrase (write it down now; it is shown once): '), out.passphrase));
      say(out.alarms.length ? 'error' : 'ok', `revoked "${who.value.trim()}" on ${out.removedFrom.length} doorbell(s)${out.oldEscrow ? `; the old escrow stays on the relay: ${out.oldEscrow}` : ''}${out.alarms.length ? ` ${out.alarms.join(' ')}` : ''}`);
      void showStatus(statusList);
    })()
      .catch(fail)
      .finally(() => (go.disabled = false));
  };
  void showSettings(doorbellSettings).catch(fail);
  await showStatus(statusList);
}

const ZONE_LETTERS = 'ABCD';

/** A tapped cell: masked ('.') → zone A → B → C → D → masked. */
const nextZone = (c: string) => (c === '.' ? 'A' : ZONE_LETTERS.indexOf(c) >= 0 && c !== ZONE_LETTERS[ZONE_LETTERS.length - 1] ? ZONE_LETTERS[ZONE_LETTERS.indexOf(c) + 1] : '.');

/** A whole number from a form field, SETTINGS_RANGE otherwise (before any passphrase work). */
function wholeNumber(input: HTMLInputElement, what: string): number {
  const n = Number(input.value.trim());
  if (input.value.trim() === '' || !Number.isSafeInteger(n)) throw new SealbellError('SETTINGS_RANGE', `${what} must be a whole number, not "${input.value}"`);
  return n;
}

async function showSettings(into: HTMLElement): Promise<void> {
  const cards: HTMLElement[] = [];
  app.settings = {};
  for (const d of phone!.doorbells) cards.push(await settingsCard(d.deviceId));
  if (app.screen === 'settings') into.replaceChildren(...cards);
}

/** What the doorbell runs (its signature checked), what waits, a refusal; the form that edits them. */
async function settingsCard(deviceId: string): Promise<HTMLElement> {
  const d = doorbellOf(deviceId);
  const card = h('form', { cls: 'card settings-card', noValidate: true });
  card.dataset.device = deviceId;
  const st = await settingsStatus(await session(deviceId), phone!, d).catch((e: unknown) => e as Error);
  card.append(h('h3', {}, `Doorbell ${deviceId}`));
  if (st instanceof Error) {
    card.append(h('p', { cls: 'warning' }, `warning: what this doorbell runs cannot be shown: ${st.message}${(st as { code?: string }).code ? ` [${(st as { code?: string }).code}]` : ''}`));
    return card;
  }
  app.settings![deviceId] = { runs: st.runs.epoch, ...(st.pending !== undefined ? { pending: st.pending } : {}), ...(st.refused ? { refused: st.refused.code } : {}), ...(st.published !== undefined ? { published: st.published } : {}) };
  const runs = st.runs;
  card.append(h('p', { cls: 'settings-runs' }, `runs settings epoch ${runs.epoch}${runs.epoch === 0 ? ' (the defaults)' : ' (signed by the doorbell)'}: ${describeValues(runs)}`));
  if (st.pending !== undefined) card.append(h('p', {}, `epoch ${st.pending} waits at the relay for the doorbell`));
  if (st.refused) card.append(h('p', { cls: 'warning settings-refused' }, `the doorbell refused epoch ${st.refused.epoch}: ${st.refused.message} [${st.refused.code}]`));
  if (st.published !== undefined && st.published > runs.epoch && st.refused?.epoch !== st.published) {
    card.append(h('p', { cls: 'warning' }, `not confirmed: this phone sent epoch ${st.published}; the doorbell has not confirmed it (offline, or the relay withholds it)`));
  }
  const from = st.newest;
  const num = (name: string, value: number, [min, max]: readonly [number, number]) => h('input', { name, type: 'number', inputMode: 'numeric', min: String(min), max: String(max), step: '1', value: String(value) });
  const clipSeconds = num('clipSeconds', from.clipSeconds, SETTINGS_RANGE.clipSeconds);
  const preroll = num('prerollSeconds', from.prerollSeconds, SETTINGS_RANGE.prerollSeconds);
  const sensitivity = num('sensitivity', from.sensitivity, SETTINGS_RANGE.sensitivity);
  const motion = h('input', { name: 'motion', type: 'checkbox', checked: from.zones !== null });
  let zones = from.zones ?? ['AAAA', 'AAAA', 'AAAA'];
  const rows = num('zoneRows', zones.length, SETTINGS_RANGE.zoneRows);
  const cols = num('zoneCols', zones[0].length, SETTINGS_RANGE.zoneCols);
  const grid = h('div', { cls: 'zone-grid' });
  const paintCell = (b: HTMLButtonElement, cell: string) => {
    b.className = `zone-cell zone-${cell === '.' ? 'off' : cell}`;
    b.textContent = cell === '.' ? '' : cell;
    b.title = cell === '.' ? 'masked' : `zone ${cell}`;
  };
  const drawGrid = () => {
    grid.style.gridTemplateColumns = `repeat(${zones[0].length}, minmax(0, 1fr))`;
    grid.replaceChildren(
      ...zones.flatMap((row, r) =>
        [...row].map((cell, c) => {
          const b = h('button', { type: 'button' });
          paintCell(b, cell);
          b.dataset.row = String(r);
          b.dataset.col = String(c);
          // one cell changes in place: the grid is not redrawn under the finger
          b.onclick = () => {
            const next = nextZone(zones[r][c]);
            zones = zones.map((line, i) => (i === r ? line.slice(0, c) + next + line.slice(c + 1) : line));
            paintCell(b, next);
          };
          return b;
        }),
      ),
    );
  };
  const resize = () => {
    const [nr, nc] = [Number(rows.value), Number(cols.value)];
    if (!Number.isSafeInteger(nr) || !Number.isSafeInteger(nc) || nr < 1 || nc < 1 || nr > 32 || nc > 32) return;
    if (nr === zones.length && nc === zones[0].length) return;
    zones = Array.from({ length: nr }, (_, r) => Array.from({ length: nc }, (_, c) => zones[r]?.[c] ?? 'A').join(''));
    drawGrid();
  };
  rows.onchange = resize;
  cols.onchange = resize;
  drawGrid();
  const zoneBox = h('fieldset', { cls: 'zones' }, h('legend', {}, 'Motion zones: tap a cell to mask it (blank) or name its zone (A–D)'), h('div', { cls: 'zone-size' }, h('label', {}, 'Rows', rows), h('label', {}, 'Columns', cols)), grid, h('label', {}, 'Sensitivity (1–100, higher reacts to smaller changes)', sensitivity));
  const showZones = () => (zoneBox.hidden = !motion.checked);
  motion.onchange = showZones;
  showZones();
  const words = h('textarea', { name: 'settingsPassphrase', rows: 2, autocomplete: 'off', spellcheck: false, placeholder: 'the account passphrase' });
  const save = h('button', { type: 'submit', cls: 'saveSettings', textContent: 'Sign and send' });
  card.append(
    h('div', { cls: 'settings-fields' }, h('label', {}, `Clip length after the trigger, seconds (${SETTINGS_RANGE.clipSeconds.join('–')})`, clipSeconds), h('label', {}, `Pre-roll before the trigger, seconds (${SETTINGS_RANGE.prerollSeconds.join('–')})`, preroll)),
    h('label', { cls: 'check' }, motion, ' Camera motion starts clips'),
    zoneBox,
    h('label', {}, 'Passphrase (the account authority signs the settings)', words),
    save,
  );
  card.onsubmit = (ev) => {
    ev.preventDefault();
    save.disabled = true;
    app.busy = true;
    const sentBefore = d.lastSettings;
    void (async () => {
      const change = {
        clipSeconds: wholeNumber(clipSeconds, 'the clip length'),
        prerollSeconds: wholeNumber(preroll, 'the pre-roll'),
        sensitivity: wholeNumber(sensitivity, 'the sensitivity'),
        zones: motion.checked ? zones : null,
      };
      if (motion.checked) {
        wholeNumber(rows, 'the zone rows');
        wholeNumber(cols, 'the zone columns');
      }
      const out = await editSettings({ session: await session(deviceId), phone: phone!, doorbell: d, change, passphrase: words.value, progress: (l) => say('ok', l) });
      words.value = '';
      await savePhone(phone!);
      app.settingsSaved = { device: deviceId, epoch: out.epoch };
      app.busy = false;
      say('ok', `doorbell ${deviceId} runs settings epoch ${out.epoch} (signed by the doorbell): ${describeValues(out.status.runs)}`);
      if (app.screen === 'settings') card.replaceWith(await settingsCard(deviceId));
    })()
      .catch(async (e: unknown) => {
        fail(e);
        // sent, then refused by the doorbell or not confirmed in time: keep what this phone sent, show what the doorbell says
        if (d.lastSettings !== sentBefore) {
          await savePhone(phone!).catch(() => undefined);
          if (app.screen === 'settings') card.replaceWith(await settingsCard(deviceId));
        }
      })
      .finally(() => (save.disabled = false));
  };
  return card;
}

/** Web Push: a subscription at the browser's push service, registered with the relay for each doorbell (web/sw/notifications.ts shows them). */
async function enableNotifications(): Promise<number> {
  if (!('PushManager' in self) || !('Notification' in self)) throw new RelayError(0, 'PUSH_UNAVAILABLE', 'this browser has no Web Push');
  if ((await Notification.requestPermission()) !== 'granted') throw new RelayError(0, 'PUSH_DENIED', 'notifications are not allowed for this app');
  const registration = await navigator.serviceWorker.ready;
  let sub: PushSubscription;
  try {
    sub = (await registration.pushManager.getSubscription()) ?? (await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: await pushKey() }));
  } catch (e) {
    throw new RelayError(0, 'PUSH_UNAVAILABLE', `the browser's push service refused a subscription: ${(e as Error).message}`);
  }
  for (const d of phone!.doorbells) await (await session(d.deviceId)).subscribePush(sub.toJSON());
  return phone!.doorbells.length;
}

async function showStatus(into: HTMLElement): Promise<void> {
  const all: DoorbellStatus[] = await status(phone!);
  into.replaceChildren(
    ...all.map((s) => {
      const card = h('div', { cls: 'card doorbell-status' }, h('h3', {}, `Doorbell ${s.deviceId}`));
      card.dataset.device = s.deviceId;
      if (s.acked) {
        card.append(
          h('p', {}, `acknowledged roster epoch ${s.acked.epoch} (${s.acked.hash.slice(0, 16)}…), heard by the relay ${localTime(s.acked.at)}`),
          h('p', { cls: 'roster' }, `phones: ${s.acked.phones.join(', ')}`),
          h('p', {}, `pending: ${s.pending.length ? `epoch ${s.pending.join(', ')}, not yet acknowledged` : 'none'}`),
        );
      }
      if (s.firmware) card.append(h('p', {}, `firmware ${s.firmware}`));
      for (const w of s.warnings) card.append(h('p', { cls: 'warning' }, `warning: ${w}`));
      if (s.alarm) card.append(h('p', { cls: 'alarm' }, s.alarm));
      return card;
    }),
  );
}

// --- routing ---------------------------------------------------------------------------

async function route(): Promise<void> {
  live?.stop();
  live = undefined;
  player?.stop();
  player = undefined;
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  phone ??= await loadPhone();
  document.getElementById('nav')!.hidden = !phone;
  if (!phone) return enrollScreen();
  const [what, a, b] = parts;
  if (what === 'doorbell' && a) return timelineScreen(a);
  if (what === 'clip' && a && b) return clipScreen(a, b);
  if (what === 'live' && a) return liveScreen(a);
  if (what === 'settings') return settingsScreen();
  return homeScreen();
}

/** set when an action's outcome must stay on screen across the route it moves to */
let keepMessage = false;

function go(): void {
  if (!app.busy && !keepMessage) clearMessage();
  keepMessage = false;
  void route().catch(fail);
}

window.addEventListener('hashchange', go);
go();
// A notification while the page is open: the doorbell's timeline on screen shows the new clip at once.
navigator.serviceWorker?.addEventListener('message', (ev: MessageEvent) => {
  const m = ev.data as ({ t?: string } & Partial<Notified>) | null;
  if (!m || m.t !== 'notified' || typeof m.deviceId !== 'string') return;
  app.notified.push({ title: String(m.title), body: String(m.body), ...(m.image ? { image: String(m.image) } : {}), url: String(m.url), deviceId: m.deviceId, ...(m.clip ? { clip: String(m.clip) } : {}) });
  if (location.hash === `#/doorbell/${m.deviceId}` && !app.busy) void route().catch(fail);
});
void registerWorker((r) => {
  app.release = r.running;
  app.releaseSigned = r.signed;
  const el = document.getElementById('release');
  if (el) el.textContent = releaseText();
  if (r.refused) say('error', r.refused, 'RELEASE_REFUSED');
}).catch(() => {
  // no service worker (an insecure origin): the app runs, without offline use or pinning
});
void releaseStatus;
